package support

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Technician is the signed-in caller of a technician route, from the JWT claims.
type Technician struct {
	ID      string // sub
	Email   string
	Name    string
	Account string // custom:account
	Admin   bool   // member of the admins group: sees every session of the account
}

// maysee reports whether the technician may see and act on the session. Anything else
// answers not_found, so ids leak nothing.
func (t Technician) maySee(ss *session.Session) bool {
	return t.mayAct(ss.Account, ss.Technician)
}

// listFilter narrows a listing of the account to what the technician may see.
func (t Technician) listFilter() ListFilter {
	if t.Admin {
		return ListFilter{}
	}
	return ListFilter{Technician: t.ID}
}

// mayAct reports whether the technician may see what belongs to this account and
// technician: their own sessions, or any of the account's as an admin.
func (t Technician) mayAct(account, technician string) bool {
	return account != "" && account == t.Account && (t.Admin || technician == t.ID)
}

func (t Technician) actor() session.Actor { return session.Actor{Kind: "technician", ID: t.ID} }

// SessionInfo is what a technician may know of a session at one moment: its state as time
// has decided it, never a secret. internal/views shows it as the API's JSON.
type SessionInfo struct {
	ID              string
	Status          session.State // effective: time is authoritative
	TechnicianEmail string
	TechnicianName  string
	UserEmail       string
	Locale          string
	Username        string
	CreatedAt       time.Time
	InviteExpiresAt time.Time
	ActivatedAt     time.Time // zero until active
	ExpiresAt       time.Time // zero until active
	EndedAt         time.Time // zero until over
	// EndReason is also set when time has ended the session and no handler has written
	// that down yet.
	EndReason    session.Reason
	AttemptsLeft int           // wrong security codes still allowed
	Computer     *ComputerInfo // nil until an app has started
	Remote       *RemoteInfo   // nil unless a remote connection is pending or connected
}

// RemoteInfo is what a technician may know of a session's remote connection.
type RemoteInfo struct {
	ID         string
	Technician string // who is connecting, by name
	State      session.RemoteState
}

// ComputerInfo is the PC a session runs on, as the technician may know it.
type ComputerInfo struct {
	Hostname     string
	OSVersion    string
	AgentVersion string
	Online       bool      // a live connection, or a poll within 2 minutes, of a session not over
	LastSeenAt   time.Time // zero when never seen
}

// info is what a technician may know of a session at now.
func info(ss *session.Session, now time.Time) SessionInfo {
	eff := ss.Effective(now)
	v := SessionInfo{
		ID: ss.ID, Status: eff, TechnicianEmail: ss.TechnicianEmail, TechnicianName: ss.TechnicianName,
		UserEmail: ss.UserEmail, Locale: ss.Locale, Username: ss.Username,
		CreatedAt: ss.CreatedAt, InviteExpiresAt: ss.InviteExpiresAt,
		ActivatedAt: ss.ActivatedAt, ExpiresAt: ss.ExpiresAt, EndedAt: ss.EndedAt,
		EndReason: ss.EndReason, AttemptsLeft: max(0, session.MaxFailedAttempts-ss.FailedAttempts),
	}
	if eff != ss.Status && eff.Terminal() {
		// Time has ended it; the handler will write it down.
		v.EndReason = session.ReasonExpired
		if eff == session.InviteExpired {
			v.EndReason = session.ReasonInviteExpired
		}
	}
	if ss.Computer.Hostname != "" {
		v.Computer = &ComputerInfo{
			Hostname: ss.Computer.Hostname, OSVersion: ss.Computer.OSVersion, AgentVersion: ss.Computer.AgentVersion,
			Online: ss.Online(now) && !eff.Terminal(), LastSeenAt: ss.LastSeenAt,
		}
	}
	if r := ss.CurrentRemote(now); r != nil {
		v.Remote = &RemoteInfo{ID: r.ID, Technician: r.TechnicianName, State: r.State()}
	}
	return v
}

