package remote_test

import (
	"image"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/screen"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testing/picture"
)

// desktopRig is a rig whose PC has a user's desktop behind the real Host.
func desktopRig(t testing.TB, rt route) (*rig, *fakedesktop.Desktop, *fakedesktop.Launcher) {
	d := fakedesktop.New(1280, 800)
	d.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) {
		for y := 0; y < f.Height; y++ {
			for x := 0; x < f.Width; x++ {
				f.Set(x, y, uint8(x/5), uint8(y/4), 90)
			}
		}
	})
	l := fakedesktop.NewLauncher(d)
	host := desktop.NewHost(desktop.HostConfig{Launcher: l})
	t.Cleanup(host.Close)
	return newRig(t, rigOptions{route: rt, desktop: host, consoleDesktop: true}), d, l
}

// TestScreenInputClipboard: through TURN (the app without UDP, as under Wine), the
// console sees the user's desktop on its canvas, a one-pixel change arrives as one small
// rectangle and an unchanged screen sends nothing; the technician's mouse lands where the
// canvas says; the clipboard goes both ways; the notice names the technician, and the
// user's Disconnect ends the connection as disconnected_by_user, the helper with it.
func TestScreenInputClipboard(t *testing.T) {
	r, d, l := desktopRig(t, turnTCP)
	c, _ := r.connect("r-desk")
	waitUntil(t, "the notice shows", func() bool { _, ok := d.Notice(); return ok })
	if n, _ := d.Notice(); n.Text != "Tina Example is connected" {
		t.Errorf("notice %+v", n)
	}

	c.SendScreen(map[string]any{"type": "start", "display": 0, "quality": 80, "maxFps": 20})
	ds := c.NextScreen("displays")["displays"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["width"] != 1280.0 {
		t.Errorf("displays %v", ds)
	}
	f := c.WaitFrame()
	if !f.Full || f.Width != 1280 || f.Height != 800 {
		t.Fatalf("first frame %+v", f)
	}
	draft, _ := c.Canvas()
	// The draft goes again at the console's quality once the screen rests.
	sharp := c.Settle()
	canvas, bad := c.Canvas()
	if len(bad) > 0 {
		t.Errorf("protocol: %v", bad)
	}
	full := image.Rect(0, 0, 1280, 800)
	t.Logf("full 1280×800 frame: a draft of %d bytes in %d rectangles at %.1f dB, then %d frames at %.1f dB", f.Bytes, len(f.Rects), psnr(draft, d, full), len(sharp), psnr(canvas, d, full))
	if p := psnr(canvas, d, full); len(sharp) == 0 || p < 30 || p <= psnr(draft, d, full) {
		t.Errorf("after the draft (%.1f dB) %d frames, the canvas's PSNR %.1f dB against the desktop", psnr(draft, d, full), len(sharp), p)
	}
	if f, ok := c.NextFrame(500 * time.Millisecond); ok {
		t.Errorf("an unchanged screen sent frame %+v", f)
	}
	d.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) { f.Set(333, 222, 255, 255, 255) })
	f = c.WaitFrame()
	if f.Full || len(f.Rects) != 1 || f.Rects[0].Rect != (screen.Rect{X: 320, Y: 192, W: 64, H: 64}) || f.Bytes > 4000 {
		t.Errorf("a one-pixel change: %+v", f)
	}

	c.SendInput(map[string]any{"type": "mouse", "x": 640, "y": 400, "buttons": 0, "display": 0})
	cur := c.NextScreen("cursor")
	for cur["x"] != 640.0 || cur["y"] != 400.0 {
		cur = c.NextScreen("cursor")
	}
	c.SendClipboard(map[string]any{"type": "clipboard", "text": "vom Techniker ✓"})
	waitUntil(t, "the PC's clipboard is set", func() bool { s, _ := d.ClipboardText(); return s == "vom Techniker ✓" })
	_ = d.SetClipboardText("from the user")
	c.SendClipboard(map[string]any{"type": "get"})
	if m := c.NextClipboard(); m["type"] != "clipboard" || m["text"] != "from the user" {
		t.Errorf("clipboard from the PC: %v", m)
	}

	start := time.Now()
	if err := d.ClickDisconnect(); err != nil {
		t.Fatal(err)
	}
	rep := r.report()
	if rep.Reason != protocol.RemoteDisconnectedByUser {
		t.Errorf("report %+v, want disconnected_by_user", rep)
	}
	if want := []string{"terminal", "files", "screen", "input", "clipboard"}; !slices.Equal(rep.Channels, want) {
		t.Errorf("channels %v, want %v", rep.Channels, want)
	}
	if reason := c.ByeReason(waitLimit); reason != protocol.RemoteDisconnectedByUser {
		t.Errorf("bye %q", reason)
	}
	closed := c.WaitClosed(start)
	t.Logf("the user's Disconnect → the console's channels closed in %v", closed.Round(time.Millisecond))
	waitUntil(t, "the helper has ended", func() bool { return l.Running() == 0 })
	if _, ok := d.Notice(); ok {
		t.Error("the notice still shows")
	}
	if !strings.Contains(r.log(), "Tina Example is connected") || !strings.Contains(r.log(), "pressed Disconnect") {
		t.Errorf("the event log lacks the connection or the Disconnect:\n%s", r.log())
	}
}

// TestNoticeWithoutScreen: a technician who opens only the terminal is shown to the user
// too, and the notice goes when the technician disconnects.
func TestNoticeWithoutScreen(t *testing.T) {
	r, d, l := desktopRig(t, p2p)
	r.consoleDesktop = false
	c, _ := r.connect("r-term")
	waitUntil(t, "the notice shows", func() bool { _, ok := d.Notice(); return ok })
	c.Bye()
	if rep := r.report(); rep.Reason != protocol.RemoteDisconnectedByTechnician || slices.Contains(rep.Channels, "screen") {
		t.Errorf("report %+v", rep)
	}
	waitUntil(t, "the helper has ended", func() bool { return l.Running() == 0 })
}

// TestNoDesktop: an app that cannot reach the desktop says so on the screen channel.
func TestNoDesktop(t *testing.T) {
	r := newRig(t, rigOptions{route: p2p, consoleDesktop: true})
	c, _ := r.connect("r-none")
	if m := c.NextScreen("error"); !strings.Contains(m["message"].(string), "cannot be reached") {
		t.Errorf("screen: %v", m)
	}
	c.Bye()
	r.report()
}

var _ remote.Desktop = (*desktop.Host)(nil)

func waitUntil(t testing.TB, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// psnr compares the canvas with the desktop's primary display within r.
func psnr(canvas *image.RGBA, d *fakedesktop.Desktop, r image.Rectangle) float64 {
	var src screen.Frame
	d.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) { src = *f; src.Pix = slices.Clone(f.Pix) })
	return picture.PSNR(canvas, src.RGBA(), r)
}
