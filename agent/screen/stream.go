package screen

import (
	"fmt"
	"sync"
	"time"
)

// Source is the PC's screen: agent/winos captures with GDI on the input desktop, the
// tests use a fake.
type Source interface {
	// Displays lists the monitors (in any order; Order numbers them).
	Displays() ([]Display, error)
	// Capture copies what the display shows into f, resizing f to the display's size.
	Capture(d Display, f *Frame) error
	// Cursor is the mouse pointer on the virtual desktop.
	Cursor() (Cursor, error)
	// Secure reports whether the input desktop is the secure one (the sign-in screen,
	// UAC's prompt).
	Secure() bool
}

// Cursor is the mouse pointer in virtual-desktop pixels.
type Cursor struct {
	X, Y    int
	Visible bool
}

// Sink is the screen channel towards the console: text messages (JSON) and rectangles.
// Its calls may block (back-pressure); the Streamer never holds its lock meanwhile.
type Sink interface {
	Text(v any) error
	Binary(b []byte) error
}

// The stream's rules (remote-protocol.md, "screen").
const (
	// MaxInFlight is how many frames may wait for their ack.
	MaxInFlight = 3
	// Quality bounds; the console asks for one, the app lowers it while acks lag.
	DefaultQuality = 70
	MinQuality     = 20
	MaxQuality     = 95
	DefaultFPS     = 20
	MaxFPS         = 60

	// idleAfter: a screen unchanged (and no input) for this long is captured only every
	// idleInterval, which costs little CPU and delays the first change by at most that.
	idleAfter    = time.Second
	idleInterval = 250 * time.Millisecond
	// displaysEvery is how often the monitors are enumerated again.
	displaysEvery = time.Second
	// Adaptive quality: lower it by qualityDown when the window of unacknowledged frames
	// has been full for stallFor, or when acks come back lagLimit later than the fastest
	// one did (queueing on the way); raise it by qualityUp when they are prompt again.
	stallFor    = 250 * time.Millisecond
	lagLimit    = 150 * time.Millisecond
	lagLow      = 50 * time.Millisecond
	downEvery   = 500 * time.Millisecond
	upEvery     = 500 * time.Millisecond
	calmFor     = 2 * time.Second
	qualityDown = 10
	qualityUp   = 5
	// catchUpAfter: once the quality is back up and the screen has rested this long,
	// the parts sent at a lower quality are sent again at the full one.
	catchUpAfter = 500 * time.Millisecond
	// DraftQuality: a frame that covers at least half of the display (the first one, a
	// refresh, another display, a window opened or scrolled) goes at most at this quality,
	// and the catch-up sends it again at the console's once the screen rests. Text costs
	// JPEG dearly: a 1280×800 desktop of windows is about 70 KB at quality 70 and 55 KB
	// at 40; so the picture is there sooner and, when it rests, sharp.
	DraftQuality = 40
)

// Streamer serves one screen channel: the console's messages go to Handle, frames go
// out through the Sink. Safe for concurrent use.
type Streamer struct {
	src Source
	out Sink
	log func(string)
	now func() time.Time
	enc *encoder

	wake chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once

	mu        sync.Mutex
	running   bool
	started   bool // the loop goroutine runs
	choice    int  // the display asked for
	target    int  // the console's quality
	quality   int  // the quality used now
	fps       int
	inflight  map[int64]time.Time
	nextFrame int64
	full      bool // the next frame is a full one (start, refresh, display)
	poked     time.Time
	minRTT    time.Duration
	rtt       time.Duration // smoothed
	lastStall time.Time
	lastAdapt time.Time
	reset     bool // start: the loop forgets what it has shown

	// Owned by the loop (step).
	prev, cur   *Frame
	havePrev    bool
	shown       Display
	displays    []Display
	sentDisp    []Display
	displaysAt  time.Time
	cursor      CursorMessage
	cursorSent  bool
	secure      bool
	secureKnown bool
	tileQ       []uint8
	lastChange  time.Time
	lastStep    time.Time
	stalled     time.Time
	captureErr  string
	stats       stats
}

// NewStreamer returns a stream that starts with the console's start message.
func NewStreamer(src Source, out Sink, log func(string)) *Streamer {
	return newStreamer(src, out, log, time.Now)
}

func newStreamer(src Source, out Sink, log func(string), now func() time.Time) *Streamer {
	if log == nil {
		log = func(string) {}
	}
	return &Streamer{src: src, out: out, log: log, now: now, enc: newEncoder(),
		wake: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{}),
		inflight: map[int64]time.Time{}, nextFrame: 1, target: DefaultQuality, quality: DefaultQuality, fps: DefaultFPS,
		prev: &Frame{}, cur: &Frame{}}
}

// Handle takes a message of the console.
func (s *Streamer) Handle(m In) {
	if summary := s.handle(m); summary != "" {
		s.log(summary)
	}
	s.mu.Lock()
	start := s.running && !s.started
	if start {
		s.started = true
	}
	s.mu.Unlock()
	if start {
		go s.loop()
	}
	s.poke()
}

