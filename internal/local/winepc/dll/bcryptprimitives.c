/*
 * bcryptprimitives.dll for Wine 8: Go 1.24 and later take their random numbers from
 * ProcessPrng, which Wine 8 does not provide, so every Go program aborts at start.
 * This stand-in answers ProcessPrng from RtlGenRandom (advapi32's SystemFunction036),
 * which Wine implements. It is used only by the Wine test, never shipped.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    /* RtlGenRandom takes a 32-bit length; split larger requests. */
    while (length > 0) {
        ULONG chunk = length > 0x10000000 ? 0x10000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
