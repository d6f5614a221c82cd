package console_test

// The screen tests against the app's own side: agent/remote's Manager with agent/desktop's
// Host, whose helper (desktop.Serve, the real logic) runs on agent/desktop/fakedesktop.
// appDesktop is desktopUnderTest for it: it paints fakedesktop's displays and reads back
// the input the helper injected, turning SendInput's events into the console's messages
// they came from (scan codes to KeyboardEvent.code, normalized coordinates to a display's
// pixels), and the Launcher's SendSAS count into the SAS message.

import (
	"fmt"
	"image"
	"image/color"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/agent/screen"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

type appDesktop struct {
	t    *testing.T
	d    *fakedesktop.Desktop
	l    *fakedesktop.Launcher
	host *desktop.Host

	mu       sync.Mutex
	displays []screen.Display
	buttons  int
	at       inputEvent // the pointer's last position, as a mouse message
	sas      int
	queue    []inputEvent
}

var _ desktopUnderTest = (*appDesktop)(nil)

// codes are the keys the tests press, by scan code (extended keys with 0xE000).
var codes = func() map[uint16]string {
	m := map[uint16]string{}
	for _, c := range []string{"KeyQ", "KeyC", "KeyX", "ControlLeft", "AltLeft", "F5", "Home", "Enter", "Tab"} {
		scan, ext, _ := desktop.ScanCode(c)
		if ext {
			scan |= 0xE000
		}
		m[scan] = c
	}
	return m
}()

func newAppDesktop(t *testing.T) *appDesktop {
	a := &appDesktop{t: t, d: fakedesktop.New(640, 400)}
	a.l = fakedesktop.NewLauncher(a.d)
	a.host = desktop.NewHost(desktop.HostConfig{Launcher: a.l})
	t.Cleanup(a.host.Close)
	return a
}

// answerer is the app's remote access with the desktop, as activePCWith takes it.
func (a *appDesktop) answerer(signal func(string, protocol.Signal) error) answerer {
	return remote.New(remote.Config{
		OS: fakeremote.New(a.t.TempDir()), Account: session.DefaultUsername, Signal: signal, Desktop: a.host,
		Ended: func(protocol.RemoteEndedRequest) {}, Log: func(_ remote.Level, msg string) { a.t.Log("app: " + msg) },
	})
}

func (a *appDesktop) name(i int) string { return fmt.Sprintf(`\\.\DISPLAY%d`, i+1) }

func (a *appDesktop) SetDisplays(pictures ...*image.RGBA) {
	var ds []screen.Display
	x := 0
	for i, p := range pictures {
		ds = append(ds, screen.Display{Index: i, X: x, Width: p.Rect.Dx(), Height: p.Rect.Dy(), Primary: i == 0, Name: a.name(i)})
		x += p.Rect.Dx()
	}
	a.d.SetDisplays(ds...)
	for i, p := range pictures {
		a.d.Paint(a.name(i), func(f *screen.Frame) {
			for y := 0; y < f.Height; y++ {
				for x := 0; x < f.Width; x++ {
					c := p.RGBAAt(x, y)
					f.Set(x, y, c.R, c.G, c.B)
				}
			}
		})
	}
	a.mu.Lock()
	a.displays = screen.Order(ds)
	a.mu.Unlock()
}

func (a *appDesktop) Paint(display int, r image.Rectangle, c color.RGBA) {
	a.d.Paint(a.name(display), func(f *screen.Frame) {
		f.Fill(screen.Rect{X: r.Min.X, Y: r.Min.Y, W: r.Dx(), H: r.Dy()}, c.R, c.G, c.B)
	})
}

func (a *appDesktop) Picture(display int) *image.RGBA {
	var img *image.RGBA
	a.d.Paint(a.name(display), func(f *screen.Frame) { img = f.RGBA() })
	return img
}

func (a *appDesktop) SetCursor(x, y int, visible bool) {
	a.d.SetCursor(screen.Cursor{X: x, Y: y, Visible: visible}) // display 0 is at the origin
}

func (a *appDesktop) SetSecure(secure bool) { a.d.SetSecure(secure) }

func (a *appDesktop) Clipboard() string {
	s, _ := a.d.ClipboardText()
	return s
}

func (a *appDesktop) SetClipboard(text string) { _ = a.d.SetClipboardText(text) }

// collect turns the events injected since the last call into messages.
func (a *appDesktop) collect() {
	events := a.d.Events()
	_, sas := a.l.SASPolicy()
	a.mu.Lock()
	defer a.mu.Unlock()
	vd := screen.VirtualDesktop(a.displays)
	var text []uint16
	flush := func() {
		if len(text) > 0 {
			a.queue = append(a.queue, inputEvent{Type: "text", Text: string(utf16.Decode(text))})
			text = nil
		}
	}
	for i, e := range events {
		if e.Kind != desktop.Unicode {
			flush()
		}
		switch e.Kind {
		case desktop.MouseMove:
			px, py := vd.X+int(int64(e.X)*int64(vd.W)>>16), vd.Y+int(int64(e.Y)*int64(vd.H)>>16)
			for i, d := range a.displays {
				if px >= d.X && px < d.X+d.Width && py >= d.Y && py < d.Y+d.Height {
					a.at = inputEvent{Type: "mouse", X: float64(px - d.X), Y: float64(py - d.Y), Display: i}
				}
			}
			if i+1 < len(events) && events[i+1].Kind == desktop.MouseButton {
				continue // one message: the move and the buttons that changed with it
			}
			m := a.at
			m.Buttons = a.buttons
			a.queue = append(a.queue, m)
		case desktop.MouseButton:
			if i+1 < len(events) && events[i+1].Kind == desktop.MouseButton {
				if e.Down {
					a.buttons |= 1 << e.Button
				} else {
					a.buttons &^= 1 << e.Button
				}
				continue
			}
			if e.Down {
				a.buttons |= 1 << e.Button
			} else {
				a.buttons &^= 1 << e.Button
			}
			m := a.at
			m.Buttons = a.buttons
			a.queue = append(a.queue, m)
		case desktop.Wheel:
			a.queue = append(a.queue, inputEvent{Type: "wheel", DY: -float64(e.Delta) * 100 / 120})
		case desktop.HWheel:
			a.queue = append(a.queue, inputEvent{Type: "wheel", DX: float64(e.Delta) * 100 / 120})
		case desktop.Key:
			scan := e.Scan
			if e.Extended {
				scan |= 0xE000
			}
			code, ok := codes[scan]
			if !ok {
				code = fmt.Sprintf("scan %#x", scan)
			}
			a.queue = append(a.queue, inputEvent{Type: "key", Code: code, Down: e.Down})
		case desktop.Unicode:
			if e.Down {
				text = append(text, e.Char)
			}
		}
	}
	flush()
	for ; a.sas < sas; a.sas++ {
		a.queue = append(a.queue, inputEvent{Type: "sas"})
	}
}

func (a *appDesktop) NextInput(what string, match func(inputEvent) bool) inputEvent {
	a.t.Helper()
	deadline := time.Now().Add(peerWait)
	var skipped []string
	for {
		a.collect()
		a.mu.Lock()
		for len(a.queue) > 0 {
			e := a.queue[0]
			a.queue = a.queue[1:]
			if match(e) {
				a.mu.Unlock()
				return e
			}
			skipped = append(skipped, e.String())
		}
		a.mu.Unlock()
		if time.Now().After(deadline) {
			a.t.Fatalf("no input %s within %v; skipped %v", what, peerWait, skipped)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestConsoleRemoteScreenApp: the remote page's screen against the app's own side.
func TestConsoleRemoteScreenApp(t *testing.T) {
	a := newAppDesktop(t)
	testRemoteScreen(t, screenRig{desk: a, answer: a.answerer, minDB: 30})
}
