package screen

import (
	"fmt"
	"slices"
	"time"
)

// stats are a stream's figures: frames, bytes, and the latest captures' and encodings'
// durations.
type stats struct {
	frames, full int
	bytes        int64
	capture      []time.Duration // the latest sampleCount
	encode       []time.Duration
	fullEncode   []time.Duration // of full frames
	next         int
}

const sampleCount = 256

func (s *stats) add(capture, encode time.Duration, bytes int, full bool) {
	s.frames++
	s.bytes += int64(bytes)
	if len(s.capture) < sampleCount {
		s.capture = append(s.capture, capture)
		s.encode = append(s.encode, encode)
	} else {
		s.capture[s.next], s.encode[s.next] = capture, encode
		s.next = (s.next + 1) % sampleCount
	}
	if full {
		s.full++
		if len(s.fullEncode) < sampleCount {
			s.fullEncode = append(s.fullEncode, encode)
		}
	}
}

// Quantile is the q-quantile (0…1) of the durations, by rank.
func Quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

func (s *stats) summary() string {
	ms := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("Screen stream ended: %d frames (%d full), %d bytes; capture median %s ms (p95 %s), encoding median %s ms (p95 %s), full frames' encoding median %s ms.",
		s.frames, s.full, s.bytes, ms(Quantile(s.capture, 0.5)), ms(Quantile(s.capture, 0.95)),
		ms(Quantile(s.encode, 0.5)), ms(Quantile(s.encode, 0.95)), ms(Quantile(s.fullEncode, 0.5)))
}
