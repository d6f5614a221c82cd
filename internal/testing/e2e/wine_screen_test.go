package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"

	"github.com/adhoc-support/adhoc-support/internal/local/winepc"
	"github.com/adhoc-support/adhoc-support/internal/testing/chromium"
	"github.com/adhoc-support/adhoc-support/internal/testing/picture"
)

// The screen's part of TestConsoleToWinePC: the console's canvas against the Wine PC's X
// display (Xvfb), a window the technician opens through the terminal, typing into it from
// the canvas, and the user's Disconnect on the helper's notice.

// wineDisplay is the Wine PC's display, and so the canvas's size at 1:1.
const wineDisplayW, wineDisplayH = 1280, 800

// noticeShown is the helper's line in the event log when its notice is up: the button's
// rectangle on the display. (Wine's trace quotes the notice's text with backslashes.)
var noticeShown = regexp.MustCompile(`The notice \\?"([^"\\]*)\\?" is shown; its (\S+) button is at \((-?\d+),(-?\d+)\)-\((-?\d+),(-?\d+)\)`)

// canvas is what <canvas id="screen"> shows.
func (b *browser) canvas() *image.RGBA {
	b.t.Helper()
	return chromium.MustCanvas(b.t, b.ctx, "#screen")
}

// clickDisplay clicks the canvas where it shows the display's pixel x, y (the canvas is
// scaled to fit the page).
func (b *browser) clickDisplay(x, y int) {
	b.t.Helper()
	b.eval(`String(document.querySelector("#screen").scrollIntoView({block: "start"}))`)
	r, err := chromium.BoxOf(b.ctx, "#screen")
	if err != nil {
		b.t.Fatal(err)
	}
	cx := r.Left + (float64(x)+0.5)*r.Width/wineDisplayW
	cy := r.Top + (float64(y)+0.5)*r.Height/wineDisplayH
	b.do(fmt.Sprintf("click the display at (%d,%d)", x, y), chromium.Dispatch(chromium.Click(cx, cy), nil))
}

// pressKeys presses and lets go of each key (KeyboardEvent.code, the key it means, its
// virtual-key code), Shift held for the ones marked so, as the technician's keyboard does
// into the focused canvas.
func (b *browser) pressKeys(keys ...typedKey) {
	b.t.Helper()
	var events []input.DispatchKeyEventParams
	for _, k := range keys {
		var mods int64
		if k.shift {
			mods = 8
			events = append(events, chromium.Key(input.DispatchKeyEventTypeRawKeyDown, "ShiftLeft", "Shift", 16, mods))
		}
		if k.ctrl {
			mods = 2
			events = append(events, chromium.Key(input.DispatchKeyEventTypeRawKeyDown, "ControlLeft", "Control", 17, mods))
		}
		events = append(events, chromium.Key(input.DispatchKeyEventTypeKeyDown, k.code, k.key, k.vk, mods),
			chromium.Key(input.DispatchKeyEventTypeKeyUp, k.code, k.key, k.vk, mods))
		if k.shift {
			events = append(events, chromium.Key(input.DispatchKeyEventTypeKeyUp, "ShiftLeft", "Shift", 16, 0))
		}
		if k.ctrl {
			events = append(events, chromium.Key(input.DispatchKeyEventTypeKeyUp, "ControlLeft", "Control", 17, 0))
		}
	}
	b.do("type on the canvas", chromium.Dispatch(nil, events))
}

type typedKey struct {
	code, key   string
	vk          int64
	shift, ctrl bool
}

// letters are the keys of the text, a US keyboard's (the PC maps codes, not characters).
func letters(text string) []typedKey {
	var keys []typedKey
	for _, c := range text {
		switch {
		case c == ' ':
			keys = append(keys, typedKey{code: "Space", key: " ", vk: 32})
		case c >= '0' && c <= '9':
			keys = append(keys, typedKey{code: "Digit" + string(c), key: string(c), vk: int64(c)})
		case c >= 'a' && c <= 'z':
			keys = append(keys, typedKey{code: "Key" + strings.ToUpper(string(c)), key: string(c), vk: int64(c - 'a' + 'A')})
		case c >= 'A' && c <= 'Z':
			keys = append(keys, typedKey{code: "Key" + string(c), key: string(c), vk: int64(c), shift: true})
		default:
			panic("letters: no key for " + string(c))
		}
	}
	return keys
}

