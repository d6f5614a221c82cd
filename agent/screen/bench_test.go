//go:build linux

package screen_test

import (
	"image/png"
	"math/rand/v2"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/screen"
)

// The figures of issue 14's benchmarks that the picture pipeline alone decides (the
// capture under Wine and the whole path through TURN are in agent/winetest and
// agent/remote). They print figures and never fail on time.

// desktops are 1280×800 pictures to encode: Wine's own programs (Explorer, Notepad,
// Regedit as testdata/wine-windows.png holds them, captured from Xvfb) on black, as the
// Wine PC shows them, and the same windows on a photo-like wallpaper, as a user's desktop
// looks; and the synthetic one of the tests.
func desktops(tb testing.TB) map[string]*screen.Frame {
	f, err := os.Open("testdata/wine-windows.png")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		tb.Fatal(err)
	}
	wine := screen.NewFrame(1280, 800)
	wall := screen.NewFrame(1280, 800)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := 0; y < 800; y++ {
		for x := 0; x < 1280; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			wine.Set(x, y, uint8(r>>8), uint8(g>>8), uint8(b>>8))
			if r|g|b == 0 {
				// A wallpaper: soft colour fields with a little grain, as a photo has.
				n := uint8(rng.IntN(12))
				r, g, b = uint32(40+x/8+int(n))<<8, uint32(90+y/6+int(n))<<8, uint32(160-(x+y)/30+int(n))<<8
			}
			wall.Set(x, y, uint8(r>>8), uint8(g>>8), uint8(b>>8))
		}
	}
	synthetic := screen.NewFrame(1280, 800)
	paintDesktop(synthetic)
	return map[string]*screen.Frame{"wine": wine, "wallpaper": wall, "synthetic": synthetic}
}

// BenchmarkFullFrame: a full 1280×800 frame captured (the fake desktop's capture is a
// copy of its pixels, as GDI's BitBlt into a DIB section is), diffed, encoded and sent (to
// a sink that only counts), at the quality a console asks for by default: first as the
// draft (DraftQuality), whose bytes and the median and p95 of whose time are the goal's
// (≤ 60 KB, ≤ 40 ms), then the same again at quality 70 once the screen rests (the
// "sharp-" figures).
func BenchmarkFullFrame(b *testing.B) {
	pics := desktops(b)
	for _, name := range []string{"wine", "wallpaper", "synthetic"} {
		b.Run(name, func(b *testing.B) {
			d := fakedesktop.New(1280, 800)
			d.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) { copy(f.Pix, pics[name].Pix) })
			out := &countSink{}
			clock := time.Now()
			s := screen.NewManual(d, out, func() time.Time { return clock })
			s.Apply(screen.In{Type: screen.InStart, Quality: screen.DefaultQuality})
			s.Step()
			var draft, sharp []time.Duration
			var draftBytes, sharpBytes int
			for b.Loop() {
				s.Apply(screen.In{Type: screen.InAck, Frame: 1 << 40})
				s.Apply(screen.In{Type: screen.InRefresh})
				before := out.total()
				t0 := time.Now()
				s.Step()
				draft = append(draft, time.Since(t0))
				draftBytes += out.total() - before
				s.Apply(screen.In{Type: screen.InAck, Frame: 1 << 40})
				// The screen rests: the catch-up sends the draft again at quality 70.
				clock = clock.Add(time.Second)
				before = out.total()
				t0 = time.Now()
				s.Step()
				sharp = append(sharp, time.Since(t0))
				sharpBytes += out.total() - before
				clock = clock.Add(time.Second)
			}
			b.ReportMetric(float64(draftBytes)/float64(len(draft)), "bytes/frame")
			b.ReportMetric(ms(screen.Quantile(draft, 0.5)), "median-ms")
			b.ReportMetric(ms(screen.Quantile(draft, 0.95)), "p95-ms")
			b.ReportMetric(float64(sharpBytes)/float64(len(sharp)), "sharp-bytes/frame")
			b.ReportMetric(ms(screen.Quantile(sharp, 0.5)), "sharp-median-ms")
		})
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTime is the process's user and system CPU time so far.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapMB is the heap in use now, after a collection, in MB.
func heapMB() float64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapInuse) / 1e6
}

