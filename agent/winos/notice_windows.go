package winos

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"
	"unicode/utf16"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
)

// The helper's windows: the notice the user sees while a technician is connected —
// always on top, in the corner above the taskbar, "<technician> is connected" with
// Disconnect — and a message-only window that owns the clipboard while the helper sets
// it (SetClipboardData fails for a clipboard opened without a window). Both live on one
// OS thread with its message loop; other goroutines hand it work with wmRun.

var (
	procRegisterClassEx      = user32.NewProc("RegisterClassExW")
	procCreateWindowEx       = user32.NewProc("CreateWindowExW")
	procDestroyWindow        = user32.NewProc("DestroyWindow")
	procDefWindowProc        = user32.NewProc("DefWindowProcW")
	procGetMessage           = user32.NewProc("GetMessageW")
	procTranslateMessage     = user32.NewProc("TranslateMessage")
	procDispatchMessage      = user32.NewProc("DispatchMessageW")
	procPostMessage          = user32.NewProc("PostMessageW")
	procSendMessage          = user32.NewProc("SendMessageW")
	procShowWindow           = user32.NewProc("ShowWindow")
	procSetWindowPos         = user32.NewProc("SetWindowPos")
	procSetWindowText        = user32.NewProc("SetWindowTextW")
	procGetWindowRect        = user32.NewProc("GetWindowRect")
	procSetTimer             = user32.NewProc("SetTimer")
	procAdjustWindowRectEx   = user32.NewProc("AdjustWindowRectEx")
	procSystemParametersInfo = user32.NewProc("SystemParametersInfoW")
	procGetDpiForSystem      = user32.NewProc("GetDpiForSystem")
	procLoadCursor           = user32.NewProc("LoadCursorW")
	procOpenClipboard        = user32.NewProc("OpenClipboard")
	procCloseClipboard       = user32.NewProc("CloseClipboard")
	procEmptyClipboard       = user32.NewProc("EmptyClipboard")
	procGetClipboardData     = user32.NewProc("GetClipboardData")
	procSetClipboardData     = user32.NewProc("SetClipboardData")
	procIsClipboardFormatAv  = user32.NewProc("IsClipboardFormatAvailable")

	procCreateFontIndirect = gdi32.NewProc("CreateFontIndirectW")
	procGetDeviceCaps      = gdi32.NewProc("GetDeviceCaps")

	kernel32          = windows.NewLazySystemDLL("kernel32.dll")
	procGlobalAlloc   = kernel32.NewProc("GlobalAlloc")
	procGlobalFree    = kernel32.NewProc("GlobalFree")
	procGlobalLock    = kernel32.NewProc("GlobalLock")
	procGlobalUnlock  = kernel32.NewProc("GlobalUnlock")
	procGlobalSize    = kernel32.NewProc("GlobalSize")
	procGetModuleHand = kernel32.NewProc("GetModuleHandleW")
)

const (
	wmClose         = 0x0010
	wmSetFont       = 0x0030
	wmCommand       = 0x0111
	wmTimer         = 0x0113
	wmApp           = 0x8000
	wmRun           = wmApp + 1
	wmDestroyNotice = wmApp + 2
	wsPopup         = 0x80000000
	wsBorder        = 0x00800000
	wmNCHitTest     = 0x0084
	htClient        = 1
	htCaption       = 2
	wsChild         = 0x40000000
	wsVisible       = 0x10000000
	wsTabStop       = 0x00010000
	wsExTopmost     = 0x00000008
	wsExToolWindow  = 0x00000080
	wsExNoActivate  = 0x08000000
	bsDefPush       = 0x00000001
	ssNoPrefix      = 0x00000080
	ssEndEllipsis   = 0x00004000
	swShowNoAct     = 4
	swHide          = 0
	swpNoSize       = 0x0001
	swpNoMove       = 0x0002
	swpNoActivate   = 0x0010
	spiWorkArea     = 0x0030
	spiNCMetrics    = 0x0029
	logPixelsX      = 88
	cfUnicodeText   = 13
	gmemMoveable    = 0x0002
	colorBtnFace    = 15
	idcArrow        = 32512
	idDisconnect    = 1001
	topmostTimer    = 1
	bnClicked       = 0
	hwndMessage     = ^uintptr(2) // HWND_MESSAGE (-3)
	hwndTopmost     = ^uintptr(0) // HWND_TOPMOST (-1)
	classNameStr    = "AdHocSupportHelper"
)

// uiThread is the helper's window thread.
type uiThread struct {
	log   func(string)
	calls chan func()
	hwnd  uintptr // the message-only window

	// Owned by the thread.
	notice, title, text, detail, button uintptr
	fonts                               []uintptr
	disconnect                          func()
}