// changedBounds is the rectangle around the pixels in which the two pictures differ.
func changedBounds(a, b *image.RGBA) image.Rectangle {
	var r image.Rectangle
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		row := a.PixOffset(a.Rect.Min.X, y)
		if bytes.Equal(a.Pix[row:row+4*a.Rect.Dx()], b.Pix[row:row+4*a.Rect.Dx()]) {
			continue
		}
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			i := a.PixOffset(x, y)
			if !bytes.Equal(a.Pix[i:i+3], b.Pix[i:i+3]) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// waitCanvasShows waits until the canvas shows what the X display shows within r, and
// returns the PSNR it reached.
func waitCanvasShows(t *testing.T, b *browser, pc *winepc.PC, r image.Rectangle, what string) float64 {
	t.Helper()
	deadline := time.Now().Add(wineWait)
	var p float64
	for {
		fb, err := pc.Screenshot()
		if err != nil {
			t.Fatalf("the X display: %v", err)
		}
		cv := b.canvas()
		if cv.Rect.Size() != fb.Rect.Size() {
			p = 0
		} else if p = picture.PSNR(cv, fb, r); p >= 30 {
			return p
		}
		if time.Now().After(deadline) {
			keepPicture(t, "wine-"+what+"-framebuffer.png", fb)
			keepPicture(t, "wine-"+what+"-canvas.png", cv)
			t.Fatalf("%s: the canvas (%v) against the X display (%v) within %v: PSNR %.1f dB, want at least 30", what, cv.Rect.Size(), fb.Rect.Size(), r, p)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// wineScreen: the Wine desktop on the canvas; Notepad started from the terminal appears
// there; keys typed on the canvas end up in the file Notepad saves; the user's Disconnect
// on the notice ends the connection, and the page and the audit say so.
func wineScreen(t *testing.T, b *browser, pc *winepc.PC, tracePath string, auditHas func(action, want string) bool) {
	t.Helper()
	b.waitFor("the screen", `document.querySelector('#screen-status[data-state="showing"]')`)
	if s := b.text("#screen-status"); !strings.Contains(s, fmt.Sprintf("%d×%d pixels", wineDisplayW, wineDisplayH)) {
		t.Errorf("the screen's status: %q", s)
	}
	full := image.Rect(0, 0, wineDisplayW, wineDisplayH)
	t.Logf("the canvas shows the Wine desktop: PSNR %.1f dB against the X display", waitCanvasShows(t, b, pc, full, "desktop"))

	// The notice, on the user's screen and so on the canvas.
	var notice []string
	waitFor(t, wineWait, "the helper's notice", func() bool {
		notice = noticeShown.FindStringSubmatch(wineEventLog(tracePath))
		return notice != nil
	})
	if !strings.Contains(notice[1], "connected") || notice[2] != "Disconnect" {
		t.Errorf("the notice says %q with the button %q", notice[1], notice[2])
	}
	var button [4]int
	for i := range button {
		button[i], _ = strconv.Atoi(notice[3+i])
	}
	t.Logf("the notice %q, its %s button at %v", notice[1], notice[2], button)

	// A window the technician opens through the terminal appears on the display and on the
	// canvas. (A byte order mark: Notepad keeps UTF-8.)
	typed := filepath.Join(pc.DriveC(), "typed.txt")
	if err := os.WriteFile(typed, []byte{0xEF, 0xBB, 0xBF}, 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := pc.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	opened := time.Now()
	b.typeTerminal(`start notepad C:\typed.txt` + "\r")
	var win image.Rectangle
	waitFor(t, wineWait, "Notepad's window on the X display", func() bool {
		fb, err := pc.Screenshot()
		if err != nil {
			return false
		}
		win = changedBounds(before, fb)
		return win.Dx() >= 200 && win.Dy() >= 100
	})
	time.Sleep(time.Second) // let it finish drawing
	waitCanvasShows(t, b, pc, full, "notepad")
	t.Logf("Notepad, started from the terminal, is on the canvas within %v after the command (its window within %v)",
		time.Since(opened).Round(10*time.Millisecond), win)

	// Into Notepad's text from the canvas: a click into the window takes the keyboard for
	// the PC; Shift for the capital, Ctrl+S saves.
	b.clickDisplay(win.Min.X+win.Dx()/2, win.Min.Y+win.Dy()/2)
	b.waitFor("the keyboard on the canvas", `document.querySelector('#screen-keyboard[data-captured="true"]')`)
	const text = "Hello Wine 42"
	b.pressKeys(letters(text)...)
	b.pressKeys(typedKey{code: "KeyS", key: "s", vk: 'S', ctrl: true})
	var got string
	waitFor(t, wineWait, "Notepad to save what the canvas typed", func() bool {
		data, _ := os.ReadFile(typed)
		got = winepc.DecodeText(data)
		return got == text
	})

	// The user's Disconnect, on the notice the helper shows (clicked here through the
	// canvas, as the user's mouse would: Wine has one pointer).
	disconnect := time.Now()
	b.clickDisplay((button[0]+button[2])/2, (button[1]+button[3])/2)
	b.waitFor("the page to hear the user's Disconnect", `document.querySelector('#remote-status[data-state="ended"]')`)
	if s := b.text("#remote-status"); !strings.Contains(s, "ended the connection") {
		t.Errorf("after the user's Disconnect the status says %q", s)
	}
	waitFor(t, wineWait, "the audit's remote_ended by the user", func() bool { return auditHas("remote_ended", "reason=disconnected_by_user") })
	waitFor(t, wineWait, "the helper, the shell and Notepad to end", func() bool {
		return len(pc.Processes("SupportSession.exe", " helper")) == 0 && len(pc.Processes("cmd.exe")) == 0 && len(pc.Processes("notepad")) == 0
	})
	t.Logf("the user's Disconnect → page, audit, helper, shell and Notepad gone %v later", time.Since(disconnect).Round(10*time.Millisecond))
	b.shot("wine-03b-disconnected")
}

// keepPicture saves a picture with the test output of `make test`, for a look at what
// went wrong.
func keepPicture(t *testing.T, name string, img image.Image) {
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		return
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Logf("keep %s: %v", name, err)
		return
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Logf("keep %s: %v", name, err)
	}
}
