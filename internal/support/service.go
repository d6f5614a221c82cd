// Package support is the product's use cases: inviting, pairing, polling, ending and
// expiring ad-hoc support sessions. It applies the rules of internal/session to what the
// store, the mailer, the bus and the scheduler do, and knows nothing about HTTP, JSON or
// AWS: it returns plain Go values, the handlers in internal/httpapi, internal/liveapi and
// internal/expiryapi adapt API Gateway's events to these methods, and internal/views
// shows the results as the API's JSON.
package support

import (
	"context"
	"log/slog"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Config holds the product's settings; Defaults() gives the product defaults.
type Config struct {
	SessionTTL time.Duration // how long a session is active: 24 h
	InviteTTL  time.Duration // how long an invitation waits for activation: 24 h
	// LookupGrace is how long token lookups outlive the session, so that a late app still
	// gets an explicit answer ("expired") rather than "never heard of you".
	LookupGrace time.Duration
	// PairRetryWindow is how long after activation a pair whose answer was lost may be
	// retried (same nonce, same answer): the sealed password and agent token are kept for
	// that, and erased when it closes if the app's first poll has not erased them first.
	// 10 min: the app retries a lost answer within seconds, then asks the person.
	PairRetryWindow time.Duration
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
		PairRetryWindow: 10 * time.Minute,
		PendingInterval: 5 * time.Second,
		ActiveInterval:  30 * time.Second,
		LiveInterval:    15 * time.Minute,
		SeenEvery:       time.Minute,
		Limits:          Limits{Slots: 5, AdhocCap: 5},
		Username:        session.DefaultUsername,
		PublicBaseURL:   "http://localhost:8080",
	}
}

// Service runs the use cases. All fields but Log, Clock, Live and ICE are required.
type Service struct {
	Store     Store
	Mail      Mailer
	Events    Publisher
	Schedules Scheduler
	Sealer    Sealer
	Codes     CodeMACer
	// Live pushes every change to the open live connections; nil when Config.LiveURL is "".
	Live Live
	// ICE hands out the TURN relays of remote connections; nil: no remote access (it
	// needs Live too). Only the invitation function, which starts them, has it.
	ICE    ICEServers
	Config Config
	Clock  clock.Clock // nil is the real clock
	Log    *slog.Logger

	polls pollMemory
}

func (s *Service) now() time.Time { return clock.Or(s.Clock).Now().UTC() }

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

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