// theUI is the process's one window thread: the window procedure is a single callback.
var theUI *uiThread

var wndProcCallback = windows.NewCallback(func(hwnd, msg, wparam, lparam uintptr) uintptr {
	u := theUI
	if u != nil {
		switch msg {
		case wmRun:
			for {
				select {
				case f := <-u.calls:
					f()
				default:
					return 0
				}
			}
		case wmCommand:
			if wparam&0xffff == idDisconnect && wparam>>16 == bnClicked && u.disconnect != nil {
				go u.disconnect()
				return 0
			}
		case wmDestroyNotice:
			if hwnd == u.notice {
				procDestroyWindow.Call(hwnd)
				u.notice = 0
				for _, f := range u.fonts {
					procDeleteObject.Call(f)
				}
				u.fonts = nil
			}
			return 0
		case wmNCHitTest:
			if hwnd == u.notice {
				// The notice has no caption (under Wine a captioned window takes 2 s to
				// hide without a window manager); the user drags it by its body.
				if r, _, _ := procDefWindowProc.Call(hwnd, msg, wparam, lparam); r != htClient {
					return r
				}
				return htCaption
			}
		case wmClose:
			if hwnd == u.notice {
				return 0 // the notice stays while the technician is connected
			}
		case wmTimer:
			if hwnd == u.notice {
				// Another program's topmost window must not cover it for long.
				procSetWindowPos.Call(u.notice, hwndTopmost, 0, 0, 0, 0, swpNoMove|swpNoSize|swpNoActivate)
				return 0
			}
		}
	}
	r, _, _ := procDefWindowProc.Call(hwnd, msg, wparam, lparam)
	return r
})

// wndClassEx is WNDCLASSEXW.
type wndClassEx struct {
	Size       uint32
	Style      uint32
	WndProc    uintptr
	ClsExtra   int32
	WndExtra   int32
	Instance   uintptr
	Icon       uintptr
	Cursor     uintptr
	Background uintptr
	MenuName   *uint16
	ClassName  *uint16
	IconSm     uintptr
}

type msgT struct {
	Hwnd    uintptr
	Message uint32
	WParam  uintptr
	LParam  uintptr
	Time    uint32
	Pt      struct{ X, Y int32 }
	Private uint32
}

var startUIOnce sync.Once

// startUIThread starts the window thread with its message-only window.
func startUIThread(log func(string)) (*uiThread, error) {
	var err error
	startUIOnce.Do(func() {
		u := &uiThread{log: log, calls: make(chan func(), 16)}
		ready := make(chan error, 1)
		go u.run(ready)
		if err = <-ready; err == nil {
			theUI = u
		}
	})
	if err != nil {
		return nil, err
	}
	if theUI == nil {
		return nil, errors.New("the helper's window thread did not start")
	}
	return theUI, nil
}

func (u *uiThread) run(ready chan<- error) {
	runtime.LockOSThread() // the windows belong to this thread, for good
	onUserDesktop(u.log)
	inst, _, _ := procGetModuleHand.Call(0)
	cursor, _, _ := procLoadCursor.Call(0, idcArrow)
	wc := wndClassEx{WndProc: wndProcCallback, Instance: inst, Cursor: cursor, Background: colorBtnFace + 1,
		ClassName: windows.StringToUTF16Ptr(classNameStr)}
	wc.Size = uint32(unsafe.Sizeof(wc))
	if r, _, e := procRegisterClassEx.Call(uintptr(unsafe.Pointer(&wc))); r == 0 {
		ready <- fmt.Errorf("RegisterClassEx: %w", e)
		return
	}
	h, _, e := procCreateWindowEx.Call(0, uintptr(unsafe.Pointer(wc.ClassName)), 0, 0, 0, 0, 0, 0, hwndMessage, 0, inst, 0)
	if h == 0 {
		ready <- fmt.Errorf("CreateWindowEx (message-only): %w", e)
		return
	}
	u.hwnd = h
	ready <- nil
	var m msgT
	for {
		r, _, _ := procGetMessage.Call(uintptr(unsafe.Pointer(&m)), 0, 0, 0)
		if int32(r) <= 0 {
			return
		}
		procTranslateMessage.Call(uintptr(unsafe.Pointer(&m)))
		procDispatchMessage.Call(uintptr(unsafe.Pointer(&m)))
	}
}

// do runs f on the window thread.
func (u *uiThread) do(f func() error) error {
	errc := make(chan error, 1)
	u.calls <- func() { errc <- f() }
	if r, _, e := procPostMessage.Call(u.hwnd, wmRun, 0, 0); r == 0 {
		return fmt.Errorf("PostMessage: %w", e)
	}
	return <-errc
}

