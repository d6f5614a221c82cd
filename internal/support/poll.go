package support

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// agentSession authenticates the app by its agent token. A token whose session storage has
// already dropped answers expired; a token never issued answers invalid_token.
func (s *Service) agentSession(ctx context.Context, token string) (session.Session, error) {
	id, ok := secrets.SplitAgentToken(token)
	if !ok {
		return session.Session{}, refuse(CodeInvalidToken, "The app's token is missing or not valid.")
	}
	hash := secrets.HashToken(token)
	ss, err := s.Store.GetSession(ctx, id)
	if errors.Is(err, ErrNotFound) {
		known, kerr := s.Store.AgentTokenKnown(ctx, hash)
		if kerr != nil {
			return session.Session{}, fmt.Errorf("agent lookup: %w", kerr)
		}
		if known {
			return session.Session{}, refuse(CodeExpired, "The session is over.")
		}
		return session.Session{}, refuse(CodeInvalidToken, "The app's token is missing or not valid.")
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("read session %s: %w", id, err)
	}
	if ss.AgentTokenHash == nil || !secrets.Equal(hash, ss.AgentTokenHash) {
		return session.Session{}, refuse(CodeInvalidToken, "The app's token is missing or not valid.")
	}
	return ss, nil
}

// agentStatus is what a paired app is told of its session's state: active, expired or
// ended; any other state (removed) answers expired, as for a session no longer stored.
func agentStatus(st session.State) (session.State, error) {
	switch st {
	case session.Active, session.Expired, session.Ended:
		return st, nil
	}
	return "", refuse(CodeExpired, "The session is over.")
}

// PollResult is what a poll tells the app.
type PollResult struct {
	Status    session.State // active, expired or ended
	ExpiresAt time.Time
	Interval  time.Duration // until the next poll: long while the live connection is open
	LiveURL   string        // where the app opens its live connection; "" without one
}

// Poll tells the app whether its session is still active. The app polls only once its
// set-up is complete, so the first poll confirms the set-up, which erases the password and
// the retry copy of the token from storage (and the schedule that would erase them when
// the pairing retry window closes).
func (s *Service) Poll(ctx context.Context, token string) (PollResult, error) {
	ss, err := s.agentSession(ctx, token)
	if err != nil {
		return PollResult{}, err
	}
	interval, now := s.Config.ActiveInterval, s.now()
	// Only a session still running is rate-limited: an app whose session is over must
	// learn it at once, however soon it asks again, to clean up on time.
	if ss.Effective(now) == session.Active && s.polls.tooFast(ss.ID, now, interval) {
		e := refuse(CodeSlowDown, "Polling too fast; wait the interval between polls.")
		e.Interval = interval + 5*time.Second
		return PollResult{}, e
	}
	if ss.Status == session.Active && (ss.HoldsSecrets() || ss.Effective(s.now()) != ss.Status || s.now().Sub(ss.LastSeenAt) >= s.Config.SeenEvery) {
		ss, err = s.updateFrom(ctx, ss, func(ss *session.Session, now time.Time) (*step, error) {
			if ss.Effective(now) != ss.Status {
				return s.expireIfOverdue(ss, now)
			}
			if ss.Status != session.Active {
				return nil, errNoChange
			}
			st := &step{}
			if ss.HoldsSecrets() {
				// The confirmation, also after the retry window closed and before the
				// expiry handler got to it.
				ss.EraseSecrets()
				st.action, st.actor, st.detail = "pairing_confirmed", appActor(ss.Computer), "password erased from storage"
				id := ss.ID
				st.after = func(ctx context.Context) { s.unschedule(ctx, pairingSchedule(id)) }
			} else if now.Sub(ss.LastSeenAt) < s.Config.SeenEvery {
				return nil, errNoChange
			}
			ss.LastSeenAt = now
			return st, nil
		})
		if err != nil {
			return PollResult{}, gone(err)
		}
	}
	status, err := agentStatus(ss.Effective(s.now()))
	if err != nil {
		return PollResult{}, err
	}
	return PollResult{Status: status, ExpiresAt: ss.ExpiresAt, Interval: s.pollInterval(&ss, now), LiveURL: s.liveURL()}, nil
}

// pollInterval is the interval the app is told to poll at: long while its live connection
// is open, when polls are only the safety net, else the active interval. The rate limit
// always allows the active interval, so that an app whose connection has just dropped, or
// which catches up after a reconnect, is never told to slow down for it.
func (s *Service) pollInterval(ss *session.Session, now time.Time) time.Duration {
	if s.Live != nil && s.Config.LiveInterval > 0 && ss.Live(now) {
		return s.Config.LiveInterval
	}
	return s.Config.ActiveInterval
}

// liveURL is where the app opens its live connection, "" without a live channel.
func (s *Service) liveURL() string {
	if s.Live == nil {
		return ""
	}
	return s.Config.LiveURL
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
