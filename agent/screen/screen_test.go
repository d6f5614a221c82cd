package screen_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/jpeg"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/screen"
)

func TestDiff(t *testing.T) {
	tests := []struct {
		name  string
		paint func(f *screen.Frame)
		want  []screen.Rect
	}{
		{"unchanged", func(*screen.Frame) {}, nil},
		{"one pixel", func(f *screen.Frame) { f.Set(100, 70, 1, 2, 3) }, []screen.Rect{{X: 64, Y: 64, W: 64, H: 64}}},
		{"one pixel in the corner tile, clipped to the frame", func(f *screen.Frame) { f.Set(1279, 799, 1, 2, 3) },
			[]screen.Rect{{X: 1216, Y: 768, W: 64, H: 32}}},
		{"two neighbouring tiles merge", func(f *screen.Frame) { f.Set(63, 0, 0, 0, 0); f.Set(64, 0, 0, 0, 0) },
			[]screen.Rect{{X: 0, Y: 0, W: 128, H: 64}}},
		{"a block of four tiles is one rectangle", func(f *screen.Frame) { f.Fill(screen.Rect{X: 60, Y: 60, W: 8, H: 8}, 9, 9, 9) },
			[]screen.Rect{{X: 0, Y: 0, W: 128, H: 128}}},
		{"an L of three tiles is two rectangles, covering nothing unchanged", func(f *screen.Frame) {
			f.Set(0, 0, 0, 0, 0)
			f.Set(64, 0, 0, 0, 0)
			f.Set(0, 64, 0, 0, 0)
		}, []screen.Rect{{X: 0, Y: 0, W: 128, H: 64}, {X: 0, Y: 64, W: 64, H: 64}}},
		{"apart: two rectangles", func(f *screen.Frame) { f.Set(10, 10, 0, 0, 0); f.Set(700, 500, 0, 0, 0) },
			[]screen.Rect{{X: 0, Y: 0, W: 64, H: 64}, {X: 640, Y: 448, W: 64, H: 64}}},
		{"everything", func(f *screen.Frame) { f.Fill(screen.Rect{W: 1280, H: 800}, 1, 1, 1) },
			[]screen.Rect{{X: 0, Y: 0, W: 1280, H: 800}}},
		{"only the unused byte differs: no change", func(f *screen.Frame) {}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prev := screen.NewFrame(1280, 800)
			prev.Fill(screen.Rect{W: 1280, H: 800}, 200, 100, 50)
			cur := screen.NewFrame(1280, 800)
			copy(cur.Pix, prev.Pix)
			tt.paint(cur)
			if got := screen.Diff(prev, cur); !slices.Equal(got, tt.want) {
				t.Errorf("Diff = %v, want %v", got, tt.want)
			}
		})
	}
}

// sink records what the streamer sends, as the console would read it.
type sink struct {
	mu    sync.Mutex
	texts []map[string]any
	rects []rect
	bytes int
}

type rect struct {
	h   screen.Header
	img image.Image
}

func (s *sink) Text(v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.texts = append(s.texts, m)
	s.bytes += len(data)
	return nil
}

func (s *sink) Binary(b []byte) error {
	h, j, err := screen.ParseRect(b)
	if err != nil {
		return err
	}
	img, err := jpeg.Decode(bytes.NewReader(j))
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rects = append(s.rects, rect{h: h, img: img})
	s.bytes += len(b)
	return nil
}

// take returns what was sent since the last take.
func (s *sink) take() ([]map[string]any, []rect, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, r, n := s.texts, s.rects, s.bytes
	s.texts, s.rects, s.bytes = nil, nil, 0
	return t, r, n
}

func types(texts []map[string]any) []string {
	var out []string
	for _, m := range texts {
		out = append(out, m["type"].(string))
	}
	return out
}

// rig is a streamer on a fake desktop and a fake clock.
type rig struct {
	t    *testing.T
	d    *fakedesktop.Desktop
	out  *sink
	s    *screen.Streamer
	now  time.Time
	name string
}

