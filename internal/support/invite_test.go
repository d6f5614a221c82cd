package support_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var errMailDown = errors.New("mail server: 451 try again later")

// TestFailedMailKeepsNothing: when the invitation mail cannot be sent, everything the
// invitation reserved is given back (the session, its invite lookup, the technician's
// lock, the slot, the audit entry), nothing is scheduled or published, and the technician
// can invite again at once: the one slot is free.
func TestFailedMailKeepsNothing(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		fail func(ctx context.Context) error
		// deadline is the request's own, if any.
		deadline time.Duration
	}{
		{name: "the mail server refuses", fail: func(context.Context) error { return errMailDown }},
		{name: "the request's deadline passes while sending", deadline: 50 * time.Millisecond,
			fail: func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if err := f.svc.SetLimits(ctx(), "acme", support.Limits{Slots: 1, AdhocCap: 1}); err != nil {
				t.Fatal(err)
			}
			f.mail.fail = c.fail
			rctx := ctx()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				rctx, cancel = context.WithTimeout(rctx, c.deadline)
				defer cancel()
			}
			_, err := f.svc.Invite(rctx, f.tech, support.InviteRequest{Email: "user@example.org", Password: password, Locale: "en"})
			if got := codeOf(err); got != support.CodeMailFailed {
				t.Fatalf("answer %q, want mail_failed", got)
			}
			if len(f.mail.reserved) != 1 {
				t.Fatalf("the mailer saw %d reservations, want 1", len(f.mail.reserved))
			}
			id, m := f.mail.reserved[0], f.mail.sent[0]
			f.assertNothingReserved(id, tokenOf(m))

			f.mail.fail = nil
			inv := f.invite(f.tech, "user@example.org")
			if inv.id == id || f.stored(inv.id).Status != session.Invited {
				t.Errorf("the invitation after the failed one: %+v", inv)
			}
		})
	}
}

// assertNothingReserved checks that the invitation id (with its invite token) left
// nothing behind.
func (f *fixture) assertNothingReserved(id, token string) {
	f.t.Helper()
	if _, err := f.store.GetSession(ctx(), id); !errors.Is(err, support.ErrNotFound) {
		f.t.Errorf("session %s: %v, want not found", id, err)
	}
	if _, err := f.store.SessionIDByInviteToken(ctx(), secrets.HashToken(token)); !errors.Is(err, support.ErrNotFound) {
		f.t.Errorf("invite lookup: %v, want not found", err)
	}
	if _, err := f.store.TechnicianSession(ctx(), "acme", f.tech.ID); !errors.Is(err, support.ErrNotFound) {
		f.t.Errorf("technician lock: %v, want not found", err)
	}
	if a := f.account("acme"); a.Used != 0 || a.AdhocInUse != 0 {
		f.t.Errorf("account %+v, want nothing used", a)
	}
	if got := f.actions(id); len(got) != 0 {
		f.t.Errorf("audit %v, want none", got)
	}
	if _, ok := f.schedules.at("invite-" + id); ok {
		f.t.Error("the failed invitation's expiry is scheduled")
	}
	if got := f.published(id); len(got) != 0 {
		f.t.Errorf("events %v, want none", got)
	}
}

// TestFailedRollbackIsRetried: undoing the reservation after a failed mail is tried three
// times (a failing mail server and a failing database often share a passing cause); an
// attempt whose answer was lost counts as done; when every attempt fails, the request
// fails as an internal error and the reservation stays, visible, until its invite expiry.
func TestFailedRollbackIsRetried(t *testing.T) {
	t.Parallel()
	errDB := errors.New("dynamodb: connection reset")
	cases := []struct {
		name         string
		failures     int  // attempts that fail before the store is asked (-1: all)
		lostAnswer   bool // the first attempt goes through, but answers an error
		wantCode     string
		wantAttempts int
		wantKept     bool
	}{
		{name: "first attempt fails", failures: 1, wantCode: support.CodeMailFailed, wantAttempts: 2},
		{name: "two attempts fail", failures: 2, wantCode: support.CodeMailFailed, wantAttempts: 3},
		{name: "first answer lost", lostAnswer: true, wantCode: support.CodeMailFailed, wantAttempts: 2},
		{name: "every attempt fails", failures: -1, wantCode: "internal", wantAttempts: 3, wantKept: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.mail.fail = func(context.Context) error { return errMailDown }
			f.race.rollback = func(_ context.Context, _ session.Session, real func() error) error {
				f.race.mu.Lock()
				n := f.race.rollbackAttempt
				f.race.mu.Unlock()
				switch {
				case c.lostAnswer && n == 1:
					if err := real(); err != nil {
						return err
					}
					return errDB
				case c.failures < 0 || n <= c.failures:
					return errDB
				}
				return real()
			}
			_, err := f.svc.Invite(ctx(), f.tech, support.InviteRequest{Email: "user@example.org", Password: password, Locale: "en"})
			got := codeOf(err)
			if strings.HasPrefix(got, "internal: ") {
				got = "internal"
				if !errors.Is(err, errDB) || !strings.Contains(err.Error(), "rollback") {
					t.Errorf("error %v, want the rollback's failure", err)
				}
			}
			if got != c.wantCode {
				t.Fatalf("answer %q, want %q", got, c.wantCode)
			}
			if f.race.rollbackAttempt != c.wantAttempts {
				t.Errorf("%d rollback attempts, want %d", f.race.rollbackAttempt, c.wantAttempts)
			}
			id, token := f.mail.reserved[0], tokenOf(f.mail.sent[0])
			if !c.wantKept {
				f.assertNothingReserved(id, token)
				return
			}
			if ss := f.stored(id); ss.Status != session.Invited {
				t.Errorf("kept reservation is %s, want invited", ss.Status)
			}
			if a := f.account("acme"); a.Used != 1 {
				t.Errorf("%d slots used, want the kept reservation's 1", a.Used)
			}
		})
	}
}

