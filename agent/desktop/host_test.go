package desktop_test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/screen"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

const waitLimit = 10 * time.Second

// peer is the remote connection's side: what the helper sends, per channel.
type peer struct {
	mu           sync.Mutex
	texts        map[string][]map[string]any
	rects        []screen.Header
	disconnected int
}

func newPeer() *peer { return &peer{texts: map[string][]map[string]any{}} }

func (p *peer) Message(label string, text bool, data []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !text {
		h, _, err := screen.ParseRect(data)
		if err == nil {
			p.rects = append(p.rects, h)
		}
		return
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err == nil {
		p.texts[label] = append(p.texts[label], m)
	}
}

func (p *peer) Disconnected() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.disconnected++
}

// wait waits until a text message on the channel satisfies ok and returns it.
func (p *peer) wait(t *testing.T, label string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for time.Now().Before(deadline) {
		p.mu.Lock()
		for i, m := range p.texts[label] {
			if ok(m) {
				p.texts[label] = p.texts[label][i+1:]
				p.mu.Unlock()
				return m
			}
		}
		p.mu.Unlock()
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatalf("no such message on %s within %v; got %v", label, waitLimit, p.texts[label])
	return nil
}

func ofType(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == typ }
}

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type rig struct {
	d    *fakedesktop.Desktop
	l    *fakedesktop.Launcher
	h    *desktop.Host
	p    *peer
	link remote.DesktopLink
	mu   sync.Mutex
	logs []string
}

func newRig(t *testing.T) *rig {
	r := &rig{d: fakedesktop.New(1280, 800), p: newPeer()}
	r.l = fakedesktop.NewLauncher(r.d)
	r.h = desktop.NewHost(desktop.HostConfig{Launcher: r.l, RetryAfter: 20 * time.Millisecond, StopWait: time.Second,
		Log: func(_ remote.Level, msg string) { r.mu.Lock(); r.logs = append(r.logs, msg); r.mu.Unlock() }})
	t.Cleanup(r.h.Close)
	return r
}

func (r *rig) attach(t *testing.T, technician string) {
	t.Helper()
	link, err := r.h.Attach(technician, r.p)
	if err != nil {
		t.Fatal(err)
	}
	r.link = link
}

func (r *rig) send(label string, v any) {
	data, _ := json.Marshal(v)
	r.link.Send(label, data)
}

func (r *rig) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.logs, "\n")
}

