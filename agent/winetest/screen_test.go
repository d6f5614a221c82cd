//go:build linux

package winetest

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/internal/testconsole"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/local/winepc"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testing/picture"
)

// screenPC is a Wine PC on a virtual display with the real exe installed, a window of
// known pixels (testdata/pattern.c) and the exe's remote-dev mode serving a pion console
// through the local TURN server over TCP.
type screenPC struct {
	t       testing.TB
	pc      *winepc.PC
	app     *devApp
	console *testconsole.Console
	turn    *turn.Server
	ctx     context.Context
}

const (
	patternX, patternY = 100, 100
	installedExe       = `C:\Program Files\AdHocSupport\SupportSession.exe`
)

func newScreenPC(t testing.TB, animate bool) *screenPC {
	t.Helper()
	dir := t.TempDir()
	exe, _ := build(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	pc, err := winepc.Prepare(ctx, filepath.Join(dir, "pc"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pc.Stop)
	if err := pc.StartDisplay(ctx, 1280, 800); err != nil {
		t.Fatal(err)
	}
	install := filepath.Join(pc.DriveC(), "Program Files", "AdHocSupport", "SupportSession.exe")
	if err := os.MkdirAll(filepath.Dir(install), 0o755); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(exe); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(install, data, 0o755); err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(pc.DriveC(), "pattern.exe")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-O2", "-s", "-mwindows", "-o", pattern, "testdata/pattern.c", "-lgdi32").CombinedOutput(); err != nil {
		t.Fatalf("build pattern.exe: %v\n%s", err, out)
	}
	args := []string{`C:\pattern.exe`, strconv.Itoa(patternX), strconv.Itoa(patternY)}
	if animate {
		args = append(args, "animate")
	}
	s := &screenPC{t: t, pc: pc, ctx: ctx}
	s.start(args...)
	s.waitScreen("the pattern window is on the display", func(img *image.RGBA) bool {
		return near(img.RGBAAt(patternX+300, patternY+50), color.RGBA{0, 255, 0, 255}, 8)
	})
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	s.turn = srv
	return s
}

// start runs a Windows program in the prefix, on the display, until the test ends.
func (s *screenPC) start(args ...string) {
	s.t.Helper()
	cmd := s.pc.Command(s.ctx, args...)
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
}

// connect starts remote-dev and a console with every channel, through TURN over TCP.
func (s *screenPC) connect(remoteID string, env ...string) {
	t := s.t
	t.Helper()
	ctx, cancel := context.WithCancel(s.ctx)
	cmd := s.pc.Command(ctx, installedExe, "remote-dev")
	cmd.Env = append(cmd.Env, append([]string{"ADHOC_TEST_REMOTE_ACCOUNT=AdHocRemoteUser"}, env...)...)
	s.app = runRemoteDev(t, cmd, cancel)
	servers, _, err := s.turn.ICEServers(remoteID)
	if err != nil {
		t.Fatal(err)
	}
	s.console = testconsole.New(t, testconsole.Options{RemoteID: remoteID, ICEServers: servers, RelayOnly: true, Desktop: true,
		Send: func(sig protocol.Signal) {
			s.app.send(protocol.LiveSignal{Type: protocol.TypeSignal, RemoteID: remoteID, Signal: sig})
		}, AppLog: s.app.log})
	s.app.console = s.console
	s.app.send(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: remoteID, ICEServers: servers, Technician: "Tina Example",
		ExpiresAt: time.Now().Add(5 * time.Minute)})
	s.console.Offer()
	s.console.WaitOpen()
}

