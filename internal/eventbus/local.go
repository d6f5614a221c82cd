package eventbus

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
)

// Envelope is an event as EventBridge delivers it to rules and targets; the local bus
// writes one per line to its log so local mode shows the same JSON.
type Envelope struct {
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
	Time       time.Time       `json:"time"`
}

// maxKept bounds the events Local remembers, so a long-running local server does not grow
// without end; the log file keeps them all.
const maxKept = 10000

// Local is an in-process bus. Publish records each event, appends it to the optional log
// file and hands it to every subscriber, in publishing order. It is safe for concurrent
// use.
type Local struct {
	// publish serialises publishers so every subscriber sees one order, the order of
	// Events and of the log.
	publish sync.Mutex

	mu     sync.Mutex
	evs    []events.Event
	subs   []subscriber // in the order they subscribed
	nextID int
	log    *os.File
	clock  clock.Clock
}

// NewLocal returns an empty in-process bus without a log file.
func NewLocal() *Local {
	return &Local{clock: clock.Real{}}
}

type subscriber struct {
	id int
	fn func(events.Event)
}

// LogTo appends every event published from now on to the file at path as a JSON line,
// creating the file (mode 0600) and its folders. A previous log file is closed.
func (b *Local) LogTo(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("event log folder: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("open event log: %w", err)
	}
	b.mu.Lock()
	old := b.log
	b.log = f
	b.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			return fmt.Errorf("close previous event log: %w", err)
		}
	}
	return nil
}

// Close closes the log file, if any. Publishing afterwards still works, without log.
func (b *Local) Close() error {
	b.mu.Lock()
	f := b.log
	b.log = nil
	b.mu.Unlock()
	if f == nil {
		return nil
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close event log: %w", err)
	}
	return nil
}

// Subscribe registers fn to receive every event published from now on, and returns a
// function that ends the subscription. fn runs on the publisher's goroutine, so it must
// return quickly and must not publish itself (hand work to a goroutine instead).
func (b *Local) Subscribe(fn func(events.Event)) (unsubscribe func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextID
	b.nextID++
	b.subs = append(b.subs, subscriber{id: id, fn: fn})
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.subs = slices.DeleteFunc(b.subs, func(s subscriber) bool { return s.id == id })
	}
}

// Publish records the events and delivers them to the subscribers. It refuses the whole
// call when an event has no type, like EventBridge would refuse its entry; a failing log
// write is reported after the events were delivered.
func (b *Local) Publish(_ context.Context, evs ...events.Event) error {
	for _, ev := range evs {
		if ev.Type == "" {
			return fmt.Errorf("publish: event without detail type (session %s)", ev.Detail.SessionID)
		}
	}
	b.publish.Lock()
	defer b.publish.Unlock()

	b.mu.Lock()
	var logErr error
	lines := make([]byte, 0, 256*len(evs))
	for _, ev := range evs {
		line, err := envelopeLine(ev, b.clock)
		if err != nil {
			b.mu.Unlock()
			return err
		}
		lines = append(lines, line...)
	}
	if b.log != nil && len(lines) > 0 {
		// One write per call keeps lines whole even if another process appends too.
		if _, err := b.log.Write(lines); err != nil {
			logErr = fmt.Errorf("publish: write event log: %w", err)
		}
	}
	b.evs = append(b.evs, evs...)
	if over := len(b.evs) - maxKept; over > 0 {
		b.evs = slices.Delete(b.evs, 0, over)
	}
	// Deliver outside mu, so a subscriber may subscribe or unsubscribe.
	subs := slices.Clone(b.subs)
	b.mu.Unlock()

	for _, ev := range evs {
		for _, s := range subs {
			s.fn(ev)
		}
	}
	return logErr
}

// Events returns a copy of the events published so far (the most recent maxKept), oldest
// first.
func (b *Local) Events() []events.Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.evs)
}

func envelopeLine(ev events.Event, c clock.Clock) ([]byte, error) {
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return nil, fmt.Errorf("publish: encode %s detail: %w", ev.Type, err)
	}
	line, err := json.Marshal(Envelope{
		Source:     events.Source,
		DetailType: string(ev.Type),
		Detail:     detail,
		Time:       eventTime(ev, c),
	})
	if err != nil {
		return nil, fmt.Errorf("publish: encode %s envelope: %w", ev.Type, err)
	}
	return append(line, '\n'), nil
}
