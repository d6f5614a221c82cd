package schedule

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
)

// Entry is one pending schedule of the local scheduler.
type Entry struct {
	Name string           `json:"name"`
	At   time.Time        `json:"at"`
	Due  events.ExpiryDue `json:"due"`
}

// fileFormat is the JSON file the local scheduler keeps.
type fileFormat struct {
	Version   int     `json:"version"`
	Schedules []Entry `json:"schedules"`
}

const fileVersion = 1

// maxSleep bounds one wait of the timer goroutine. Go's timers follow the monotonic
// clock, which stands still while a laptop sleeps; waking up at least this often and
// looking at the wall clock again keeps schedules close to their time after a suspend.
const maxSleep = time.Minute

// Retry delays after a failed fire: retryBase, doubling, at most maxRetryDelay.
const (
	defaultRetryBase = time.Second
	maxRetryDelay    = 5 * time.Minute
)

type pending struct {
	Entry
	gen      uint64    // changes whenever the entry is replaced
	attempts int       // failed fires so far
	retryAt  time.Time // after a failure: not before this time
}

// when is the time the entry should fire next.
func (p *pending) when() time.Time {
	if p.retryAt.After(p.At) {
		return p.retryAt
	}
	return p.At
}

// Local is the in-process scheduler of local mode. Pending schedules live in a JSON file,
// so they survive a restart; Start catches up at once on anything overdue. A single
// goroutine fires schedules in time order; a schedule is deleted after it fired
// successfully and retried with growing delays while firing fails. It is safe for
// concurrent use.
type Local struct {
	path  string
	fire  func(context.Context, events.ExpiryDue) error
	clock clock.Clock

	mu      sync.Mutex
	entries map[string]*pending
	gen     uint64
	cancel  context.CancelFunc
	done    chan struct{}

	wake      chan struct{}
	retryBase time.Duration
	onIdle    func(now time.Time) // tests: called when the goroutine waits with nothing due
}

// NewLocal returns a scheduler that calls fire for each schedule when it is due, keeping
// pending schedules in the JSON file at path (created with its folders on first change;
// an empty path keeps them in memory only), on the clock c (nil: the real clock).
func NewLocal(path string, fire func(context.Context, events.ExpiryDue) error, c clock.Clock) (*Local, error) {
	if fire == nil {
		return nil, errors.New("local scheduler: fire function is nil")
	}
	s := &Local{
		path: path, fire: fire, clock: clock.Or(c),
		entries:   map[string]*pending{},
		wake:      make(chan struct{}, 1),
		retryBase: defaultRetryBase,
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Local) load() error {
	if s.path == "" {
		return nil
	}
	raw, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("local scheduler: read %s: %w", filepath.Base(s.path), err)
	}
	var f fileFormat
	if err := json.Unmarshal(raw, &f); err != nil {
		return fmt.Errorf("local scheduler: decode %s: %w", filepath.Base(s.path), err)
	}
	if f.Version != fileVersion {
		return fmt.Errorf("local scheduler: %s has version %d, want %d", filepath.Base(s.path), f.Version, fileVersion)
	}
	for _, e := range f.Schedules {
		s.gen++
		s.entries[e.Name] = &pending{Entry: e, gen: s.gen}
	}
	return nil
}

// save writes the file atomically (temporary file, then rename), so a crash leaves the
// old or the new content, never half of it. Callers hold mu.
func (s *Local) save() error {
	if s.path == "" {
		return nil
	}
	f := fileFormat{Version: fileVersion, Schedules: s.sortedLocked()}
	raw, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("local scheduler: encode: %w", err)
	}
	dir := filepath.Dir(s.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("local scheduler: folder: %w", err)
	}
	tmp, err := os.CreateTemp(dir, ".schedules-*")
	if err != nil {
		return fmt.Errorf("local scheduler: %w", err)
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return fmt.Errorf("local scheduler: write: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("local scheduler: write: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("local scheduler: %w", err)
	}
	return nil
}