// waitScreen waits until the X display's framebuffer satisfies ok.
func (s *screenPC) waitScreen(what string, ok func(*image.RGBA) bool) *image.RGBA {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		img, err := s.pc.Screenshot()
		if err == nil && ok(img) {
			return img
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting until %s (%v)", what, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitStable waits until the display has not changed for half a second (the notice has
// drawn itself).
func (s *screenPC) waitStable() {
	s.t.Helper()
	var last *image.RGBA
	s.waitScreen("the display rests", func(img *image.RGBA) bool {
		same := last != nil && bytes.Equal(last.Pix, img.Pix)
		last = img
		if !same {
			return false
		}
		time.Sleep(400 * time.Millisecond)
		again, err := s.pc.Screenshot()
		return err == nil && bytes.Equal(again.Pix, img.Pix)
	})
}

// waitLog waits until the app's log matches re and returns the submatches.
func (s *screenPC) waitLog(re *regexp.Regexp) []string {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(s.app.log()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("the app's log lacks %v:\n%s", re, s.app.log())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// click presses and releases the left button at x, y of display 0.
func (s *screenPC) click(x, y int) {
	c := s.console
	c.SendInput(map[string]any{"type": "mouse", "x": x, "y": y, "buttons": 0, "display": 0})
	c.SendInput(map[string]any{"type": "mouse", "x": x, "y": y, "buttons": 1, "display": 0})
	c.SendInput(map[string]any{"type": "mouse", "x": x, "y": y, "buttons": 0, "display": 0})
}

// key presses and releases a key by its KeyboardEvent.code, with modifiers held.
func (s *screenPC) key(code string, modifiers ...string) {
	c := s.console
	for _, m := range modifiers {
		c.SendInput(map[string]any{"type": "key", "code": m, "down": true})
	}
	c.SendInput(map[string]any{"type": "key", "code": code, "down": true})
	c.SendInput(map[string]any{"type": "key", "code": code, "down": false})
	for _, m := range modifiers {
		c.SendInput(map[string]any{"type": "key", "code": m, "down": false})
	}
}

func near(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

// bounds is the rectangle around a frame's rectangles.
func bounds(f testconsole.Frame) image.Rectangle {
	var r image.Rectangle
	for _, h := range f.Rects {
		r = r.Union(image.Rect(h.Rect.X, h.Rect.Y, h.Rect.X+h.Rect.W, h.Rect.Y+h.Rect.H))
	}
	return r
}

var noticeButton = regexp.MustCompile(`The notice "([^"]*)" is shown; its (\S+) button is at \((-?\d+),(-?\d+)\)-\((-?\d+),(-?\d+)\)`)

// TestScreenUnderWine: the real exe's helper under Wine on Xvfb (a child process of the
// service, as Wine has no session 0). Its GDI capture of the desktop, drawn on the
// console's canvas, matches the X server's framebuffer, and the pattern window's pixels;
// an unchanged screen sends nothing; a click through SendInput changes the window, and
// only that part is sent again; the pointer lands on the very pixel; keys typed into
// Notepad (scan codes, Unicode text, the clipboard pasted with Ctrl+V) end up in the file
// it saves with Ctrl+S; the notice names the technician, and a click on its Disconnect
// ends the connection as disconnected_by_user and the helper with it.
func TestScreenUnderWine(t *testing.T) {
	s := newScreenPC(t, false)
	s.connect("r-screen", "ADHOC_LANG=en")
	c := s.console

	// The notice, with its button where the helper put it.
	m := s.waitLog(noticeButton)
	if m[1] != "Tina Example is connected" || m[2] != "Disconnect" {
		t.Errorf("notice %q with button %q", m[1], m[2])
	}
	if pids := s.pc.Processes("SupportSession.exe", " helper"); len(pids) != 1 {
		t.Errorf("%d helper processes, want 1", len(pids))
	}

	s.waitStable()
	start := time.Now()
	c.SendScreen(map[string]any{"type": "start", "display": 0, "quality": 90, "maxFps": 20})
	ds := c.NextScreen("displays")["displays"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["width"] != 1280.0 || ds[0].(map[string]any)["height"] != 800.0 || ds[0].(map[string]any)["primary"] != true {
		t.Fatalf("displays %v", ds)
	}
	f := c.WaitFrame()
	t.Logf("start → first full frame drawn in %v: %d bytes in %d rectangles", time.Since(start).Round(time.Millisecond), f.Bytes, len(f.Rects))
	if !f.Full || f.Width != 1280 || f.Height != 800 {
		t.Fatalf("first frame %+v", f)
	}
	// The full frame is a draft: once the screen rests it goes again at quality 90.
	if sharp := c.Settle(); len(sharp) == 0 {
		t.Errorf("the draft was not sent again")
	} else {
		t.Logf("then at quality 90: %d bytes, drawn %v after the start", sharp[0].Bytes, sharp[0].Drawn.Sub(start).Round(time.Millisecond))
	}
	canvas, bad := c.Canvas()
	if len(bad) > 0 {
		t.Errorf("protocol: %v", bad)
	}
	fb, err := s.pc.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	p := picture.PSNR(canvas, fb, fb.Rect)
	t.Logf("the canvas against the X framebuffer: PSNR %.1f dB", p)
	if p < 30 {
		s.keepPictures("first-frame")
		t.Errorf("the canvas against the X framebuffer: PSNR %.1f dB, want at least 30", p)
	}
	for _, q := range []struct {
		x, y int
		want color.RGBA
	}{{50, 50, color.RGBA{255, 0, 0, 255}}, {250, 50, color.RGBA{0, 255, 0, 255}}, {50, 200, color.RGBA{0, 0, 255, 255}}, {250, 200, color.RGBA{255, 255, 255, 255}}} {
		if got := canvas.RGBAAt(patternX+q.x+50, patternY+q.y+25); !near(got, q.want, 12) {
			t.Errorf("the pattern at (%d,%d) is %v on the canvas, want %v", q.x, q.y, got, q.want)
		}
	}

	// An unchanged screen sends nothing.
	if f, ok := c.NextFrame(time.Second); ok {
		t.Errorf("an unchanged screen sent frame %d (%v)", f.Number, bounds(f))
	}

	// The pointer lands on the very pixel.
	for _, p := range [][2]int{{640, 400}, {0, 0}, {1279, 799}, {333, 517}} {
		c.SendInput(map[string]any{"type": "mouse", "x": p[0], "y": p[1], "buttons": 0, "display": 0})
		deadline := time.Now().Add(10 * time.Second)
		for {
			m := c.NextScreen("cursor")
			if m["x"] == float64(p[0]) && m["y"] == float64(p[1]) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the pointer did not reach %v: %v", p, m)
			}
		}
	}

	// A click on the pattern turns its top-left quadrant yellow: one frame with that part.
	sent := time.Now()
	s.click(patternX+100, patternY+75)
	f = c.WaitFrame()
	t.Logf("click → the changed quadrant drawn on the canvas %v later", f.Drawn.Sub(sent).Round(time.Millisecond))
	canvas, _ = c.Canvas()
	if got := canvas.RGBAAt(patternX+100, patternY+75); !near(got, color.RGBA{255, 255, 0, 255}, 12) {
		t.Errorf("after the click the quadrant is %v, want yellow", got)
	}
	if b := bounds(f); !b.Overlaps(image.Rect(patternX, patternY, patternX+200, patternY+150)) || b.Dx()*b.Dy() > 400*300 {
		t.Errorf("the click's frame covers %v", b)
	}

	s.notepad()

	// The user's Disconnect, clicked where the notice's button is.
	x1, _ := strconv.Atoi(m[3])
	y1, _ := strconv.Atoi(m[4])
	x2, _ := strconv.Atoi(m[5])
	y2, _ := strconv.Atoi(m[6])
	disconnect := time.Now()
	s.click((x1+x2)/2, (y1+y2)/2)
	rep := s.app.ended(t)
	t.Logf("Disconnect clicked → reported %v later", time.Since(disconnect).Round(time.Millisecond))
	if rep.Reason != protocol.RemoteDisconnectedByUser {
		t.Errorf("report %+v, want disconnected_by_user", rep)
	}
	if reason := c.ByeReason(15 * time.Second); reason != protocol.RemoteDisconnectedByUser {
		t.Errorf("bye %q", reason)
	}
	waitFor(t, "the helper has ended", 10*time.Second, func() bool { return len(s.pc.Processes("SupportSession.exe", " helper")) == 0 })
	if strings.Contains(s.app.log(), "did not end") {
		t.Errorf("the helper had to be killed:\n%s", s.app.log())
	}
}

// notepad types into Wine's Notepad through the console and checks the file it saves.
func (s *screenPC) notepad() {
	t, c := s.t, s.console
	file := filepath.Join(s.pc.DriveC(), "typed.txt")
	// A UTF-8 byte order mark: Notepad keeps the encoding, so every character survives.
	if err := os.WriteFile(file, []byte{0xEF, 0xBB, 0xBF}, 0o644); err != nil {
		t.Fatal(err)
	}
	s.start("notepad.exe", `C:\typed.txt`)
	// Notepad's window appears on the canvas.
	var win image.Rectangle
	deadline := time.Now().Add(30 * time.Second)
	for win.Dx() < 200 || win.Dy() < 100 {
		f, ok := c.NextFrame(time.Until(deadline))
		if !ok {
			t.Fatalf("Notepad's window did not appear on the canvas; app log:\n%s", s.app.log())
		}
		win = win.Union(bounds(f))
	}
	time.Sleep(time.Second) // let it finish drawing
	for _, ok := c.NextFrame(300 * time.Millisecond); ok; _, ok = c.NextFrame(300 * time.Millisecond) {
	}
	t.Logf("Notepad's window is within %v", win)
	s.click(win.Min.X+win.Dx()/2, win.Min.Y+win.Dy()/2)
	// "Hello, Wine 42" by keys: Shift for the capital, the comma and digits by their codes.
	s.key("KeyH", "ShiftLeft")
	for _, k := range []string{"KeyE", "KeyL", "KeyL", "KeyO", "Comma", "Space"} {
		s.key(k)
	}
	s.key("KeyW", "ShiftRight")
	for _, k := range []string{"KeyI", "KeyN", "KeyE", "Space", "Digit4", "Digit2", "Enter"} {
		s.key(k)
	}
	c.SendInput(map[string]any{"type": "text", "text": "Grüße 😀\n"})
	c.SendClipboard(map[string]any{"type": "clipboard", "text": "vom Techniker ✓"})
	time.Sleep(300 * time.Millisecond)
	s.key("KeyV", "ControlLeft")
	c.SendClipboard(map[string]any{"type": "get"})
	if m := c.NextClipboard(); m["text"] != "vom Techniker ✓" {
		t.Errorf("the PC's clipboard: %v", m)
	}
	time.Sleep(300 * time.Millisecond)
	s.key("KeyS", "ControlLeft")
	want := "Hello, Wine 42\r\nGrüße 😀\r\nvom Techniker ✓"
	var got string
	deadline = time.Now().Add(20 * time.Second)
	for got != want {
		data, _ := os.ReadFile(file)
		got = winepc.DecodeText(data)
		if time.Now().After(deadline) {
			s.keepPictures("notepad")
			t.Fatalf("Notepad saved %q, want %q; app log:\n%s", got, want, s.app.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	if m, ok := c.NextInput(0); ok {
		t.Errorf("the input channel reported %v", m)
	}
}

// keepPictures saves the X framebuffer and the console's canvas with the test output
// of `make test`, for a look at what went wrong.
func (s *screenPC) keepPictures(name string) {
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		return
	}
	save := func(file string, img image.Image) {
		f, err := os.Create(filepath.Join(dir, file))
		if err != nil {
			return
		}
		defer f.Close()
		_ = png.Encode(f, img)
	}
	if img, err := s.pc.Screenshot(); err == nil {
		save("wine-"+name+"-framebuffer.png", img)
	}
	if s.console != nil {
		cv, _ := s.console.Canvas()
		save("wine-"+name+"-canvas.png", cv)
	}
}
