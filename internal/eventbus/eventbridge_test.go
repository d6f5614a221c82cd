package eventbus_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var (
	_                 support.Publisher     = (*eventbus.EventBridge)(nil)
	_                 support.Publisher     = (*eventbus.Local)(nil)
	_                 eventbus.PutEventsAPI = (*eventbridge.Client)(nil)
	testAt                                  = time.Date(2026, 3, 1, 12, 30, 0, 0, time.UTC)
	allowedDetailKeys                       = []string{"sessionId", "account", "technician", "status", "at", "reason", "attemptsLeft", "expiresAt"}
	errFakeTransport                        = errors.New("connection reset")
	_                 fmt.Stringer          = (*strings.Builder)(nil)
)

// fakeEB records every PutEvents input. failures[n] lists, for the n-th call, the entry
// indexes EventBridge reports as failed; callErr fails whole calls.
type fakeEB struct {
	mu       sync.Mutex
	calls    []*eventbridge.PutEventsInput
	failures map[int][]int
	callErr  error
}

func (f *fakeEB) PutEvents(_ context.Context, in *eventbridge.PutEventsInput, _ ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(f.calls)
	f.calls = append(f.calls, in)
	if f.callErr != nil {
		return nil, f.callErr
	}
	if len(in.Entries) > eventbus.MaxBatch {
		return nil, fmt.Errorf("ValidationException: %d entries", len(in.Entries))
	}
	out := &eventbridge.PutEventsOutput{}
	for i := range in.Entries {
		if slices.Contains(f.failures[n], i) {
			out.FailedEntryCount++
			out.Entries = append(out.Entries, types.PutEventsResultEntry{ErrorCode: aws.String("InternalFailure"), ErrorMessage: aws.String("try again")})
			continue
		}
		out.Entries = append(out.Entries, types.PutEventsResultEntry{EventId: aws.String(fmt.Sprintf("id-%d-%d", n, i))})
	}
	return out, nil
}

func sampleEvents(n int) []events.Event {
	evs := make([]events.Event, n)
	for i := range evs {
		left := 3
		exp := testAt.Add(24 * time.Hour)
		evs[i] = events.Event{
			Type: events.All[i%len(events.All)],
			Detail: events.Detail{
				SessionID: fmt.Sprintf("session%02d", i), Account: "acme", Technician: "tech-sub-1",
				Status: "active", At: testAt.Add(time.Duration(i) * time.Second),
				Reason: "expired", AttemptsLeft: &left, ExpiresAt: &exp,
			},
		}
	}
	return evs
}

func TestEventBridgeRequestShape(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		wantCalls []int // entries per call
	}{
		{"none", 0, nil},
		{"one", 1, []int{1}},
		{"exactly one batch", 10, []int{10}},
		{"three batches", 23, []int{10, 10, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeEB{}
			p := eventbus.NewEventBridge(fake, "adhoc-bus")
			evs := sampleEvents(tt.n)
			if err := p.Publish(context.Background(), evs...); err != nil {
				t.Fatal(err)
			}
			var sizes []int
			var got []types.PutEventsRequestEntry
			for _, c := range fake.calls {
				sizes = append(sizes, len(c.Entries))
				got = append(got, c.Entries...)
			}
			if !slices.Equal(sizes, tt.wantCalls) {
				t.Fatalf("entries per call = %v, want %v", sizes, tt.wantCalls)
			}
			for i, e := range got {
				ev := evs[i]
				if aws.ToString(e.Source) != "adhoc.support" || aws.ToString(e.EventBusName) != "adhoc-bus" || aws.ToString(e.DetailType) != string(ev.Type) {
					t.Errorf("entry %d: source %q bus %q type %q", i, aws.ToString(e.Source), aws.ToString(e.EventBusName), aws.ToString(e.DetailType))
				}
				if e.Time == nil || !e.Time.Equal(ev.Detail.At) {
					t.Errorf("entry %d: time %v, want %v", i, e.Time, ev.Detail.At)
				}
				checkDetail(t, aws.ToString(e.Detail), ev.Detail)
			}
		})
	}
}

// checkDetail decodes a detail JSON, compares it to the event's detail, and makes sure it
// carries only the documented members and nothing that looks like an e-mail address.
func checkDetail(t *testing.T, raw string, want events.Detail) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		t.Fatalf("detail is not JSON: %v", err)
	}
	for k := range m {
		if !slices.Contains(allowedDetailKeys, k) {
			t.Errorf("detail carries undocumented member %q", k)
		}
	}
	if strings.Contains(raw, "@") {
		t.Errorf("detail looks like it carries an e-mail address: %s", raw)
	}
	var got events.Detail
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatal(err)
	}
	if got.SessionID != want.SessionID || got.Account != want.Account || got.Technician != want.Technician ||
		got.Status != want.Status || !got.At.Equal(want.At) || got.Reason != want.Reason ||
		*got.AttemptsLeft != *want.AttemptsLeft || !got.ExpiresAt.Equal(*want.ExpiresAt) {
		t.Errorf("detail = %+v, want %+v", got, want)
	}
}

func TestEventBridgeTimeDefaultsToNow(t *testing.T) {
	fake := &fakeEB{}
	p := eventbus.NewEventBridge(fake, "bus")
	before := time.Now()
	if err := p.Publish(context.Background(), events.Event{Type: events.AppStarted, Detail: events.Detail{SessionID: "s"}}); err != nil {
		t.Fatal(err)
	}
	at := fake.calls[0].Entries[0].Time
	if at == nil || at.Before(before.Add(-time.Second)) || at.After(time.Now().Add(time.Second)) {
		t.Errorf("time = %v, want about now", at)
	}
}

