package console_test

// Browser tests of the remote page's screen (remote-protocol.md, issue 14): headless
// Chromium runs the console against the real local stack, and the PC's screen, input and
// clipboard channels are screenPeer's (screenpeer_test.go), a pion answerer that speaks the
// contract as the app does.

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testing/chromium"
	"github.com/adhoc-support/adhoc-support/internal/testing/picture"
)

// scrollToScreen scrolls the page so that the canvas starts at the top of the viewport.
func (b *browser) scrollToScreen() {
	b.t.Helper()
	b.eval(`String(document.querySelector("#screen").scrollIntoView({block: "start"}))`)
}

// canvas is what <canvas id="screen"> shows.
func (b *browser) canvas() *image.RGBA {
	b.t.Helper()
	return chromium.MustCanvas(b.t, b.ctx, "#screen")
}

// rect is the element's box in the viewport, in CSS pixels.
func (b *browser) rect(sel string) chromium.Box {
	b.t.Helper()
	r, err := chromium.BoxOf(b.ctx, sel)
	if err != nil {
		b.t.Fatal(err)
	}
	return r
}

// dispatch sends input events as the user's mouse and keyboard make them.
func (b *browser) dispatch(what string, mouse []input.DispatchMouseEventParams, keys []input.DispatchKeyEventParams) {
	b.t.Helper()
	b.do(what, chromium.Dispatch(mouse, keys))
}

// clickAt presses and lets go of the left button at x, y of the viewport.
func (b *browser) clickAt(x, y float64) {
	b.t.Helper()
	b.dispatch("click", chromium.Click(x, y), nil)
}

// key is chromium.Key, short for the tables of keys below.
var key = chromium.Key

// screenJS reads screen.js's figures.
func (b *browser) screenStats() map[string]float64 {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`import("/console/screen.js").then((m) => JSON.stringify(m.stats))`, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatal(err)
	}
	var out map[string]float64
	_ = json.Unmarshal([]byte(s), &out)
	return out
}

// sameColour reports whether the canvas shows about c at x, y.
func sameColour(img *image.RGBA, x, y int, c color.RGBA) bool {
	got := img.RGBAAt(x, y)
	near := func(a, b uint8) bool { return math.Abs(float64(a)-float64(b)) <= 12 }
	return near(got.R, c.R) && near(got.G, c.G) && near(got.B, c.B)
}

