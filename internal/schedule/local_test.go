package schedule_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/schedule"
)

// Waits are generous: they bound how long a broken scheduler may take to show it, they
// are not what a working one needs.
const patience = 10 * time.Second

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// recorder is a fire function that records what fired, in order.
type recorder struct {
	mu    sync.Mutex
	fired []events.ExpiryDue
	fail  func(events.ExpiryDue) error // optional
	calls int
}

func (r *recorder) fire(_ context.Context, d events.ExpiryDue) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.fail != nil {
		if err := r.fail(d); err != nil {
			return err
		}
	}
	r.fired = append(r.fired, d)
	return nil
}

func (r *recorder) ids() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]string, len(r.fired))
	for i, d := range r.fired {
		ids[i] = d.SessionID
	}
	return ids
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// idleWatch tells when the timer goroutine has looked at the clock at or after a given
// time and found nothing more due: from then on, what fired is settled.
type idleWatch struct {
	mu   sync.Mutex
	last time.Time
}

func watchIdle(s *schedule.Local) *idleWatch {
	w := &idleWatch{}
	schedule.OnIdle(s, func(now time.Time) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if now.After(w.last) {
			w.last = now
		}
	})
	return w
}

func (w *idleWatch) settledAt(t *testing.T, s *schedule.Local, at time.Time) {
	t.Helper()
	schedule.Wake(s)
	eventually(t, "scheduler idle at "+at.Format(time.TimeOnly), func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return !w.last.Before(at)
	})
}

func names(es []schedule.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	return out
}

func due(id string, at time.Time) events.ExpiryDue { return events.ExpiryDue{SessionID: id, DueAt: at} }

func start(t *testing.T, s *schedule.Local) {
	t.Helper()
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
}

func TestLocalFiresInTimeOrder(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	rec := &recorder{}
	s, err := schedule.NewLocal(filepath.Join(t.TempDir(), "schedules.json"), rec.fire, clk)
	if err != nil {
		t.Fatal(err)
	}
	idle := watchIdle(s)
	for _, e := range []struct {
		id    string
		after time.Duration
	}{{"c", 30 * time.Minute}, {"a", 10 * time.Minute}, {"b", 20 * time.Minute}, {"d", 2 * time.Hour}} {
		if err := s.ScheduleExpiry(ctx, "expiry-"+e.id, t0.Add(e.after), due(e.id, t0.Add(e.after))); err != nil {
			t.Fatal(err)
		}
	}
	start(t, s)

	steps := []struct {
		now         time.Time
		wantFired   []string
		wantPending []string
	}{
		{t0, nil, []string{"expiry-a", "expiry-b", "expiry-c", "expiry-d"}},
		{t0.Add(10*time.Minute - time.Second), nil, []string{"expiry-a", "expiry-b", "expiry-c", "expiry-d"}},
		{t0.Add(25 * time.Minute), []string{"a", "b"}, []string{"expiry-c", "expiry-d"}},
		{t0.Add(3 * time.Hour), []string{"a", "b", "c", "d"}, []string{}},
	}
	for _, st := range steps {
		clk.Set(st.now)
		idle.settledAt(t, s, st.now)
		if got := rec.ids(); !slices.Equal(got, st.wantFired) {
			t.Fatalf("at %v fired %v, want %v", st.now.Format(time.TimeOnly), got, st.wantFired)
		}
		if got := names(s.Pending()); !slices.Equal(got, st.wantPending) {
			t.Fatalf("at %v pending %v, want %v", st.now.Format(time.TimeOnly), got, st.wantPending)
		}
	}
}