func TestEventBridgeResendsFailedEntries(t *testing.T) {
	fake := &fakeEB{failures: map[int][]int{0: {1, 3}}}
	p := eventbus.NewEventBridge(fake, "bus")
	evs := sampleEvents(5)
	if err := p.Publish(context.Background(), evs...); err != nil {
		t.Fatalf("a failure that goes away on resend should not be an error: %v", err)
	}
	if len(fake.calls) != 2 {
		t.Fatalf("calls = %d, want 2", len(fake.calls))
	}
	var resent []string
	for _, e := range fake.calls[1].Entries {
		var d events.Detail
		_ = json.Unmarshal([]byte(aws.ToString(e.Detail)), &d)
		resent = append(resent, d.SessionID)
	}
	if want := []string{"session01", "session03"}; !slices.Equal(resent, want) {
		t.Errorf("resent %v, want only the failed %v", resent, want)
	}
}

func TestEventBridgeFailures(t *testing.T) {
	always := map[int][]int{}
	for i := range 10 {
		always[i] = []int{0} // the first entry of every call fails
	}
	tests := []struct {
		name      string
		fake      *fakeEB
		n         int
		wantCalls int
		wantIn    []string
		wantIs    error
	}{
		{
			name: "entry keeps failing", fake: &fakeEB{failures: always}, n: 2, wantCalls: 3,
			wantIn: []string{"1 of 2 entries failed", "session00", "InternalFailure", string(events.All[0])},
		},
		{
			name: "later batches are still sent", fake: &fakeEB{failures: always}, n: 12,
			// batch 1: 3 attempts, batch 2: 3 attempts
			wantCalls: 6, wantIn: []string{"session00", "session10"},
		},
		{
			name: "call fails", fake: &fakeEB{callErr: errFakeTransport}, n: 1, wantCalls: 1,
			wantIn: []string{"adhoc", "session00"}, wantIs: errFakeTransport,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := eventbus.NewEventBridge(tt.fake, "adhoc")
			err := p.Publish(context.Background(), sampleEvents(tt.n)...)
			if err == nil {
				t.Fatal("Publish succeeded")
			}
			for _, s := range tt.wantIn {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not wrap %v", err, tt.wantIs)
			}
			if len(tt.fake.calls) != tt.wantCalls {
				t.Errorf("calls = %d, want %d", len(tt.fake.calls), tt.wantCalls)
			}
		})
	}
}

func TestEventBridgeStopsResendingWhenCancelled(t *testing.T) {
	fake := &fakeEB{failures: map[int][]int{0: {0}, 1: {0}, 2: {0}}}
	p := eventbus.NewEventBridge(fake, "bus")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := p.Publish(ctx, sampleEvents(1)...)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(fake.calls) != 1 {
		t.Errorf("calls = %d, want 1 (no resend after cancel)", len(fake.calls))
	}
}

func TestEventBridgeRefusesUntypedEvent(t *testing.T) {
	fake := &fakeEB{}
	p := eventbus.NewEventBridge(fake, "bus")
	if err := p.Publish(context.Background(), events.Event{Detail: events.Detail{SessionID: "s"}}); err == nil {
		t.Fatal("published an event without type")
	}
	if len(fake.calls) != 0 {
		t.Error("an event without type reached EventBridge")
	}
}

// TestEventBridgeWire runs the real SDK client against a stub endpoint, so the request is
// checked as EventBridge receives it, not only as Go values.
func TestEventBridgeWire(t *testing.T) {
	var mu sync.Mutex
	var targets []string
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		mu.Lock()
		targets = append(targets, r.Header.Get("X-Amz-Target"))
		bodies = append(bodies, body)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		// The last entry of every call is throttled.
		entries, _ := body["Entries"].([]any)
		res := make([]string, len(entries))
		for i := range res {
			res[i] = `{"EventId":"a"}`
		}
		res[len(res)-1] = `{"ErrorCode":"ThrottlingException","ErrorMessage":"slow down"}`
		fmt.Fprintf(w, `{"FailedEntryCount":1,"Entries":[%s]}`, strings.Join(res, ","))
	}))
	defer srv.Close()
	client := eventbridge.New(eventbridge.Options{
		Region:           "eu-central-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
	p := eventbus.NewEventBridge(client, "adhoc-bus")
	evs := sampleEvents(2)
	err := p.Publish(context.Background(), evs...)
	if err == nil || !strings.Contains(err.Error(), "ThrottlingException") || !strings.Contains(err.Error(), "session01") {
		t.Fatalf("err = %v, want the throttled entry named", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 3 {
		t.Fatalf("requests = %d, want 3 (first call and two resends)", len(bodies))
	}
	for _, tg := range targets {
		if tg != "AWSEvents.PutEvents" {
			t.Errorf("X-Amz-Target = %q", tg)
		}
	}
	entries, _ := bodies[0]["Entries"].([]any)
	if len(entries) != 2 {
		t.Fatalf("first request has %d entries: %v", len(entries), bodies[0])
	}
	for i, raw := range entries {
		e := raw.(map[string]any)
		if e["Source"] != "adhoc.support" || e["EventBusName"] != "adhoc-bus" || e["DetailType"] != string(evs[i].Type) {
			t.Errorf("wire entry %d = %v", i, e)
		}
		detail, _ := e["Detail"].(string)
		checkDetail(t, detail, evs[i].Detail)
	}
	if resent, _ := bodies[1]["Entries"].([]any); len(resent) != 1 {
		t.Errorf("resend carries %d entries, want only the failed one", len(resent))
	}
}