// handle changes the state for m; the loop acts on it. It returns the stream's figures
// when m ends a running stream, for the event log.
func (s *Streamer) handle(m In) (summary string) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Type {
	case InStart:
		s.running, s.full, s.reset = true, true, true
		s.stats = stats{}
		s.choice = 0
		if m.Display != nil {
			s.choice = *m.Display
		}
		s.target = clampQuality(m.Quality)
		s.quality = s.target
		s.fps = DefaultFPS
		if m.MaxFPS > 0 {
			s.fps = min(m.MaxFPS, MaxFPS)
		}
		clear(s.inflight)
		if m.Frame > s.nextFrame {
			s.nextFrame = m.Frame
		}
		s.minRTT, s.rtt = 0, 0
	case InAck:
		for n, sent := range s.inflight {
			if n > m.Frame {
				continue
			}
			if n == m.Frame {
				s.sample(now.Sub(sent))
			}
			delete(s.inflight, n)
		}
	case InQuality:
		s.target = clampQuality(m.Quality)
		s.quality = s.target
	case InDisplay:
		if m.Display != nil && *m.Display != s.choice {
			s.choice = *m.Display
			s.full = true
		}
	case InRefresh:
		s.full = true
	case InStop:
		if s.running {
			summary = s.stats.summary()
		}
		s.running = false
		clear(s.inflight)
	}
	return summary
}

func clampQuality(q int) int {
	if q <= 0 {
		return DefaultQuality
	}
	return min(max(q, MinQuality), MaxQuality)
}

// sample takes an ack's round trip; s.mu is held.
func (s *Streamer) sample(d time.Duration) {
	if s.minRTT == 0 || d < s.minRTT {
		s.minRTT = d
	}
	if s.rtt == 0 {
		s.rtt = d
	} else {
		s.rtt = (4*s.rtt + d) / 5
	}
}

// Poke says that the technician's input arrived: the screen is about to change, so it is
// captured at the full rate again.
func (s *Streamer) Poke() {
	s.mu.Lock()
	s.poked = s.now()
	s.mu.Unlock()
	s.poke()
}

func (s *Streamer) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Close ends the stream and waits for its loop.
func (s *Streamer) Close() {
	s.once.Do(func() { close(s.quit) })
	s.mu.Lock()
	started, running := s.started, s.running
	s.running = false
	s.mu.Unlock()
	if started {
		<-s.done
	}
	if running {
		// The loop has ended: the figures are final; they go to the event log.
		s.mu.Lock()
		summary := s.stats.summary()
		s.mu.Unlock()
		s.log(summary)
	}
}

func (s *Streamer) loop() {
	defer close(s.done)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-s.wake:
		case <-t.C:
		}
		wait := s.step()
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		if wait > 0 {
			t.Reset(wait)
		}
	}
}

// step does one round: displays, desktop, cursor, and a frame when the window has room
// and the screen changed. It returns how long to wait for the next round (0: until
// woken).
func (s *Streamer) step() time.Duration {
	now := s.now()
	s.mu.Lock()
	if !s.running {
		s.mu.Unlock()
		return 0
	}
	if s.reset {
		s.reset = false
		s.havePrev, s.displays, s.sentDisp, s.cursorSent, s.secureKnown, s.tileQ = false, nil, nil, false, false, nil
		s.lastStep, s.stalled = time.Time{}, time.Time{}
	}
	interval := time.Second / time.Duration(s.fps)
	if now.Sub(s.lastChange) > idleAfter && now.Sub(s.poked) > idleAfter {
		interval = max(interval, idleInterval)
	}
	if !s.lastStep.IsZero() && now.Sub(s.lastStep) < interval && !s.full {
		wait := interval - now.Sub(s.lastStep)
		s.mu.Unlock()
		return wait
	}
	choice, full, inflight := s.choice, s.full, len(s.inflight)
	s.mu.Unlock()
	s.lastStep = now

	if err := s.step1(now, choice, full, inflight); err != nil {
		s.log("The screen stream stopped: " + err.Error())
		s.mu.Lock()
		s.running = false
		s.mu.Unlock()
		return 0
	}
	return interval
}