// logFont is LOGFONTW; ncMetrics is NONCLIENTMETRICSW.
type logFont struct {
	Height, Width, Escapement, Orientation, Weight int32
	Italic, Underline, StrikeOut, CharSet          byte
	OutPrecision, ClipPrecision, Quality, Pitch    byte
	FaceName                                       [32]uint16
}

type ncMetrics struct {
	Size                                   uint32
	BorderWidth, ScrollWidth, ScrollHeight int32
	CaptionWidth, CaptionHeight            int32
	CaptionFont                            logFont
	SmCaptionWidth, SmCaptionHeight        int32
	SmCaptionFont                          logFont
	MenuWidth, MenuHeight                  int32
	MenuFont, StatusFont, MessageFont      logFont
	PaddedBorderWidth                      int32
}

// fonts are the message font of Windows' settings, plain and bold (0: the system font).
func (u *uiThread) makeFonts() (plain, bold uintptr) {
	var nc ncMetrics
	nc.Size = uint32(unsafe.Sizeof(nc))
	if r, _, _ := procSystemParametersInfo.Call(spiNCMetrics, uintptr(nc.Size), uintptr(unsafe.Pointer(&nc)), 0); r == 0 {
		return 0, 0
	}
	plain, _, _ = procCreateFontIndirect.Call(uintptr(unsafe.Pointer(&nc.MessageFont)))
	nc.MessageFont.Weight = 700
	bold, _, _ = procCreateFontIndirect.Call(uintptr(unsafe.Pointer(&nc.MessageFont)))
	u.fonts = append(u.fonts, plain, bold)
	return plain, bold
}

func dpi() int {
	if procGetDpiForSystem.Find() == nil {
		if r, _, _ := procGetDpiForSystem.Call(); r != 0 {
			return int(r)
		}
	}
	dc, _, _ := procGetDC.Call(0)
	defer procReleaseDC.Call(0, dc)
	r, _, _ := procGetDeviceCaps.Call(dc, logPixelsX)
	if r == 0 {
		return 96
	}
	return int(r)
}

// showNotice shows the notice or changes its text.
func (u *uiThread) showNotice(n desktop.Notice, disconnect func()) error {
	return u.do(func() error {
		u.disconnect = disconnect
		if u.notice != 0 && u.text != 0 {
			setText(u.notice, n.Title)
			setText(u.title, n.Title)
			setText(u.text, n.Text)
			setText(u.detail, n.Detail)
			setText(u.button, n.Button)
			return nil
		}
		return u.createNotice(n)
	})
}

func setText(h uintptr, s string) {
	procSetWindowText.Call(h, uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(s))))
}

func (u *uiThread) createNotice(n desktop.Notice) error {
	s := func(v int) int { return v * dpi() / 96 }
	const clientW, clientH = 380, 108
	style := uintptr(wsPopup | wsBorder)
	exStyle := uintptr(wsExTopmost | wsExToolWindow | wsExNoActivate)
	r := windows.Rect{Right: int32(s(clientW)), Bottom: int32(s(clientH))}
	procAdjustWindowRectEx.Call(uintptr(unsafe.Pointer(&r)), style, 0, exStyle)
	w, h := int(r.Right-r.Left), int(r.Bottom-r.Top)
	var work windows.Rect
	if ok, _, _ := procSystemParametersInfo.Call(spiWorkArea, 0, uintptr(unsafe.Pointer(&work)), 0); ok == 0 {
		work = windows.Rect{Right: 1280, Bottom: 800}
	}
	x, y := int(work.Right)-w-s(16), int(work.Bottom)-h-s(16)
	inst, _, _ := procGetModuleHand.Call(0)
	class := windows.StringToUTF16Ptr(classNameStr)
	hwnd, _, e := procCreateWindowEx.Call(exStyle, uintptr(unsafe.Pointer(class)), uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(n.Title))),
		style, uintptr(x), uintptr(y), uintptr(w), uintptr(h), 0, 0, inst, 0)
	if hwnd == 0 {
		return fmt.Errorf("CreateWindowEx (notice): %w", e)
	}
	child := func(class, text string, style uintptr, id, x, y, w, h int) uintptr {
		c, _, _ := procCreateWindowEx.Call(0, uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(class))), uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(text))),
			wsChild|wsVisible|style, uintptr(s(x)), uintptr(s(y)), uintptr(s(w)), uintptr(s(h)), hwnd, uintptr(id), inst, 0)
		return c
	}
	u.notice = hwnd
	u.title = child("STATIC", n.Title, ssNoPrefix|ssEndEllipsis, 0, 16, 8, clientW-32, 18)
	u.text = child("STATIC", n.Text, ssNoPrefix|ssEndEllipsis, 0, 16, 30, clientW-32, 20)
	u.detail = child("STATIC", n.Detail, ssNoPrefix|ssEndEllipsis, 0, 16, 52, clientW-32, 18)
	u.button = child("BUTTON", n.Button, wsTabStop|bsDefPush, idDisconnect, clientW-16-120, 74, 120, 26)
	plain, bold := u.makeFonts()
	for _, c := range []struct{ h, font uintptr }{{u.title, plain}, {u.text, bold}, {u.detail, plain}, {u.button, plain}} {
		if c.font != 0 {
			procSendMessage.Call(c.h, wmSetFont, c.font, 1)
		}
	}
	procShowWindow.Call(hwnd, swShowNoAct)
	procSetTimer.Call(hwnd, topmostTimer, 2000, 0)
	var b windows.Rect
	procGetWindowRect.Call(u.button, uintptr(unsafe.Pointer(&b)))
	u.log(fmt.Sprintf("The notice %q is shown; its %s button is at (%d,%d)-(%d,%d).", n.Text, n.Button, b.Left, b.Top, b.Right, b.Bottom))
	return nil
}

