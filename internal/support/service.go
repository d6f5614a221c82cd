// Package support is the product's use cases: inviting, pairing, polling, ending and
// expiring ad-hoc support sessions. It applies the rules of internal/session to what the
// store, the mailer, the bus and the scheduler do, and knows nothing about HTTP or AWS:
// the handlers in internal/httpapi adapt API Gateway events to these methods.
package support

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Config holds the product's settings; Defaults() gives the product defaults.
type Config struct {
	SessionTTL time.Duration // how long a session is active: 24 h
	InviteTTL  time.Duration // how long an invitation waits for activation: 24 h
	// LookupGrace is how long token lookups outlive the session, so that a late app still
	// gets an explicit answer ("expired") rather than "never heard of you".
	LookupGrace     time.Duration
	PendingInterval time.Duration // the app's polling interval until activation: 5 s
	ActiveInterval  time.Duration // the app's polling interval while active: 30 s
	SeenEvery       time.Duration // lastSeenAt is written at most this often: 1 min
	Limits          Limits        // for an account never configured
	Username        string        // the hidden administrator account's name
	PublicBaseURL   string        // where the join links point, e.g. https://api.example.com
	// LiveURL is the live channel's WebSocket URL (wss://…, locally ws://localhost:8080/live);
	// "" runs without a live channel: the app and the console poll.
	LiveURL string
	// LiveInterval is the app's polling interval while its live connection is open: the
	// polls are then only a safety net for a push that was lost. 900 s.
	LiveInterval time.Duration
}

// Defaults are the product defaults of DESIGN.md.
func Defaults() Config {
	return Config{
		SessionTTL:      24 * time.Hour,
		InviteTTL:       24 * time.Hour,
		LookupGrace:     7 * 24 * time.Hour,
		PendingInterval: 5 * time.Second,
		ActiveInterval:  30 * time.Second,
		LiveInterval:    15 * time.Minute,
		SeenEvery:       time.Minute,
		Limits:          Limits{Slots: 5, AdhocCap: 5},
		Username:        session.DefaultUsername,
		PublicBaseURL:   "http://localhost:8080",
	}
}

// Service runs the use cases. All fields but Log, Now and Live are required.
type Service struct {
	Store     Store
	Mail      Mailer
	Events    Publisher
	Schedules Scheduler
	Sealer    Sealer
	Codes     CodeMACer
	// Live pushes every change to the open live connections; nil when Config.LiveURL is "".
	Live   Pusher
	Config Config
	Now    func() time.Time // injected clock; time.Now when nil
	Log    *slog.Logger

	polls pollMemory
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

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
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			var err error
			if cur, err = s.Store.GetSession(ctx, cur.ID); err != nil {
				return session.Session{}, err
			}
		}
		next := cur
		now := s.now()
		st, err := decide(&next, now)
		if errors.Is(err, errNoChange) {
			return cur, nil
		}
		if err != nil {
			return cur, err
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
			return cur, err
		}
		actx, cancel := detached(ctx)
		// The live connections first: they are what people wait for.
		s.notify(actx, cur, next)
		s.publish(actx, st.events...)
		if st.after != nil {
			st.after(actx)
		}
		cancel()
		return next, nil
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
	st.after = func(ctx context.Context) { s.unschedule(ctx, inviteSchedule(id), sessionSchedule(id)) }
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

// Expire is the expiry function's work for one session: idempotent, so a duplicate, late
// or early delivery changes nothing and emits nothing. It reports whether it changed the
// session.
func (s *Service) Expire(ctx context.Context, id string) (bool, error) {
	changed := false
	_, err := s.update(ctx, id, func(ss *session.Session, now time.Time) (*step, error) {
		st, err := s.expireIfOverdue(ss, now)
		changed = err == nil
		return st, err
	})
	if errors.Is(err, ErrNotFound) {
		// DynamoDB TTL removed it already: nothing left to do.
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("expire %s: %w", id, err)
	}
	return changed, nil
}

// Sweep expires every overdue session the index knows of. It is the safety net under the
// one-time schedules and returns how many sessions it changed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	const page = 100
	n := 0
	for round := 0; round < 100; round++ {
		ids, err := s.Store.DueSessions(ctx, s.now(), page)
		if err != nil {
			return n, fmt.Errorf("sweep: %w", err)
		}
		progress := false
		for _, id := range ids {
			changed, err := s.Expire(ctx, id)
			if err != nil {
				return n, err
			}
			if changed {
				n++
				progress = true
			}
		}
		if len(ids) < page || !progress {
			return n, nil
		}
	}
	return n, nil
}

// pollMemory remembers when each session last polled, to answer slow_down to an app that
// polls faster than told. It lives in the function instance, so it is best effort: with
// several warm instances an app's consecutive polls may land on different ones, and each
// forgives a poll it has not seen. An app stuck in a fast loop still meets the same
// instance again within the interval and is told to slow down; one that is only a little
// early may not be. Keeping it out of DynamoDB keeps an idle app at one read per poll
// (a stored last-poll time would be a write on every poll). The stage throttle and
// DynamoDB's own limits bound the rest.
type pollMemory struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// tooFast records a poll and reports whether it came sooner than the interval allows
// (with some slack for network jitter).
func (p *pollMemory) tooFast(id string, now time.Time, interval time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.last == nil {
		p.last = map[string]time.Time{}
	}
	if len(p.last) > 50_000 {
		for k, t := range p.last {
			if now.Sub(t) > 10*time.Minute {
				delete(p.last, k)
			}
		}
	}
	slack := max(time.Second, interval/10)
	prev, seen := p.last[id]
	if seen && now.Sub(prev) < interval-slack {
		return true
	}
	p.last[id] = now
	return false
}

func seconds(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }

// sessionHours is the session's length in whole hours, rounded up, for texts that say
// "removed after N hours at the latest" (a demo clock of 60 s still says 1 hour).
func (s *Service) sessionHours() int {
	return max(1, int((s.Config.SessionTTL+time.Hour-1)/time.Hour))
}

// detached is the context for what must follow a stored change even when the caller has
// given up meanwhile (its events, its schedules, an undo): not cancelled with the
// request, but bounded on its own.
func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}
