package support_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// TestWrongCodesLock: wrong codes 1–4 answer invalid_code with 4…1 attempts left, the
// fifth locks the invitation, and every later try, the right code too, answers locked.
// The lock gives the slot and the technician's lock back and deletes the invite's
// schedule; each wrong code is audited and published with what is left.
func TestWrongCodesLock(t *testing.T) {
	t.Parallel()
	type try struct {
		right    bool
		wantCode string
		wantLeft int // with invalid_code
	}
	wrongTry := func(left int) try { return try{wantCode: support.CodeInvalidCode, wantLeft: left} }
	cases := []struct {
		name        string
		tries       []try
		wantStatus  session.State
		wantActions []string
		wantEvents  []string
	}{
		{
			name:        "five wrong codes lock",
			tries:       []try{wrongTry(4), wrongTry(3), wrongTry(2), wrongTry(1), {wantCode: support.CodeLocked}, {right: true, wantCode: support.CodeLocked}, {wantCode: support.CodeLocked}},
			wantStatus:  session.Locked,
			wantActions: []string{"invited", "pairing_failed", "pairing_failed", "pairing_failed", "pairing_failed", "locked"},
			wantEvents: []string{"SessionInvited", "PairingFailed", "PairingFailed", "PairingFailed", "PairingFailed", "PairingFailed",
				"SessionEnded:locked"},
		},
		{
			name:        "four wrong codes, then the right one",
			tries:       []try{wrongTry(4), wrongTry(3), wrongTry(2), wrongTry(1), {right: true}},
			wantStatus:  session.Active,
			wantActions: []string{"invited", "pairing_failed", "pairing_failed", "pairing_failed", "pairing_failed", "active"},
			wantEvents:  []string{"SessionInvited", "PairingFailed", "PairingFailed", "PairingFailed", "PairingFailed", "SessionActivated"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			inv := f.invite(f.tech, "user@example.org")
			for i, tr := range c.tries {
				code := wrong(inv.code)
				if tr.right {
					code = inv.code
				}
				res, err := f.svc.Pair(ctx(), pairReq(inv, code, nonceA))
				if got := codeOf(err); got != tr.wantCode {
					t.Fatalf("try %d: %q, want %q", i+1, got, tr.wantCode)
				}
				e, _ := support.AsError(err)
				switch {
				case tr.wantCode == support.CodeInvalidCode && (e.AttemptsLeft == nil || *e.AttemptsLeft != tr.wantLeft):
					t.Errorf("try %d: attempts left %v, want %d", i+1, e.AttemptsLeft, tr.wantLeft)
				case tr.wantCode != support.CodeInvalidCode && e != nil && e.AttemptsLeft != nil:
					t.Errorf("try %d: %s with attempts left", i+1, e.Code)
				case err != nil && res.AgentToken != "":
					t.Errorf("try %d: a refusal with an agent token", i+1)
				case err == nil && (res.AgentToken == "" || string(res.Password) != password):
					t.Errorf("try %d: a pairing without the token or the password", i+1)
				}
			}
			ss := f.stored(inv.id)
			if ss.Status != c.wantStatus {
				t.Errorf("stored %s, want %s", ss.Status, c.wantStatus)
			}
			if got := f.actions(inv.id); !slices.Equal(got, c.wantActions) {
				t.Errorf("audit %v, want %v", got, c.wantActions)
			}
			if got := f.published(inv.id); !slices.Equal(got, c.wantEvents) {
				t.Errorf("events %v, want %v", got, c.wantEvents)
			}
			var left []int
			for _, e := range f.bus.Events() {
				if e.Detail.SessionID == inv.id && e.Detail.AttemptsLeft != nil {
					left = append(left, *e.Detail.AttemptsLeft)
				}
			}
			if want := []int{4, 3, 2, 1, 0}[:count(c.wantEvents, "PairingFailed")]; !slices.Equal(left, want) {
				t.Errorf("PairingFailed attempts left %v, want %v", left, want)
			}
			_, inviteScheduled := f.schedules.at("invite-" + inv.id)
			_, lockHeld := f.store.TechnicianSession(ctx(), "acme", f.tech.ID)
			used := f.account("acme").Used
			if locked := c.wantStatus == session.Locked; locked {
				if inviteScheduled || !errors.Is(lockHeld, support.ErrNotFound) || used != 0 {
					t.Errorf("locked: invite schedule %v, technician lock %v, %d used; want all given back", inviteScheduled, lockHeld, used)
				}
			} else if inviteScheduled || lockHeld != nil || used != 1 {
				t.Errorf("active: invite schedule %v, technician lock %v, %d used; want no invite schedule, the lock and the slot held", inviteScheduled, lockHeld, used)
			}
		})
	}
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestPairRetry: after activation only a retry with the same nonce gets the answer again
// (the same token and password, without the code: the nonce stands in for it), and only
// until the app's first poll has erased the secrets; anything else answers
// already_paired, without secrets, or how time or the end left the session.
func TestPairRetry(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		between  func(f *fixture, first support.PairResult)
		nonce    string
		right    bool
		wantCode string
	}{
		{name: "same nonce", nonce: nonceA, right: true},
		{name: "same nonce, wrong code", nonce: nonceA},
		{name: "another nonce", nonce: nonceB, right: true, wantCode: support.CodeAlreadyPaired},
		{name: "same nonce after the first poll", nonce: nonceA, right: true, wantCode: support.CodeAlreadyPaired,
			between: func(f *fixture, first support.PairResult) {
				if _, err := f.svc.Poll(ctx(), first.AgentToken); err != nil {
					f.t.Fatalf("poll: %v", err)
				}
			}},
		{name: "same nonce after the user ended it", nonce: nonceA, right: true, wantCode: support.CodeExpired,
			between: func(f *fixture, first support.PairResult) {
				if _, err := f.svc.End(ctx(), first.AgentToken); err != nil {
					f.t.Fatalf("end: %v", err)
				}
			}},
		{name: "same nonce after the 24 hours", nonce: nonceA, right: true, wantCode: support.CodeExpired,
			between: func(f *fixture, _ support.PairResult) { f.clock.Advance(f.svc.Config.SessionTTL) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			inv := f.invite(f.tech, "user@example.org")
			first := f.activate(inv, nonceA)
			if c.between != nil {
				c.between(f, first)
			}
			code := wrong(inv.code)
			if c.right {
				code = inv.code
			}
			again, err := f.svc.Pair(ctx(), pairReq(inv, code, c.nonce))
			if got := codeOf(err); got != c.wantCode {
				t.Fatalf("retry: %q, want %q", got, c.wantCode)
			}
			if err != nil {
				if !reflect.DeepEqual(again, support.PairResult{}) {
					t.Errorf("a refused retry answered %+v", again)
				}
				return
			}
			if !reflect.DeepEqual(again, first) {
				t.Errorf("retry answered %+v, want the first answer %+v", again, first)
			}
			if got := f.actions(inv.id); !slices.Equal(got, []string{"invited", "active"}) {
				t.Errorf("audit %v: the retry wrote", got)
			}
			// The retry cannot know whether the first commit's schedules ran: it makes
			// them again (same name, so it replaces).
			if n := f.schedules.times("session-" + inv.id); n != 2 {
				t.Errorf("the session's expiry was scheduled %d times, want 2 (activation and retry)", n)
			}
		})
	}
}