func newRig(t *testing.T, d *fakedesktop.Desktop) *rig {
	r := &rig{t: t, d: d, out: &sink{}, now: time.Unix(1_800_000_000, 0), name: `\\.\DISPLAY1`}
	r.s = screen.NewManual(d, r.out, func() time.Time { return r.now })
	return r
}

// step advances the clock by d and runs one round.
func (r *rig) step(d time.Duration) ([]map[string]any, []rect, int) {
	r.now = r.now.Add(d)
	r.s.Step()
	return r.out.take()
}

func (r *rig) ack(frame float64) { r.s.Apply(screen.In{Type: screen.InAck, Frame: int64(frame)}) }

// frameOf finds the frame message among texts.
func frameOf(t *testing.T, texts []map[string]any) map[string]any {
	t.Helper()
	for _, m := range texts {
		if m["type"] == screen.OutFrame {
			return m
		}
	}
	t.Fatalf("no frame among %v", types(texts))
	return nil
}

// psnr compares the decoded rectangles with the desktop's pixels.
func psnr(t *testing.T, src *screen.Frame, rects []rect) float64 {
	t.Helper()
	var sum float64
	n := 0
	for _, r := range rects {
		b := r.img.Bounds()
		if b.Dx() != r.h.Rect.W || b.Dy() != r.h.Rect.H {
			t.Fatalf("rectangle %v holds a JPEG of %v", r.h.Rect, b)
		}
		for y := 0; y < b.Dy(); y++ {
			for x := 0; x < b.Dx(); x++ {
				cr, cg, cb, _ := r.img.At(x, y).RGBA()
				sr, sg, sb := src.At(r.h.Rect.X+x, r.h.Rect.Y+y)
				for _, d := range []float64{float64(cr>>8) - float64(sr), float64(cg>>8) - float64(sg), float64(cb>>8) - float64(sb)} {
					sum += d * d
					n++
				}
			}
		}
	}
	if sum == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(sum/float64(n)))
}

// paintDesktop draws something like a desktop: a gradient, a window, text-like strokes.
func paintDesktop(f *screen.Frame) {
	for y := 0; y < f.Height; y++ {
		for x := 0; x < f.Width; x++ {
			f.Set(x, y, uint8(x/5), uint8(y/4), 140)
		}
	}
	f.Fill(screen.Rect{X: 200, Y: 150, W: 600, H: 400}, 250, 250, 250)
	f.Fill(screen.Rect{X: 200, Y: 150, W: 600, H: 30}, 30, 90, 200)
	for line := 0; line < 20; line++ {
		for x := 220; x < 760; x += 9 {
			f.Fill(screen.Rect{X: x, Y: 200 + line*16, W: 6, H: 9}, 20, 20, 20)
		}
	}
}

