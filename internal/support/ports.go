package support

import (
	"context"
	"errors"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Store keeps sessions, their lookups, locks, accounts and audit entries (internal/store
// implements it on one DynamoDB table). Every write of a session is conditional on the
// Version the caller read, so a stale writer gets ErrConflict and must read again.
type Store interface {
	// CreateInvitation writes, in one transaction: the new session (Version 1), its
	// invite-token lookup (kept until lookupUntil), the technician lock (must be absent),
	// the account's slot and ad-hoc counters (+1 each; the account is created with
	// defaults when it was never configured) and the audit entry.
	// Errors: ErrTechnicianBusy, ErrNoFreeSlot, ErrCapReached.
	CreateInvitation(ctx context.Context, s session.Session, lookupUntil time.Time, defaults Limits, audit session.AuditEntry) error

	// RollbackInvitation undoes CreateInvitation when the mail could not be sent: it
	// deletes the session, its lookup, the technician lock and the audit entry, and gives
	// the slot back, all in one transaction conditional on the session's Version.
	RollbackInvitation(ctx context.Context, s session.Session) error

	// Commit writes a changed session conditional on its stored Version being
	// c.Session.Version-1, together with the change's side effects, in one transaction.
	// Errors: ErrConflict (someone else wrote first), ErrMachineBusy (AcquireMachine and
	// the PC already has another active, unexpired session).
	Commit(ctx context.Context, c Change) error

	// GetSession reads a session (strongly consistent). ErrNotFound if absent.
	GetSession(ctx context.Context, id string) (session.Session, error)
	// SessionIDByInviteToken finds the session of an invite token's SHA-256 through its
	// lookup item, which outlives cancel, lock and expiry. ErrNotFound if absent.
	SessionIDByInviteToken(ctx context.Context, tokenHash []byte) (string, error)
	// AgentTokenKnown reports whether the agent-token lookup for this hash still exists
	// (it outlives the session by a grace period).
	AgentTokenKnown(ctx context.Context, tokenHash []byte) (bool, error)
	// MachineSession returns the id of the session holding the machine lock of this
	// machine hash, or ErrNotFound.
	MachineSession(ctx context.Context, machineHash string) (string, error)
	// TechnicianSession returns the id of the session holding the technician's lock, or
	// ErrNotFound.
	TechnicianSession(ctx context.Context, account, technician string) (string, error)

	// ListSessions returns the account's sessions that match f, newest first, at most
	// limit. The filter is applied before the limit, so older matches are never hidden
	// behind newer sessions that do not match.
	ListSessions(ctx context.Context, account string, f ListFilter, limit int) ([]session.Session, error)
	// DueSessions returns the ids of non-terminal sessions whose DueAt is at or before now
	// (through the index on the due time), at most limit.
	DueSessions(ctx context.Context, now time.Time, limit int) ([]string, error)
	// Audit returns the session's audit entries, oldest first.
	Audit(ctx context.Context, sessionID string) ([]session.AuditEntry, error)

	// TechnicianLocks lists the account's technician locks (through the byAccount index,
	// eventually consistent), to find those whose session storage has dropped.
	TechnicianLocks(ctx context.Context, account string) ([]TechnicianLock, error)
	// ReleaseOrphan gives back the technician lock and the slot of a session whose item
	// no longer exists (DynamoDB TTL removed it before any expiry layer ran), in one
	// transaction conditional on the item's absence and on the lock naming that session,
	// so it releases at most once. It reports whether it released anything.
	ReleaseOrphan(ctx context.Context, account, technician, sessionID string) (bool, error)

	// Account reads an account's limits and usage; an account never configured has the
	// defaults and nothing used.
	Account(ctx context.Context, account string, defaults Limits) (Account, error)
	// SetLimits configures an account's slots and ad-hoc cap (local mode's dev route and
	// operators), keeping what is used.
	SetLimits(ctx context.Context, account string, l Limits) error

	// PutTicket stores a console's live-channel ticket (only its hash), for one use until
	// its ExpiresAt.
	PutTicket(ctx context.Context, t Ticket) error
	// TakeTicket deletes the ticket of this hash and returns it, in one conditional write,
	// so a ticket opens at most one connection. ErrNotFound when it does not exist, was
	// used already or has expired.
	TakeTicket(ctx context.Context, hash []byte, now time.Time) (Ticket, error)
	// PutConsole stores a console's open live connection (kept until Until at the latest);
	// DeleteConsole removes it, and deleting one that is gone is not an error.
	PutConsole(ctx context.Context, c ConsoleConnection) error
	DeleteConsole(ctx context.Context, account, connectionID string) error
	// Consoles lists the account's open console connections (strongly consistent, so a
	// console that has just connected is told of the next change).
	Consoles(ctx context.Context, account string) ([]ConsoleConnection, error)
}

// Ticket lets a console tab open one live connection for a technician.
type Ticket struct {
	Hash       []byte // SHA-256 of the ticket; the ticket itself is never stored
	Technician Technician
	ExpiresAt  time.Time
}

// ConsoleConnection is a console tab's open live connection.
type ConsoleConnection struct {
	ID         string // the WebSocket API's connection id
	Account    string
	Technician string // the technician's id (JWT sub)
	Admin      bool   // sees every session of the account
	Since      time.Time
	Until      time.Time // when storage may drop it: the connection cannot outlive this
}

// Live is the live channel as the use cases use it: Presenter writes the messages and
// Pusher sends them. views.Live(pusher) makes one.
type Live interface {
	Pusher
	Presenter
}

// Presenter writes the messages the live channel pushes, as api/asyncapi.yaml describes
// them. internal/views implements it with the views of the HTTP API, so that a console is
// pushed exactly what GET /v1/sessions/{id} answers and the app what a poll answers.
type Presenter interface {
	// StatusMessage tells the app its session's state (active, expired or ended).
	StatusMessage(status session.State, expiresAt time.Time) ([]byte, error)
	// SessionMessage tells a console what it now sees of a session.
	SessionMessage(v SessionInfo) ([]byte, error)
	// RemoteMessage tells the app that a technician is starting a remote connection.
	RemoteMessage(r RemoteStarted) ([]byte, error)
	// SignalMessage relays a signal of a remote connection's other end: to a console
	// with the session's id, to the app without (sessionID "").
	SignalMessage(sessionID, remoteID string, sig protocol.Signal) ([]byte, error)
}

// ICEServers hands out the ICE servers of a remote connection: TURN relays with
// credentials that expire within minutes, in the form the browser's RTCPeerConnection and
// pion take. internal/iceservers implements it with Kinesis Video Streams' managed TURN
// (one signalling channel per account, made on first use), internal/local/turn with the
// local TURN server.
type ICEServers interface {
	// Servers returns the servers for a remote connection of the account, with
	// credentials for clientID (the remote connection's id), and when they expire.
	Servers(ctx context.Context, account, clientID string) ([]protocol.ICEServer, time.Time, error)
}

// Pusher sends messages down open live connections: API Gateway's @connections
// management API (internal/connections; locally the local gateway's stand-in for it).
type Pusher interface {
	// Push sends one message. ErrGone: the connection no longer exists.
	Push(ctx context.Context, connectionID string, message []byte) error
}

// ErrGone says that a live connection no longer exists (@connections answers 410).
var ErrGone = errors.New("live connection gone")

// TechnicianLock is a technician's single-session lock and the session holding it.
type TechnicianLock struct {
	Technician string
	SessionID  string
}

// ListFilter narrows ListSessions. The zero value matches every session of the account.
type ListFilter struct {
	Technician string          // only this technician's sessions
	Statuses   []session.State // only sessions stored in one of these states
}

// Change is one conditional write of a session with what must happen together with it.
type Change struct {
	Session session.Session // the new content; Version already increased by one
	Audit   *session.AuditEntry
	// ReleaseSlot gives the account's slot and ad-hoc counter back and deletes the
	// technician lock: set it when the session enters a terminal state.
	ReleaseSlot bool
	// AgentLookup writes the agent-token lookup (hash → session, kept until the given
	// time): set it at activation.
	AgentLookup *Lookup
	// AcquireMachine takes the machine lock for Session.Computer.MachineHash until
	// Session.ExpiresAt: set it at activation.
	AcquireMachine bool
	// MachineTakeOver is the id of a session that has ended but still holds that machine
	// lock, because the best-effort release of ReleaseMachine failed: AcquireMachine may
	// take the lock from it. The caller must have read that session as over.
	MachineTakeOver string
	// ReleaseMachine deletes the machine lock if this session holds it (after the
	// transaction, best effort: a stale lock carries its own expiry).
	ReleaseMachine bool
}

// Lookup is a token hash that leads to a session until a time.
type Lookup struct {
	TokenHash []byte
	Until     time.Time
}

// Limits are an account's licensed slots and its cap on concurrent ad-hoc sessions.
type Limits struct {
	Slots    int
	AdhocCap int
}

// Account is an account's limits and what is used of them.
type Account struct {
	ID         string
	Limits     Limits
	Used       int // slots in use
	AdhocInUse int // ad-hoc sessions not yet in a terminal state
}

// Free is how many slots are left.
func (a Account) Free() int { return max(0, a.Limits.Slots-a.Used) }

// Store errors. Wrap them; callers test with errors.Is.
var (
	ErrNotFound       = errors.New("not found")
	ErrConflict       = errors.New("conflicting write")
	ErrTechnicianBusy = session.ErrTechnicianBusy // the reservation rules live in session
	ErrNoFreeSlot     = session.ErrNoFreeSlot
	ErrCapReached     = session.ErrCapReached
	ErrMachineBusy    = errors.New("machine already has an active session")
)

// Mailer sends the invitation mail (internal/mail implements it with SES v2).
type Mailer interface {
	SendInvitation(ctx context.Context, m InvitationMail) error
}

// InvitationMail is what the invitation mail says. It never holds the password or the
// security code.
type InvitationMail struct {
	To              string
	Locale          string // "en" or "de"
	JoinURL         string // …/join/{inviteToken}
	TechnicianName  string
	TechnicianEmail string
	InviteExpiresAt time.Time
	SessionHours    int
}

// Publisher puts events on the bus (internal/eventbus implements it for EventBridge and
// in process). Publishing is best effort after the state change is stored.
type Publisher interface {
	Publish(ctx context.Context, evs ...events.Event) error
}

// Scheduler arranges a one-time call of the expiry function for a session at a time
// (internal/schedule implements it with EventBridge Scheduler and in process). The name
// is stable per session and purpose, so scheduling again replaces and deleting a missing
// schedule is not an error.
type Scheduler interface {
	ScheduleExpiry(ctx context.Context, name string, at time.Time, due events.ExpiryDue) error
	DeleteExpiry(ctx context.Context, name string) error
}

// Sealer encrypts the technician's password and the agent token's retry copy at rest
// (internal/secrets: AES-256-GCM with a key file locally, with a KMS data key in AWS). aad
// binds the ciphertext to its session and invitation (secrets.Binding).
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// CodeMACer computes the keyed MAC of a security code (internal/secrets: HMAC-SHA-256 with
// a key file locally, KMS GenerateMac in AWS). The message is secrets.CodeMessage: the
// session id and the digits (the digits alone in items of SealedForSession).
type CodeMACer interface {
	MAC(ctx context.Context, message string) ([]byte, error)
}
