package support

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// maxRetries bounds how often a use case re-reads and re-applies itself after losing a
// conditional write to a concurrent one. Each retry re-decides on fresh data, so a request
// is refused only by a rule, never because it lost a race.
const maxRetries = 20

// step is what one decision does to a session besides changing its fields.
type step struct {
	action         string // for the audit trail; "" writes no audit entry
	from           session.State
	actor          session.Actor
	detail         string
	releaseSlot    bool
	agentLookup    *Lookup
	acquireMachine bool
	// machineTakeOver names an ended session whose machine lock acquireMachine may replace.
	machineTakeOver string
	releaseMachine  bool
	events          []events.Event
	after           func(ctx context.Context) // schedules, run once after the commit
}

// errNoChange tells update that the decision changes nothing: no write, no event.
var errNoChange = errors.New("no change")

// update reads the session and applies decide to it; see updateFrom.
func (s *Service) update(ctx context.Context, id string, decide func(ss *session.Session, now time.Time) (*step, error)) (session.Session, error) {
	cur, err := s.Store.GetSession(ctx, id)
	if err != nil {
		return session.Session{}, err
	}
	return s.updateFrom(ctx, cur, decide)
}

// updateFrom lets decide change a copy of the session as the caller read it, and commits
// the change conditional on that version; on a lost race it reads the session again and
// decides anew. It returns the session as stored afterwards. decide returns errNoChange to
// leave the session as it is (no write, no event), or a refusal.
func (s *Service) updateFrom(ctx context.Context, cur session.Session, decide func(ss *session.Session, now time.Time) (*step, error)) (session.Session, error) {
	ss, _, err := updateOutcome(ctx, s, cur, func(ss *session.Session, now time.Time) (*step, struct{}, error) {
		st, err := decide(ss, now)
		return st, struct{}{}, err
	})
	return ss, err
}

// updateOutcome is updateFrom for a decision that also says what it made of the session
// (its outcome: a wrong code, an activation with a new token …). It returns the outcome of
// the decision that took effect, the one committed or the one that changed nothing, so
// that the caller never reads what an attempt that lost its race had decided. (A function,
// not a method: methods cannot have type parameters.)
func updateOutcome[R any](ctx context.Context, s *Service, cur session.Session, decide func(ss *session.Session, now time.Time) (*step, R, error)) (session.Session, R, error) {
	var none R
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if cur, err = s.Store.GetSession(ctx, cur.ID); err != nil {
				return session.Session{}, none, err
			}
		}
		next := cur
		now := s.now()
		st, out, err := decide(&next, now)
		if errors.Is(err, errNoChange) {
			return cur, out, nil
		}
		if err != nil {
			return cur, none, err
		}
		next.Version = cur.Version + 1
		c := Change{
			Session:         next,
			ReleaseSlot:     st.releaseSlot,
			AgentLookup:     st.agentLookup,
			AcquireMachine:  st.acquireMachine,
			MachineTakeOver: st.machineTakeOver,
			ReleaseMachine:  st.releaseMachine,
		}
		if st.action != "" {
			c.Audit = &session.AuditEntry{
				SessionID: cur.ID, At: now, Seq: next.Version, Action: st.action,
				From: cur.Status, To: next.Status, Actor: st.actor, Reason: next.EndReason, Detail: st.detail,
			}
			if !next.Status.Terminal() {
				c.Audit.Reason = ""
			}
		}
		err = s.Store.Commit(ctx, c)
		if errors.Is(err, ErrConflict) && attempt < maxRetries {
			continue
		}
		if err != nil {
			return cur, none, err
		}
		actx, cancel := detached(ctx)
		// The live connections first: they are what people wait for.
		s.notify(actx, cur, next)
		s.publish(actx, st.events...)
		if st.after != nil {
			st.after(actx)
		}
		cancel()
		return next, out, nil
	}
}

func (s *Service) publish(ctx context.Context, evs ...events.Event) {
	if len(evs) == 0 {
		return
	}
	if err := s.Events.Publish(ctx, evs...); err != nil {
		// The state change is stored; a lost event loses no state.
		s.log().Warn("publishing events failed", "error", err, "count", len(evs))
	}
}