// TestStream: the first frame is full and matches the screen, and goes again sharper once
// the screen rests; an unchanged screen then sends nothing; a one-pixel change sends one
// small rectangle; at most three frames wait for their acks, and the changes made
// meanwhile follow in one frame after the ack.
func TestStream(t *testing.T) {
	d := fakedesktop.New(1280, 800)
	r := newRig(t, d)
	d.Paint(r.name, paintDesktop)
	d.SetCursor(screen.Cursor{X: 10, Y: 20, Visible: true})
	r.s.Apply(screen.In{Type: screen.InStart, Quality: 80, MaxFPS: 20})
	texts, rects, _ := r.step(0)
	if got := types(texts); !slices.Equal(got, []string{"displays", "desktop", "cursor", "frame"}) {
		t.Fatalf("first round sent %v", got)
	}
	ds := texts[0]["displays"].([]any)
	if len(ds) != 1 || ds[0].(map[string]any)["width"] != 1280.0 || ds[0].(map[string]any)["primary"] != true {
		t.Errorf("displays %v", ds)
	}
	if texts[1]["secure"] != false || texts[2]["x"] != 10.0 || texts[2]["y"] != 20.0 || texts[2]["visible"] != true {
		t.Errorf("desktop %v, cursor %v", texts[1], texts[2])
	}
	f := frameOf(t, texts)
	wantBands := (800 + screen.BandRows - 1) / screen.BandRows
	if f["frame"] != 1.0 || f["full"] != true || f["width"] != 1280.0 || f["height"] != 800.0 || f["rects"] != float64(wantBands) || len(rects) != wantBands {
		t.Fatalf("first frame %v with %d rectangles", f, len(rects))
	}
	var src screen.Frame
	d.Paint(r.name, func(f *screen.Frame) { src = *f })
	if p := psnr(t, &src, rects); p < 30 {
		t.Errorf("the full frame's PSNR is %.1f dB, want at least 30", p)
	}
	area := 0
	for _, x := range rects {
		area += x.h.Rect.W * x.h.Rect.H
		if x.h.Frame != 1 {
			t.Errorf("rectangle of frame %d", x.h.Frame)
		}
	}
	if area != 1280*800 {
		t.Errorf("the full frame covers %d pixels", area)
	}
	r.ack(1)

	// The first frame was a draft (TestDraftThenSharp): once the screen has rested it goes
	// again at quality 80, whole and better.
	var sharp []rect
	for range 20 {
		if _, rects, _ := r.step(50 * time.Millisecond); len(rects) > 0 {
			sharp = rects
			break
		}
	}
	covered := 0
	for _, x := range sharp {
		covered += x.h.Rect.W * x.h.Rect.H
	}
	if covered != 1280*800 || psnr(t, &src, sharp) <= psnr(t, &src, rects) {
		t.Fatalf("the draft went again over %d pixels at %.1f dB (the draft: %.1f dB)", covered, psnr(t, &src, sharp), psnr(t, &src, rects))
	}
	r.ack(2)

	// Nothing changes: nothing is sent, round after round.
	for range 50 {
		if texts, rects, n := r.step(50 * time.Millisecond); len(texts)+len(rects) != 0 || n != 0 {
			t.Fatalf("an unchanged screen sent %v and %d rectangles", types(texts), len(rects))
		}
	}

	// One pixel: one small rectangle.
	d.Paint(r.name, func(f *screen.Frame) { f.Set(700, 300, 255, 0, 0) })
	texts, rects, _ = r.step(time.Second)
	f = frameOf(t, texts)
	if f["frame"] != 3.0 || f["full"] != false || f["rects"] != 1.0 || len(rects) != 1 || rects[0].h.Rect != (screen.Rect{X: 640, Y: 256, W: 64, H: 64}) {
		t.Fatalf("a one-pixel change sent %v: %v", f, rects)
	}
	d.Paint(r.name, func(f *screen.Frame) { src = *f })
	if p := psnr(t, &src, rects); p < 30 {
		t.Errorf("the rectangle's PSNR is %.1f dB", p)
	}

	// Flow control: frames 3, 4 and 5 unacknowledged, then nothing more until an ack.
	for i := range 2 {
		d.Paint(r.name, func(f *screen.Frame) { f.Set(10+i*100, 10, 0, 255, 0) })
		if _, rects, _ := r.step(50 * time.Millisecond); len(rects) != 1 {
			t.Fatalf("frame %d: %d rectangles", 4+i, len(rects))
		}
	}
	d.Paint(r.name, func(f *screen.Frame) { f.Set(1000, 700, 0, 0, 255) })
	for range 3 {
		if texts, rects, _ := r.step(50 * time.Millisecond); len(rects) != 0 || slices.Contains(types(texts), "frame") {
			t.Fatalf("a fourth frame went out unacknowledged: %v", types(texts))
		}
	}
	r.ack(3)
	texts, rects, _ = r.step(50 * time.Millisecond)
	if f := frameOf(t, texts); f["frame"] != 6.0 || len(rects) != 1 || rects[0].h.Rect != (screen.Rect{X: 960, Y: 640, W: 64, H: 64}) {
		t.Errorf("after the ack: %v %v", f, rects)
	}

	// The pointer moves: only a cursor message.
	r.ack(6)
	d.SetCursor(screen.Cursor{X: 500, Y: 400, Visible: true})
	texts, rects, _ = r.step(50 * time.Millisecond)
	if !slices.Equal(types(texts), []string{"cursor"}) || len(rects) != 0 || texts[0]["x"] != 500.0 {
		t.Errorf("a moved pointer sent %v, %d rectangles", texts, len(rects))
	}

	// Refresh: a full frame, though nothing changed.
	r.s.Apply(screen.In{Type: screen.InRefresh})
	texts, rects, _ = r.step(time.Millisecond)
	if f := frameOf(t, texts); f["full"] != true || len(rects) != wantBands {
		t.Errorf("refresh sent %v", f)
	}
	r.ack(7)

	// The secure desktop: said, and shown in full.
	d.SetSecure(true)
	texts, _, _ = r.step(50 * time.Millisecond)
	if !slices.Equal(types(texts), []string{"desktop", "frame"}) || texts[0]["secure"] != true || frameOf(t, texts)["full"] != true {
		t.Errorf("the switch to the secure desktop sent %v", texts)
	}

	// Stop: nothing more.
	r.s.Apply(screen.In{Type: screen.InStop})
	d.Paint(r.name, func(f *screen.Frame) { f.Fill(screen.Rect{W: 100, H: 100}, 0, 0, 0) })
	if texts, rects, _ := r.step(time.Second); len(texts)+len(rects) != 0 {
		t.Errorf("a stopped stream sent %v", types(texts))
	}
}

