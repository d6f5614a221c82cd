package winos

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/screen"
)

// The helper's screen and input (desktop.OS): GDI's BitBlt of the input desktop into a
// DIB section, the monitors from EnumDisplayMonitors, the pointer from GetCursorInfo,
// and SendInput. All of it runs on one OS thread that follows the input desktop
// (OpenInputDesktop, SetThreadDesktop), so that the sign-in screen and UAC's secure
// desktop (named Winlogon) are captured and answered like the user's own: a thread
// may only switch desktops while it owns no window, so the notice and the clipboard live
// on another thread (notice_windows.go).

var (
	user32 = windows.NewLazySystemDLL("user32.dll")
	gdi32  = windows.NewLazySystemDLL("gdi32.dll")

	procOpenInputDesktop         = user32.NewProc("OpenInputDesktop")
	procOpenDesktop              = user32.NewProc("OpenDesktopW")
	procOpenWindowStation        = user32.NewProc("OpenWindowStationW")
	procSetProcessWindowStation  = user32.NewProc("SetProcessWindowStation")
	procCloseWindowStation       = user32.NewProc("CloseWindowStation")
	procSetThreadDesktop         = user32.NewProc("SetThreadDesktop")
	procCloseDesktop             = user32.NewProc("CloseDesktop")
	procGetUserObjectInformation = user32.NewProc("GetUserObjectInformationW")
	procGetDC                    = user32.NewProc("GetDC")
	procReleaseDC                = user32.NewProc("ReleaseDC")
	procEnumDisplayMonitors      = user32.NewProc("EnumDisplayMonitors")
	procGetMonitorInfo           = user32.NewProc("GetMonitorInfoW")
	procGetCursorInfo            = user32.NewProc("GetCursorInfo")
	procSendInput                = user32.NewProc("SendInput")
	procSetProcessDpiAwarenessCt = user32.NewProc("SetProcessDpiAwarenessContext")
	procSetProcessDPIAware       = user32.NewProc("SetProcessDPIAware")
	procMapVirtualKeyEx          = user32.NewProc("MapVirtualKeyExW")
	procGetKeyboardLayout        = user32.NewProc("GetKeyboardLayout")
	procGetForegroundWindow      = user32.NewProc("GetForegroundWindow")
	procGetWindowThreadProcessID = user32.NewProc("GetWindowThreadProcessId")

	procCreateCompatibleDC = gdi32.NewProc("CreateCompatibleDC")
	procCreateDIBSection   = gdi32.NewProc("CreateDIBSection")
	procSelectObject       = gdi32.NewProc("SelectObject")
	procDeleteObject       = gdi32.NewProc("DeleteObject")
	procDeleteDC           = gdi32.NewProc("DeleteDC")
	procBitBlt             = gdi32.NewProc("BitBlt")
)

const (
	uoiName           = 2
	srcCopy           = 0x00CC0020
	captureBlt        = 0x40000000
	dibRGBColors      = 0
	monitorPrimary    = 1
	cursorShowing     = 1
	secureDesktopName = "Winlogon"
	userDesktopName   = "Default" // the user's desktop on WinSta0
	// desktopAccess is what following the input desktop needs: reading it (BitBlt),
	// sending it input, and switching the thread to it.
	desktopAccess = 0x0001 | 0x0002 | 0x0040 | 0x0080 | 0x0100 | windows.GENERIC_WRITE // READOBJECTS|CREATEWINDOW|ENUMERATE|WRITEOBJECTS|SWITCHDESKTOP
)

// Desktop is the user's desktop as the helper sees it: desktop.OS.
type Desktop struct {
	calls chan func()
	ui    *uiThread
	logMu sync.Mutex
	log   func(string)

	// Owned by the desktop thread.
	desk     windows.Handle // the input desktop the thread is on; 0: the thread's first one
	deskName string
	secure   bool
	screenDC uintptr
	memDC    uintptr
	bitmap   uintptr
	old      uintptr // memDC's bitmap before ours
	bits     unsafe.Pointer
	bw, bh   int
}

var _ desktop.OS = (*Desktop)(nil)

// NewDesktop starts the desktop's threads. log receives what the service should know
// (desktop.Serve sets it with SetLog).
func NewDesktop(log func(string)) (*Desktop, error) {
	d := &Desktop{calls: make(chan func())}
	d.SetLog(log)
	ui, err := startUIThread(d.logf)
	if err != nil {
		return nil, err
	}
	d.ui = ui
	go d.thread()
	return d, nil
}

