package bench_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func newLiveRig(t *testing.T, cfg support.Config) *bench.Rig {
	t.Helper()
	_, table := testenv.Table(t)
	r, err := bench.NewRig(context.Background(), bench.RigOptions{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t), SESEndpoint: testenv.SES(t), Table: table, Config: cfg, Live: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestLiveDay runs the live day on a 5-hour session. The model's timers fix most counts:
// connections at 0, 119 and 238 minutes (renewed every 119 minutes here); pings every 8
// minutes inside each (14, 14 and 7 before the end at 300); a catch-up poll per
// connection and safety polls every 15 minutes after it (7, 7 and 4).
func TestLiveDay(t *testing.T) {
	cfg := support.Defaults()
	cfg.SessionTTL = 5 * time.Hour
	r := newLiveRig(t, cfg)
	l, err := r.LiveDay(context.Background(), bench.LiveDayOptions{SetupWait: 10 * time.Second, Reconnect: 119 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, s := range l.Steps {
		count[s.Name] = s.Count
		t.Logf("%-45s ×%-4d %3d trips RRU %5.1f WRU %5.1f pushes %d", s.Name, s.Count, s.Sum.RoundTrips, s.Sum.RRU, s.Sum.WRU, s.Sum.Counts.Pushes)
	}
	u := l.Usage
	checks := []struct {
		name      string
		got, want float64
	}{
		{"app connections", float64(l.Connections), 3},
		{"app authorizers", float64(count[bench.LiveAuthorizer+support.PeerApp]), 3},
		{"app $disconnects (two reconnects, the close at the end)", float64(count[bench.LiveDisconnect+support.PeerApp]), 3},
		{"console connections", float64(count[bench.LiveConnect+support.PeerConsole]), 1},
		{"pings", float64(l.Pings), 14 + 14 + 7},
		{"catch-up polls", float64(count[bench.CatchUpPoll]), 3},
		{"safety polls", float64(count[bench.SafetyPoll]), 7 + 7 + 4},
		{"polls", float64(l.Polls), 21},
		{"expiries", float64(count["expiry, one-time schedule"]), 1},
		// ticket, create, join, download, hello, pair, 21 polls, removed
		{"API requests", u.APIRequests, 6 + 21 + 1},
		// the API's 28, the console's authorizer, $connect and $disconnect, the app's 3
		// authorizers, 3 $connects and 3 $disconnects, 35 pings, the expiry
		{"Lambda invocations", u.Invocations, 28 + 3 + 9 + 35 + 1},
		{"new connections", u.WSConnects, 4},
		// the app's 5 hours and the page's 10 seconds (the real time the calls took is
		// on the rig's clock too, a few seconds at most)
		{"connection minutes (to the minute)", math.Round(u.WSConnectionMinutes), 300},
		{"mails", u.Mails, 1},
		{"scheduler invocations", u.SchedulerInvocations, 1},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// Inbound: 2 console and 6 app $connect/$disconnect, 35 pings; outbound: 35 pongs,
	// the page's pushes (invited, app_started, active at least) and the app's expiry.
	if min := 43.0 + 35 + 3 + 1; u.WSMessages < min {
		t.Errorf("%v WebSocket messages, want at least %v", u.WSMessages, min)
	}
	if u.WSRequests < u.WSMessages {
		t.Errorf("%v requests against the throttle, fewer than the %v messages (each message is one)", u.WSRequests, u.WSMessages)
	}
	if r.Schedules.Pending() != 0 {
		t.Errorf("%d schedules left after the session ended", r.Schedules.Pending())
	}
	if l.ActiveItemBytes < 500 || l.ActiveItemBytes > 4096 {
		t.Errorf("the active session item is %d bytes; a session item is about 1 KB", l.ActiveItemBytes)
	}
}

// TestLiveCalls checks the live function's round trips against internal/store/doc.go: an
// app's authorizer reads the session by its token, a console's takes the ticket; $connect
// and $disconnect of an app read and write the session item; a ping touches no table and
// is answered by one push; the end reaches both connections.
func TestLiveCalls(t *testing.T) {
	r := newLiveRig(t, support.Config{})
	figs, err := r.LiveCalls(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]bench.Figures{}
	for _, f := range figs {
		by[f.Name] = f
		t.Logf("%-50s %d trips %-40s RRU %.1f WRU %.1f pushes %d (gone %d) in %d", f.Name, f.RoundTrips, f.Ops, f.RRU, f.WRU, f.Counts.Pushes, f.Counts.PushesGone, f.WSIn)
	}
	tests := []struct {
		name   string
		trips  int
		writes bool
		pushes int64
		wsIn   int
	}{
		{bench.TicketStep, 1, true, 0, 0},
		{bench.LiveAuthorizer + support.PeerConsole, 1, true, 0, 0},
		{bench.LiveConnect + support.PeerConsole, 1, true, 0, 1},
		{bench.LiveAuthorizer + support.PeerApp, 1, false, 0, 0},
		{bench.LivePing, 0, false, 1, 1},
		{"unknown action (answered with an error)", 0, false, 1, 1},
		{bench.EndPushed, 4, true, 2, 0},
		{bench.LiveDisconnect + support.PeerConsole, 1, true, 0, 1},
	}
	for _, tt := range tests {
		f, ok := by[tt.name]
		if !ok {
			t.Errorf("no figures for %q", tt.name)
			continue
		}
		if f.RoundTrips != tt.trips || (f.WRU > 0) != tt.writes || f.Counts.Pushes != tt.pushes || f.WSIn != tt.wsIn {
			t.Errorf("%s: %d round trips (%s), %v WRU, %d pushes, %d messages in; want %d, writes %v, %d, %d",
				tt.name, f.RoundTrips, f.Ops, f.WRU, f.Counts.Pushes, f.WSIn, tt.trips, tt.writes, tt.pushes, tt.wsIn)
		}
	}
	for _, name := range []string{bench.LiveConnect + support.PeerApp, bench.LiveDisconnect + support.PeerApp} {
		if f := by[name]; f.RoundTrips < 2 || f.RRU < 1 || f.WRU <= 0 {
			t.Errorf("%s: %d round trips (%s), %v RRU, %v WRU; want the session item read and written", name, f.RoundTrips, f.Ops, f.RRU, f.WRU)
		}
	}
}

// TestPushLatency runs the push latency measurement on a few sessions. It checks what the
// figures are made of, not how fast they are (that is for make bench): every session gave
// each kind one sample, and every sample is positive, so the clock started at a commit
// that came before the message's arrival.
func TestPushLatency(t *testing.T) {
	_, table := testenv.Table(t)
	res, err := bench.PushLatency(context.Background(), bench.PushOptions{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t), SESEndpoint: testenv.SES(t), Table: table, Runs: 5, Warmup: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kinds) != 3 {
		t.Fatalf("%d kinds of latency, want 3", len(res.Kinds))
	}
	for _, l := range res.Kinds {
		t.Logf("%-60s n %d median %v p95 %v p99 %v max %v", l.What, l.N, l.Median, l.P95, l.P99, l.Max)
		if l.N != 5 || l.Median <= 0 || l.Max < l.P99 || l.P99 < l.P95 || l.P95 < l.Median {
			t.Errorf("%s: %+v, want 5 positive, ordered samples", l.What, l)
		}
	}
}

func TestDistribution(t *testing.T) {
	var s []time.Duration
	for i := 100; i >= 1; i-- {
		s = append(s, time.Duration(i)*time.Millisecond)
	}
	l := bench.Distribution("x", s)
	if l.N != 100 || l.Median != 50500*time.Microsecond || l.P95 != 95*time.Millisecond || l.P99 != 99*time.Millisecond || l.Max != 100*time.Millisecond {
		t.Errorf("1..100 ms: %+v", l)
	}
	if l := bench.Distribution("one", s[:1]); l.Median != 100*time.Millisecond || l.P99 != 100*time.Millisecond {
		t.Errorf("one sample: %+v", l)
	}
	if l := bench.Distribution("none", nil); l.N != 0 || l.Max != 0 {
		t.Errorf("no samples: %+v", l)
	}
}