// TestDisplays: two monitors, the primary one on the right; index 0 is the primary, the
// other shows in full at its own size when chosen, and the pointer is given in the
// chosen display's pixels, hidden while on the other one.
func TestDisplays(t *testing.T) {
	d := fakedesktop.New(1280, 800)
	d.SetDisplays(
		screen.Display{X: -1024, Y: 100, Width: 1024, Height: 768, Name: `\\.\DISPLAY2`},
		screen.Display{X: 0, Y: 0, Width: 1280, Height: 800, Primary: true, Name: `\\.\DISPLAY1`},
	)
	d.Paint(`\\.\DISPLAY2`, func(f *screen.Frame) { f.Fill(screen.Rect{W: 1024, H: 768}, 0, 200, 0) })
	d.SetCursor(screen.Cursor{X: -1000, Y: 150, Visible: true})
	r := newRig(t, d)
	r.s.Apply(screen.In{Type: screen.InStart})
	texts, _, _ := r.step(0)
	ds := texts[0]["displays"].([]any)
	first, second := ds[0].(map[string]any), ds[1].(map[string]any)
	if first["primary"] != true || first["index"] != 0.0 || second["x"] != -1024.0 || second["index"] != 1.0 {
		t.Fatalf("displays %v", ds)
	}
	if c := texts[2]; c["type"] != "cursor" || c["visible"] != false {
		t.Errorf("the pointer on the other display: %v", c)
	}
	r.ack(frameOf(t, texts)["frame"].(float64))
	one := 1
	r.s.Apply(screen.In{Type: screen.InDisplay, Display: &one})
	texts, rects, _ := r.step(time.Millisecond)
	f := frameOf(t, texts)
	if f["width"] != 1024.0 || f["height"] != 768.0 || f["full"] != true {
		t.Fatalf("display 1: %v", f)
	}
	if c := texts[0]; c["type"] != "cursor" || c["x"] != 24.0 || c["y"] != 50.0 || c["visible"] != true {
		t.Errorf("the pointer on display 1: %v", texts)
	}
	var src screen.Frame
	d.Paint(`\\.\DISPLAY2`, func(f *screen.Frame) { src = *f })
	if p := psnr(t, &src, rects); p < 30 {
		t.Errorf("display 1's PSNR %.1f dB", p)
	}
	// A monitor unplugged: the list is sent again, the stream falls back to display 0.
	r.ack(f["frame"].(float64))
	d.SetDisplays(screen.Display{Width: 1280, Height: 800, Primary: true, Name: `\\.\DISPLAY1`})
	texts, _, _ = r.step(2 * time.Second)
	if types(texts)[0] != "displays" || frameOf(t, texts)["width"] != 1280.0 {
		t.Errorf("after unplugging: %v", texts)
	}
}

