package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/measure/ddbmeter"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// TestRoundTrips measures the DynamoDB round trips and capacity of each API call on the
// way through a session, and holds them to the budget documented in internal/store/doc.go
// (the per-call table) and docs/cost.md §2: an idle app's poll is one read.
func TestRoundTrips(t *testing.T) {
	meter := &ddbmeter.Meter{}
	e := start(t, func(o *devstack.Options) { o.DynamoDBOptions = []func(*dynamodb.Options){meter.Option} })
	tech := e.technician("tina@example.com", "acme", false)
	meter.Take()

	type step struct {
		name   string
		do     func() reply
		status int
		max    int // round trips, besides the push's
		// push: the change is one a console sees, so it is pushed to the live channel,
		// which costs one Query of the account's console connections after the commit.
		push bool
	}
	var id, code, remoteID string
	var a *app
	var appLive, consoleLive *liveConn
	steps := []step{
		{"create", func() reply {
			r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": "rt@example.org", "password": goodPassword})
			id, code = r.str("id"), r.str("securityCode")
			return r
		}, http.StatusCreated, 1, true},
		{"get", func() reply { return e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil) }, http.StatusOK, 1, false},
		{"list", func() reply { return e.do(http.MethodGet, "/v1/sessions", tech, nil) }, http.StatusOK, 1, false},
		{"account", func() reply { return e.do(http.MethodGet, "/v1/account", tech, nil) }, http.StatusOK, 1, false},
		{"hello", func() reply {
			a = e.app(e.inviteToken("rt@example.org"))
			return a.hello()
		}, http.StatusOK, 4, true},
		{"pair (wrong code)", func() reply { return a.pair(wrongCode(code)) }, http.StatusUnauthorized, 4, true},
		{"pair", func() reply { return a.pair(code) }, http.StatusOK, 4, true},
		{"poll (first: erases the secrets)", func() reply { return a.poll() }, http.StatusOK, 2, false},
		{"poll (idle)", func() reply { e.clock.Advance(2 * time.Second); return a.poll() }, http.StatusOK, 1, false},
		{"poll (writes last seen)", func() reply { e.clock.Advance(time.Minute); return a.poll() }, http.StatusOK, 2, false},
		{"computers", func() reply { return e.do(http.MethodGet, "/v1/computers?group=adhoc", tech, nil) }, http.StatusOK, 1, false},
		{"remote start", func() reply {
			appLive, consoleLive = a.live(), e.consoleLive(tech)
			e.waitLive(2)
			meter.Take() // the connections' own calls ($connect) are the live function's, counted in doc.go
			r := e.do(http.MethodPost, "/v1/sessions/"+id+"/remote", tech, nil)
			remoteID = r.str("remoteId")
			return r
		}, http.StatusCreated, 2, true},
		{"end by technician", func() reply {
			signals(t, meter, id, remoteID, appLive, consoleLive)
			return e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil)
		}, http.StatusOK, 3, true},
		{"remote ended (after the session's end)", func() reply {
			return e.do(http.MethodPost, "/v1/agent/remote/ended", a.agent, map[string]any{"remoteId": remoteID, "reason": "session_ended",
				"channels": []string{"terminal"}, "durationMs": 1000, "bytesToPc": 10, "bytesFromPc": 20})
		}, http.StatusNoContent, 2, false},
		{"removed", func() reply { e.clock.Advance(time.Minute); return a.removed() }, http.StatusNoContent, 2, true},
		{"audit", func() reply { return e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil) }, http.StatusOK, 2, false},
	}
	for _, s := range steps {
		r := s.do()
		f := meter.Take()
		if r.Status != s.status {
			t.Fatalf("%s: status %d, want %d: %s", s.name, r.Status, s.status, r.Raw)
		}
		t.Logf("%-34s %s", s.name, f)
		budget := s.max
		if s.push {
			budget++
		}
		if f.RoundTrips() > budget {
			t.Errorf("%s: %d round trips, budget %d (%d, and the push's Query: %v)", s.name, f.RoundTrips(), budget, s.max, s.push)
		}
	}
}

func wrongCode(code string) string {
	if code == "000-000-000" {
		return "000-000-001"
	}
	return "000-000-000"
}

// signals measures the round trips of the live function's signal route (internal/store's
// doc.go): the console's first signal binds the console tab, the app's answer marks the
// remote connection connected (and pushes the session to the consoles), every other
// signal is one read.
func signals(t *testing.T, meter *ddbmeter.Meter, id, remoteID string, app, console *liveConn) {
	t.Helper()
	offer := map[string]any{"action": "signal", "sessionId": id, "remoteId": remoteID, "signal": map[string]any{"kind": "offer", "sdp": "v=0\r\n"}}
	candidate := map[string]any{"kind": "candidate", "candidate": map[string]any{"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0"}}
	steps := []struct {
		name     string
		from, to *liveConn
		msg      map[string]any
		max      int
	}{
		{"signal: the console's first (binds the tab)", console, app, offer, 2},
		{"signal: the app's answer (connected, pushed)", app, console, map[string]any{"action": "signal", "remoteId": remoteID, "signal": map[string]any{"kind": "answer", "sdp": "v=0\r\n"}}, 3},
		{"signal: a console candidate", console, app, map[string]any{"action": "signal", "sessionId": id, "remoteId": remoteID, "signal": candidate}, 1},
		{"signal: an app candidate", app, console, map[string]any{"action": "signal", "remoteId": remoteID, "signal": candidate}, 1},
	}
	meter.Take()
	for _, s := range steps {
		s.from.send(s.msg)
		// The relay is the route's last call: the answer's session push to the consoles
		// (its Query) comes before it.
		s.to.next(protocol.TypeSignal, 5*time.Second)
		f := meter.Take()
		t.Logf("%-34s %s", s.name, f)
		if f.RoundTrips() > s.max {
			t.Errorf("%s: %d round trips, budget %d", s.name, f.RoundTrips(), s.max)
		}
	}
}
