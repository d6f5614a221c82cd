package screen

import "time"

// NewManual is a Streamer without its loop, on the clock now: the test calls Step.
func NewManual(src Source, out Sink, now func() time.Time) *Streamer {
	return newStreamer(src, out, nil, now)
}

// Apply takes a console message without waking a loop.
func (s *Streamer) Apply(m In) { s.handle(m) }

// Step runs one round of the loop.
func (s *Streamer) Step() time.Duration { return s.step() }

// BandRows is the tallest rectangle of one JPEG.
const BandRows = bandRows
