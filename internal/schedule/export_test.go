package schedule

import (
	"time"
)

// SetRetryBase shortens the retry delays for tests.
func SetRetryBase(s *Local, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.retryBase = d
}

// OnIdle registers a function the timer goroutine calls, with the clock's time it just
// read, whenever it is about to wait with nothing due.
func OnIdle(s *Local, fn func(now time.Time)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onIdle = fn
}

// Wake makes the timer goroutine look at the clock again (after a test moved it).
func Wake(s *Local) { s.poke() }