// waitCanvas waits until the canvas shows the display's picture (PSNR at least minDB).
func waitCanvas(t *testing.T, b *browser, want *image.RGBA, minDB float64, what string) {
	t.Helper()
	deadline := time.Now().Add(peerWait)
	for {
		got := b.canvas()
		p := picture.PSNR(got, want, want.Rect)
		if got.Rect.Size() == want.Rect.Size() && p >= minDB {
			t.Logf("%s: the canvas matches the display at %.1f dB PSNR", what, p)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the canvas is %v at %.1f dB PSNR against the display's %v, want at least %.0f dB", what, got.Rect.Size(), p, want.Rect.Size(), minDB)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pixelIs is a condition: the canvas shows about c at x, y.
func pixelIs(x, y int, c color.RGBA) string {
	return fmt.Sprintf(`(() => { const d = document.querySelector("#screen").getContext("2d").getImageData(%d, %d, 1, 1).data;
		return Math.abs(d[0] - %d) <= 12 && Math.abs(d[1] - %d) <= 12 && Math.abs(d[2] - %d) <= 12; })()`, x, y, c.R, c.G, c.B)
}

// keyName is a key event as "KeyQ down".
func keyName(e inputEvent) string {
	if e.Down {
		return e.Code + " down"
	}
	return e.Code + " up"
}

// choose picks an option of a select as the user does.
func (b *browser) choose(sel, value string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	b.do("choose "+value+" in "+sel, chromedp.SetValue(chromedp.CSS(sel), value),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`document.querySelector(%s).dispatchEvent(new Event("change"))`, q)))
}

// screenRig is the PC of a screen test: the desktop the test drives, what answers the
// remote connection, and, when the PC is screenPeer, its wire for the checks of the
// protocol itself (nil for the app's own side, whose wire the app's tests check).
type screenRig struct {
	desk   desktopUnderTest
	answer func(signal func(remoteID string, sig protocol.Signal) error) answerer
	wire   *screenPeer
	// minDB is how close the canvas must be to the display (the app's JPEG quality).
	minDB float64
}

// TestConsoleRemoteScreen: the remote page's screen against screenPeer (see
// testRemoteScreen).
func TestConsoleRemoteScreen(t *testing.T) {
	peer := newScreenPeer(t)
	testRemoteScreen(t, screenRig{desk: peer, answer: peer.answerer, wire: peer, minDB: 35})
}

// testRemoteScreen: the PC's screen on the remote page. The canvas shows what the PC
// sent; a click on the scaled canvas lands on the right pixel of the display (and at 1:1);
// keys arrive as their codes whatever the layout (Ctrl+C as Ctrl and C, F5 stays away from
// the browser); the wheel; Ctrl+Alt+Home gives the keyboard back; Ctrl+Alt+Del sends the
// SAS message; the display picker switches displays (and the mouse follows); the pointer,
// the secure desktop, the clipboard both ways (in parts when large) and typing, full
// screen, German, Disconnect; no CSP violation. On the wire (screenPeer): the start, a
// frame acknowledged once all of its rectangles are drawn and never before, a full window
// of three frames acknowledged in order, quality.
func testRemoteScreen(t *testing.T, rig screenRig) {
	st := startStack(t, console.Local, console.Config{})
	tech := gateway.DevUser{Email: "sven.screen@example.com", Account: "screen"}
	desk, wire := rig.desk, rig.wire
	// Display 1 is wider than the page, so that "fit" scales it down; display 2 smaller.
	const w0, h0, w1, h1 = 1920, 1200, 800, 600
	desk.SetDisplays(testPicture(w0, h0, 90), testPicture(w1, h1, 200))
	id, _, _ := activePCWith(t, st, tech, "sabine.user@example.com", false, rig.answer)

	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal(tech.Email, tech.Account)
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	connectFromComputers(b, id)
	b.waitFor("connected", `document.querySelector('#remote-status[data-state="connected"]')`)

	var first int64
	if wire != nil {
		// The page starts the stream at once, with the contract's defaults.
		start := wire.nextScreen("start")
		if start["display"] != 0.0 || start["quality"] != 70.0 || start["maxFps"] != 20.0 {
			t.Errorf("start %v", start)
		}
		first = wire.nextAck()
	}
	b.waitFor("the screen", `document.querySelector('#screen-status[data-state="showing"]')`)
	waitCanvas(t, b, desk.Picture(0), rig.minDB, "the first full frame")
	if s := b.text("#screen-status"); !strings.Contains(s, fmt.Sprintf("Display 1 of 2 of PC-ANNA-4711, %d×%d pixels", w0, h0)) {
		t.Errorf("the screen's status: %q", s)
	}
	b.shot("41-remote-screen")

	// A change of one rectangle is drawn where it belongs.
	red := color.RGBA{255, 0, 0, 255}
	desk.Paint(0, image.Rect(640, 384, 704, 448), red)
	b.waitFor("the red rectangle", pixelIs(660, 400, red))
	if img := b.canvas(); sameColour(img, 630, 400, red) {
		t.Errorf("red beside the changed rectangle: %v at (630,400)", img.RGBAAt(630, 400))
	}
	if wire != nil {
		if n := wire.nextAck(); n != first+1 {
			t.Errorf("ack %d after frame %d, want %d", n, first, first+1)
		}
		checkWire(t, b, wire)
	}

	// The pointer is drawn over the canvas.
	desk.SetCursor(960, 600, true)
	b.waitFor("the pointer", `document.querySelector("#screen-cursor:not([hidden])[data-x=\"960\"]")`)

	// Fit: the canvas is scaled; a click lands on the display's pixel under it.
	b.scrollToScreen()
	r := b.rect("#screen")
	if r.Width >= w0 || r.Width < 400 || math.Abs(r.Width/r.Height-float64(w0)/h0) > 0.01 {
		t.Fatalf("the fitted canvas is %.1f×%.1f CSS pixels for %d×%d", r.Width, r.Height, w0, h0)
	}
	scale := w0 / r.Width
	target := image.Pt(1500, 900)
	cx := math.Round(r.Left + (float64(target.X)+0.5)*r.Width/w0)
	cy := math.Round(r.Top + (float64(target.Y)+0.5)*r.Height/h0)
	b.clickAt(cx, cy)
	wantX, wantY := int(math.Floor((cx-r.Left)*w0/r.Width)), int(math.Floor((cy-r.Top)*h0/r.Height))
	down := desk.NextInput("a press of the left button", func(e inputEvent) bool { return e.Type == "mouse" && e.Buttons == 1 })
	if int(down.X) != wantX || int(down.Y) != wantY || down.Display != 0 || math.Abs(down.X-float64(target.X)) > math.Ceil(scale) || math.Abs(down.Y-float64(target.Y)) > math.Ceil(scale) {
		t.Errorf("a click at (%.0f,%.0f) on the canvas scaled by 1/%.3f: %v, want (%d,%d) near %v", cx, cy, scale, down, wantX, wantY, target)
	}
	up := desk.NextInput("the release", func(e inputEvent) bool { return e.Type == "mouse" && e.Buttons == 0 })
	if up.X != down.X || up.Y != down.Y {
		t.Errorf("the release at %v, the press at %v", up, down)
	}
	t.Logf("fit: %d×%d shown as %.1f×%.1f CSS pixels; the click at (%.0f,%.0f) reached the PC as (%v,%v), aimed at %v", w0, h0, r.Width, r.Height, cx, cy, down.X, down.Y, target)

	// The canvas has the keyboard now: keys go as codes. An AZERTY keyboard's "a" is the
	// key KeyQ; Ctrl+C is Ctrl and C; F5 goes to the PC, not to the browser.
	if b.eval(`document.activeElement && document.activeElement.id`) != "screen" {
		t.Fatalf("after the click the focus is on %q", b.eval(`document.activeElement && document.activeElement.id`))
	}
	b.waitFor("the keyboard hint", `document.querySelector('#screen-keyboard[data-captured="true"]')`)
	if s := b.text("#screen-keyboard"); !strings.Contains(s, "Ctrl+Alt+Home") {
		t.Errorf("the keyboard hint: %q", s)
	}
	b.eval(`String(window.screenTestMarker = true)`)
	b.dispatch("keys", nil, []input.DispatchKeyEventParams{
		key(input.DispatchKeyEventTypeKeyDown, "KeyQ", "a", 65, 0), key(input.DispatchKeyEventTypeKeyUp, "KeyQ", "a", 65, 0),
		key(input.DispatchKeyEventTypeRawKeyDown, "ControlLeft", "Control", 17, 2), key(input.DispatchKeyEventTypeRawKeyDown, "KeyC", "c", 67, 2),
		key(input.DispatchKeyEventTypeKeyUp, "KeyC", "c", 67, 2), key(input.DispatchKeyEventTypeKeyUp, "ControlLeft", "Control", 17, 0),
		key(input.DispatchKeyEventTypeRawKeyDown, "F5", "F5", 116, 0), key(input.DispatchKeyEventTypeKeyUp, "F5", "F5", 116, 0),
	})
	for _, w := range []string{"KeyQ down", "KeyQ up", "ControlLeft down", "KeyC down", "KeyC up", "ControlLeft up", "F5 down", "F5 up"} {
		if got := keyName(desk.NextInput("the key "+w, func(e inputEvent) bool { return e.Type == "key" })); got != w {
			t.Errorf("key %q, want %q", got, w)
		}
	}
	if b.eval(`String(window.screenTestMarker)`) != "true" {
		t.Errorf("F5 reached the browser: the page was loaded again")
	}

	// The wheel, in pixels; a wheel that counts lines (3 lines: a notch) as 100 pixels.
	// (DevTools' mouseWheel cannot send a zero deltaX, so the page gets the events as
	// scripts make them.)
	for _, w := range []struct {
		init   string
		dx, dy float64
	}{{`{deltaY: 120}`, 0, 120}, {`{deltaX: -40}`, -40, 0}, {`{deltaY: -3, deltaMode: 1}`, 0, -100}} {
		b.eval(fmt.Sprintf(`String(document.querySelector("#screen").dispatchEvent(new WheelEvent("wheel", {...%s, bubbles: true, cancelable: true})))`, w.init))
		if e := desk.NextInput("the wheel", func(e inputEvent) bool { return e.Type == "wheel" }); math.Abs(e.DY-w.dy) > 0.01 || math.Abs(e.DX-w.dx) > 0.01 {
			t.Errorf("the wheel %s reached the PC as %v", w.init, e)
		}
	}

	// Ctrl+Alt+Home gives the keyboard back: Ctrl and Alt are let go on the PC, Home is
	// not pressed there, and later keys stay on the page.
	b.dispatch("Ctrl+Alt+Home", nil, []input.DispatchKeyEventParams{
		key(input.DispatchKeyEventTypeRawKeyDown, "ControlLeft", "Control", 17, 2), key(input.DispatchKeyEventTypeRawKeyDown, "AltLeft", "Alt", 18, 3),
		key(input.DispatchKeyEventTypeRawKeyDown, "Home", "Home", 36, 3),
	})
	var leave []string
	for range 4 {
		leave = append(leave, keyName(desk.NextInput("the keys of the leave key", func(e inputEvent) bool { return e.Type == "key" })))
	}
	if strings.Join(leave, ",") != "ControlLeft down,AltLeft down,ControlLeft up,AltLeft up" {
		t.Errorf("Ctrl+Alt+Home reached the PC as %v", leave)
	}
	b.waitFor("the keyboard given back", `document.querySelector('#screen-keyboard[data-captured="false"]') && document.activeElement.id !== "screen"`)
	b.dispatch("keys after leaving", nil, []input.DispatchKeyEventParams{
		key(input.DispatchKeyEventTypeKeyUp, "Home", "Home", 36, 0), key(input.DispatchKeyEventTypeKeyUp, "AltLeft", "Alt", 18, 0), key(input.DispatchKeyEventTypeKeyUp, "ControlLeft", "Control", 17, 0),
		key(input.DispatchKeyEventTypeKeyDown, "KeyX", "x", 88, 0), key(input.DispatchKeyEventTypeKeyUp, "KeyX", "x", 88, 0),
	})

	// Ctrl+Alt+Del: the SAS message (the next input: the keys after leaving went nowhere).
	b.click("#screen-sas")
	if e := desk.NextInput("the SAS message", func(e inputEvent) bool { return e.Type != "mouse" }); e.Type != "sas" {
		t.Errorf("after leaving, the PC got %v before the SAS message", e)
	}

	// 1:1: the canvas has the display's size; a click maps one to one.
	b.choose("#screen-scale", "actual")
	b.waitFor("1:1", fmt.Sprintf(`document.querySelector("#screen").getBoundingClientRect().width === %d`, w0))
	b.scrollToScreen()
	r = b.rect("#screen")
	cx, cy = math.Round(r.Left)+100, math.Round(r.Top)+50
	b.clickAt(cx, cy)
	down = desk.NextInput("a press at 1:1", func(e inputEvent) bool { return e.Type == "mouse" && e.Buttons == 1 })
	if wantX, wantY := int(math.Floor(cx-r.Left)), int(math.Floor(cy-r.Top)); int(down.X) != wantX || int(down.Y) != wantY {
		t.Errorf("1:1: a click at (%.0f,%.0f) reached the PC as %v, want (%d,%d)", cx, cy, down, wantX, wantY)
	}
	b.choose("#screen-scale", "fit")

	// Quality.
	b.choose("#screen-quality", "30")
	if wire != nil {
		if m := wire.nextScreen("quality"); m["quality"] != 30.0 {
			t.Errorf("quality %v", m)
		}
	}
	b.choose("#screen-quality", "90")

	// The display picker: the second display, its own size, and the mouse follows it.
	if opts := b.eval(`[...document.querySelectorAll("#screen-display option")].map((o) => o.textContent).join(" | ")`); opts != `1: \\.\DISPLAY1 (1920×1200, main display) | 2: \\.\DISPLAY2 (800×600)` {
		t.Errorf("the display picker offers %q", opts)
	}
	b.choose("#screen-display", "1")
	if wire != nil {
		if m := wire.nextScreen("display"); m["display"] != 1.0 {
			t.Errorf("display %v", m)
		}
	}
	b.waitFor("the second display", fmt.Sprintf(`document.querySelector("#screen").width === %d && document.querySelector('#screen-status').innerText.includes("Display 2 of 2")`, w1))
	waitCanvas(t, b, desk.Picture(1), rig.minDB, "the second display")
	b.scrollToScreen()
	r = b.rect("#screen")
	b.clickAt(math.Round(r.Left+r.Width/2), math.Round(r.Top+r.Height/2))
	down = desk.NextInput("a press on display 2", func(e inputEvent) bool { return e.Type == "mouse" && e.Buttons == 1 })
	if down.Display != 1 || math.Abs(down.X-w1/2) > 2 || math.Abs(down.Y-h1/2) > 2 {
		t.Errorf("a click amid display 2: %v", down)
	}

	// The secure desktop is named.
	desk.SetSecure(true)
	b.waitText("the secure desktop", "#screen-secure", "secure desktop")
	b.shot("42-remote-screen-secure")
	desk.SetSecure(false)
	b.waitFor("the secure desktop gone", `document.querySelector("#screen-secure").hidden`)

	// The clipboard, both ways, and typing.
	const toPC = "Grüße vom Techniker ✓"
	b.typeInto("#clipboard-text", toPC)
	b.click("#clipboard-send")
	waitClipboard(t, desk, toPC)
	b.click("#clipboard-type")
	if e := desk.NextInput("typed text", func(e inputEvent) bool { return e.Type == "text" }); e.Text != toPC {
		t.Errorf("typed %q", e.Text)
	}
	desk.SetClipboard("C:\\Users\\anna\\report.txt")
	b.click("#clipboard-get")
	b.waitFor("the PC's clipboard", `document.querySelector("#clipboard-text").value === "C:\\Users\\anna\\report.txt"`)
	b.waitText("the clipboard's status", "#clipboard-status", "is in the field above")
	b.shot("43-remote-screen-clipboard")
	// Large texts travel in parts (a browser's data channel takes 256 KiB a message at
	// most): 300 KB each way, with characters of several bytes at the cuts.
	big := strings.Repeat("äöü€ line of text 0123456789\n", 10000)
	q, _ := json.Marshal(big)
	b.eval(fmt.Sprintf(`String(document.querySelector("#clipboard-text").value = %s)`, q))
	b.click("#clipboard-send")
	waitClipboard(t, desk, big)
	desk.SetClipboard(strings.ToUpper(big))
	b.eval(`String(document.querySelector("#clipboard-text").value = "")`)
	b.click("#clipboard-get")
	upper, _ := json.Marshal(strings.ToUpper(big))
	b.waitFor("the PC's large clipboard", fmt.Sprintf(`document.querySelector("#clipboard-text").value === %s`, upper))

	// Full screen, and back.
	b.click("#screen-fullscreen")
	b.waitFor("full screen", `document.fullscreenElement && document.fullscreenElement.id === "screen-view"`)
	b.waitText("leave full screen", "#screen-fullscreen", "Leave full screen")
	b.click("#screen-fullscreen")
	b.waitFor("full screen left", `!document.fullscreenElement`)

	// German: the same canvas, its controls in German.
	before := b.canvas()
	b.choose("#lang", "de")
	b.waitText("German", "#screen-title", "Bildschirm")
	if s := b.text("#screen-sas"); s != "Strg+Alt+Entf" {
		t.Errorf("the SAS button in German: %q", s)
	}
	if s := b.text("#screen-keyboard"); !strings.Contains(s, "Strg+Alt+Pos1") {
		t.Errorf("the keyboard hint in German: %q", s)
	}
	if s := b.text("#screen-status"); !strings.Contains(s, "Anzeige 2 von 2") {
		t.Errorf("the screen's status in German: %q", s)
	}
	if after := b.canvas(); picture.PSNR(before, after, before.Rect) < 60 || b.eval(`document.querySelector("#screen-display").value`) != "1" {
		t.Errorf("the redraw lost the picture (%.1f dB) or the display choice", picture.PSNR(before, after, before.Rect))
	}
	b.shot("44-remote-screen-de")
	b.choose("#lang", "en")
	b.waitText("English", "#screen-title", "Screen")

	// Disconnect ends the screen too.
	b.click("#remote-disconnect")
	b.waitFor("ended", `document.querySelector('#remote-status[data-state="ended"]')`)
	b.waitFor("the screen ended", `document.querySelector('#screen-status[data-state="closed"]') && document.querySelector("#screen-sas").disabled`)
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// waitClipboard waits until the PC's clipboard holds want.
func waitClipboard(t *testing.T, desk desktopUnderTest, want string) {
	t.Helper()
	for deadline := time.Now().Add(peerWait); desk.Clipboard() != want; {
		if time.Now().After(deadline) {
			got := desk.Clipboard()
			t.Fatalf("the PC's clipboard holds %d bytes (%.40q), want %d (%.40q)", len(got), got, len(want), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkWire checks the screen channel itself: a frame is acknowledged once all of its
// rectangles are drawn, never before, and a full window of three frames sent without
// waiting comes back acknowledged in order.
func checkWire(t *testing.T, b *browser, wire *screenPeer) {
	t.Helper()
	green, blue := color.RGBA{0, 255, 0, 255}, color.RGBA{0, 0, 255, 255}
	wire.paintQuietly(0, image.Rect(0, 0, 64, 64), green)
	wire.paintQuietly(0, image.Rect(128, 0, 192, 64), blue)
	rectsBefore := b.screenStats()["rects"]
	msgs, n, ok := wire.beginFrame([]image.Rectangle{image.Rect(0, 0, 64, 64), image.Rect(128, 0, 192, 64)}, false)
	if !ok {
		t.Fatal("no room for a frame")
	}
	wire.rect(msgs[0])
	for deadline := time.Now().Add(peerWait); b.screenStats()["rects"] < rectsBefore+1; {
		if time.Now().After(deadline) {
			t.Fatalf("the page did not get the first rectangle of frame %d within %v", n, peerWait)
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case a := <-wire.acks:
		t.Errorf("frame %d acknowledged (ack %d) before its second rectangle came", n, a)
	default:
	}
	if img := b.canvas(); sameColour(img, 30, 30, green) {
		t.Errorf("the first rectangle of frame %d was drawn before the frame was whole", n)
	}
	wire.rect(msgs[1])
	if a := wire.nextAck(); a != n {
		t.Errorf("ack %d, want %d", a, n)
	}
	if img := b.canvas(); !sameColour(img, 30, 30, green) || !sameColour(img, 150, 30, blue) {
		t.Errorf("frame %d: %v and %v", n, img.RGBAAt(30, 30), img.RGBAAt(150, 30))
	}

	var sent []int64
	for i := range peerMaxInFlight {
		wire.paintQuietly(0, image.Rect(1000, 1000, 1064, 1064), color.RGBA{uint8(60 * i), 100, 160, 255})
		sent = append(sent, wire.sendFrame([]image.Rectangle{image.Rect(1000, 1000, 1064, 1064)}, false))
	}
	for _, want := range sent {
		if got := wire.nextAck(); got != want {
			t.Errorf("ack %d, want %d (sent %v)", got, want, sent)
		}
	}
	stats := b.screenStats()
	if stats["broken"] != 0 || stats["acks"] != stats["framesDrawn"] {
		t.Errorf("the page's figures: %v", stats)
	}
	t.Logf("frames drawn and acknowledged: %v", stats)
	for _, tr := range wire.tripsSoFar() {
		t.Logf("frame %d: %d bytes, announced to acknowledged (sent, decoded, drawn) in %v", tr.frame, tr.bytes, tr.took.Round(100*time.Microsecond))
	}
	waitCanvas(t, b, wire.Picture(0), 35, "after the changes")
}
