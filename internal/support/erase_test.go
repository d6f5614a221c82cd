package support_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// TestSecretsLeaveStorageAtTheLatestWhenTheRetryWindowCloses (issue 15, point 8): the
// sealed password and agent token (and the code's MAC bound to them) are kept after
// activation only so that a pair whose answer was lost can be retried. They go when the
// app confirms its set-up (its first poll), and at the latest when the retry window
// closes, even if the app never polls: by the one-time schedule pairing activation makes,
// by the sweep over byDue when that schedule is lost, or by the next read. The session
// stays active throughout; a retry after the window is refused without secrets.
func TestSecretsLeaveStorageAtTheLatestWhenTheRetryWindowCloses(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// erase does what erases the secrets; the clock stands at activation.
		erase      func(f *fixture, inv invitation, paired support.PairResult)
		wantAction string
	}{
		{name: "the app confirms its set-up", wantAction: "pairing_confirmed",
			erase: func(f *fixture, _ invitation, paired support.PairResult) {
				if _, err := f.svc.Poll(ctx(), paired.AgentToken); err != nil {
					f.t.Fatalf("poll: %v", err)
				}
				if _, pending := f.schedules.at("pairing-" + paired.SessionID); pending {
					f.t.Error("the confirmation left the window's schedule behind")
				}
			}},
		{name: "the app never polls: the schedule fires", wantAction: "pairing_window_closed",
			erase: func(f *fixture, inv invitation, _ support.PairResult) {
				at, ok := f.schedules.at("pairing-" + inv.id)
				if want := t0.Add(f.svc.Config.PairRetryWindow); !ok || !at.Equal(want) {
					f.t.Fatalf("window schedule at %v (%v), want %v", at, ok, want)
				}
				// Early (a schedule may fire a little before its time): nothing changes.
				f.clock.Set(at.Add(-time.Second))
				if changed, err := f.other.Expire(ctx(), inv.id); err != nil || changed {
					f.t.Fatalf("expire before the window closed: %v, %v", changed, err)
				}
				if ss := f.stored(inv.id); !ss.HoldsSecrets() {
					f.t.Fatal("the secrets went before the window closed")
				}
				f.clock.Set(at)
				if changed, err := f.other.Expire(ctx(), inv.id); err != nil || !changed {
					f.t.Fatalf("expire when the window closed: %v, %v", changed, err)
				}
			}},
		{name: "the app never polls, the schedule is lost: the sweep", wantAction: "pairing_window_closed",
			erase: func(f *fixture, inv invitation, _ support.PairResult) {
				f.clock.Advance(f.svc.Config.PairRetryWindow - time.Second)
				if n, err := f.other.Sweep(ctx()); err != nil || n != 0 {
					f.t.Fatalf("sweep before the window closed: %d, %v", n, err)
				}
				f.clock.Advance(time.Second)
				if n, err := f.other.Sweep(ctx()); err != nil || n != 1 {
					f.t.Fatalf("sweep when the window closed: %d changed, %v; want 1", n, err)
				}
			}},
		{name: "a retry after the window", wantAction: "pairing_window_closed",
			erase: func(f *fixture, inv invitation, _ support.PairResult) {
				f.clock.Advance(f.svc.Config.PairRetryWindow)
				res, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA))
				if codeOf(err) != support.CodeAlreadyPaired || res.Password != nil || res.AgentToken != "" {
					f.t.Fatalf("retry after the window: %q, %+v", codeOf(err), res)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			inv := f.invite(f.tech, "user@example.org")
			paired := f.activate(inv, nonceA)
			if ss := f.stored(inv.id); ss.SealedPassword == nil || ss.SealedAgentToken == nil || ss.CodeMAC == nil ||
				!ss.SecretsUntil.Equal(t0.Add(f.svc.Config.PairRetryWindow)) {
				t.Fatalf("after activation: password %v, token %v, MAC %v, until %v: the test would prove nothing",
					ss.SealedPassword != nil, ss.SealedAgentToken != nil, ss.CodeMAC != nil, ss.SecretsUntil)
			}
			c.erase(f, inv, paired)
			for _, name := range []string{"sealedPassword", "sealedAgentToken", "codeMac"} {
				if v := f.rawAttr(inv.id, name); v != nil {
					t.Errorf("%s still stored", name)
				}
			}
			ss := f.stored(inv.id)
			if ss.Status != session.Active {
				t.Errorf("status %s, want active", ss.Status)
			}
			if got := f.actions(inv.id); !slices.Equal(got, []string{"invited", "active", c.wantAction}) {
				t.Errorf("audit %v, want …, %s", got, c.wantAction)
			}
			// Out of byDue until its end, in the session's own schedule still.
			if at, ok := f.schedules.at("session-" + inv.id); !ok || !at.Equal(ss.ExpiresAt) {
				t.Errorf("session schedule at %v (%v), want %v", at, ok, ss.ExpiresAt)
			}
			if due, err := f.store.DueSessions(ctx(), ss.ExpiresAt.Add(-time.Second), 10); err != nil || len(due) != 0 {
				t.Errorf("due before the session's end: %v, %v", due, err)
			}
			if res, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA)); codeOf(err) != support.CodeAlreadyPaired || res.Password != nil {
				t.Errorf("retry: %q, %+v", codeOf(err), res)
			}
			// The app carries on as paired.
			f.clock.Advance(f.svc.Config.ActiveInterval)
			if res, err := f.svc.Poll(ctx(), paired.AgentToken); err != nil || res.Status != session.Active {
				t.Errorf("poll afterwards: %+v, %v", res, err)
			}
		})
	}
}