// TestHelperLifecycle: attaching starts the helper in the console's session and shows the
// notice; the screen streams through it; the user's Disconnect reaches the connection;
// closing the link hides the notice and ends the helper, which leaves when told.
func TestHelperLifecycle(t *testing.T) {
	r := newRig(t)
	r.attach(t, "Tina Example")
	eventually(t, "the notice shows", func() bool { _, ok := r.d.Notice(); return ok })
	if n, _ := r.d.Notice(); n.Text != "Tina Example is connected" || n.Button != "Disconnect" {
		t.Errorf("notice %+v", n)
	}
	if s, ok := r.h.Running(); !ok || s != 1 {
		t.Errorf("helper in session %d (%v), want 1", s, ok)
	}
	r.send(protocol.ChannelScreen, map[string]any{"type": "start", "display": 0, "quality": 70, "maxFps": 20})
	f := r.p.wait(t, protocol.ChannelScreen, ofType("frame"))
	if f["full"] != true || f["frame"] != 1.0 {
		t.Errorf("first frame %v", f)
	}
	eventually(t, "the rectangles arrive", func() bool { r.p.mu.Lock(); defer r.p.mu.Unlock(); return len(r.p.rects) == int(f["rects"].(float64)) })

	if err := r.d.ClickDisconnect(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the connection hears the Disconnect", func() bool { r.p.mu.Lock(); defer r.p.mu.Unlock(); return r.p.disconnected == 1 })

	r.link.Close()
	if _, ok := r.d.Notice(); ok {
		t.Error("the notice still shows after the end")
	}
	procs := r.l.Processes()
	if len(procs) != 1 || procs[0].Running() || procs[0].Killed() {
		t.Errorf("helpers %d, running %v, killed %v: want one that ended when told", len(procs), procs[0].Running(), procs[0].Killed())
	}
	if _, ok := r.h.Running(); ok {
		t.Error("the Host still counts a helper")
	}
}

// TestSessionChange: when the console switches to another session, the helper ends
// there and starts in the new one, shows the notice again, and the screen goes on with
// a full frame of the new desktop whose number follows the old ones; a session change
// that leaves the console's session as it was changes nothing.
func TestSessionChange(t *testing.T) {
	r := newRig(t)
	r.attach(t, "Tina Example")
	r.send(protocol.ChannelScreen, map[string]any{"type": "start", "quality": 60})
	f := r.p.wait(t, protocol.ChannelScreen, ofType("frame"))
	r.send(protocol.ChannelScreen, map[string]any{"type": "ack", "frame": f["frame"]})

	r.h.SessionChanged() // e.g. WTS_SESSION_LOCK: the same session
	if n := len(r.l.Processes()); n != 1 {
		t.Fatalf("%d helpers after a change within the session", n)
	}

	other := fakedesktop.New(1024, 768)
	other.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) { f.Fill(screen.Rect{W: 1024, H: 768}, 0, 0, 255) })
	r.l.SetSession(2, other)
	r.h.SessionChanged()
	eventually(t, "a helper runs in session 2", func() bool { s, ok := r.h.Running(); return ok && s == 2 })
	eventually(t, "the notice shows in session 2", func() bool { _, ok := other.Notice(); return ok })
	old := r.l.Processes()[0]
	eventually(t, "the old helper is gone", func() bool { return !old.Running() })
	if _, ok := r.d.Notice(); ok {
		t.Error("the old session still shows the notice")
	}
	f2 := r.p.wait(t, protocol.ChannelScreen, func(m map[string]any) bool { return m["type"] == "frame" && m["width"] == 1024.0 })
	if f2["full"] != true || f2["frame"].(float64) <= f["frame"].(float64) {
		t.Errorf("after the switch: %v (before: frame %v)", f2, f["frame"])
	}

	// No console session for a moment (a switch in progress), then session 3.
	r.l.SetSession(0, nil)
	r.h.SessionChanged()
	eventually(t, "no helper runs", func() bool { _, ok := r.h.Running(); return !ok })
	third := fakedesktop.New(800, 600)
	r.l.SetSession(3, third)
	r.h.SessionChanged()
	eventually(t, "a helper runs in session 3", func() bool { s, ok := r.h.Running(); return ok && s == 3 })
	r.p.wait(t, protocol.ChannelScreen, func(m map[string]any) bool { return m["type"] == "frame" && m["width"] == 800.0 })

	r.link.Close()
	eventually(t, "every helper has ended", func() bool { return r.l.Running() == 0 })
	if n := len(r.l.Processes()); n != 3 {
		t.Errorf("%d helpers started, want 3 (sessions 1, 2, 3)", n)
	}
}

// TestHelperDies: a helper that exits by itself is started again while a technician is
// connected, and the screen goes on.
func TestHelperDies(t *testing.T) {
	r := newRig(t)
	r.attach(t, "Tina Example")
	r.send(protocol.ChannelScreen, map[string]any{"type": "start"})
	r.p.wait(t, protocol.ChannelScreen, ofType("frame"))
	_ = r.l.Processes()[0].Kill()
	eventually(t, "a second helper", func() bool { return len(r.l.Processes()) == 2 && r.l.Processes()[1].Running() })
	f := r.p.wait(t, protocol.ChannelScreen, ofType("frame"))
	if f["full"] != true {
		t.Errorf("after the restart: %v", f)
	}
	if !strings.Contains(r.log(), "starting it again") {
		t.Errorf("log:\n%s", r.log())
	}
}

