// Package clock is time as the product reads it: one interface, the real clock, and one
// fake that tests set and move on. Every component that reads the time takes a Clock
// where it takes its other dependencies (support.Service.Clock, store.WithClock,
// schedule.NewLocal, schedule.Config.Clock, devstack.Options.Clock …), and nil always
// means the real clock, so that a test that moves the time moves it for all of them.
//
// It imports nothing but the standard library: the Windows app shares it (its own Clock
// adds Sleep), and the app links nothing of the server's side.
package clock

import (
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system's clock.
type Real struct{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// Or returns c, or the real clock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return Real{}
	}
	return c
}

// Fake is a clock that tests set and move on; it is safe for concurrent use. NewFake
// stands still until the test moves it; NewRunning runs on with the real clock from its
// start, so that a whole day of polls runs in seconds (Advance) while short stretches
// still see time pass.
type Fake struct {
	mu      sync.Mutex
	at      time.Time // the time when set (standing) or at since (running)
	since   time.Time // running: the real time at which at was set
	running bool
}

// NewFake returns a clock that stands at t.
func NewFake(t time.Time) *Fake { return &Fake{at: t} }

// NewRunning returns a clock that reads t now and runs on from there with real time.
func NewRunning(t time.Time) *Fake { return &Fake{at: t, since: time.Now(), running: true} }

// Now is the clock's time.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.running {
		return f.at.Add(time.Since(f.since))
	}
	return f.at
}

// Set puts the clock to t (a running clock runs on from t).
func (f *Fake) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = t
	if f.running {
		f.since = time.Now()
	}
}

// Advance moves the clock on by d.
func (f *Fake) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.at = f.at.Add(d)
}
