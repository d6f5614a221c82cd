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

// SessionView is what a technician sees of a session: never a secret.
type SessionView struct {
	ID              string        `json:"id"`
	Status          string        `json:"status"`
	Technician      string        `json:"technician"`
	TechnicianName  string        `json:"technicianName,omitempty"`
	UserEmail       string        `json:"email"`
	Locale          string        `json:"locale"`
	Username        string        `json:"username"`
	CreatedAt       time.Time     `json:"createdAt"`
	InviteExpiresAt time.Time     `json:"inviteExpiresAt"`
	ActivatedAt     *time.Time    `json:"activatedAt,omitempty"`
	ExpiresAt       *time.Time    `json:"expiresAt,omitempty"`
	EndedAt         *time.Time    `json:"endedAt,omitempty"`
	EndReason       string        `json:"endReason,omitempty"`
	AttemptsLeft    int           `json:"attemptsLeft"`
	Computer        *ComputerView `json:"computer,omitempty"`
}

// ComputerView is the PC a session runs on, as the technician sees it.
type ComputerView struct {
	Hostname     string     `json:"hostname"`
	OSVersion    string     `json:"osVersion"`
	AgentVersion string     `json:"agentVersion,omitempty"`
	Online       bool       `json:"online"`
	LastSeenAt   *time.Time `json:"lastSeenAt,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Service) view(ss *session.Session, now time.Time) SessionView {
	eff := ss.Effective(now)
	v := SessionView{
		ID: ss.ID, Status: string(eff), Technician: ss.TechnicianEmail, TechnicianName: ss.TechnicianName,
		UserEmail: ss.UserEmail, Locale: ss.Locale, Username: ss.Username,
		CreatedAt: ss.CreatedAt, InviteExpiresAt: ss.InviteExpiresAt,
		ActivatedAt: optTime(ss.ActivatedAt), ExpiresAt: optTime(ss.ExpiresAt), EndedAt: optTime(ss.EndedAt),
		EndReason: string(ss.EndReason), AttemptsLeft: max(0, session.MaxFailedAttempts-ss.FailedAttempts),
	}
	if eff != ss.Status && eff.Terminal() {
		// Time has ended it; the handler will write it down.
		v.EndReason = string(session.ReasonExpired)
		if eff == session.InviteExpired {
			v.EndReason = string(session.ReasonInviteExpired)
		}
	}
	if ss.Computer.Hostname != "" {
		v.Computer = &ComputerView{
			Hostname: ss.Computer.Hostname, OSVersion: ss.Computer.OSVersion, AgentVersion: ss.Computer.AgentVersion,
			Online: ss.Online(now) && !eff.Terminal(), LastSeenAt: optTime(ss.LastSeenAt),
		}
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
func (s *Service) Get(ctx context.Context, tech Technician, id string) (SessionView, error) {
	ss, err := s.visible(ctx, tech, id)
	if err != nil {
		return SessionView{}, err
	}
	return s.view(&ss, s.now()), nil
}

// List returns the sessions the technician may see, newest first.
func (s *Service) List(ctx context.Context, tech Technician) ([]SessionView, error) {
	list, err := s.Store.ListSessions(ctx, tech.Account, tech.listFilter(), 200)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	now := s.now()
	out := []SessionView{}
	for i := range list {
		if tech.maySee(&list[i]) {
			out = append(out, s.view(&list[i], now))
		}
	}
	return out, nil
}

// AuditView is one audit entry as the technician sees it.
type AuditView struct {
	At     time.Time `json:"at"`
	Action string    `json:"action"`
	From   string    `json:"from,omitempty"`
	To     string    `json:"to"`
	Actor  string    `json:"actor"`
	By     string    `json:"by"`
	Reason string    `json:"reason,omitempty"`
	Detail string    `json:"detail,omitempty"`
}

// Audit returns every step of a session the technician may see, oldest first. The trail
// outlives the session item (kept 90 days, the item only until its TTL), so when the
// session is gone the owner recorded on the entries decides who may read them.
func (s *Service) Audit(ctx context.Context, tech Technician, id string) ([]AuditView, error) {
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
	out := make([]AuditView, 0, len(entries))
	for _, e := range entries {
		out = append(out, AuditView{
			At: e.At, Action: e.Action, From: string(e.From), To: string(e.To),
			Actor: e.Actor.Kind, By: e.Actor.ID, Reason: string(e.Reason), Detail: e.Detail,
		})
	}
	return out, nil
}

// ComputerEntry is one PC of the computer group "Ad-hoc support sessions".
type ComputerEntry struct {
	SessionID    string     `json:"sessionId"`
	Hostname     string     `json:"hostname"`
	OSVersion    string     `json:"osVersion"`
	Technician   string     `json:"technician"`
	Online       bool       `json:"online"`
	LastSeenAt   *time.Time `json:"lastSeenAt,omitempty"`
	ActivatedAt  time.Time  `json:"activatedAt"`
	ExpiresAt    time.Time  `json:"expiresAt"`
	SecondsLeft  int        `json:"secondsLeft"`
	AgentVersion string     `json:"agentVersion,omitempty"`
}

// GroupAdhoc is the only computer group this service knows.
const GroupAdhoc = "adhoc"

// Computers lists the computer group "Ad-hoc support sessions": one entry per active
// session the technician may see.
func (s *Service) Computers(ctx context.Context, tech Technician) ([]ComputerEntry, error) {
	f := tech.listFilter()
	f.Statuses = []session.State{session.Active}
	list, err := s.Store.ListSessions(ctx, tech.Account, f, 5000)
	if err != nil {
		return nil, fmt.Errorf("computers: %w", err)
	}
	now := s.now()
	out := []ComputerEntry{}
	for i := range list {
		ss := &list[i]
		if !tech.maySee(ss) || ss.Effective(now) != session.Active {
			continue
		}
		out = append(out, ComputerEntry{
			SessionID: ss.ID, Hostname: ss.Computer.Hostname, OSVersion: ss.Computer.OSVersion,
			Technician: ss.TechnicianEmail, Online: ss.Online(now), LastSeenAt: optTime(ss.LastSeenAt),
			ActivatedAt: ss.ActivatedAt, ExpiresAt: ss.ExpiresAt, SecondsLeft: int(ss.ExpiresAt.Sub(now) / time.Second),
			AgentVersion: ss.Computer.AgentVersion,
		})
	}
	return out, nil
}

// AccountView is an account's slots and ad-hoc cap.
type AccountView struct {
	Account    string `json:"account"`
	Slots      int    `json:"slots"`
	Used       int    `json:"used"`
	Free       int    `json:"free"`
	AdhocCap   int    `json:"adhocCap"`
	AdhocInUse int    `json:"adhocInUse"`
}

// Account returns the technician's account limits and usage.
func (s *Service) Account(ctx context.Context, tech Technician) (AccountView, error) {
	a, err := s.Store.Account(ctx, tech.Account, s.Config.Limits)
	if err != nil {
		return AccountView{}, fmt.Errorf("account %s: %w", tech.Account, err)
	}
	return AccountView{
		Account: tech.Account, Slots: a.Limits.Slots, Used: a.Used, Free: max(0, a.Limits.Slots-a.Used),
		AdhocCap: a.Limits.AdhocCap, AdhocInUse: a.AdhocInUse,
	}, nil
}

// SetLimits configures an account (local mode's dev route).
func (s *Service) SetLimits(ctx context.Context, account string, l Limits) error {
	if account == "" || l.Slots < 0 || l.AdhocCap < 0 || l.Slots > 100_000 || l.AdhocCap > 100_000 {
		return refuse(CodeInvalidRequest, "account must be set; slots and adhocCap must be between 0 and 100000.")
	}
	return s.Store.SetLimits(ctx, account, l)
}
