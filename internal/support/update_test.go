package support_test

import (
	"context"
	"slices"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Nonces as the app makes them: 32 hex digits.
const (
	nonceA = "8f14e45fceea167a5a36dedd4bea2543"
	nonceB = "c9f0f895fb98ab9159f51fd0297e236d"
)

// TestLostWriteIsDecidedAgain: another writer gets in between a use case's read and its
// conditional write. The write loses (one conflict), the use case reads the session again
// and decides anew on what the other wrote: it is refused only by a rule, never because
// it lost a race, and it never commits what it had decided on stale data.
func TestLostWriteIsDecidedAgain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// setup runs before the race is staged; it returns the invitation (and the agent
		// token, once paired).
		setup func(f *fixture) (invitation, string)
		// other is the writer that gets in first, on a second service instance.
		other func(f *fixture, inv invitation, agent string) error
		// act is the use case that loses its first write.
		act         func(t *testing.T, f *fixture, inv invitation, agent string) error
		wantCode    string
		wantStatus  session.State
		wantActions []string
		// wantCommits counts act's commits: 2 when it wrote after deciding again, 1 when
		// deciding again left nothing to write.
		wantCommits int
		check       func(t *testing.T, f *fixture, inv invitation, err error)
	}{
		{
			name: "the technician's cancel loses to the app's hello",
			other: func(f *fixture, inv invitation, _ string) error {
				_, err := f.other.Hello(ctx(), inv.token, pc("m-1"))
				return err
			},
			act: func(t *testing.T, f *fixture, inv invitation, _ string) error {
				v, err := f.svc.Cancel(ctx(), f.tech, inv.id)
				if err == nil && v.Status != session.Cancelled {
					t.Errorf("Cancel answered %s, want cancelled", v.Status)
				}
				return err
			},
			wantStatus:  session.Cancelled,
			wantActions: []string{"invited", "app_started", "cancelled"},
			wantCommits: 2,
			check: func(t *testing.T, f *fixture, inv invitation, _ error) {
				entries, _ := f.store.Audit(ctx(), inv.id)
				if last := entries[len(entries)-1]; last.From != session.AppStarted {
					t.Errorf("the cancel was decided from %s, want app_started (what the other wrote)", last.From)
				}
			},
		},
		{
			name: "a wrong code loses to another wrong code: both count",
			other: func(f *fixture, inv invitation, _ string) error {
				_, err := f.other.Pair(ctx(), pairReq(inv, wrong(inv.code), nonceB))
				return wantRefusal(err, support.CodeInvalidCode)
			},
			act: func(_ *testing.T, f *fixture, inv invitation, _ string) error {
				_, err := f.svc.Pair(ctx(), pairReq(inv, wrong(inv.code), nonceA))
				return err
			},
			wantCode:    support.CodeInvalidCode,
			wantStatus:  session.Invited,
			wantActions: []string{"invited", "pairing_failed", "pairing_failed"},
			wantCommits: 2,
			check: func(t *testing.T, f *fixture, inv invitation, err error) {
				if e, _ := support.AsError(err); e == nil || e.AttemptsLeft == nil || *e.AttemptsLeft != 3 {
					t.Errorf("attempts left %v, want 3: the other's wrong code counts", e)
				}
				if n := f.stored(inv.id).FailedAttempts; n != 2 {
					t.Errorf("failed attempts %d, want 2", n)
				}
			},
		},
		{
			name: "the right code loses to the technician's cancel",
			other: func(f *fixture, inv invitation, _ string) error {
				_, err := f.other.Cancel(ctx(), f.tech, inv.id)
				return err
			},
			act: func(_ *testing.T, f *fixture, inv invitation, _ string) error {
				_, err := f.svc.Pair(ctx(), pairReq(inv, inv.code, nonceA))
				return err
			},
			wantCode:    support.CodeExpired,
			wantStatus:  session.Cancelled,
			wantActions: []string{"invited", "cancelled"},
			wantCommits: 1,
			check: func(t *testing.T, f *fixture, inv invitation, _ error) {
				if ss := f.stored(inv.id); ss.AgentTokenHash != nil || ss.SealedAgentToken != nil {
					t.Error("a cancelled invitation holds an agent token")
				}
				if got := f.published(inv.id); slices.Contains(got, "SessionActivated") {
					t.Errorf("events %v: the lost activation was published", got)
				}
				if a := f.account("acme"); a.Used != 0 {
					t.Errorf("%d slots used, want 0", a.Used)
				}
			},
		},
		{
			name: "the fifth wrong code loses to the right code: no lock",
			setup: func(f *fixture) (invitation, string) {
				inv := f.invite(f.tech, "user@example.org")
				for range 4 {
					if _, err := f.svc.Pair(ctx(), pairReq(inv, wrong(inv.code), nonceB)); codeOf(err) != support.CodeInvalidCode {
						f.t.Fatalf("wrong code: %v", err)
					}
				}
				return inv, ""
			},
			other: func(f *fixture, inv invitation, _ string) error {
				_, err := f.other.Pair(ctx(), pairReq(inv, inv.code, nonceA))
				return err
			},
			act: func(_ *testing.T, f *fixture, inv invitation, _ string) error {
				_, err := f.svc.Pair(ctx(), pairReq(inv, wrong(inv.code), nonceB))
				return err
			},
			wantCode:    support.CodeAlreadyPaired,
			wantStatus:  session.Active,
			wantActions: []string{"invited", "pairing_failed", "pairing_failed", "pairing_failed", "pairing_failed", "active"},
			wantCommits: 1,
			check: func(t *testing.T, f *fixture, inv invitation, _ error) {
				if n := f.stored(inv.id).FailedAttempts; n != 4 {
					t.Errorf("failed attempts %d, want 4", n)
				}
				if a := f.account("acme"); a.Used != 1 {
					t.Errorf("%d slots used, want the active session's 1", a.Used)
				}
			},
		},
		{
			name: "the user's end loses to the expiry: ended once, by time",
			setup: func(f *fixture) (invitation, string) {
				inv := f.invite(f.tech, "user@example.org")
				res := f.activate(inv, nonceA)
				f.clock.Advance(f.svc.Config.SessionTTL)
				return inv, res.AgentToken
			},
			other: func(f *fixture, inv invitation, _ string) error {
				changed, err := f.other.Expire(ctx(), inv.id)
				if err == nil && !changed {
					return errString("the other's expiry changed nothing")
				}
				return err
			},
			act: func(t *testing.T, f *fixture, _ invitation, agent string) error {
				st, err := f.svc.End(ctx(), agent)
				if err == nil && st != session.Expired {
					t.Errorf("End answered %s, want expired", st)
				}
				return err
			},
			wantStatus:  session.Expired,
			wantActions: []string{"invited", "active", "expired"},
			wantCommits: 1,
			check: func(t *testing.T, f *fixture, inv invitation, _ error) {
				want := []string{"SessionInvited", "SessionActivated", "SessionEnded:expired"}
				if got := f.published(inv.id); !slices.Equal(got, want) {
					t.Errorf("events %v, want %v", got, want)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			var inv invitation
			var agent string
			if c.setup != nil {
				inv, agent = c.setup(f)
			} else {
				inv = f.invite(f.tech, "user@example.org")
			}
			var otherErr error
			f.race.first(func(context.Context) { otherErr = c.other(f, inv, agent) })
			err := c.act(t, f, inv, agent)
			if otherErr != nil {
				t.Fatalf("the other writer: %v", otherErr)
			}
			if got := codeOf(err); got != c.wantCode {
				t.Fatalf("answer %q, want %q", got, c.wantCode)
			}
			commits, conflicts := f.race.counts()
			if conflicts != 1 || commits != c.wantCommits {
				t.Errorf("%d commits with %d conflicts, want %d with 1: the race was not lost and decided again", commits, conflicts, c.wantCommits)
			}
			if st := f.stored(inv.id).Status; st != c.wantStatus {
				t.Errorf("stored %s, want %s", st, c.wantStatus)
			}
			if got := f.actions(inv.id); !slices.Equal(got, c.wantActions) {
				t.Errorf("audit %v, want %v", got, c.wantActions)
			}
			if c.check != nil {
				c.check(t, f, inv, err)
			}
		})
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// wantRefusal is nil when err is the refusal code, else an error saying what it was.
func wantRefusal(err error, code string) error {
	if got := codeOf(err); got != code {
		return errString("answer " + got + ", want " + code)
	}
	return nil
}