// TestPairRetryAfterLostAnswer: the activation is stored but its commit answers an error
// (a timeout after DynamoDB wrote), so the schedules that follow a commit never ran. The
// app retries with its nonce: it gets the token and password of the stored activation,
// and the session's expiry is scheduled after all.
func TestPairRetryAfterLostAnswer(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	inv := f.invite(f.tech, "user@example.org")
	lost := errors.New("dynamodb: request timed out")
	f.race.commitAfter = func(c support.Change) error {
		f.race.commitAfter = nil
		if c.Session.Status != session.Active {
			return nil
		}
		return lost
	}
	if _, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA)); !errors.Is(err, lost) {
		t.Fatalf("first pairing: %v, want the lost answer", err)
	}
	ss := f.stored(inv.id)
	if ss.Status != session.Active {
		t.Fatalf("stored %s, want the activation stored", ss.Status)
	}
	if _, ok := f.schedules.at("session-" + inv.id); ok {
		t.Fatal("the session's expiry was scheduled although the commit answered an error")
	}
	res, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA))
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	if res.SessionID != inv.id || string(res.Password) != password || res.AgentToken == "" || !res.ExpiresAt.Equal(ss.ExpiresAt) {
		t.Errorf("retry answered %+v", res)
	}
	if _, err := f.svc.Poll(ctx(), res.AgentToken); err != nil {
		t.Errorf("the retry's token does not poll: %v", err)
	}
	if at, ok := f.schedules.at("session-" + inv.id); !ok || !at.Equal(ss.ExpiresAt) {
		t.Errorf("session expiry scheduled %v at %v, want at %v", ok, at, ss.ExpiresAt)
	}
	if _, ok := f.schedules.at("invite-" + inv.id); ok {
		t.Error("the invitation's expiry is still scheduled")
	}
}