// TestInput: the console's events reach the desktop as SendInput events: the pointer on
// either of two displays lands on the very pixel, buttons press and release, the wheel
// turns in notches, keys are scan codes (extended where they are), text is typed as
// Unicode; an unknown key is refused with a message; whatever is held is let go at the
// end.
func TestInput(t *testing.T) {
	r := newRig(t)
	// A second monitor left of the primary one, lower down.
	r.d.SetDisplays(
		screen.Display{X: 0, Y: 0, Width: 1280, Height: 800, Primary: true, Name: `\\.\DISPLAY1`},
		screen.Display{X: -1920, Y: 200, Width: 1920, Height: 1080, Name: `\\.\DISPLAY2`},
	)
	r.attach(t, "Tina Example")
	points := []struct {
		display, x, y int
		wantX, wantY  int // on the virtual desktop
	}{
		{0, 0, 0, 0, 0},
		{0, 640, 400, 640, 400},
		{0, 1279, 799, 1279, 799},
		{1, 0, 0, -1920, 200},
		{1, 1919, 1079, -1, 1279},
		{1, 960, 540, -960, 740},
		{0, 5000, -3, 1279, 0}, // clamped to the display
	}
	for _, p := range points {
		r.send(protocol.ChannelInput, map[string]any{"type": "mouse", "x": p.x, "y": p.y, "buttons": 0, "display": p.display})
		eventually(t, "the pointer moves", func() bool {
			c, _ := r.d.Cursor()
			return c.X == p.wantX && c.Y == p.wantY
		})
	}
	r.d.Events()
	// Left down, then right down too, then both up.
	for _, b := range []int{1, 3, 0} {
		r.send(protocol.ChannelInput, map[string]any{"type": "mouse", "x": 10, "y": 10, "buttons": b, "display": 0})
	}
	r.send(protocol.ChannelInput, map[string]any{"type": "wheel", "dx": 0, "dy": 100})
	r.send(protocol.ChannelInput, map[string]any{"type": "wheel", "dx": 0, "dy": -50})
	r.send(protocol.ChannelInput, map[string]any{"type": "wheel", "dx": 0, "dy": -50})
	r.send(protocol.ChannelInput, map[string]any{"type": "key", "code": "ControlLeft", "down": true})
	r.send(protocol.ChannelInput, map[string]any{"type": "key", "code": "KeyC", "down": true})
	r.send(protocol.ChannelInput, map[string]any{"type": "key", "code": "KeyC", "down": false})
	r.send(protocol.ChannelInput, map[string]any{"type": "key", "code": "ArrowLeft", "down": true})
	r.send(protocol.ChannelInput, map[string]any{"type": "key", "code": "NoSuchKey", "down": true})
	r.send(protocol.ChannelInput, map[string]any{"type": "text", "text": "aü😀\r\nb"})
	m := r.p.wait(t, protocol.ChannelInput, ofType("error"))
	if !strings.Contains(m["message"].(string), "NoSuchKey") {
		t.Errorf("unknown key: %v", m)
	}
	move := func(x, y int) desktop.Event {
		nx, ny := desktop.Normalize(screen.Rect{X: -1920, Y: 0, W: 3200, H: 1280}, x, y)
		return desktop.Event{Kind: desktop.MouseMove, X: nx, Y: ny}
	}
	key := func(scan uint16, ext, down bool) desktop.Event {
		return desktop.Event{Kind: desktop.Key, Scan: scan, Extended: ext, Down: down}
	}
	uni := func(u uint16) []desktop.Event {
		return []desktop.Event{{Kind: desktop.Unicode, Char: u, Down: true}, {Kind: desktop.Unicode, Char: u}}
	}
	want := []desktop.Event{
		move(10, 10), {Kind: desktop.MouseButton, Button: desktop.Left, Down: true},
		move(10, 10), {Kind: desktop.MouseButton, Button: desktop.Right, Down: true},
		move(10, 10), {Kind: desktop.MouseButton, Button: desktop.Left}, {Kind: desktop.MouseButton, Button: desktop.Right},
		{Kind: desktop.Wheel, Delta: -120}, {Kind: desktop.Wheel, Delta: 60}, {Kind: desktop.Wheel, Delta: 60},
		key(0x1D, false, true), key(0x2E, false, true), key(0x2E, false, false), key(0x4B, true, true),
	}
	want = append(want, uni('a')...)
	want = append(want, uni(0xfc)...)
	want = append(want, uni(0xd83d)...)
	want = append(want, uni(0xde00)...)
	want = append(want, key(0x1C, false, true), key(0x1C, false, false))
	want = append(want, uni('b')...)
	var got []desktop.Event
	eventually(t, "the text is typed", func() bool {
		got = append(got, r.d.Events()...)
		return len(got) >= len(want)
	})
	if !slices.Equal(got, want) {
		t.Errorf("events:\n got %v\nwant %v", got, want)
	}
	// The end lets go of Ctrl and the arrow, which were never released.
	r.link.Close()
	rel := r.d.Events()
	slices.SortFunc(rel, func(a, b desktop.Event) int { return int(a.Scan) - int(b.Scan) })
	if !slices.Equal(rel, []desktop.Event{key(0x1D, false, false), key(0x4B, true, false)}) {
		t.Errorf("released at the end: %v", rel)
	}
}

// TestScanCodes: a few keys a technician needs, including the extended ones.
func TestScanCodes(t *testing.T) {
	tests := []struct {
		code string
		scan uint16
		ext  bool
	}{
		{"KeyA", 0x1E, false}, {"KeyZ", 0x2C, false}, {"KeyY", 0x15, false}, {"Digit0", 0x0B, false},
		{"Enter", 0x1C, false}, {"NumpadEnter", 0x1C, true}, {"ControlRight", 0x1D, true}, {"AltRight", 0x38, true},
		{"MetaLeft", 0x5B, true}, {"Delete", 0x53, true}, {"NumpadDecimal", 0x53, false}, {"F12", 0x58, false},
		{"IntlBackslash", 0x56, false}, {"PrintScreen", 0x37, true}, {"Pause", 0x45, false}, {"NumLock", 0x45, true},
	}
	for _, tt := range tests {
		scan, ext, ok := desktop.ScanCode(tt.code)
		if !ok || scan != tt.scan || ext != tt.ext {
			t.Errorf("%s: %#x extended %v (%v), want %#x %v", tt.code, scan, ext, ok, tt.scan, tt.ext)
		}
	}
	if _, _, ok := desktop.ScanCode("KeyÄ"); ok {
		t.Error("an unknown code has a scan code")
	}
}

