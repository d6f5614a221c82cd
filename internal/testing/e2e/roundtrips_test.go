package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/measure/ddbmeter"
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
	var id, code string
	var a *app
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
		{"end by technician", func() reply { return e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil) }, http.StatusOK, 3, true},
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