// BenchmarkDiff: comparing two unchanged 1280×800 frames tile by tile.
func BenchmarkDiff(b *testing.B) {
	a, c := screen.NewFrame(1280, 800), screen.NewFrame(1280, 800)
	paintDesktop(a)
	copy(c.Pix, a.Pix)
	for b.Loop() {
		if len(screen.Diff(a, c)) != 0 {
			b.Fatal("a change")
		}
	}
}

// BenchmarkIdle: the real stream on an unchanged screen for two seconds once it has gone
// idle (after the first frame and its sharp copy): bytes per second (goal 0), how often it still captures, the CPU it takes (percent
// of one core; the fake capture is a copy, GDI's BitBlt costs more) and the heap.
func BenchmarkIdle(b *testing.B) {
	for b.Loop() {
		d := fakedesktop.New(1280, 800)
		d.Paint(`\\.\DISPLAY1`, paintDesktop)
		out := &countSink{}
		s := screen.NewStreamer(d, out, nil)
		out.ack = s
		s.Handle(screen.In{Type: screen.InStart, MaxFPS: 20})
		// The first frame is a draft, which goes again sharp half a second later (the
		// idle bytes count from then); the first second after a change is captured at the
		// full rate, then the idle one.
		out.wait(2)
		time.Sleep(1200 * time.Millisecond)
		first, captures, cpu := out.total(), d.Captures(), cpuTime(b)
		const idle = 2 * time.Second
		time.Sleep(idle)
		b.ReportMetric(float64(out.total()-first)/idle.Seconds(), "idle-bytes/s")
		b.ReportMetric(float64(d.Captures()-captures)/idle.Seconds(), "idle-captures/s")
		b.ReportMetric(ms(cpuTime(b)-cpu)/idle.Seconds()/10, "idle-cpu-%")
		b.ReportMetric(heapMB(), "idle-heap-MB")
		s.Close()
	}
}

// BenchmarkChangingRegion: a 400×300 region repainted every 10 ms, the console
// acknowledging at once, asked for 60 fps: the frames per second the pipeline delivers
// (goal ≥ 20), their size, the CPU (percent of one core) and the heap while streaming.
func BenchmarkChangingRegion(b *testing.B) {
	for b.Loop() {
		d := fakedesktop.New(1280, 800)
		d.Paint(`\\.\DISPLAY1`, paintDesktop)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				d.Paint(`\\.\DISPLAY1`, func(f *screen.Frame) {
					f.Fill(screen.Rect{X: 300, Y: 200, W: 400, H: 300}, uint8(i*7), uint8(i*13), uint8(i*29))
					for k := range 40 {
						f.Fill(screen.Rect{X: 310 + (i*3+k*9)%380, Y: 210 + k*7, W: 5, H: 4}, 250, 250, 250)
					}
				})
			}
		})
		out := &countSink{}
		s := screen.NewStreamer(d, out, nil)
		out.ack = s
		s.Handle(screen.In{Type: screen.InStart, MaxFPS: 60})
		out.wait(1)
		f0, b0 := out.count()
		cpu := cpuTime(b)
		const run = 3 * time.Second
		time.Sleep(run)
		f1, b1 := out.count()
		b.ReportMetric(ms(cpuTime(b)-cpu)/run.Seconds()/10, "cpu-%")
		b.ReportMetric(heapMB(), "heap-MB")
		close(stop)
		wg.Wait()
		s.Close()
		b.ReportMetric(float64(f1-f0)/run.Seconds(), "fps")
		b.ReportMetric(float64(b1-b0)/float64(max(1, f1-f0)), "bytes/frame")
	}
}

// countSink counts what would go to the console and acknowledges each frame at once.
type countSink struct {
	mu     sync.Mutex
	frames int
	bytes  int
	ack    *screen.Streamer
	last   int64
}

func (c *countSink) Text(v any) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := v.(screen.FrameMessage); ok {
		c.frames++
		c.last = f.Frame
		if c.ack != nil {
			go c.ack.Handle(screen.In{Type: screen.InAck, Frame: f.Frame})
		}
	}
	c.bytes += 64 // about the JSON
	return nil
}

func (c *countSink) Binary(b []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.bytes += len(b)
	return nil
}

func (c *countSink) count() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.frames, c.bytes
}

func (c *countSink) total() int { _, n := c.count(); return n }

func (c *countSink) wait(frames int) {
	for {
		if f, _ := c.count(); f >= frames {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