// TestSAS: Ctrl+Alt+Del is the service's SendSAS, with the policy value allowing it
// set while needed and put back as it was when the connection ends.
func TestSAS(t *testing.T) {
	for _, before := range []*uint32{nil, ptr(2)} {
		t.Run(fmt.Sprint("policy before ", val(before)), func(t *testing.T) {
			r := newRig(t)
			r.l.SetSASPolicy(before)
			r.attach(t, "Tina Example")
			r.send(protocol.ChannelInput, map[string]any{"type": "sas"})
			eventually(t, "SendSAS", func() bool { _, n := r.l.SASPolicy(); return n == 1 })
			if v, _ := r.l.SASPolicy(); v == nil || *v&1 == 0 {
				t.Errorf("policy while connected %s, want services allowed", val(v))
			}
			r.link.Close()
			if v, _ := r.l.SASPolicy(); val(v) != val(before) {
				t.Errorf("policy after the end %s, want %s", val(v), val(before))
			}
		})
	}
}

func ptr(v uint32) *uint32 { return &v }

func val(v *uint32) string {
	if v == nil {
		return "absent"
	}
	return fmt.Sprint(*v)
}

// TestClipboard: the technician's text lands on the PC's clipboard, in parts when large;
// the PC's comes back on request in parts of at most 64 KiB; more than 1 MiB is refused.
func TestClipboard(t *testing.T) {
	r := newRig(t)
	r.attach(t, "Tina Example")
	r.send(protocol.ChannelClipboard, map[string]any{"type": "clipboard", "text": "Grüße, "})
	eventually(t, "the clipboard is set", func() bool { s, _ := r.d.ClipboardText(); return s == "Grüße, " })
	r.send(protocol.ChannelClipboard, map[string]any{"type": "clipboard", "text": "part one ", "more": true})
	r.send(protocol.ChannelClipboard, map[string]any{"type": "clipboard", "text": "part two"})
	eventually(t, "the clipboard is set from parts", func() bool { s, _ := r.d.ClipboardText(); return s == "part one part two" })

	big := strings.Repeat("äbc", 50_000) // 200,000 bytes
	_ = r.d.SetClipboardText(big)
	r.send(protocol.ChannelClipboard, map[string]any{"type": "get"})
	var joined strings.Builder
	for {
		m := r.p.wait(t, protocol.ChannelClipboard, ofType("clipboard"))
		s := m["text"].(string)
		if len(s) > 64<<10 {
			t.Errorf("a part of %d bytes", len(s))
		}
		joined.WriteString(s)
		if m["more"] != true {
			break
		}
	}
	if joined.String() != big {
		t.Errorf("the PC's clipboard came back as %d bytes, want %d", joined.Len(), len(big))
	}
	_ = r.d.SetClipboardText(strings.Repeat("x", desktop.MaxClipboard+1))
	r.send(protocol.ChannelClipboard, map[string]any{"type": "get"})
	if m := r.p.wait(t, protocol.ChannelClipboard, ofType("error")); !strings.Contains(m["message"].(string), "at most") {
		t.Errorf("too large: %v", m)
	}
}

// TestNoticeLanguage: the notice speaks the language of the session's user.
func TestNoticeLanguage(t *testing.T) {
	r := newRig(t)
	r.l.SetLanguage("de")
	r.attach(t, "Tina Beispiel")
	eventually(t, "the notice shows", func() bool { _, ok := r.d.Notice(); return ok })
	if n, _ := r.d.Notice(); n.Text != "Tina Beispiel ist verbunden" || n.Button != "Trennen" {
		t.Errorf("notice %+v", n)
	}
}

// TestLaunchFails: a helper that cannot start fails the attachment with a reason.
func TestLaunchFails(t *testing.T) {
	r := newRig(t)
	r.l.FailNextLaunch(fmt.Errorf("CreateProcessAsUser: access denied"))
	if _, err := r.h.Attach("Tina Example", r.p); err == nil || !strings.Contains(err.Error(), "access denied") {
		t.Errorf("Attach = %v", err)
	}
	r.attach(t, "Tina Example")
	eventually(t, "the notice shows", func() bool { _, ok := r.d.Notice(); return ok })
}
