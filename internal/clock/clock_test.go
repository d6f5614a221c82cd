package clock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/clock"
)

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 500, time.UTC)

func TestFakeStandsStill(t *testing.T) {
	c := clock.NewFake(t0)
	steps := []struct {
		do   func()
		want time.Time
	}{
		{func() {}, t0},
		{func() { time.Sleep(2 * time.Millisecond) }, t0},
		{func() { c.Advance(time.Hour) }, t0.Add(time.Hour)},
		{func() { c.Advance(-time.Minute) }, t0.Add(59 * time.Minute)},
		{func() { c.Set(t0.Add(24 * time.Hour)) }, t0.Add(24 * time.Hour)},
	}
	for i, s := range steps {
		s.do()
		if got := c.Now(); !got.Equal(s.want) {
			t.Errorf("step %d: Now() = %v, want %v", i, got, s.want)
		}
	}
}

// TestRunningRuns: a running clock moves with real time and by Advance and Set. Only
// lower bounds on real time are checked, so a slow machine cannot fail it.
func TestRunningRuns(t *testing.T) {
	c := clock.NewRunning(t0)
	time.Sleep(5 * time.Millisecond)
	if d := c.Now().Sub(t0); d < 5*time.Millisecond {
		t.Fatalf("after 5 ms the clock moved %v", d)
	}
	c.Advance(24 * time.Hour)
	if d := c.Now().Sub(t0); d < 24*time.Hour+5*time.Millisecond {
		t.Fatalf("after Advance(24h) the clock is %v on", d)
	}
	c.Set(t0)
	if d := c.Now().Sub(t0); d < 0 || d > time.Hour {
		t.Fatalf("after Set(t0) the clock is %v from t0", d)
	}
	if a, b := c.Now(), c.Now(); b.Before(a) {
		t.Fatalf("the clock went back: %v then %v", a, b)
	}
}

func TestOr(t *testing.T) {
	if _, ok := clock.Or(nil).(clock.Real); !ok {
		t.Errorf("Or(nil) = %T, want the real clock", clock.Or(nil))
	}
	f := clock.NewFake(t0)
	if clock.Or(f) != clock.Clock(f) {
		t.Error("Or(f) is not f")
	}
	before := time.Now()
	if now := clock.Or(nil).Now(); now.Before(before) {
		t.Errorf("the real clock says %v, before %v", now, before)
	}
}

// TestFakeIsSafeForConcurrentUse: concurrent advances are none of them lost (and go test
// -race finds no race).
func TestFakeIsSafeForConcurrentUse(t *testing.T) {
	for _, c := range []*clock.Fake{clock.NewFake(t0), clock.NewRunning(t0)} {
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 100 {
					c.Advance(time.Second)
					_ = c.Now()
				}
			})
		}
		wg.Wait()
		if d := c.Now().Sub(t0); d < 800*time.Second {
			t.Errorf("800 advances of a second moved the clock %v", d)
		}
	}
}