// TestAdaptiveQuality: acks that stop coming lower the quality step by step; prompt acks
// raise it again, and once the screen rests, what was sent worse goes again at the
// console's quality.
func TestAdaptiveQuality(t *testing.T) {
	d := fakedesktop.New(640, 384)
	d.Paint(`\\.\DISPLAY1`, paintDesktop)
	r := newRig(t, d)
	r.s.Apply(screen.In{Type: screen.InStart, Quality: 70, MaxFPS: 20})
	var last float64 // the latest frame sent
	step := func() []rect {
		texts, rects, _ := r.step(50 * time.Millisecond)
		for _, m := range texts {
			if m["type"] == "frame" {
				last = m["frame"].(float64)
			}
		}
		return rects
	}
	step()
	// The first frame is a draft: it goes again sharp once the screen rests, before the
	// acks start to lag, so that only what the lag lowers is sent again below.
	for range 20 {
		step()
		r.ack(last)
	}
	i := 0
	row := 1 // while the acks lag, the second row of tiles changes; then the first
	change := func() {
		i++
		d.Paint(r.name, func(f *screen.Frame) {
			f.Fill(screen.Rect{X: (i * 64) % 640, Y: row * 64, W: 64, H: 64}, uint8(i*40), 0, 0)
		})
	}
	// Three frames out, no acks for a second: the window is full.
	for range 22 {
		change()
		step()
	}
	if q := r.s.Quality(); q >= 70 || q < screen.MinQuality {
		t.Fatalf("quality %d after a second without acks, want lower than 70", q)
	}
	low := r.s.Quality()
	row = 0
	// Acks come back at once again; the changes go on for a while, then stop.
	for range 120 {
		change()
		step()
		r.ack(last)
	}
	if q := r.s.Quality(); q != 70 {
		t.Errorf("quality %d after six seconds of prompt acks, want 70 again (it was %d)", q, low)
	}
	// Rest: the tiles sent below 70 are sent again, once.
	var again []rect
	for range 40 {
		again = append(again, step()...)
		r.ack(last)
	}
	if len(again) == 0 {
		t.Errorf("the parts sent at quality %d were not sent again", low)
	}
	for _, x := range again {
		if x.h.Rect.Y != 64 {
			t.Errorf("the catch-up sent %v, which was sent at full quality", x.h.Rect)
		}
	}
	for range 40 {
		if _, rects, _ := r.step(50 * time.Millisecond); len(rects) != 0 {
			t.Fatalf("a resting screen sent %d rectangles after the catch-up", len(rects))
		}
	}
}

