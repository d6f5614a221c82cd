//go:build linux

package winetest

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkHelperUnderWine: the real exe's helper under Wine on Xvfb (1280×800), its GDI
// capture streamed through the local TURN server over TCP to a pion console that draws
// and acknowledges each frame. It reports the first full frame's bytes and the time from
// the start message to it drawn; the helper's CPU (percent of one core) and resident
// memory while the screen rests and while a 200×150 region changes every 10 ms (a second
// pattern window, animated), with the frames per second the console receives then; and
// the stream's own capture and encoding times (median, p95), which it logs at its end.
// Wine's GDI is not Windows' (BitBlt from the X server), so these are a Wine PC's figures.
func BenchmarkHelperUnderWine(b *testing.B) {
	for b.Loop() {
		s := newScreenPC(b, false)
		s.connect("r-bench", "ADHOC_LANG=en")
		c := s.console
		s.waitLog(noticeButton)
		s.waitStable()
		pids := s.pc.Processes("SupportSession.exe", " helper")
		if len(pids) != 1 {
			b.Fatalf("%d helper processes, want 1", len(pids))
		}
		helper := pids[0]

		start := time.Now()
		c.SendScreen(map[string]any{"type": "start", "display": 0, "quality": 70, "maxFps": 30})
		f := c.WaitFrame()
		b.ReportMetric(float64(f.Bytes), "full-frame-bytes")
		b.ReportMetric(ms(f.Drawn.Sub(start)), "start-to-drawn-ms")
		// The full frame is a draft; once the screen rests it goes again at quality 70.
		sharpBytes := 0
		for _, f := range c.Settle() {
			sharpBytes += f.Bytes
		}
		b.ReportMetric(float64(sharpBytes), "sharp-bytes")

		// Resting: after a second unchanged the stream captures four times a second.
		time.Sleep(1500 * time.Millisecond)
		const phase = 4 * time.Second
		cpu0 := cpuTicks(b, helper)
		frames := 0
		for end := time.Now().Add(phase); time.Now().Before(end); {
			if _, ok := c.NextFrame(time.Until(end)); ok {
				frames++
			}
		}
		b.ReportMetric(cpuPercent(cpuTicks(b, helper)-cpu0, phase), "idle-cpu-%")
		b.ReportMetric(rssMB(b, helper), "idle-rss-MB")
		b.ReportMetric(float64(frames)/phase.Seconds(), "idle-fps")

		s.start(`C:\pattern.exe`, "700", "400", "animate")
		if _, ok := c.NextFrame(30 * time.Second); !ok {
			b.Fatal("the animated window did not reach the console")
		}
		cpu0 = cpuTicks(b, helper)
		frames, bytes := 0, 0
		for end := time.Now().Add(phase); time.Now().Before(end); {
			if f, ok := c.NextFrame(time.Until(end)); ok {
				frames++
				bytes += f.Bytes
			}
		}
		b.ReportMetric(cpuPercent(cpuTicks(b, helper)-cpu0, phase), "streaming-cpu-%")
		b.ReportMetric(rssMB(b, helper), "streaming-rss-MB")
		b.ReportMetric(float64(frames)/phase.Seconds(), "region-fps")
		b.ReportMetric(float64(bytes)/float64(max(1, frames)), "region-bytes/frame")

		// Closing the screen channel stops the stream, which logs its figures.
		_ = c.Screen.Close()
		m := s.waitLog(streamEnded)
		for i, name := range []string{"capture-median-ms", "capture-p95-ms", "encode-median-ms", "encode-p95-ms", "full-encode-median-ms"} {
			v, _ := strconv.ParseFloat(m[i+1], 64)
			b.ReportMetric(v, name)
		}
		c.Bye()
		s.app.ended(b)
	}
}

var streamEnded = regexp.MustCompile(`Screen stream ended: .*capture median ([\d.]+) ms \(p95 ([\d.]+)\), encoding median ([\d.]+) ms \(p95 ([\d.]+)\), full frames' encoding median ([\d.]+) ms`)

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// cpuTicks is a process's user and system time in clock ticks (/proc/<pid>/stat).
func cpuTicks(tb testing.TB, pid int) int64 {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command's closing parenthesis: state is the first, utime the
	// 12th and stime the 13th of them.
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	u, _ := strconv.ParseInt(fields[11], 10, 64)
	s, _ := strconv.ParseInt(fields[12], 10, 64)
	return u + s
}

// cpuPercent is ticks (USER_HZ, 100 on Linux) over d as percent of one core.
func cpuPercent(ticks int64, d time.Duration) float64 {
	return float64(ticks) * 10 / ms(d) * 100
}

// rssMB is a process's resident memory (VmRSS) in MB.
func rssMB(tb testing.TB, pid int) float64 {
	data, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1000
		}
	}
	tb.Fatalf("no VmRSS for %d", pid)
	return 0
}