// SetLog implements desktop's Logger: where the Desktop's messages go.
func (d *Desktop) SetLog(log func(string)) {
	if log == nil {
		log = func(string) {}
	}
	d.logMu.Lock()
	d.log = log
	d.logMu.Unlock()
}

func (d *Desktop) logf(msg string) {
	d.logMu.Lock()
	log := d.log
	d.logMu.Unlock()
	log(msg)
}

// thread runs the calls on one locked OS thread, which is never given back to Go: it may
// sit on another desktop than the process's other threads.
func (d *Desktop) thread() {
	runtime.LockOSThread()
	// The desktop joined is the one follow compares the input desktop with.
	if h := onUserDesktop(d.logf); h != 0 {
		d.desk, d.deskName = h, userDesktopName
	}
	for f := range d.calls {
		f()
	}
}

// do runs f on the desktop thread.
func (d *Desktop) do(f func() error) error {
	errc := make(chan error, 1)
	d.calls <- func() { errc <- f() }
	return <-errc
}

// follow moves the thread to the input desktop when it changed (the sign-in screen, UAC's
// prompt, back to the user's desktop); it runs on the desktop thread before every
// capture and every input.
func (d *Desktop) follow() {
	h, _, _ := procOpenInputDesktop.Call(0, 0, desktopAccess)
	if h == 0 {
		// The input desktop cannot be opened: it is a secure one this token may not
		// see (a helper that does not run as SYSTEM, or a transition).
		d.secure = true
		return
	}
	name := objectName(windows.Handle(h))
	if strings.EqualFold(name, d.deskName) {
		procCloseDesktop.Call(h)
		return
	}
	if r, _, _ := procSetThreadDesktop.Call(h); r == 0 {
		procCloseDesktop.Call(h)
		return
	}
	// The device contexts belong to the old desktop.
	d.releaseDCs()
	if d.desk != 0 {
		procCloseDesktop.Call(uintptr(d.desk))
	}
	d.desk, d.deskName = windows.Handle(h), name
	d.secure = strings.EqualFold(name, secureDesktopName)
}

// onUserDesktop puts the process on the window station WinSta0 and the calling thread on
// its desktop Default, where the user's programs are, before the thread sends input, owns
// a window or starts a program. On Windows the helper and the shell's shim start there
// (CreateProcessAsUser on winsta0\default) and this changes nothing. Wine gives every
// thread a process makes after its first the desktop of the parent's thread, which for the
// service's children is the service's invisible one (whose OpenInputDesktop answers that
// same desktop, and SetThreadDesktop then refuses it), and a process that has not loaded
// user32 keeps the service's window station: input sent from there moves the pointer but
// reaches no window, and a program started from there shows none. It returns the desktop's
// handle, which the thread keeps (0 if it could not join it).
func onUserDesktop(log func(string)) windows.Handle {
	var joined uintptr
	for _, step := range []struct {
		what        string
		open        func() (uintptr, error)
		join, close *windows.LazyProc
	}{
		{"the window station WinSta0", func() (uintptr, error) {
			h, _, e := procOpenWindowStation.Call(uintptr(unsafe.Pointer(windows.StringToUTF16Ptr("WinSta0"))), 0, windows.MAXIMUM_ALLOWED)
			return h, e
		}, procSetProcessWindowStation, procCloseWindowStation},
		{"the desktop " + userDesktopName, func() (uintptr, error) {
			h, _, e := procOpenDesktop.Call(uintptr(unsafe.Pointer(windows.StringToUTF16Ptr(userDesktopName))), 0, 0, desktopAccess)
			return h, e
		}, procSetThreadDesktop, procCloseDesktop},
	} {
		h, err := step.open()
		if h == 0 {
			log(fmt.Sprintf("Could not open %s: %v", step.what, err))
			return 0
		}
		if r, _, err := step.join.Call(h); r == 0 {
			step.close.Call(h)
			log(fmt.Sprintf("Could not join %s: %v", step.what, err))
			return 0
		}
		joined = h
	}
	return windows.Handle(joined)
}

func objectName(h windows.Handle) string {
	var buf [128]uint16
	var n uint32
	if r, _, _ := procGetUserObjectInformation.Call(uintptr(h), uoiName, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)*2), uintptr(unsafe.Pointer(&n))); r == 0 {
		return ""
	}
	return windows.UTF16ToString(buf[:])
}