// hideNotice takes the notice away: hidden at once, destroyed when the thread gets to it.
// Under Wine, DestroyWindow right after a click on the notice's button can wait for
// seconds (it hands the activation to another program's window); the helper ends
// meanwhile anyway.
func (u *uiThread) hideNotice() {
	_ = u.do(func() error {
		if u.notice == 0 {
			return nil
		}
		procShowWindow.Call(u.notice, swHide)
		procPostMessage.Call(u.notice, wmDestroyNotice, 0, 0)
		u.title, u.text, u.detail, u.button, u.disconnect = 0, 0, 0, 0, nil
		return nil
	})
}

// openClipboard opens the clipboard for the message-only window, waiting a little for a
// program that holds it open.
func (u *uiThread) openClipboard() error {
	var err error
	for range 20 {
		r, _, e := procOpenClipboard.Call(u.hwnd)
		if r != 0 {
			return nil
		}
		err = e
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("OpenClipboard: %w", err)
}

func (u *uiThread) clipboardText() (string, error) {
	var text string
	err := u.do(func() error {
		if err := u.openClipboard(); err != nil {
			return err
		}
		defer procCloseClipboard.Call()
		if r, _, _ := procIsClipboardFormatAv.Call(cfUnicodeText); r == 0 {
			return nil // no text on it
		}
		h, _, e := procGetClipboardData.Call(cfUnicodeText)
		if h == 0 {
			return fmt.Errorf("GetClipboardData: %w", e)
		}
		p, _, e := procGlobalLock.Call(h)
		if p == 0 {
			return fmt.Errorf("GlobalLock: %w", e)
		}
		defer procGlobalUnlock.Call(h)
		size, _, _ := procGlobalSize.Call(h)
		units := unsafe.Slice((*uint16)(memory(p)), size/2)
		for i, c := range units {
			if c == 0 {
				units = units[:i]
				break
			}
		}
		text = string(utf16.Decode(units))
		return nil
	})
	return text, err
}

func (u *uiThread) setClipboardText(text string) error {
	units := utf16.Encode([]rune(text))
	units = append(units, 0)
	return u.do(func() error {
		if err := u.openClipboard(); err != nil {
			return err
		}
		defer procCloseClipboard.Call()
		if r, _, e := procEmptyClipboard.Call(); r == 0 {
			return fmt.Errorf("EmptyClipboard: %w", e)
		}
		h, _, e := procGlobalAlloc.Call(gmemMoveable, uintptr(len(units)*2))
		if h == 0 {
			return fmt.Errorf("GlobalAlloc: %w", e)
		}
		p, _, e := procGlobalLock.Call(h)
		if p == 0 {
			procGlobalFree.Call(h)
			return fmt.Errorf("GlobalLock: %w", e)
		}
		copy(unsafe.Slice((*uint16)(memory(p)), len(units)), units)
		procGlobalUnlock.Call(h)
		if r, _, e := procSetClipboardData.Call(cfUnicodeText, h); r == 0 {
			procGlobalFree.Call(h)
			return fmt.Errorf("SetClipboardData: %w", e)
		}
		return nil // the clipboard owns the memory now
	})
}

// memory is the address GlobalLock returned, as a pointer: the memory is Windows', not
// Go's, so the garbage collector has nothing to track there.
func memory(p uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&p)) }
