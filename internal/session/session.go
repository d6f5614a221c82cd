// Package session holds the ad-hoc support session: its states, the transitions between
// them and the rules that decide them. It knows nothing about AWS, HTTP or storage; time
// comes in as an argument so that every rule can be tested with an injected clock.
package session

import (
	"fmt"
	"slices"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// State is where a session stands in its life. See DESIGN.md, "Session states".
type State string

// The states of a session. Terminal states free the slot and the technician lock.
const (
	Invited       State = "invited"
	AppStarted    State = "app_started"
	Active        State = "active"
	Cancelled     State = "cancelled"
	InviteExpired State = "invite_expired"
	Locked        State = "locked"
	Expired       State = "expired"
	Ended         State = "ended"
	Removed       State = "removed"
)

// AllStates lists every state, in the order of a session's life.
var AllStates = []State{Invited, AppStarted, Active, Cancelled, InviteExpired, Locked, Expired, Ended, Removed}

// Terminal reports whether the state gives the slot and the technician lock back.
func (s State) Terminal() bool {
	switch s {
	case Cancelled, InviteExpired, Locked, Expired, Ended, Removed:
		return true
	}
	return false
}

// Pending reports whether the session is an invitation that has not been activated yet.
func (s State) Pending() bool { return s == Invited || s == AppStarted }

// Valid reports whether s is one of the known states.
func (s State) Valid() bool { return slices.Contains(AllStates, s) }

// transitions lists, for every state, the states it may move to. A move from a state to
// itself is not a transition (app_started → app_started is a repeated hello that only
// updates the computer's details).
var transitions = map[State][]State{
	Invited:    {AppStarted, Active, Cancelled, InviteExpired, Locked},
	AppStarted: {Active, Cancelled, InviteExpired, Locked},
	Active:     {Expired, Ended},
	Expired:    {Removed},
	Ended:      {Removed},
}

// CanMove reports whether a session in state from may move to state to.
func CanMove(from, to State) bool { return slices.Contains(transitions[from], to) }

// Reason says why a session ended; it is carried by the SessionEnded event.
type Reason string

// Reasons for the end of a session.
const (
	ReasonCancelled         Reason = "cancelled"
	ReasonInviteExpired     Reason = "invite_expired"
	ReasonLocked            Reason = "locked"
	ReasonExpired           Reason = "expired"
	ReasonEndedByTechnician Reason = "ended_by_technician"
	ReasonEndedByUser       Reason = "ended_by_user"
)

// Computer is what the Support Session app reports about the PC it runs on.
type Computer struct {
	Platform     string
	OSVersion    string
	Hostname     string
	AgentVersion string
	// MachineHash is the SHA-256 (hex) of the machine id the app reports; the raw id is
	// not kept.
	MachineHash string
}

// Session is one ad-hoc support session, from invitation to removal.
type Session struct {
	ID              string
	Account         string
	Technician      string // the technician's profile id (JWT sub)
	TechnicianEmail string
	TechnicianName  string
	UserEmail       string // the end user's address, only for the technician's view
	Locale          string // language of the mail and the join page: "en" or "de"
	Username        string // the hidden administrator account's name on the PC

	Status State
	// Version increases with every write; every write is conditional on the version read,
	// so two racing writers cannot both win.
	Version int

	CreatedAt       time.Time
	InviteExpiresAt time.Time
	ActivatedAt     time.Time // zero until active
	ExpiresAt       time.Time // zero until active; ActivatedAt + session lifetime
	EndedAt         time.Time // zero until a terminal state
	RemovedAt       time.Time // zero until the app reported its clean-up
	EndReason       Reason

	InviteTokenHash []byte // SHA-256 of the invite token
	// CodeMAC is the MAC of the security code (of secrets.CodeMessage: the session id and
	// the 9 digits). It is kept after activation as long as the sealed secrets, which are
	// bound to it, and erased with them.
	CodeMAC        []byte
	FailedAttempts int // wrong security codes so far

	// Sealing says how CodeMAC, SealedPassword and SealedAgentToken were made: the item's
	// version marker, so that items written before the binding keep working.
	Sealing Sealing
	// SealedPassword is the technician's password, encrypted; erased once the app has
	// confirmed its set-up with its first poll, or when the pairing retry window closes
	// (SecretsUntil), whichever comes first.
	SealedPassword []byte
	// SealedAgentToken is the agent token, encrypted, kept only so that a retried pair
	// with the same nonce gets the same answer; erased with the password.
	SealedAgentToken []byte
	AgentTokenHash   []byte // SHA-256 of the agent token's secret part
	PairNonce        string
	// SecretsUntil is when the pairing retry window closes: a retried pair gets its answer
	// until then, and the sealed secrets are erased then at the latest, whether the app
	// ever polls or not (DueAt makes the expiry handler look at the session then). Zero
	// until activation, once the secrets are erased, and in items activated before the
	// window existed.
	SecretsUntil time.Time

	Computer   Computer
	LastSeenAt time.Time // written at most once a minute

	// LiveConnection is the id of the app's open live connection (the WebSocket API's
	// connection id), "" while it has none; LiveSince is when it was opened. A connection
	// lives at most protocol.MaxLiveConnection, so a stale id (a disconnect that never
	// arrived) stops counting by then.
	LiveConnection string
	LiveSince      time.Time

	// Remote is the technician's remote connection to the PC that is pending or
	// connected, nil when there is none (CurrentRemote says whether it still counts).
	Remote *Remote
	// Unreported are the remote connections started whose end the app has not reported
	// yet, oldest first, at most MaxUnreported: the app's report of one is taken once,
	// and only for a remote connection of this session.
	Unreported []RemoteStart
}

// Remote is a technician's remote connection to the PC as the server keeps it (DESIGN.md,
// "Remote access"): started by POST /v1/sessions/{id}/remote, pending until the app
// answers, connected from then on, until the app reports its end, the same technician
// starts another, or the session ends. The server never sees what flows in it.
type Remote struct {
	ID             string // "r-…"
	Technician     string // the technician's profile id (JWT sub) who started it
	TechnicianName string // as the PC's notice and the consoles name them
	// Console is the console tab's live connection that sent the first signal of the
	// remote connection; only it may signal from then on. "" until then.
	Console   string
	StartedAt time.Time
	// PendingUntil is when a remote connection the app has not answered counts as ended:
	// StartedAt + protocol.RemoteAnswerTimeout.
	PendingUntil time.Time
	// ConnectedAt is when the app's first signal (its answer) came; zero while pending.
	ConnectedAt time.Time
}

// RemoteState is what a console is shown of a remote connection.
type RemoteState string

// The states of a remote connection while it counts.
const (
	RemotePending   RemoteState = "pending"
	RemoteConnected RemoteState = "connected"
)

// State is the remote connection's state.
func (r *Remote) State() RemoteState {
	if r.ConnectedAt.IsZero() {
		return RemotePending
	}
	return RemoteConnected
}

// RemoteStart is what the audit of a remote connection's end needs of its start.
type RemoteStart struct {
	ID         string
	Technician string
	StartedAt  time.Time
}

// MaxUnreported bounds Session.Unreported. The app reports each end within seconds, and a
// new remote connection ends the one before it, so few are ever waiting; the bound keeps
// the session item (read by every poll) small when an app never reports.
const MaxUnreported = 8

// CurrentRemote is the remote connection that counts at now: nil when there is none, when
// the session is not active (time may have ended it), or when the app has not answered it
// within protocol.RemoteAnswerTimeout, which ends it as time ends a session: lazily, for
// every reader.
func (s *Session) CurrentRemote(now time.Time) *Remote {
	r := s.Remote
	switch {
	case r == nil, s.Effective(now) != Active:
		return nil
	case r.ConnectedAt.IsZero() && !now.Before(r.PendingUntil):
		return nil
	}
	return r
}

// StartRemote makes r the session's remote connection (replacing the one before it, whose
// end the app reports as superseded) and records its start for the report of its end.
// A copy of a session shares its Remote and Unreported with the original, so neither is
// changed in place here (nor anywhere: set a changed copy).
func (s *Session) StartRemote(r Remote) {
	s.Remote = &r
	s.Unreported = append(slices.Clone(s.Unreported), RemoteStart{ID: r.ID, Technician: r.Technician, StartedAt: r.StartedAt})
	if n := len(s.Unreported); n > MaxUnreported {
		s.Unreported = slices.Clone(s.Unreported[n-MaxUnreported:])
	}
}

// TakeReport removes the start of the remote connection id from the ones waiting for their
// end's report and returns it; false when there is none (reported already, or never of
// this session). The current remote connection goes with it when it is that one.
func (s *Session) TakeReport(id string) (RemoteStart, bool) {
	i := slices.IndexFunc(s.Unreported, func(r RemoteStart) bool { return r.ID == id })
	if i < 0 {
		return RemoteStart{}, false
	}
	start := s.Unreported[i]
	s.Unreported = slices.Delete(slices.Clone(s.Unreported), i, i+1)
	if len(s.Unreported) == 0 {
		s.Unreported = nil
	}
	if s.Remote != nil && s.Remote.ID == id {
		s.Remote = nil
	}
	return start, true
}

// Sealing is how a session's pairing secrets are bound to it (see internal/secrets,
// binding.go).
type Sealing int

const (
	// SealedForSession is an item written before issue 15: the code's MAC covers the
	// digits alone, and the password and agent token are sealed with the session id alone
	// as associated data. Such items keep working until their invitation ends (at most
	// the invite lifetime after the update); nothing writes them any more.
	SealedForSession Sealing = 0
	// SealedForInvitation: the MAC covers the session id and the digits; the password and
	// the agent token are locked under a key derived from the invite token and sealed, both
	// bound to the session id, the invite-token hash and the code MAC.
	SealedForInvitation Sealing = 1
)

// onlineWindow is how recently the app must have polled to count as online without a live
// connection.
const onlineWindow = 2 * time.Minute

// MaxFailedAttempts is the number of wrong security codes that locks an invitation.
const MaxFailedAttempts = 5

// Effective is the state a reader must act on at time now. Time is authoritative: an active
// session past ExpiresAt is expired and an invitation past InviteExpiresAt is
// invite_expired, even before the expiry handler has written that down.
func (s *Session) Effective(now time.Time) State {
	switch {
	case s.Status == Active && !s.ExpiresAt.IsZero() && !now.Before(s.ExpiresAt):
		return Expired
	case s.Status.Pending() && !now.Before(s.InviteExpiresAt):
		return InviteExpired
	}
	return s.Status
}

// DueAt is when the expiry handler has to look at the session next, or zero for a
// terminal session. The store indexes it so that the sweep finds overdue sessions.
func (s *Session) DueAt() time.Time {
	switch {
	case s.Status.Pending():
		return s.InviteExpiresAt
	case s.Status == Active && s.HoldsSecrets() && !s.SecretsUntil.IsZero() && s.SecretsUntil.Before(s.ExpiresAt):
		return s.SecretsUntil
	case s.Status == Active:
		return s.ExpiresAt
	}
	return time.Time{}
}

// HoldsSecrets reports whether the item still keeps the sealed password or agent token.
func (s *Session) HoldsSecrets() bool { return s.SealedPassword != nil || s.SealedAgentToken != nil }

// TTL is when storage may drop the session item: the invite expiry for an invitation
// that never became active, else the end of the 24 hours.
func (s *Session) TTL() time.Time {
	if !s.ExpiresAt.IsZero() {
		return s.ExpiresAt
	}
	return s.InviteExpiresAt
}

// Online reports whether the app holds its live connection or was seen within the last
// two minutes.
func (s *Session) Online(now time.Time) bool {
	return s.Live(now) || !s.LastSeenAt.IsZero() && now.Sub(s.LastSeenAt) < onlineWindow
}

// Live reports whether the app holds a live connection at time now.
func (s *Session) Live(now time.Time) bool {
	return s.LiveConnection != "" && now.Sub(s.LiveSince) < protocol.MaxLiveConnection
}

// Move changes the state to to, stamping the end time and reason for a terminal state.
// It refuses a move the state machine does not allow, so a stale or duplicated request
// can never take a session backwards.
func (s *Session) Move(to State, reason Reason, now time.Time) error {
	if !CanMove(s.Status, to) {
		return fmt.Errorf("session %s: %s → %s is not allowed", s.ID, s.Status, to)
	}
	s.Status = to
	switch {
	case to == Removed:
		s.RemovedAt = now
	case to.Terminal():
		s.EndedAt = now
		s.EndReason = reason
	}
	if to.Terminal() {
		s.EraseSecrets()
		// The session's end ends its remote connection: the app closes it when told of the
		// end, and reports it afterwards (Unreported stays for that report).
		s.Remote = nil
	}
	return nil
}

// EraseSecrets drops everything that would let someone act as the technician or the app.
// The code's MAC goes too once the invitation is no longer pending: the sealed secrets it
// was kept for are gone.
func (s *Session) EraseSecrets() {
	s.SealedPassword = nil
	s.SealedAgentToken = nil
	s.SecretsUntil = time.Time{} // the window is over for good; the item stays smaller
	if !s.Status.Pending() {
		s.CodeMAC = nil
	}
}

// Actor says who caused a transition, for the audit trail.
type Actor struct {
	Kind string // "technician", "app", "system"
	ID   string // technician id, or hostname of the app, or the handler name
}

// Actors that are not a person.
var (
	ActorExpiry = Actor{Kind: "system", ID: "expiry"}
	// ActorRemote ends a remote connection the app could not be told of.
	ActorRemote = Actor{Kind: "system", ID: "remote"}
)

// AuditEntry records one step of a session: who did what, when, from which state.
type AuditEntry struct {
	SessionID string
	At        time.Time
	Seq       int // the session's version after the step: orders entries of the same instant
	Action    string
	From      State
	To        State
	Actor     Actor
	Reason    Reason
	Detail    string // never a secret
	// Account and Technician own the session. The store keeps them on every entry, so the
	// trail stays readable for its 90 days after the session item itself is gone.
	Account    string
	Technician string
}