func (d *Desktop) releaseDCs() {
	if d.memDC != 0 {
		if d.old != 0 {
			procSelectObject.Call(d.memDC, d.old)
		}
		procDeleteDC.Call(d.memDC)
	}
	if d.bitmap != 0 {
		procDeleteObject.Call(d.bitmap)
	}
	if d.screenDC != 0 {
		procReleaseDC.Call(0, d.screenDC)
	}
	d.memDC, d.bitmap, d.old, d.screenDC, d.bits, d.bw, d.bh = 0, 0, 0, 0, nil, 0, 0
}

// bitmapInfo is BITMAPINFOHEADER (no colour table for 32 bits).
type bitmapInfo struct {
	Size          uint32
	Width, Height int32
	Planes        uint16
	BitCount      uint16
	Compression   uint32
	SizeImage     uint32
	XPels, YPels  int32
	ClrUsed       uint32
	ClrImportant  uint32
}

// Capture implements screen.Source: BitBlt of the display's part of the virtual screen
// into a top-down 32-bit DIB section, then a copy into f.
func (d *Desktop) Capture(x screen.Display, f *screen.Frame) error {
	return d.do(func() error {
		d.follow()
		if d.screenDC == 0 {
			dc, _, _ := procGetDC.Call(0)
			if dc == 0 {
				return errors.New("GetDC of the screen failed")
			}
			d.screenDC = dc
		}
		if d.bitmap == 0 || d.bw != x.Width || d.bh != x.Height {
			if err := d.newBitmap(x.Width, x.Height); err != nil {
				d.releaseDCs()
				return err
			}
		}
		if r, _, e := procBitBlt.Call(d.memDC, 0, 0, uintptr(x.Width), uintptr(x.Height), d.screenDC, uintptr(int32(x.X)), uintptr(int32(x.Y)), srcCopy|captureBlt); r == 0 {
			// The desktop switched under the DC, most likely: start afresh next time.
			d.releaseDCs()
			return fmt.Errorf("BitBlt: %w", e)
		}
		f.Resize(x.Width, x.Height)
		copy(f.Pix, unsafe.Slice((*byte)(d.bits), x.Width*x.Height*4))
		return nil
	})
}

func (d *Desktop) newBitmap(w, h int) error {
	if d.memDC != 0 {
		if d.old != 0 {
			procSelectObject.Call(d.memDC, d.old)
		}
		procDeleteDC.Call(d.memDC)
		d.memDC, d.old = 0, 0
	}
	if d.bitmap != 0 {
		procDeleteObject.Call(d.bitmap)
		d.bitmap = 0
	}
	mem, _, _ := procCreateCompatibleDC.Call(d.screenDC)
	if mem == 0 {
		return errors.New("CreateCompatibleDC failed")
	}
	bi := bitmapInfo{Width: int32(w), Height: -int32(h), Planes: 1, BitCount: 32}
	bi.Size = uint32(unsafe.Sizeof(bi))
	var bits unsafe.Pointer
	bmp, _, e := procCreateDIBSection.Call(d.screenDC, uintptr(unsafe.Pointer(&bi)), dibRGBColors, uintptr(unsafe.Pointer(&bits)), 0, 0)
	if bmp == 0 || bits == nil {
		procDeleteDC.Call(mem)
		return fmt.Errorf("CreateDIBSection %dx%d: %w", w, h, e)
	}
	old, _, _ := procSelectObject.Call(mem, bmp)
	d.memDC, d.bitmap, d.old, d.bits, d.bw, d.bh = mem, bmp, old, bits, w, h
	return nil
}

// monitorInfo is MONITORINFOEXW.
type monitorInfo struct {
	Size    uint32
	Monitor windows.Rect
	Work    windows.Rect
	Flags   uint32
	Device  [32]uint16
}

var (
	monitorsMu  sync.Mutex
	monitorsGot []screen.Display
	// monitorCallback is made once: Windows callbacks are a limited resource.
	monitorCallback = windows.NewCallback(func(hmon, hdc, rect, data uintptr) uintptr {
		mi := monitorInfo{}
		mi.Size = uint32(unsafe.Sizeof(mi))
		if r, _, _ := procGetMonitorInfo.Call(hmon, uintptr(unsafe.Pointer(&mi))); r != 0 {
			monitorsGot = append(monitorsGot, screen.Display{X: int(mi.Monitor.Left), Y: int(mi.Monitor.Top),
				Width: int(mi.Monitor.Right - mi.Monitor.Left), Height: int(mi.Monitor.Bottom - mi.Monitor.Top),
				Primary: mi.Flags&monitorPrimary != 0, Name: windows.UTF16ToString(mi.Device[:])})
		}
		return 1
	})
)

