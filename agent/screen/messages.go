package screen

import (
	"cmp"
	"slices"
)

// Display is one monitor of the PC, in virtual-desktop pixels (a display left of the
// primary one has a negative X).
type Display struct {
	Index   int    `json:"index"`
	X       int    `json:"x"`
	Y       int    `json:"y"`
	Width   int    `json:"width"`
	Height  int    `json:"height"`
	Primary bool   `json:"primary"`
	Name    string `json:"name"`
}

// Bounds is the display's rectangle on the virtual desktop.
func (d Display) Bounds() Rect { return Rect{X: d.X, Y: d.Y, W: d.Width, H: d.Height} }

// Order numbers the displays as the console sees them: the primary display is 0 (what a
// `start` without a choice shows), the others follow left to right, then top to bottom.
// The screen and the input use this one order, so that a display's index means the
// same to both.
func Order(ds []Display) []Display {
	out := slices.Clone(ds)
	slices.SortStableFunc(out, func(a, b Display) int {
		if a.Primary != b.Primary {
			if a.Primary {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.X, b.X), cmp.Compare(a.Y, b.Y))
	})
	for i := range out {
		out[i].Index = i
	}
	return out
}

// VirtualDesktop is the rectangle around all displays.
func VirtualDesktop(ds []Display) Rect {
	if len(ds) == 0 {
		return Rect{}
	}
	x0, y0, x1, y1 := ds[0].X, ds[0].Y, ds[0].X+ds[0].Width, ds[0].Y+ds[0].Height
	for _, d := range ds[1:] {
		x0, y0 = min(x0, d.X), min(y0, d.Y)
		x1, y1 = max(x1, d.X+d.Width), max(y1, d.Y+d.Height)
	}
	return Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// In is a message of the console on the screen channel. Frame is the acknowledged frame
// of an ack, and in a start the number the first frame gets (set only by the service when
// it restarts the helper, so that frame numbers never repeat within a connection).
type In struct {
	Type    string `json:"type"`
	Display *int   `json:"display,omitempty"`
	Quality int    `json:"quality,omitempty"`
	MaxFPS  int    `json:"maxFps,omitempty"`
	Frame   int64  `json:"frame,omitempty"`
}

// Types of the console's screen messages.
const (
	InStart   = "start"
	InAck     = "ack"
	InQuality = "quality"
	InDisplay = "display"
	InRefresh = "refresh"
	// InStop ends the stream: the service sends it when the console's screen channel
	// closes (the console itself closes the channel instead).
	InStop = "stop"
)

// Types of the app's screen messages.
const (
	OutDisplays = "displays"
	OutFrame    = "frame"
	OutCursor   = "cursor"
	OutDesktop  = "desktop"
	OutError    = "error"
)

// DisplaysMessage lists the displays, at the start and whenever they change.
type DisplaysMessage struct {
	Type     string    `json:"type"` // OutDisplays
	Displays []Display `json:"displays"`
}

// FrameMessage announces a frame; Rects binary messages follow.
type FrameMessage struct {
	Type   string `json:"type"` // OutFrame
	Frame  int64  `json:"frame"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	Rects  int    `json:"rects"`
	Full   bool   `json:"full"`
}

// CursorMessage is the mouse pointer, in the shown display's pixels; not visible when it
// is hidden or on another display.
type CursorMessage struct {
	Type    string `json:"type"` // OutCursor
	X       int    `json:"x"`
	Y       int    `json:"y"`
	Visible bool   `json:"visible"`
}

// DesktopMessage says whether the input desktop is the secure one (the sign-in screen,
// UAC's prompt).
type DesktopMessage struct {
	Type   string `json:"type"` // OutDesktop
	Secure bool   `json:"secure"`
}

// ErrorMessage tells the console what went wrong on the PC.
type ErrorMessage struct {
	Type    string `json:"type"` // OutError
	Message string `json:"message"`
}
