package desktop

import (
	"fmt"
	"math"
	"unicode/utf16"

	"github.com/adhoc-support/adhoc-support/agent/screen"
)

// The input channel (remote-protocol.md, "input"): one event per text message, mapped
// here to what Windows' SendInput takes, so that agent/winos only copies fields.

// EventKind is what an input Event does.
type EventKind int

// Kinds of input event.
const (
	// MouseMove moves the pointer to X, Y: normalized absolute coordinates on the
	// virtual desktop, 0…65535 (MOUSEEVENTF_ABSOLUTE|MOUSEEVENTF_VIRTUALDESK).
	MouseMove EventKind = iota + 1
	// MouseButton presses (Down) or releases Button.
	MouseButton
	// Wheel turns the wheel by Delta (WHEEL_DELTA 120 a notch, positive away from the
	// user); HWheel tilts it (positive to the right).
	Wheel
	HWheel
	// Key presses or releases the key with the scan code (KEYEVENTF_SCANCODE).
	Key
	// Unicode types one UTF-16 code unit Char (KEYEVENTF_UNICODE), Down then up.
	Unicode
)

// Button is a mouse button.
type Button int

// Mouse buttons, in the order of the DOM's MouseEvent.buttons bits.
const (
	Left Button = iota
	Right
	Middle
	X1 // "back"
	X2 // "forward"
)

// Event is one input event.
type Event struct {
	Kind     EventKind
	X, Y     int32  // MouseMove
	Button   Button // MouseButton
	Down     bool   // MouseButton, Key, Unicode
	Delta    int32  // Wheel, HWheel
	Scan     uint16 // Key
	Extended bool   // Key
	Char     uint16 // Unicode
}

// InputMessage is a message of the console on the input channel.
type InputMessage struct {
	Type    string  `json:"type"`
	X       float64 `json:"x"`
	Y       float64 `json:"y"`
	Buttons int     `json:"buttons"`
	Display int     `json:"display"`
	DX      float64 `json:"dx"`
	DY      float64 `json:"dy"`
	Code    string  `json:"code"`
	Down    bool    `json:"down"`
	Text    string  `json:"text"`
}

// Types of input message.
const (
	InputMouse = "mouse"
	InputWheel = "wheel"
	InputKey   = "key"
	InputText  = "text"
	// InputSAS is Ctrl+Alt+Del: the service itself answers it with SendSAS.
	InputSAS   = "sas"
	InputError = "error" // the app's answer when an event could not be delivered
)

const (
	// wheelPixelsPerNotch: the console sends the DOM's WheelEvent deltas in pixels
	// (deltaMode 0); browsers scroll about 100 of them for one notch of a wheel.
	wheelPixelsPerNotch = 100
	wheelDelta          = 120
	// maxText bounds a text message: typing it costs two events a character.
	maxText = 64 << 10
	// textBatch is how many characters one SendInput call types: an application reads
	// its input queue only so fast, and Windows drops what overflows it.
	textBatch = 200
)

// inputMapper turns the console's messages into events. It keeps what is held down, so
// that a lost key-up cannot leave a key or button pressed on the PC: release lets go of
// everything when the connection ends.
type inputMapper struct {
	buttons        int
	keys           map[string]bool
	wheelX, wheelY float64 // what is left of a notch
}

func newInputMapper() *inputMapper { return &inputMapper{keys: map[string]bool{}} }

// mouse maps a move (and any change of the buttons) on display d, in its pixels.
func (m *inputMapper) mouse(msg InputMessage, displays []screen.Display) ([]Event, error) {
	if msg.Display < 0 || msg.Display >= len(displays) {
		return nil, fmt.Errorf("there is no display %d", msg.Display)
	}
	d := displays[msg.Display]
	x, y := clampPixel(msg.X, d.Width), clampPixel(msg.Y, d.Height)
	nx, ny := Normalize(screen.VirtualDesktop(displays), d.X+x, d.Y+y)
	ev := []Event{{Kind: MouseMove, X: nx, Y: ny}}
	for b := Left; b <= X2; b++ {
		bit := 1 << b
		if (msg.Buttons^m.buttons)&bit != 0 {
			ev = append(ev, Event{Kind: MouseButton, Button: b, Down: msg.Buttons&bit != 0})
		}
	}
	m.buttons = msg.Buttons & 0x1f
	return ev, nil
}