// step1 is step's work, without the lock; an error means the console cannot be reached.
func (s *Streamer) step1(now time.Time, choice int, full bool, inflight int) error {
	if s.displays == nil || now.Sub(s.displaysAt) >= displaysEvery {
		ds, err := s.src.Displays()
		if err != nil || len(ds) == 0 {
			s.note(fmt.Sprintf("no displays (%v)", err))
			return nil
		}
		s.displays, s.displaysAt = Order(ds), now
		if !equalDisplays(s.displays, s.sentDisp) {
			s.sentDisp = s.displays
			if err := s.out.Text(DisplaysMessage{Type: OutDisplays, Displays: s.displays}); err != nil {
				return err
			}
		}
	}
	if choice < 0 || choice >= len(s.displays) {
		choice = 0
	}
	d := s.displays[choice]
	if d != s.shown {
		s.shown, full = d, true
	}
	if secure := s.src.Secure(); !s.secureKnown || secure != s.secure {
		s.secure, s.secureKnown = secure, true
		full = true
		if err := s.out.Text(DesktopMessage{Type: OutDesktop, Secure: secure}); err != nil {
			return err
		}
	}
	if c, err := s.src.Cursor(); err == nil {
		m := CursorMessage{Type: OutCursor, X: c.X - d.X, Y: c.Y - d.Y}
		m.Visible = c.Visible && m.X >= 0 && m.Y >= 0 && m.X < d.Width && m.Y < d.Height
		if !m.Visible {
			m.X, m.Y = 0, 0
		}
		if !s.cursorSent || m != s.cursor {
			s.cursor, s.cursorSent = m, true
			if err := s.out.Text(m); err != nil {
				return err
			}
		}
	}
	if inflight >= MaxInFlight {
		s.adapt(now, true)
		return nil
	}
	s.adapt(now, false)
	t0 := time.Now()
	if err := s.src.Capture(d, s.cur); err != nil {
		s.note("capture: " + err.Error())
		return nil
	}
	captured := time.Since(t0)
	s.captureErr = ""
	if !s.havePrev || s.prev.Width != s.cur.Width || s.prev.Height != s.cur.Height {
		full = true
	}
	g := newGrid(s.cur.Width, s.cur.Height)
	if len(s.tileQ) != len(g.set) {
		s.tileQ = make([]uint8, len(g.set))
	}
	var rects []Rect
	changed := true
	if full {
		rects = []Rect{{W: s.cur.Width, H: s.cur.Height}}
	} else {
		rects = Diff(s.prev, s.cur)
	}
	s.mu.Lock()
	quality, target := s.quality, s.target
	s.mu.Unlock()
	if len(rects) == 0 {
		changed = false
		if quality < target || now.Sub(s.lastChange) < catchUpAfter || inflight > 0 {
			return nil
		}
		// The quality is back up and the screen rests: the parts sent worse go again.
		for i, q := range s.tileQ {
			g.set[i] = int(q) < target
		}
		if !g.any() {
			return nil
		}
		rects = g.merge(s.cur.Width, s.cur.Height)
	}
	if changed && quality > DraftQuality && 2*area(rects) >= s.cur.Width*s.cur.Height {
		quality = DraftQuality
	}
	s.mu.Lock()
	n := s.nextFrame
	s.nextFrame++
	s.inflight[n] = now
	if full {
		s.full = false
	}
	s.mu.Unlock()
	t1 := time.Now()
	msgs, err := s.enc.encode(s.cur, rects, uint32(n), quality)
	encoded := time.Since(t1)
	if err != nil {
		s.note(err.Error())
		s.mu.Lock()
		delete(s.inflight, n)
		s.mu.Unlock()
		return nil
	}
	if err := s.out.Text(FrameMessage{Type: OutFrame, Frame: n, Width: s.cur.Width, Height: s.cur.Height, Rects: len(msgs), Full: full}); err != nil {
		return err
	}
	for _, m := range msgs {
		if err := s.out.Binary(m); err != nil {
			return err
		}
	}
	bytes := 0
	for _, m := range msgs {
		bytes += len(m)
	}
	s.mu.Lock()
	s.stats.add(captured, encoded, bytes, full)
	s.mu.Unlock()
	s.markTiles(rects, g, quality)
	s.prev, s.cur = s.cur, s.prev
	s.havePrev = true
	if changed {
		s.lastChange = now
	}
	return nil
}

// area is the pixels the rectangles cover (they do not overlap).
func area(rects []Rect) int {
	n := 0
	for _, r := range rects {
		n += r.W * r.H
	}
	return n
}

// markTiles records the quality the tiles under rects were sent at.
func (s *Streamer) markTiles(rects []Rect, g grid, quality int) {
	for _, r := range rects {
		for row := r.Y / TileSize; row < (r.Y+r.H+TileSize-1)/TileSize; row++ {
			for col := r.X / TileSize; col < (r.X+r.W+TileSize-1)/TileSize; col++ {
				s.tileQ[row*g.cols+col] = uint8(quality)
			}
		}
	}
}

// adapt lowers the quality while acks lag and raises it again when they do not.
func (s *Streamer) adapt(now time.Time, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if full {
		s.lastStall = now
		if s.stalled.IsZero() {
			s.stalled = now
		}
	} else {
		s.stalled = time.Time{}
	}
	lag := s.rtt - s.minRTT
	switch {
	case (full && now.Sub(s.stalled) >= stallFor || lag > lagLimit) && now.Sub(s.lastAdapt) >= downEvery && s.quality > MinQuality:
		s.quality = max(MinQuality, s.quality-qualityDown)
		s.lastAdapt = now
	case !full && lag < lagLow && now.Sub(s.lastStall) >= calmFor && now.Sub(s.lastAdapt) >= upEvery && s.quality < s.target:
		s.quality = min(s.target, s.quality+qualityUp)
		s.lastAdapt = now
	}
}

// note logs a problem once until it changes.
func (s *Streamer) note(msg string) {
	if msg != s.captureErr {
		s.captureErr = msg
		s.log("Screen: " + msg)
	}
}

func equalDisplays(a, b []Display) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Quality is the quality used now (for tests and the log).
func (s *Streamer) Quality() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.quality
}
