package bench_test

import (
	"context"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// TestRemoteCalls walks one remote connection's calls on the rig: the start asks for ICE
// servers once and pushes to both ends, every signal is relayed to the other end only,
// and the end report writes the audit.
func TestRemoteCalls(t *testing.T) {
	r := newLiveRig(t, support.Config{})
	figs, err := r.RemoteCalls(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]bench.Figures{}
	for _, f := range figs {
		by[f.Name] = f
		t.Logf("%-45s %d trips %-40s RRU %.1f WRU %.1f pushes %d ICE %d in %d", f.Name, f.RoundTrips, f.Ops, f.RRU, f.WRU, f.Counts.Pushes, f.Counts.ICE, f.WSIn)
	}
	tests := []struct {
		name     string
		function string
		writes   bool
		pushes   int64 // at least
		ice      int64
		wsIn     int
	}{
		{bench.RemoteStart, deploy.Invitation, true, 2, 1, 0},
		{bench.RemoteOffer, deploy.Live, true, 1, 0, 1},
		{bench.RemoteAnswer, deploy.Live, true, 1, 0, 1},
		{bench.RemoteConsoleCand, deploy.Live, false, 1, 0, 1},
		{bench.RemoteAppCand, deploy.Live, false, 1, 0, 1},
		{bench.RemoteBye, deploy.Live, false, 1, 0, 1},
		{bench.RemoteEndedReport, deploy.Pairing, true, 1, 0, 0},
	}
	if len(figs) != len(tests) {
		t.Errorf("%d figures, want %d", len(figs), len(tests))
	}
	for _, tt := range tests {
		f, ok := by[tt.name]
		if !ok {
			t.Errorf("no figures for %q", tt.name)
			continue
		}
		if f.Function != tt.function || (f.WRU > 0) != tt.writes || f.Counts.Pushes < tt.pushes || f.Counts.ICE != tt.ice || f.WSIn != tt.wsIn || f.RRU < 1 {
			t.Errorf("%s: function %s, %v RRU, %v WRU, %d pushes, %d ICE requests, %d messages in; want %s, writes %v, ≥ %d pushes, %d, %d",
				tt.name, f.Function, f.RRU, f.WRU, f.Counts.Pushes, f.Counts.ICE, f.WSIn, tt.function, tt.writes, tt.pushes, tt.ice, tt.wsIn)
		}
	}
}

// TestRemoteHour prices an hour on calls worked out by hand: the connection's calls are
// counted once, candidates as many times as each end sent, TURN minutes and relayed bytes
// only when relayed.
func TestRemoteHour(t *testing.T) {
	call := func(name string, trigger string) bench.Figures {
		return bench.Figures{Name: name, Function: deploy.Live, Trigger: trigger, Duration: 2 * time.Millisecond, RRU: 1, WSIn: 1}
	}
	calls := []bench.Figures{
		call(bench.RemoteStart, bench.TriggerAPI),
		call(bench.RemoteConsoleCand, bench.TriggerWebSocket),
		call(bench.RemoteAppCand, bench.TriggerWebSocket),
	}
	mem := map[string]int{deploy.Live: 1024}
	tests := []struct {
		name     string
		relayed  bool
		turn     float64
		transfer float64
	}{
		{"peer to peer", false, 2 * bench.TURNIdleMinutes, 0},
		{"relayed", true, 120, 1 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := bench.RemoteHour(bench.RemoteHourInput{Calls: calls, MemoryMB: mem, ConsoleCandidates: 3, AppCandidates: 5, Relayed: tt.relayed, Bytes: 1 << 20})
			// 1 start + 3 + 5 candidates.
			if u.Invocations != 9 || u.RRU != 9 || u.APIRequests != 1 || u.WSMessages != 8 {
				t.Errorf("invocations %v, RRU %v, API requests %v, messages %v; want 9, 9, 1, 8", u.Invocations, u.RRU, u.APIRequests, u.WSMessages)
			}
			if u.TURNMinutes != tt.turn {
				t.Errorf("TURN minutes %v, want %v", u.TURNMinutes, tt.turn)
			}
			if u.TransferBytes < tt.transfer || u.TransferBytes > tt.transfer+1000 {
				t.Errorf("transfer %v bytes, want %v and the answers' few bytes", u.TransferBytes, tt.transfer)
			}
		})
	}
}