func clampPixel(v float64, size int) int {
	if math.IsNaN(v) || v < 0 {
		return 0
	}
	return min(int(v), size-1)
}

// Normalize is the point x, y of the virtual desktop vd in the normalized coordinates of
// MOUSEEVENTF_VIRTUALDESK: the middle of the pixel's share of 0…65535, so that the
// rounding of Windows (and of Wine) lands on the pixel itself.
func Normalize(vd screen.Rect, x, y int) (int32, int32) {
	n := func(p, origin, size int) int32 {
		if size <= 0 {
			return 0
		}
		v := ((2*(p-origin) + 1) * 65536) / (2 * size)
		return int32(min(max(v, 0), 65535))
	}
	return n(x, vd.X, vd.W), n(y, vd.Y, vd.H)
}

// wheel maps the DOM's wheel deltas (positive: down and right) to notches, carrying the
// rest of a notch over to the next event, so that a touchpad's small steps add up.
func (m *inputMapper) wheel(msg InputMessage) []Event {
	var ev []Event
	m.wheelY += -msg.DY * wheelDelta / wheelPixelsPerNotch
	m.wheelX += msg.DX * wheelDelta / wheelPixelsPerNotch
	if d := math.Trunc(m.wheelY); d != 0 {
		ev = append(ev, Event{Kind: Wheel, Delta: int32(d)})
		m.wheelY -= d
	}
	if d := math.Trunc(m.wheelX); d != 0 {
		ev = append(ev, Event{Kind: HWheel, Delta: int32(d)})
		m.wheelX -= d
	}
	return ev
}

// key maps a key's press or release; false for a code the app does not know.
func (m *inputMapper) key(msg InputMessage) ([]Event, bool) {
	scan, ext, ok := ScanCode(msg.Code)
	if !ok {
		return nil, false
	}
	if msg.Down {
		m.keys[msg.Code] = true
	} else {
		delete(m.keys, msg.Code)
	}
	return []Event{{Kind: Key, Scan: scan, Extended: ext, Down: msg.Down}}, true
}

// text maps text to typing, in batches: each character as Unicode (layout-independent),
// except line breaks and tabs, which are the Enter and Tab keys, as applications expect.
func text(s string) ([][]Event, error) {
	if len(s) > maxText {
		return nil, fmt.Errorf("the text is %d bytes long; at most %d can be typed at once", len(s), maxText)
	}
	var batches [][]Event
	var cur []Event
	chars := 0
	press := func(code string) {
		scan, ext, _ := ScanCode(code)
		cur = append(cur, Event{Kind: Key, Scan: scan, Extended: ext, Down: true}, Event{Kind: Key, Scan: scan, Extended: ext})
	}
	runes := []rune(s)
	for i, r := range runes {
		switch {
		case r == '\r':
			press("Enter")
		case r == '\n':
			if i == 0 || runes[i-1] != '\r' {
				press("Enter")
			}
		case r == '\t':
			press("Tab")
		case r < 0x20 || r == 0x7f:
			continue // other control characters type nothing sensible
		default:
			for _, u := range utf16.Encode([]rune{r}) {
				cur = append(cur, Event{Kind: Unicode, Char: u, Down: true}, Event{Kind: Unicode, Char: u})
			}
		}
		chars++
		if chars == textBatch {
			batches = append(batches, cur)
			cur, chars = nil, 0
		}
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	return batches, nil
}

// release lets go of every key and button still held.
func (m *inputMapper) release() []Event {
	var ev []Event
	for code := range m.keys {
		scan, ext, _ := ScanCode(code)
		ev = append(ev, Event{Kind: Key, Scan: scan, Extended: ext})
	}
	clear(m.keys)
	for b := Left; b <= X2; b++ {
		if m.buttons&(1<<b) != 0 {
			ev = append(ev, Event{Kind: MouseButton, Button: b})
		}
	}
	m.buttons = 0
	return ev
}