// Displays implements screen.Source.
func (d *Desktop) Displays() ([]screen.Display, error) {
	var out []screen.Display
	err := d.do(func() error {
		monitorsMu.Lock()
		defer monitorsMu.Unlock()
		monitorsGot = nil
		if r, _, e := procEnumDisplayMonitors.Call(0, 0, monitorCallback, 0); r == 0 {
			return fmt.Errorf("EnumDisplayMonitors: %w", e)
		}
		out = monitorsGot
		return nil
	})
	if err == nil && len(out) == 0 {
		err = errors.New("no monitors")
	}
	return out, err
}

// cursorInfo is CURSORINFO.
type cursorInfo struct {
	Size   uint32
	Flags  uint32
	Cursor windows.Handle
	Pos    struct{ X, Y int32 }
}

// Cursor implements screen.Source.
func (d *Desktop) Cursor() (screen.Cursor, error) {
	var c screen.Cursor
	err := d.do(func() error {
		ci := cursorInfo{}
		ci.Size = uint32(unsafe.Sizeof(ci))
		if r, _, e := procGetCursorInfo.Call(uintptr(unsafe.Pointer(&ci))); r == 0 {
			return fmt.Errorf("GetCursorInfo: %w", e)
		}
		c = screen.Cursor{X: int(ci.Pos.X), Y: int(ci.Pos.Y), Visible: ci.Flags&cursorShowing != 0}
		return nil
	})
	return c, err
}

// Secure implements screen.Source.
func (d *Desktop) Secure() bool {
	var s bool
	_ = d.do(func() error {
		d.follow()
		s = d.secure
		return nil
	})
	return s
}

// SendInput's structures: INPUT is a type and a union whose largest member is
// MOUSEINPUT; Go aligns the union as C does (its uintptr).
type mouseInput struct {
	DX, DY    int32
	MouseData uint32
	Flags     uint32
	Time      uint32
	Extra     uintptr
}

type keybdInput struct {
	VK, Scan uint16
	Flags    uint32
	Time     uint32
	Extra    uintptr
}

type input struct {
	Type uint32
	U    mouseInput
}

const (
	inputMouse    = 0
	inputKeyboard = 1

	mouseMove        = 0x0001
	mouseLeftDown    = 0x0002
	mouseLeftUp      = 0x0004
	mouseRightDown   = 0x0008
	mouseRightUp     = 0x0010
	mouseMiddleDown  = 0x0020
	mouseMiddleUp    = 0x0040
	mouseXDown       = 0x0080
	mouseXUp         = 0x0100
	mouseWheel       = 0x0800
	mouseHWheel      = 0x1000
	mouseVirtualDesk = 0x4000
	mouseAbsolute    = 0x8000

	keyExtended = 0x0001
	keyUp       = 0x0002
	keyUnicode  = 0x0004
	keyScanCode = 0x0008
)

// vkForScan is the virtual key the scan code stands for in the keyboard layout hkl (the
// foreground program's). SendInput takes KEYEVENTF_SCANCODE and derives the key from the
// scan code itself; Wine 8 ignores that flag and reads the virtual key only, so the key
// goes along as the layout means it, which is the same key.
func vkForScan(scan uint16, extended bool, hkl uintptr) uint16 {
	if scan == 0x45 && !extended {
		return 0x13 // VK_PAUSE, which the layouts map from no plain scan code
	}
	code := uintptr(scan)
	if extended {
		code |= 0xE000
	}
	if vk, _, _ := procMapVirtualKeyEx.Call(code, mapvkVSCToVKEx, hkl); vk != 0 {
		return uint16(vk)
	}
	if extended {
		return extendedVK[scan]
	}
	return 0
}

// extendedVK are the extended keys, which mean the same in every layout, for a
// MapVirtualKeyEx that does not know the E0 prefix.
var extendedVK = map[uint16]uint16{
	0x1C: 0x0D, 0x1D: 0xA3, 0x35: 0x6F, 0x37: 0x2C, 0x38: 0xA5, 0x45: 0x90, 0x47: 0x24, 0x48: 0x26,
	0x49: 0x21, 0x4B: 0x25, 0x4D: 0x27, 0x4F: 0x23, 0x50: 0x28, 0x51: 0x22, 0x52: 0x2D, 0x53: 0x2E,
	0x5B: 0x5B, 0x5C: 0x5C, 0x5D: 0x5D,
}