// visible reads a session the technician may see, or answers not_found.
func (s *Service) visible(ctx context.Context, tech Technician, id string) (session.Session, error) {
	if !secrets.ValidSessionID(id) {
		return session.Session{}, errNotFound
	}
	ss, err := s.Store.GetSession(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && !tech.maySee(&ss) {
		return session.Session{}, errNotFound
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("read session %s: %w", id, err)
	}
	return ss, nil
}

// Get returns one session the technician may see.
func (s *Service) Get(ctx context.Context, tech Technician, id string) (SessionInfo, error) {
	ss, err := s.visible(ctx, tech, id)
	if err != nil {
		return SessionInfo{}, err
	}
	return info(&ss, s.now()), nil
}

// List returns the sessions the technician may see, newest first.
func (s *Service) List(ctx context.Context, tech Technician) ([]SessionInfo, error) {
	list, err := s.Store.ListSessions(ctx, tech.Account, tech.listFilter(), 200)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now()
	out := []SessionInfo{}
	for i := range list {
		if tech.maySee(&list[i]) {
			out = append(out, info(&list[i], now))
		}
	}
	return out, nil
}

// Audit returns every step of a session the technician may see, oldest first. The trail
// outlives the session item (kept 90 days, the item only until its TTL), so when the
// session is gone the owner recorded on the entries decides who may read them.
func (s *Service) Audit(ctx context.Context, tech Technician, id string) ([]session.AuditEntry, error) {
	_, err := s.visible(ctx, tech, id)
	gone := errors.Is(err, errNotFound)
	if err != nil && !gone {
		return nil, err
	}
	if gone && !secrets.ValidSessionID(id) {
		return nil, errNotFound
	}
	entries, err := s.Store.Audit(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("audit %s: %w", id, err)
	}
	if gone {
		// The session item is gone, or belongs to someone else: in both cases only the
		// owner on the entries may read them, and a stranger learns nothing.
		if len(entries) == 0 || !tech.mayAct(entries[0].Account, entries[0].Technician) {
			return nil, errNotFound
		}
	}
	return entries, nil
}

// Computer is one PC of the computer group "Ad-hoc support sessions": an active session.
type Computer struct {
	SessionID       string
	Hostname        string
	OSVersion       string
	AgentVersion    string
	TechnicianEmail string
	Online          bool
	LastSeenAt      time.Time // zero when never seen
	ActivatedAt     time.Time
	ExpiresAt       time.Time
	Left            time.Duration // until ExpiresAt
}

// GroupAdhoc is the only computer group this service knows.
const GroupAdhoc = "adhoc"

// Computers lists the computer group "Ad-hoc support sessions": one entry per active
// session the technician may see.
func (s *Service) Computers(ctx context.Context, tech Technician) ([]Computer, error) {
	f := tech.listFilter()
	f.Statuses = []session.State{session.Active}
	list, err := s.Store.ListSessions(ctx, tech.Account, f, 5000)
	if err != nil {
		return nil, fmt.Errorf("computers: %w", err)
	}
	now := s.now()
	out := []Computer{}
	for i := range list {
		ss := &list[i]
		if !tech.maySee(ss) || ss.Effective(now) != session.Active {
			continue
		}
		out = append(out, Computer{
			SessionID: ss.ID, Hostname: ss.Computer.Hostname, OSVersion: ss.Computer.OSVersion,
			AgentVersion: ss.Computer.AgentVersion, TechnicianEmail: ss.TechnicianEmail,
			Online: ss.Online(now), LastSeenAt: ss.LastSeenAt,
			ActivatedAt: ss.ActivatedAt, ExpiresAt: ss.ExpiresAt, Left: ss.ExpiresAt.Sub(now),
		})
	}
	return out, nil
}

// Account returns the technician's account limits and usage.
func (s *Service) Account(ctx context.Context, tech Technician) (Account, error) {
	a, err := s.Store.Account(ctx, tech.Account, s.Config.Limits)
	if err != nil {
		return Account{}, fmt.Errorf("account %s: %w", tech.Account, err)
	}
	a.ID = tech.Account
	return a, nil
}

// SetLimits configures an account (local mode's dev route).
func (s *Service) SetLimits(ctx context.Context, account string, l Limits) error {
	if account == "" || l.Slots < 0 || l.AdhocCap < 0 || l.Slots > 100_000 || l.AdhocCap > 100_000 {
		return refuse(CodeInvalidRequest, "account must be set; slots and adhocCap must be between 0 and 100000.")
	}
	return s.Store.SetLimits(ctx, account, l)
}