// TestSessionsPairedBeforeTheWindow: an item activated before the window was stored (no
// secretsUntil) counts its window from its activation: a retry within it still gets the
// answer, and the first read after it erases the secrets.
func TestSessionsPairedBeforeTheWindow(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.invite(f.tech, "user@example.org")
	first := f.activate(inv, nonceA)
	f.write(sessionKey(inv.id), map[string]types.AttributeValue{"secretsUntil": nil})
	if ss := f.stored(inv.id); !ss.SecretsUntil.IsZero() || !ss.HoldsSecrets() {
		t.Fatalf("rewritten item: until %v, secrets %v", ss.SecretsUntil, ss.HoldsSecrets())
	}
	f.clock.Advance(f.svc.Config.PairRetryWindow - time.Second)
	again, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA))
	if err != nil || again.AgentToken != first.AgentToken || string(again.Password) != password {
		t.Fatalf("retry within the window: %v", err)
	}
	f.clock.Advance(time.Second)
	if changed, err := f.svc.Expire(ctx(), inv.id); err != nil || !changed {
		t.Fatalf("expire after the window: %v, %v", changed, err)
	}
	if ss := f.stored(inv.id); ss.HoldsSecrets() {
		t.Error("the secrets outlived the window")
	}
}

// TestEndingAfterTheRetryWindow: once the window has closed and before the expiry handler
// has erased the secrets, ending the session still ends it (the end erases them too):
// the erasure is the expiry handler's and a retried pair's, never a stand-in for what
// another request asked for.
func TestEndingAfterTheRetryWindow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		end  func(f *fixture, paired support.PairResult) error
		want session.State
	}{
		{"the user ends it", func(f *fixture, p support.PairResult) error { _, err := f.svc.End(ctx(), p.AgentToken); return err }, session.Ended},
		{"the technician ends it", func(f *fixture, p support.PairResult) error {
			_, err := f.svc.Cancel(ctx(), f.tech, p.SessionID)
			return err
		}, session.Ended},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			inv := f.invite(f.tech, "user@example.org")
			paired := f.activate(inv, nonceA)
			f.clock.Advance(f.svc.Config.PairRetryWindow + time.Minute)
			if err := c.end(f, paired); err != nil {
				t.Fatal(err)
			}
			if ss := f.stored(inv.id); ss.Status != c.want || ss.HoldsSecrets() {
				t.Errorf("after the end: %s, secrets %v; want %s without", ss.Status, ss.HoldsSecrets(), c.want)
			}
		})
	}
}
