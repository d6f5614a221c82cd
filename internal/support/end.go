package support

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Cancel cancels an invitation or ends an active session now. On a session that is over
// already it changes nothing and answers how it stands, so a retried DELETE is harmless.
func (s *Service) Cancel(ctx context.Context, tech Technician, id string) (SessionInfo, error) {
	cur, err := s.visible(ctx, tech, id)
	if err != nil {
		return SessionInfo{}, err
	}
	ss, err := s.updateFrom(ctx, cur, func(ss *session.Session, now time.Time) (*step, error) {
		if st, err := s.expireIfOverdue(ss, now); !errors.Is(err, errNoChange) {
			return st, err
		}
		switch {
		case ss.Status.Pending():
			return s.finish(ss, session.Cancelled, session.ReasonCancelled, tech.actor(), now)
		case ss.Status == session.Active:
			return s.finish(ss, session.Ended, session.ReasonEndedByTechnician, tech.actor(), now)
		}
		return nil, errNoChange
	})
	if err != nil {
		return SessionInfo{}, fmt.Errorf("cancel %s: %w", id, err)
	}
	s.log().Info("session cancelled or ended by technician", "session", id, "status", ss.Status)
	return info(&ss, s.now()), nil
}

// End is the user's "end session and remove app". It returns the state the app is told.
func (s *Service) End(ctx context.Context, token string) (session.State, error) {
	ss, err := s.agentSession(ctx, token)
	if err != nil {
		return "", err
	}
	ss, err = s.updateFrom(ctx, ss, func(ss *session.Session, now time.Time) (*step, error) {
		if st, err := s.expireIfOverdue(ss, now); !errors.Is(err, errNoChange) {
			return st, err
		}
		if ss.Status != session.Active {
			return nil, errNoChange
		}
		return s.finish(ss, session.Ended, session.ReasonEndedByUser, appActor(ss.Computer), now)
	})
	if err != nil {
		return "", gone(err)
	}
	return agentStatus(ss.Status)
}

// Removed records that the app has deleted the hidden account and itself. From active it
// first ends the session on the user's behalf.
func (s *Service) Removed(ctx context.Context, token string) error {
	ss, err := s.agentSession(ctx, token)
	if err != nil {
		return err
	}
	ss, err = s.updateFrom(ctx, ss, func(ss *session.Session, now time.Time) (*step, error) {
		if st, err := s.expireIfOverdue(ss, now); !errors.Is(err, errNoChange) {
			return st, err
		}
		if ss.Status == session.Active {
			return s.finish(ss, session.Ended, session.ReasonEndedByUser, appActor(ss.Computer), now)
		}
		return nil, errNoChange
	})
	if err != nil {
		return gone(err)
	}
	_, err = s.updateFrom(ctx, ss, func(ss *session.Session, now time.Time) (*step, error) {
		if ss.Status != session.Expired && ss.Status != session.Ended {
			return nil, errNoChange
		}
		if err := ss.Move(session.Removed, "", now); err != nil {
			return nil, err
		}
		return &step{
			action: string(session.Removed), actor: appActor(ss.Computer), detail: "hidden account and app removed",
			events: []events.Event{event(events.AppRemoved, ss, now)},
		}, nil
	})
	if err != nil {
		return gone(err)
	}
	s.log().Info("app removed", "session", ss.ID)
	return nil
}

// Expire is the expiry function's work for one session: idempotent, so a duplicate, late
// or early delivery changes nothing and emits nothing. It reports whether it changed the
// session.
func (s *Service) Expire(ctx context.Context, id string) (bool, error) {
	cur, err := s.Store.GetSession(ctx, id)
	changed := false
	if err == nil {
		_, changed, err = updateOutcome(ctx, s, cur, func(ss *session.Session, now time.Time) (*step, bool, error) {
			st, err := s.expireOrErase(ss, now)
			return st, err == nil, err
		})
	}
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
