package eventbus_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
)

func sessionIDs(evs []events.Event) []string {
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.Detail.SessionID
	}
	return ids
}

func TestLocalPublishAndSubscribe(t *testing.T) {
	ctx := context.Background()
	bus := eventbus.NewLocal()
	var first, second []string
	unsub1 := bus.Subscribe(func(ev events.Event) { first = append(first, ev.Detail.SessionID) })
	bus.Subscribe(func(ev events.Event) { second = append(second, ev.Detail.SessionID) })

	evs := sampleEvents(3)
	if err := bus.Publish(ctx, evs[0], evs[1]); err != nil {
		t.Fatal(err)
	}
	unsub1()
	if err := bus.Publish(ctx, evs[2]); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(ctx); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"Events", sessionIDs(bus.Events()), []string{"session00", "session01", "session02"}},
		{"unsubscribed subscriber", first, []string{"session00", "session01"}},
		{"remaining subscriber", second, []string{"session00", "session01", "session02"}},
	}
	for _, tt := range tests {
		if !slices.Equal(tt.got, tt.want) {
			t.Errorf("%s = %v, want %v", tt.name, tt.got, tt.want)
		}
	}

	// Events returns a copy: changing it changes nothing inside the bus.
	got := bus.Events()
	got[0].Detail.SessionID = "changed"
	if bus.Events()[0].Detail.SessionID != "session00" {
		t.Error("Events exposes the bus's own slice")
	}
}

func TestLocalRefusesUntypedEvent(t *testing.T) {
	bus := eventbus.NewLocal()
	delivered := 0
	bus.Subscribe(func(events.Event) { delivered++ })
	err := bus.Publish(context.Background(), sampleEvents(1)[0], events.Event{Detail: events.Detail{SessionID: "x"}})
	if err == nil {
		t.Fatal("published an event without type")
	}
	if delivered != 0 || len(bus.Events()) != 0 {
		t.Error("a refused call delivered or recorded events")
	}
}

func TestLocalSubscriberMayUnsubscribeItself(t *testing.T) {
	bus := eventbus.NewLocal()
	n := 0
	var unsub func()
	unsub = bus.Subscribe(func(events.Event) { n++; unsub() })
	if err := bus.Publish(context.Background(), sampleEvents(3)...); err != nil {
		t.Fatal(err)
	}
	// Unsubscribing takes effect from the next Publish call.
	if err := bus.Publish(context.Background(), sampleEvents(1)...); err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("subscriber ran %d times, want 3", n)
	}
}

func TestLocalLog(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "logs", "events.jsonl")
	bus := eventbus.NewLocal()
	if err := bus.Publish(ctx, sampleEvents(1)...); err != nil { // before the log: not logged
		t.Fatal(err)
	}
	if err := bus.LogTo(path); err != nil {
		t.Fatal(err)
	}
	evs := sampleEvents(4)[1:]
	if err := bus.Publish(ctx, evs...); err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(ctx, sampleEvents(1)...); err != nil { // after Close: not logged, still works
		t.Fatal(err)
	}

	// A second bus appends to the same file, as local mode does after a restart.
	bus2 := eventbus.NewLocal()
	if err := bus2.LogTo(path); err != nil {
		t.Fatal(err)
	}
	more := sampleEvents(5)[4:]
	if err := bus2.Publish(ctx, more...); err != nil {
		t.Fatal(err)
	}
	if err := bus2.Close(); err != nil {
		t.Fatal(err)
	}
	want := append(slices.Clone(evs), more...)

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("log mode = %o, want 600", fi.Mode().Perm())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	i := 0
	for sc.Scan() {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatalf("line %d is not JSON: %v", i, err)
		}
		keys := make([]string, 0, len(raw))
		for k := range raw {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		if wantKeys := []string{"detail", "detail-type", "source", "time"}; !slices.Equal(keys, wantKeys) {
			t.Errorf("line %d members = %v, want %v", i, keys, wantKeys)
		}
		var env eventbus.Envelope
		if err := json.Unmarshal(sc.Bytes(), &env); err != nil {
			t.Fatal(err)
		}
		if i >= len(want) {
			t.Fatalf("more lines than events: %s", sc.Text())
		}
		if env.Source != events.Source || env.DetailType != string(want[i].Type) || !env.Time.Equal(want[i].Detail.At) {
			t.Errorf("line %d = %+v", i, env)
		}
		checkDetail(t, string(env.Detail), want[i].Detail)
		i++
	}
	if i != len(want) {
		t.Errorf("log has %d lines, want %d", i, len(want))
	}
}

func TestLocalConcurrent(t *testing.T) {
	ctx := context.Background()
	bus := eventbus.NewLocal()
	if err := bus.LogTo(filepath.Join(t.TempDir(), "events.jsonl")); err != nil {
		t.Fatal(err)
	}
	defer bus.Close()
	var mu sync.Mutex
	var seenA, seenB []string
	bus.Subscribe(func(ev events.Event) { mu.Lock(); seenA = append(seenA, ev.Detail.SessionID); mu.Unlock() })
	bus.Subscribe(func(ev events.Event) { mu.Lock(); seenB = append(seenB, ev.Detail.SessionID); mu.Unlock() })

	const publishers, each = 8, 50
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				ev := events.Event{Type: events.AppStarted, Detail: events.Detail{SessionID: fmt.Sprintf("p%d-%d", p, i)}}
				if err := bus.Publish(ctx, ev); err != nil {
					t.Error(err)
				}
			}
		})
		// Readers and late subscribers run alongside the publishers.
		wg.Go(func() {
			for range each {
				_ = bus.Events()
			}
			bus.Subscribe(func(events.Event) {})()
		})
	}
	wg.Wait()

	all := sessionIDs(bus.Events())
	if len(all) != publishers*each {
		t.Fatalf("recorded %d events, want %d", len(all), publishers*each)
	}
	if !slices.Equal(seenA, all) || !slices.Equal(seenB, all) {
		t.Error("subscribers saw another order than Events")
	}
	// Each publisher's own events keep their order.
	for p := range publishers {
		var mine []string
		for _, id := range all {
			var pp, i int
			if _, err := fmt.Sscanf(id, "p%d-%d", &pp, &i); err == nil && pp == p {
				mine = append(mine, id)
			}
		}
		for i, id := range mine {
			if id != fmt.Sprintf("p%d-%d", p, i) {
				t.Fatalf("publisher %d: event %d is %s", p, i, id)
			}
		}
	}
}
