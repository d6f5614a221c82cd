package testconsole

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"io"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/agent/screen"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The screen, input and clipboard channels (remote-protocol.md, "Issue 14") as the
// console uses them: the screen's rectangles are drawn onto a canvas, as the console
// draws them onto <canvas id="screen">, and each frame is acknowledged once drawn (unless
// the test acknowledges by hand).

// Frame is a frame the console has received and drawn whole.
type Frame struct {
	Number        int64
	Full          bool
	Width, Height int
	Rects         []screen.Header
	Bytes         int       // the rectangles' messages, headers included
	Announced     time.Time // when its frame message arrived
	Drawn         time.Time // when its last rectangle was drawn
}

type view struct {
	mu      sync.Mutex
	canvas  *image.RGBA
	pending *Frame
	left    int
	manual  bool // the test acknowledges
	frames  chan Frame
	texts   chan map[string]any
	input   chan map[string]any
	clip    chan map[string]any
	bad     []string
}

func (c *Console) openDesktop() {
	var err error
	if c.Screen, err = c.PC.CreateDataChannel(protocol.ChannelScreen, nil); err != nil {
		c.t.Fatal(err)
	}
	if c.Input, err = c.PC.CreateDataChannel(protocol.ChannelInput, nil); err != nil {
		c.t.Fatal(err)
	}
	if c.Clipboard, err = c.PC.CreateDataChannel(protocol.ChannelClipboard, nil); err != nil {
		c.t.Fatal(err)
	}
	v := &view{canvas: image.NewRGBA(image.Rect(0, 0, 0, 0)), frames: make(chan Frame, 4096),
		texts: make(chan map[string]any, 4096), input: make(chan map[string]any, 64), clip: make(chan map[string]any, 256)}
	c.view = v
	c.Screen.OnMessage(func(m webrtc.DataChannelMessage) { c.screenMessage(m) })
	c.Input.OnMessage(func(m webrtc.DataChannelMessage) { v.input <- c.decode(m.Data) })
	c.Clipboard.OnMessage(func(m webrtc.DataChannelMessage) { v.clip <- c.decode(m.Data) })
}

func (c *Console) screenMessage(m webrtc.DataChannelMessage) {
	v := c.view
	if m.IsString {
		msg := c.decode(m.Data)
		if msg["type"] != screen.OutFrame {
			v.texts <- msg
			return
		}
		var f screen.FrameMessage
		_ = json.Unmarshal(m.Data, &f)
		v.mu.Lock()
		if v.pending != nil {
			v.bad = append(v.bad, "a frame message before the rectangles of the previous frame")
		}
		if f.Width != v.canvas.Rect.Dx() || f.Height != v.canvas.Rect.Dy() {
			v.canvas = image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
		}
		v.pending = &Frame{Number: f.Frame, Full: f.Full, Width: f.Width, Height: f.Height, Announced: time.Now()}
		v.left = f.Rects
		v.mu.Unlock()
		return
	}
	h, j, err := screen.ParseRect(m.Data)
	if err != nil {
		c.t.Errorf("screen: %v", err)
		return
	}
	img, err := jpeg.Decode(bytes.NewReader(j))
	if err != nil {
		c.t.Errorf("screen: rectangle %v: %v", h.Rect, err)
		return
	}
	v.mu.Lock()
	f := v.pending
	if f == nil || int64(h.Frame) != f.Number {
		v.bad = append(v.bad, "a rectangle outside its frame")
		v.mu.Unlock()
		return
	}
	r := image.Rect(h.Rect.X, h.Rect.Y, h.Rect.X+h.Rect.W, h.Rect.Y+h.Rect.H)
	draw.Draw(v.canvas, r, img, img.Bounds().Min, draw.Src)
	f.Rects = append(f.Rects, h)
	f.Bytes += len(m.Data)
	v.left--
	done := v.left == 0
	if done {
		v.pending = nil
		f.Drawn = time.Now()
	}
	manual := v.manual
	v.mu.Unlock()
	if done {
		v.frames <- *f
		if !manual {
			c.autoAck(f.Number)
		}
	}
}