func TestLocalReplaceAndDelete(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	rec := &recorder{}
	s, err := schedule.NewLocal("", rec.fire, clk)
	if err != nil {
		t.Fatal(err)
	}
	idle := watchIdle(s)
	start(t, s)
	steps := []struct {
		name string
		do   func() error
	}{
		{"schedule x", func() error { return s.ScheduleExpiry(ctx, "x", t0.Add(10*time.Minute), due("x-old", t0)) }},
		{"replace x later", func() error { return s.ScheduleExpiry(ctx, "x", t0.Add(time.Hour), due("x-new", t0)) }},
		{"schedule y", func() error { return s.ScheduleExpiry(ctx, "y", t0.Add(10*time.Minute), due("y", t0)) }},
		{"delete y", func() error { return s.DeleteExpiry(ctx, "y") }},
		{"delete missing", func() error { return s.DeleteExpiry(ctx, "never-scheduled") }},
		{"delete y again", func() error { return s.DeleteExpiry(ctx, "y") }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
	}
	p := s.Pending()
	if len(p) != 1 || p[0].Name != "x" || !p[0].At.Equal(t0.Add(time.Hour)) || p[0].Due.SessionID != "x-new" {
		t.Fatalf("pending = %+v, want only the replaced x", p)
	}

	clk.Set(t0.Add(30 * time.Minute)) // past the old time of x and the time of y
	idle.settledAt(t, s, t0.Add(30*time.Minute))
	if got := rec.ids(); len(got) != 0 {
		t.Fatalf("fired %v: a replaced or deleted schedule fired", got)
	}
	clk.Set(t0.Add(2 * time.Hour))
	idle.settledAt(t, s, t0.Add(2*time.Hour))
	if got := rec.ids(); !slices.Equal(got, []string{"x-new"}) {
		t.Fatalf("fired %v, want only x-new", got)
	}
}

func TestLocalSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state", "schedules.json")
	clk := clock.NewFake(t0)
	first := &recorder{}
	s1, err := schedule.NewLocal(path, first.fire, clk)
	if err != nil {
		t.Fatal(err)
	}
	start(t, s1)
	for _, e := range []struct {
		name string
		at   time.Time
	}{{"soon", t0.Add(10 * time.Minute)}, {"late", t0.Add(time.Hour)}, {"gone", t0.Add(5 * time.Minute)}} {
		if err := s1.ScheduleExpiry(ctx, e.name, e.at, due(e.name, e.at)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s1.DeleteExpiry(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	s1.Stop() // the process ends before anything was due

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Errorf("schedule file mode %o is open to others", fi.Mode().Perm())
	}

	clk.Set(t0.Add(20 * time.Minute)) // the restart comes after "soon" was due
	second := &recorder{}
	s2, err := schedule.NewLocal(path, second.fire, clk)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(s2.Pending()); !slices.Equal(got, []string{"soon", "late"}) {
		t.Fatalf("after restart pending %v, want [soon late]", got)
	}
	idle := watchIdle(s2)
	start(t, s2)
	idle.settledAt(t, s2, clk.Now())
	if got := second.ids(); !slices.Equal(got, []string{"soon"}) {
		t.Fatalf("after restart fired %v, want the overdue [soon]", got)
	}
	if len(first.ids()) != 0 {
		t.Errorf("the stopped scheduler fired %v", first.ids())
	}
	s2.Stop()

	// The fired entry is gone from the file too.
	s3, err := schedule.NewLocal(path, (&recorder{}).fire, clk)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(s3.Pending()); !slices.Equal(got, []string{"late"}) {
		t.Fatalf("file after firing holds %v, want [late]", got)
	}
}

func TestLocalRetriesFailedFire(t *testing.T) {
	ctx := context.Background()
	errDown := errors.New("table unavailable")
	rec := &recorder{}
	failures := map[string]int{"flaky": 2, "broken": 1 << 30}
	rec.fail = func(d events.ExpiryDue) error {
		if failures[d.SessionID] > 0 {
			failures[d.SessionID]--
			return errDown
		}
		return nil
	}
	s, err := schedule.NewLocal("", rec.fire, nil) // real clock
	if err != nil {
		t.Fatal(err)
	}
	schedule.SetRetryBase(s, time.Millisecond)
	past := time.Now().Add(-time.Minute)
	for _, n := range []string{"flaky", "broken"} {
		if err := s.ScheduleExpiry(ctx, n, past, due(n, past)); err != nil {
			t.Fatal(err)
		}
	}
	start(t, s)
	eventually(t, "flaky to fire after two failures", func() bool { return slices.Equal(rec.ids(), []string{"flaky"}) })
	eventually(t, "broken to be retried", func() bool {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		return rec.calls >= 6
	})
	if got := names(s.Pending()); !slices.Equal(got, []string{"broken"}) {
		t.Fatalf("pending %v, want the failing schedule kept", got)
	}
}

func TestLocalReplacedWhileFiring(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(t0)
	entered := make(chan struct{})
	release := make(chan struct{})
	var fired []string
	var mu sync.Mutex
	fire := func(_ context.Context, d events.ExpiryDue) error {
		if d.SessionID == "old" {
			close(entered)
			<-release
		}
		mu.Lock()
		fired = append(fired, d.SessionID)
		mu.Unlock()
		return nil
	}
	s, err := schedule.NewLocal("", fire, clk)
	if err != nil {
		t.Fatal(err)
	}
	idle := watchIdle(s)
	if err := s.ScheduleExpiry(ctx, "x", t0, due("old", t0)); err != nil {
		t.Fatal(err)
	}
	start(t, s)
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatal("due schedule did not fire")
	}
	if err := s.ScheduleExpiry(ctx, "x", t0.Add(time.Hour), due("new", t0.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	close(release)
	idle.settledAt(t, s, t0)
	p := s.Pending()
	if len(p) != 1 || p[0].Due.SessionID != "new" {
		t.Fatalf("pending %+v: the schedule replaced during its fire must stay", p)
	}
	clk.Set(t0.Add(time.Hour))
	idle.settledAt(t, s, t0.Add(time.Hour))
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(fired, []string{"old", "new"}) {
		t.Fatalf("fired %v, want [old new]", fired)
	}
}

func TestLocalStartStop(t *testing.T) {
	ctx := context.Background()
	entered := make(chan struct{}, 1)
	var gotCtxErr error
	fire := func(ctx context.Context, _ events.ExpiryDue) error {
		entered <- struct{}{}
		<-ctx.Done() // a fire that only ends when the scheduler stops
		gotCtxErr = ctx.Err()
		return ctx.Err()
	}
	s, err := schedule.NewLocal("", fire, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Stop() // without Start: nothing to do
	if err := s.ScheduleExpiry(ctx, "x", time.Now().Add(-time.Second), due("x", time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err == nil {
		t.Error("second Start succeeded")
	}
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatal("did not fire")
	}
	s.Stop() // returns only once the fire returned
	if !errors.Is(gotCtxErr, context.Canceled) {
		t.Errorf("fire's context error = %v, want Canceled", gotCtxErr)
	}
	if got := names(s.Pending()); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("pending after an interrupted fire %v, want [x]", got)
	}
	// Started again, it fires the kept entry once more.
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-entered:
	case <-time.After(patience):
		t.Fatal("did not fire after restart")
	}
	s.Stop()
}

func TestLocalConcurrentUse(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	s, err := schedule.NewLocal(filepath.Join(t.TempDir(), "s.json"), rec.fire, nil)
	if err != nil {
		t.Fatal(err)
	}
	start(t, s)
	const workers, each = 6, 15
	var wg sync.WaitGroup
	past := time.Now().Add(-time.Second)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := s.ScheduleExpiry(ctx, id, past, due(id, past)); err != nil {
					t.Error(err)
				}
				// A far-future schedule, deleted again right away, must never fire.
				if err := s.ScheduleExpiry(ctx, "later-"+id, past.Add(time.Hour), due("later-"+id, past)); err != nil {
					t.Error(err)
				}
				if err := s.DeleteExpiry(ctx, "later-"+id); err != nil {
					t.Error(err)
				}
				_ = s.Pending()
			}
		})
	}
	wg.Wait()
	eventually(t, "every schedule to fire", func() bool { return len(rec.ids()) == workers*each })
	got := rec.ids()
	slices.Sort(got)
	if len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Error("a schedule fired twice")
	}
	for _, id := range got {
		if len(id) > 5 && id[:6] == "later-" {
			t.Errorf("deleted schedule %s fired", id)
		}
	}
	eventually(t, "nothing pending", func() bool { return len(s.Pending()) == 0 })
}

func TestNewLocalRefusesBadFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content string
	}{
		{"not json", "{"},
		{"other version", `{"version":99,"schedules":[]}`},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := schedule.NewLocal(path, (&recorder{}).fire, nil); err == nil {
			t.Errorf("%s: NewLocal accepted the file", tt.name)
		}
	}
	if _, err := schedule.NewLocal("", nil, nil); err == nil {
		t.Error("NewLocal accepted a nil fire function")
	}
}