func (s *Local) sortedLocked() []Entry {
	out := make([]Entry, 0, len(s.entries))
	for _, p := range s.entries {
		out = append(out, p.Entry)
	}
	slices.SortFunc(out, func(a, b Entry) int {
		if c := a.At.Compare(b.At); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// ScheduleExpiry arranges for due to be fired at the time at, replacing a pending schedule
// of the same name. A time in the past fires as soon as the scheduler runs. The schedule
// is kept in memory even when the file cannot be written; the error says so.
func (s *Local) ScheduleExpiry(_ context.Context, name string, at time.Time, due events.ExpiryDue) error {
	if !ValidName(name) {
		return fmt.Errorf("schedule expiry: invalid schedule name %q", name)
	}
	s.mu.Lock()
	s.gen++
	s.entries[name] = &pending{Entry: Entry{Name: name, At: at.UTC(), Due: due}, gen: s.gen}
	err := s.save()
	s.mu.Unlock()
	s.poke()
	if err != nil {
		return fmt.Errorf("schedule expiry %s: %w", name, err)
	}
	return nil
}

// DeleteExpiry removes the pending schedule name; a missing one is not an error.
func (s *Local) DeleteExpiry(_ context.Context, name string) error {
	if !ValidName(name) {
		return fmt.Errorf("delete expiry: invalid schedule name %q", name)
	}
	s.mu.Lock()
	if _, ok := s.entries[name]; !ok {
		s.mu.Unlock()
		return nil
	}
	delete(s.entries, name)
	err := s.save()
	s.mu.Unlock()
	s.poke()
	if err != nil {
		return fmt.Errorf("delete expiry %s: %w", name, err)
	}
	return nil
}

// Pending returns the pending schedules, soonest first.
func (s *Local) Pending() []Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sortedLocked()
}

// Start runs the timer goroutine until ctx ends or Stop is called. Schedules already
// overdue fire right away. fire gets a context derived from ctx.
func (s *Local) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cancel != nil {
		return errors.New("local scheduler: already started")
	}
	ctx, s.cancel = context.WithCancel(ctx)
	s.done = make(chan struct{})
	go s.run(ctx, s.done)
	return nil
}

// Stop ends the timer goroutine and waits for it, including a fire in progress (whose
// context is cancelled). The pending schedules stay in the file. Stop without Start does
// nothing; after Stop the scheduler can be started again.
func (s *Local) Stop() {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel, s.done = nil, nil
	s.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

func (s *Local) poke() {
	select {
	case s.wake <- struct{}{}:
	default: // a wake-up is already waiting
	}
}

func (s *Local) run(ctx context.Context, done chan struct{}) {
	defer close(done)
	timer := time.NewTimer(maxSleep)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		now := s.clock.Now()
		s.mu.Lock()
		next := s.nextLocked()
		var fireNow *pending
		var wait = maxSleep
		if next != nil {
			if !next.when().After(now) {
				cp := *next
				fireNow = &cp
			} else {
				wait = min(next.when().Sub(now), maxSleep)
			}
		}
		onIdle := s.onIdle
		s.mu.Unlock()

		if fireNow != nil {
			s.fireOne(ctx, fireNow)
			continue
		}
		if onIdle != nil {
			onIdle(now)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer.C:
		}
	}
}

// nextLocked is the entry to fire next: the earliest, ties broken by name so the order is
// stable.
func (s *Local) nextLocked() *pending {
	var next *pending
	for _, p := range s.entries {
		if next == nil {
			next = p
			continue
		}
		if c := p.when().Compare(next.when()); c < 0 || c == 0 && p.Name < next.Name {
			next = p
		}
	}
	return next
}

func (s *Local) fireOne(ctx context.Context, p *pending) {
	err := s.fire(ctx, p.Due)
	s.mu.Lock()
	defer s.mu.Unlock()
	cur, ok := s.entries[p.Name]
	if !ok || cur.gen != p.gen {
		// Replaced or deleted while firing: the newer state wins.
		return
	}
	if err != nil {
		if ctx.Err() != nil {
			return // stopping: the entry stays and fires after the next start
		}
		cur.attempts++
		delay := min(s.retryBase<<min(cur.attempts-1, 20), maxRetryDelay)
		cur.retryAt = s.clock.Now().Add(delay)
		slog.Warn("local scheduler: fire failed, will retry", "schedule", p.Name, "attempt", cur.attempts, "retryIn", delay, "err", err)
		return
	}
	delete(s.entries, p.Name)
	if err := s.save(); err != nil {
		// The entry is gone from memory; if the file keeps it, it fires once more after a
		// restart, which the expiry function tolerates (it is idempotent).
		slog.Warn("local scheduler: cannot save after firing", "schedule", p.Name, "err", err)
	}
}