// autoAck acknowledges a drawn frame as the console does. A frame drawn while the
// connection closes (the user's Disconnect, the session's end) goes unacknowledged, as in
// the browser, whose send on a closing channel does nothing.
func (c *Console) autoAck(n int64) {
	data, _ := json.Marshal(map[string]any{"type": "ack", "frame": n})
	err := c.Screen.SendText(string(data))
	if err != nil && !errors.Is(err, io.ErrClosedPipe) && c.Screen.ReadyState() == webrtc.DataChannelStateOpen {
		c.t.Errorf("ack frame %d: %v", n, err)
	}
}

// SendScreen, SendInput and SendClipboard send a text message on their channel.
func (c *Console) SendScreen(v any)    { c.sendOn(c.Screen, v) }
func (c *Console) SendInput(v any)     { c.sendOn(c.Input, v) }
func (c *Console) SendClipboard(v any) { c.sendOn(c.Clipboard, v) }

func (c *Console) sendOn(dc *webrtc.DataChannel, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Error(err)
		return
	}
	if err := dc.SendText(string(data)); err != nil {
		c.t.Errorf("send on %s: %v", dc.Label(), err)
	}
}

// ManualAcks makes the test acknowledge frames itself (Ack).
func (c *Console) ManualAcks(manual bool) {
	c.view.mu.Lock()
	defer c.view.mu.Unlock()
	c.view.manual = manual
}

// Ack acknowledges a frame.
func (c *Console) Ack(frame int64) { c.SendScreen(map[string]any{"type": "ack", "frame": frame}) }

// NextFrame waits up to limit for the next frame drawn whole; false when none came.
func (c *Console) NextFrame(limit time.Duration) (Frame, bool) {
	select {
	case f := <-c.view.frames:
		return f, true
	case <-time.After(limit):
		return Frame{}, false
	}
}

// WaitFrame is NextFrame that fails the test when no frame comes within WaitLimit.
func (c *Console) WaitFrame() Frame {
	c.t.Helper()
	f, ok := c.NextFrame(WaitLimit)
	if !ok {
		c.t.Fatalf("no frame within %v; app log:\n%s", WaitLimit, c.o.AppLog())
	}
	return f
}

// Settle waits until no frame has come for a second and returns the frames that came
// meanwhile: after a frame of half the display or more, a draft, the stream sends it
// again at the console's quality once the screen has rested for half a second.
func (c *Console) Settle() []Frame {
	var fs []Frame
	for {
		f, ok := c.NextFrame(time.Second)
		if !ok {
			return fs
		}
		fs = append(fs, f)
	}
}

// NextScreen waits for the screen's next text message of one of the types (other than
// frames), skipping others.
func (c *Console) NextScreen(types ...string) map[string]any {
	c.t.Helper()
	deadline := time.After(WaitLimit)
	for {
		select {
		case m := <-c.view.texts:
			for _, t := range types {
				if m["type"] == t {
					return m
				}
			}
		case <-deadline:
			c.t.Fatalf("no screen message of %v within %v; app log:\n%s", types, WaitLimit, c.o.AppLog())
			return nil
		}
	}
}

// NextInput waits for the input channel's next message (the app's errors).
func (c *Console) NextInput(limit time.Duration) (map[string]any, bool) {
	select {
	case m := <-c.view.input:
		return m, true
	case <-time.After(limit):
		return nil, false
	}
}

// NextClipboard waits for the clipboard channel's next message.
func (c *Console) NextClipboard() map[string]any {
	c.t.Helper()
	select {
	case m := <-c.view.clip:
		return m
	case <-time.After(WaitLimit):
		c.t.Fatalf("no clipboard message within %v; app log:\n%s", WaitLimit, c.o.AppLog())
		return nil
	}
}

// Canvas is a copy of what the console shows, and any breach of the protocol seen.
func (c *Console) Canvas() (*image.RGBA, []string) {
	c.view.mu.Lock()
	defer c.view.mu.Unlock()
	out := image.NewRGBA(c.view.canvas.Rect)
	copy(out.Pix, c.view.canvas.Pix)
	return out, append([]string(nil), c.view.bad...)
}