func event(t events.DetailType, ss *session.Session, now time.Time) events.Event {
	return events.Event{Type: t, Detail: events.Detail{
		SessionID: ss.ID, Account: ss.Account, Technician: ss.Technician, Status: string(ss.Status), At: now,
	}}
}

func endedEvent(ss *session.Session, now time.Time) events.Event {
	e := event(events.SessionEnded, ss, now)
	e.Detail.Reason = string(ss.EndReason)
	return e
}

// Schedule names: one per session and purpose, so scheduling again replaces.
func inviteSchedule(id string) string  { return "invite-" + id }
func sessionSchedule(id string) string { return "session-" + id }
func pairingSchedule(id string) string { return "pairing-" + id }

func (s *Service) schedule(ctx context.Context, name string, at time.Time, id string) {
	if err := s.Schedules.ScheduleExpiry(ctx, name, at, events.ExpiryDue{SessionID: id, DueAt: at}); err != nil {
		// The 5-minute sweep and time-authoritative reads still end the session on time.
		s.log().Warn("creating expiry schedule failed", "session", id, "schedule", name, "error", err)
	}
}

func (s *Service) unschedule(ctx context.Context, names ...string) {
	for _, name := range names {
		if err := s.Schedules.DeleteExpiry(ctx, name); err != nil {
			// A schedule left behind fires once, finds nothing to do, and deletes itself.
			s.log().Warn("deleting expiry schedule failed", "schedule", name, "error", err)
		}
	}
}

// finish moves a session to a terminal state (or to removed) with everything that goes
// with it: the slot, the locks, the schedules and the SessionEnded event.
func (s *Service) finish(ss *session.Session, to session.State, reason session.Reason, actor session.Actor, now time.Time) (*step, error) {
	from := ss.Status
	if err := ss.Move(to, reason, now); err != nil {
		return nil, err
	}
	st := &step{action: string(to), from: from, actor: actor, releaseSlot: true, releaseMachine: from == session.Active}
	st.events = []events.Event{endedEvent(ss, now)}
	id := ss.ID
	st.after = func(ctx context.Context) {
		s.unschedule(ctx, inviteSchedule(id), sessionSchedule(id), pairingSchedule(id))
	}
	return st, nil
}

// expireIfOverdue writes down what time has already decided: a session past its end is
// expired, an invitation past its expiry is invite_expired. It is what the expiry handler
// does, and what every reader does when it meets an overdue session first.
func (s *Service) expireIfOverdue(ss *session.Session, now time.Time) (*step, error) {
	switch eff := ss.Effective(now); {
	case eff == ss.Status:
		return nil, errNoChange
	case eff == session.Expired:
		return s.finish(ss, session.Expired, session.ReasonExpired, session.ActorExpiry, now)
	case eff == session.InviteExpired:
		return s.finish(ss, session.InviteExpired, session.ReasonInviteExpired, session.ActorExpiry, now)
	default:
		return nil, fmt.Errorf("session %s: effective state %s from %s", ss.ID, eff, ss.Status)
	}
}

// expireOrErase is expireIfOverdue, and for an active session whose pairing retry window
// has closed, the erasure of its sealed secrets: what the expiry handler does, and what a
// retried pair must see first. The other use cases only expireIfOverdue and then act (an
// end erases the secrets anyway); the window's schedule and the sweep erase them on time.
func (s *Service) expireOrErase(ss *session.Session, now time.Time) (*step, error) {
	st, err := s.expireIfOverdue(ss, now)
	if !errors.Is(err, errNoChange) || ss.Status != session.Active || !ss.HoldsSecrets() || now.Before(s.retryWindowEnd(ss)) {
		return st, err
	}
	ss.EraseSecrets()
	return &step{action: "pairing_window_closed", actor: session.ActorExpiry, detail: "password erased from storage"}, nil
}

// retryWindowEnd is when the session's pairing retry window closes. A session activated
// before the window was stored gets it counted from its activation, so that its secrets
// go at its next read as well (the sweep finds such a session at its end only: its stored
// due time is its end).
func (s *Service) retryWindowEnd(ss *session.Session) time.Time {
	if !ss.SecretsUntil.IsZero() {
		return ss.SecretsUntil
	}
	return ss.ActivatedAt.Add(s.Config.PairRetryWindow)
}
