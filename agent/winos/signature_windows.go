package winos

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// The wintrust.dll helpers that read the signer out of WinVerifyTrust's state
// (wintrust.h; x/sys/windows has WinVerifyTrustEx but not these).
var (
	wintrust                           = windows.NewLazySystemDLL("wintrust.dll")
	procWTHelperProvDataFromStateData  = wintrust.NewProc("WTHelperProvDataFromStateData")
	procWTHelperGetProvSignerFromChain = wintrust.NewProc("WTHelperGetProvSignerFromChain")
	procWTHelperGetProvCertFromChain   = wintrust.NewProc("WTHelperGetProvCertFromChain")
)

// cryptProviderCert is the head of CRYPT_PROVIDER_CERT (wintrust.h): its size, then the
// certificate. Only the certificate is read; the size keeps its offset.
type cryptProviderCert struct {
	_    uint32 // cbStruct
	cert *windows.CertContext
}

// VerifySigner implements app.OS: WinVerifyTrust with the Authenticode policy
// (WINTRUST_ACTION_GENERIC_VERIFY_V2) must accept the file's embedded signature, and the
// certificate that made it (the first signer's leaf, as WinVerifyTrust verified it) must
// have the SHA-256 certSHA256.
//
// Revocation is not checked (WTD_REVOKE_NONE, and no URL retrieval): the app runs on PCs
// behind proxies and firewalls where a CRL or OCSP fetch fails or hangs, and the pinned
// certificate already narrows what is accepted to one; a signature without a timestamp
// fails once that certificate has expired, which is why releases are timestamped
// (SIGNING_TSA).
func (o *OS) VerifySigner(path, certSHA256 string) error {
	if certSHA256 == "" {
		return errors.New("no signer to check against")
	}
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	file := &windows.WinTrustFileInfo{Size: uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})), FilePath: p}
	data := &windows.WinTrustData{
		Size:                            uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:                        windows.WTD_UI_NONE,
		RevocationChecks:                windows.WTD_REVOKE_NONE,
		UnionChoice:                     windows.WTD_CHOICE_FILE,
		StateAction:                     windows.WTD_STATEACTION_VERIFY,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(file),
		ProvFlags:                       windows.WTD_CACHE_ONLY_URL_RETRIEVAL | windows.WTD_REVOCATION_CHECK_NONE,
		UIContext:                       windows.WTD_UICONTEXT_EXECUTE,
	}
	verifyErr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	// The state must be released whatever the verdict.
	defer func() {
		data.StateAction = windows.WTD_STATEACTION_CLOSE
		_ = windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	}()
	if verifyErr != nil {
		return fmt.Errorf("WinVerifyTrust %s: %w", path, verifyErr)
	}
	got, err := signerSHA256(data.StateData)
	if err != nil {
		return fmt.Errorf("signer of %s: %w", path, err)
	}
	if !strings.EqualFold(got, certSHA256) {
		return fmt.Errorf("%s is signed by the certificate %s, this release is %s", path, got, certSHA256)
	}
	return nil
}

// signerSHA256 is the SHA-256 of the certificate of the first signer in WinVerifyTrust's
// state: WTHelperProvDataFromStateData → WTHelperGetProvSignerFromChain(0, not a
// counter-signer) → WTHelperGetProvCertFromChain(0, the leaf).
func signerSHA256(state windows.Handle) (string, error) {
	if err := wintrust.Load(); err != nil {
		return "", err
	}
	prov, _, _ := procWTHelperProvDataFromStateData.Call(uintptr(state))
	if prov == 0 {
		return "", errors.New("WTHelperProvDataFromStateData: no provider data")
	}
	sgnr, _, _ := procWTHelperGetProvSignerFromChain.Call(prov, 0, 0, 0)
	if sgnr == 0 {
		return "", errors.New("WTHelperGetProvSignerFromChain: no signer")
	}
	pc, _, _ := procWTHelperGetProvCertFromChain.Call(sgnr, 0)
	if pc == 0 {
		return "", errors.New("WTHelperGetProvCertFromChain: no certificate")
	}
	// pc points into memory wintrust owns until the state is closed, not into Go's heap.
	cert := (*(**cryptProviderCert)(unsafe.Pointer(&pc))).cert
	if cert == nil || cert.EncodedCert == nil || cert.Length == 0 {
		return "", errors.New("the signer's certificate is empty")
	}
	der := unsafe.Slice(cert.EncodedCert, cert.Length)
	sum := sha256.Sum256(der)
	return hex.EncodeToString(sum[:]), nil
}