// TestDraftThenSharp: a frame of half the display or more (the first one, a window
// opened) goes at the draft quality; once the screen rests it goes again at the console's
// quality, once, and then nothing does. A small change goes at the console's quality at
// once.
func TestDraftThenSharp(t *testing.T) {
	d := fakedesktop.New(1280, 800)
	r := newRig(t, d)
	d.Paint(r.name, paintDesktop)
	r.s.Apply(screen.In{Type: screen.InStart, Quality: 90, MaxFPS: 20})
	var src screen.Frame
	d.Paint(r.name, func(f *screen.Frame) { src = *f })
	texts, draft, _ := r.step(0)
	f := frameOf(t, texts)
	draftDB := psnr(t, &src, draft)
	r.ack(f["frame"].(float64))
	// The catch-up waits until the screen has rested for half a second.
	var sharp []rect
	var rested time.Duration
	for sharp == nil && rested < 2*time.Second {
		texts, rects, _ := r.step(50 * time.Millisecond)
		rested += 50 * time.Millisecond
		if len(rects) > 0 {
			sharp = rects
			r.ack(frameOf(t, texts)["frame"].(float64))
		}
	}
	if sharp == nil {
		t.Fatal("the draft was never sent again")
	}
	covered, draftBytes, sharpBytes := 0, 0, 0
	for _, x := range sharp {
		covered += x.h.Rect.W * x.h.Rect.H
		sharpBytes += int(x.h.Length)
	}
	for _, x := range draft {
		draftBytes += int(x.h.Length)
	}
	sharpDB := psnr(t, &src, sharp)
	t.Logf("draft %d bytes at %.1f dB; %v later %d bytes at %.1f dB", draftBytes, draftDB, rested, sharpBytes, sharpDB)
	if covered != 1280*800 || sharpDB < draftDB+3 || draftBytes >= sharpBytes {
		t.Errorf("the draft (%d bytes, %.1f dB) went again over %d pixels (%d bytes, %.1f dB), want the whole display, better", draftBytes, draftDB, covered, sharpBytes, sharpDB)
	}
	if rested < 500*time.Millisecond {
		t.Errorf("the catch-up came after %v of rest", rested)
	}
	for range 40 {
		if _, rects, _ := r.step(50 * time.Millisecond); len(rects) != 0 {
			t.Fatalf("a resting screen sent %d rectangles after the catch-up", len(rects))
		}
	}

	// A small change goes at the console's quality: the rest sends nothing again (the
	// catch-up sends every tile sent worse).
	d.Paint(r.name, func(f *screen.Frame) { f.Fill(screen.Rect{X: 300, Y: 300, W: 100, H: 20}, 200, 30, 30) })
	texts, small, _ := r.step(time.Second)
	if len(small) != 1 {
		t.Fatalf("a small change sent %d rectangles", len(small))
	}
	r.ack(frameOf(t, texts)["frame"].(float64))
	for range 40 {
		if _, rects, _ := r.step(50 * time.Millisecond); len(rects) != 0 {
			t.Fatalf("a small change sent at full quality went again: %d rectangles", len(rects))
		}
	}

	// Half of the display changes (the green top half): a draft again, which the rest
	// makes sharp, and only that half.
	d.Paint(r.name, func(f *screen.Frame) { f.Fill(screen.Rect{W: 1280, H: 400}, 10, 200, 10) })
	texts, _, _ = r.step(time.Second)
	r.ack(frameOf(t, texts)["frame"].(float64))
	var again []rect
	for range 40 {
		texts, rects, _ := r.step(50 * time.Millisecond)
		if len(rects) > 0 {
			again = append(again, rects...)
			r.ack(frameOf(t, texts)["frame"].(float64))
		}
	}
	againArea := 0
	for _, x := range again {
		againArea += x.h.Rect.W * x.h.Rect.H
		if x.h.Rect.Y+x.h.Rect.H > 448 {
			t.Errorf("the catch-up after the half sent %v, below it", x.h.Rect)
		}
	}
	if againArea < 1280*400 {
		t.Errorf("the half-display change was not sent again sharp: %d pixels", againArea)
	}
}

// TestRectangleMessages: the header round-trips and a wrong length is refused.
func TestRectangleMessages(t *testing.T) {
	b := make([]byte, screen.HeaderSize+3)
	h := screen.Header{Rect: screen.Rect{X: 1, Y: 2, W: 64, H: 32}, Frame: 7, Length: 3}
	screen.PutHeader(b, h)
	got, j, err := screen.ParseRect(b)
	if err != nil || got != h || len(j) != 3 {
		t.Errorf("ParseRect = %+v %d %v", got, len(j), err)
	}
	if _, _, err := screen.ParseRect(b[:screen.HeaderSize+2]); err == nil {
		t.Error("a short JPEG was accepted")
	}
}
