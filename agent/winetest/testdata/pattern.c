/* pattern.exe: a window with known pixels for the screen tests under Wine.
 *
 *   pattern.exe X Y [animate]
 *
 * A borderless window of 400x300 at X,Y: four quadrants of 200x150 in red, green, blue
 * and white. A click or a key press inside it turns the top-left quadrant to the next of
 * a few colours at once (the input-to-screen latency); with "animate" the bottom-right
 * quadrant changes colour every 10 ms (a region that changes continuously).
 */
#include <windows.h>
#include <stdlib.h>

static const COLORREF quad[4] = {RGB(255, 0, 0), RGB(0, 255, 0), RGB(0, 0, 255), RGB(255, 255, 255)};
static const COLORREF steps[4] = {RGB(255, 0, 0), RGB(255, 255, 0), RGB(0, 255, 255), RGB(255, 0, 255)};
static int clicks, frame, animate;

static void fill(HDC dc, int x, int y, COLORREF c) {
    RECT r = {x, y, x + 200, y + 150};
    HBRUSH b = CreateSolidBrush(c);
    FillRect(dc, &r, b);
    DeleteObject(b);
}

static LRESULT CALLBACK proc(HWND w, UINT m, WPARAM wp, LPARAM lp) {
    switch (m) {
    case WM_PAINT: {
        PAINTSTRUCT ps;
        HDC dc = BeginPaint(w, &ps);
        fill(dc, 0, 0, steps[clicks % 4]);
        fill(dc, 200, 0, quad[1]);
        fill(dc, 0, 150, quad[2]);
        fill(dc, 200, 150, animate ? RGB((frame * 7) & 255, (frame * 13) & 255, (frame * 29) & 255) : quad[3]);
        EndPaint(w, &ps);
        return 0;
    }
    case WM_LBUTTONDOWN:
    case WM_KEYDOWN: {
        RECT r = {0, 0, 200, 150};
        clicks++;
        InvalidateRect(w, &r, FALSE);
        UpdateWindow(w);
        return 0;
    }
    case WM_TIMER: {
        RECT r = {200, 150, 400, 300};
        frame++;
        InvalidateRect(w, &r, FALSE);
        return 0;
    }
    case WM_DESTROY:
        PostQuitMessage(0);
        return 0;
    }
    return DefWindowProcW(w, m, wp, lp);
}

int WINAPI WinMain(HINSTANCE inst, HINSTANCE prev, LPSTR cmd, int show) {
    int x = __argc > 1 ? atoi(__argv[1]) : 100, y = __argc > 2 ? atoi(__argv[2]) : 100;
    WNDCLASSW wc = {0};
    HWND w;
    MSG msg;
    animate = __argc > 3 && lstrcmpiA(__argv[3], "animate") == 0;
    wc.lpfnWndProc = proc;
    wc.hInstance = inst;
    wc.hCursor = LoadCursor(NULL, IDC_ARROW);
    wc.lpszClassName = L"AdHocPattern";
    RegisterClassW(&wc);
    w = CreateWindowExW(0, L"AdHocPattern", L"pattern", WS_POPUP | WS_VISIBLE, x, y, 400, 300, NULL, NULL, inst, NULL);
    if (animate)
        SetTimer(w, 1, 10, NULL);
    while (GetMessageW(&msg, NULL, 0, 0) > 0) {
        TranslateMessage(&msg);
        DispatchMessageW(&msg);
    }
    return 0;
}