const mapvkVSCToVKEx = 3

// foregroundLayout is the keyboard layout of the program the user types into.
func foregroundLayout() uintptr {
	var tid uintptr
	if w, _, _ := procGetForegroundWindow.Call(); w != 0 {
		tid, _, _ = procGetWindowThreadProcessID.Call(w, 0)
	}
	hkl, _, _ := procGetKeyboardLayout.Call(tid)
	return hkl
}

// toInput maps a desktop.Event to SendInput's INPUT; hkl is the layout keys are in.
func toInput(e desktop.Event, hkl uintptr) input {
	in := input{Type: inputMouse}
	switch e.Kind {
	case desktop.MouseMove:
		in.U = mouseInput{DX: e.X, DY: e.Y, Flags: mouseMove | mouseAbsolute | mouseVirtualDesk}
	case desktop.MouseButton:
		down := map[desktop.Button]uint32{desktop.Left: mouseLeftDown, desktop.Right: mouseRightDown, desktop.Middle: mouseMiddleDown,
			desktop.X1: mouseXDown, desktop.X2: mouseXDown}
		up := map[desktop.Button]uint32{desktop.Left: mouseLeftUp, desktop.Right: mouseRightUp, desktop.Middle: mouseMiddleUp,
			desktop.X1: mouseXUp, desktop.X2: mouseXUp}
		in.U.Flags = up[e.Button]
		if e.Down {
			in.U.Flags = down[e.Button]
		}
		switch e.Button {
		case desktop.X1:
			in.U.MouseData = 1 // XBUTTON1
		case desktop.X2:
			in.U.MouseData = 2 // XBUTTON2
		}
	case desktop.Wheel, desktop.HWheel:
		in.U.Flags = mouseWheel
		if e.Kind == desktop.HWheel {
			in.U.Flags = mouseHWheel
		}
		in.U.MouseData = uint32(e.Delta)
	case desktop.Key, desktop.Unicode:
		in.Type = inputKeyboard
		k := (*keybdInput)(unsafe.Pointer(&in.U))
		if e.Kind == desktop.Key {
			k.VK, k.Scan, k.Flags = vkForScan(e.Scan, e.Extended, hkl), e.Scan, keyScanCode
			if e.Extended {
				k.Flags |= keyExtended
			}
		} else {
			k.Scan, k.Flags = e.Char, keyUnicode
		}
		if !e.Down {
			k.Flags |= keyUp
		}
	}
	return in
}

// Inject implements desktop.OS: one SendInput call on the input desktop, so that the
// events are not interleaved with the user's own.
func (d *Desktop) Inject(events []desktop.Event) error {
	if len(events) == 0 {
		return nil
	}
	return d.do(func() error {
		d.follow()
		hkl := foregroundLayout()
		ins := make([]input, len(events))
		for i, e := range events {
			ins[i] = toInput(e, hkl)
		}
		n, _, e := procSendInput.Call(uintptr(len(ins)), uintptr(unsafe.Pointer(&ins[0])), unsafe.Sizeof(ins[0]))
		if int(n) != len(ins) {
			return fmt.Errorf("SendInput took %d of %d events: %w", n, len(ins), e)
		}
		return nil
	})
}

// ClipboardText implements desktop.OS.
func (d *Desktop) ClipboardText() (string, error) { return d.ui.clipboardText() }

// SetClipboardText implements desktop.OS.
func (d *Desktop) SetClipboardText(text string) error { return d.ui.setClipboardText(text) }

// ShowNotice implements desktop.OS.
func (d *Desktop) ShowNotice(n desktop.Notice, disconnect func()) error {
	return d.ui.showNotice(n, disconnect)
}

// HideNotice implements desktop.OS.
func (d *Desktop) HideNotice() { d.ui.hideNotice() }

// dpiAware makes the helper per-monitor DPI aware (Windows 10 1703 and later; else
// system aware), so that the capture, the monitors and the pointer are in real pixels
// rather than scaled ones.
func dpiAware() {
	const perMonitorAwareV2 = ^uintptr(3) // DPI_AWARENESS_CONTEXT_PER_MONITOR_AWARE_V2 (-4)
	if procSetProcessDpiAwarenessCt.Find() == nil {
		if r, _, _ := procSetProcessDpiAwarenessCt.Call(perMonitorAwareV2); r != 0 {
			return
		}
	}
	if procSetProcessDPIAware.Find() == nil {
		procSetProcessDPIAware.Call()
	}
}