// TestRacingInvitationsGetExactlyTheFreeSlots: many technicians of one account invite at
// the same moment; exactly as many succeed as the account has free slots (or ad-hoc
// sessions below its cap), every other one is refused by that rule, never with an error,
// and only the winners' mails go out.
func TestRacingInvitationsGetExactlyTheFreeSlots(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		limits    support.Limits
		racers    int
		wantWins  int
		wantOther string
	}{
		{name: "two for one slot", limits: support.Limits{Slots: 1, AdhocCap: 5}, racers: 2, wantWins: 1, wantOther: support.CodeNoFreeSlot},
		{name: "twelve for five slots", limits: support.Limits{Slots: 5, AdhocCap: 20}, racers: 12, wantWins: 5, wantOther: support.CodeNoFreeSlot},
		{name: "eight for a cap of three", limits: support.Limits{Slots: 20, AdhocCap: 3}, racers: 8, wantWins: 3, wantOther: support.CodeAdhocCapReached},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			if err := f.svc.SetLimits(ctx(), "acme", c.limits); err != nil {
				t.Fatal(err)
			}
			codes := make([]string, c.racers)
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range c.racers {
				wg.Go(func() {
					tech := f.tech
					tech.ID = fmt.Sprintf("tech-%d", i)
					<-start
					_, err := f.svc.Invite(ctx(), tech, support.InviteRequest{Email: fmt.Sprintf("user-%d@example.org", i), Password: password, Locale: "en"})
					codes[i] = codeOf(err)
				})
			}
			close(start)
			wg.Wait()
			wins := 0
			for i, code := range codes {
				switch code {
				case "":
					wins++
				case c.wantOther:
				default:
					t.Errorf("racer %d: %q, want success or %s", i, code, c.wantOther)
				}
			}
			if wins != c.wantWins {
				t.Errorf("%d invitations succeeded (%v), want %d", wins, codes, c.wantWins)
			}
			if a := f.account("acme"); a.Used != c.wantWins || a.AdhocInUse != c.wantWins {
				t.Errorf("account %+v, want %d used", a, c.wantWins)
			}
			if n := f.mail.count(); n != c.wantWins {
				t.Errorf("%d mails, want one per invitation that succeeded (%d)", n, c.wantWins)
			}
		})
	}
}

// TestInvitationWithoutScheduler: a scheduler that is down loses no invitation; the sweep
// and time-authoritative reads end it on time.
func TestInvitationWithoutScheduler(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		fail      error
		scheduled bool
	}{
		{name: "scheduler up", scheduled: true},
		{name: "scheduler down", fail: errors.New("scheduler: throttled")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.schedules.fail = c.fail
			inv := f.invite(f.tech, "user@example.org")
			ss := f.stored(inv.id)
			at, ok := f.schedules.at("invite-" + inv.id)
			if ok != c.scheduled || ok && !at.Equal(ss.InviteExpiresAt) {
				t.Errorf("invite expiry scheduled %v at %v, want %v at %v", ok, at, c.scheduled, ss.InviteExpiresAt)
			}
			f.clock.Set(ss.InviteExpiresAt)
			n, err := f.svc.Sweep(ctx())
			if err != nil || n != 1 {
				t.Fatalf("sweep: %d, %v; want the invitation expired", n, err)
			}
			if st := f.stored(inv.id).Status; st != session.InviteExpired {
				t.Errorf("stored %s, want invite_expired", st)
			}
		})
	}
}
