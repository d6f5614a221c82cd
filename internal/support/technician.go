package support

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
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

// InviteRequest is what the technician enters on the Ad-hoc support page.
type InviteRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Locale   string `json:"locale"`
}

// Invitation is the answer to a new invitation. SecurityCode is shown once and never again.
type Invitation struct {
	ID              string    `json:"id"`
	SecurityCode    string    `json:"securityCode"`
	Status          string    `json:"status"`
	InviteExpiresAt time.Time `json:"inviteExpiresAt"`
	Username        string    `json:"username"`
}

// Invite checks the request, reserves a slot and the technician's single session, sends
// the invitation mail and arranges the invitation's expiry. If the mail cannot be sent,
// nothing reserved is kept.
func (s *Service) Invite(ctx context.Context, tech Technician, req InviteRequest) (Invitation, error) {
	email, err := session.NormalizeEmail(req.Email)
	if err != nil {
		return Invitation{}, refuse(CodeInvalidEmail, "The e-mail address is not valid.")
	}
	locale, err := session.NormalizeLocale(req.Locale)
	if err != nil {
		return Invitation{}, refuse(CodeInvalidRequest, "The language must be one of: en, de.")
	}
	username := s.Config.Username
	if p := session.PasswordProblem(req.Password, username); p != "" {
		return Invitation{}, refuse(CodeWeakPassword, p)
	}

	now := s.now()
	id := secrets.NewSessionID()
	token, err := secrets.NewToken()
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: %w", err)
	}
	code, err := session.NewSecurityCode()
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: %w", err)
	}
	mac, err := s.Codes.MAC(ctx, code)
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: security code: %w", err)
	}
	sealed, err := s.Sealer.Seal(ctx, []byte(req.Password), []byte(id))
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: sealing the password: %w", err)
	}
	ss := session.Session{
		ID: id, Account: tech.Account, Technician: tech.ID, TechnicianEmail: tech.Email,
		TechnicianName: tech.displayName(), UserEmail: email, Locale: locale, Username: username,
		Status: session.Invited, Version: 1, CreatedAt: now, InviteExpiresAt: now.Add(s.Config.InviteTTL),
		InviteTokenHash: secrets.HashToken(token), CodeMAC: mac, SealedPassword: sealed,
	}
	audit := session.AuditEntry{SessionID: id, At: now, Seq: 1, Action: string(session.Invited), To: session.Invited, Actor: tech.actor()}
	if err := s.reserve(ctx, tech, ss, audit); err != nil {
		return Invitation{}, err
	}

	err = s.Mail.SendInvitation(ctx, InvitationMail{
		To: email, Locale: locale, JoinURL: s.JoinURL(token), TechnicianName: ss.TechnicianName,
		TechnicianEmail: tech.Email, InviteExpiresAt: ss.InviteExpiresAt, SessionHours: s.sessionHours(),
	})
	if err != nil {
		s.log().Error("sending the invitation mail failed; rolling back", "session", id, "error", err)
		// The request's own deadline may be what made the mail fail: undo on a context of
		// our own, so a reservation never outlives a failed request.
		rctx, cancel := detached(ctx)
		defer cancel()
		if rerr := s.rollback(rctx, ss); rerr != nil {
			return Invitation{}, fmt.Errorf("invite: rollback after mail failure (%v): %w", err, rerr)
		}
		return Invitation{}, refuse(CodeMailFailed, "The invitation mail could not be sent; nothing was reserved. Try again later.")
	}

	actx, cancel := detached(ctx)
	defer cancel()
	s.notify(actx, session.Session{}, ss)
	s.schedule(actx, inviteSchedule(id), ss.InviteExpiresAt, id)
	e := event(events.SessionInvited, &ss, now)
	e.Detail.ExpiresAt = &ss.InviteExpiresAt
	s.publish(actx, e)
	s.log().Info("session invited", "session", id, "account", tech.Account, "technician", tech.ID)
	return Invitation{
		ID: id, SecurityCode: session.FormatCode(code), Status: string(session.Invited),
		InviteExpiresAt: ss.InviteExpiresAt, Username: username,
	}, nil
}

// rollbackWaits are the pauses before the second and third attempt to undo a
// reservation whose mail failed: a failing mail server and a failing database often
// share a cause (a network fault), which may have passed a moment later.
var rollbackWaits = []time.Duration{200 * time.Millisecond, time.Second}

// rollback undoes a reservation, trying again after rollbackWaits. Should every attempt
// fail, the invitation stays reserved, visible to the technician, who can cancel it, until
// its invite expiry writes it down.
func (s *Service) rollback(ctx context.Context, ss session.Session) error {
	err := s.Store.RollbackInvitation(ctx, ss)
	for _, wait := range rollbackWaits {
		if err == nil {
			return nil
		}
		s.log().Warn("rolling back the invitation failed; trying again", "session", ss.ID, "error", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (then: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		err = s.Store.RollbackInvitation(ctx, ss)
		if errors.Is(err, ErrConflict) {
			// The attempt before may have gone through with its answer lost: then the
			// session is gone, and so is everything the transaction removed with it.
			if _, gerr := s.Store.GetSession(ctx, ss.ID); errors.Is(gerr, ErrNotFound) {
				return nil
			}
		}
	}
	return err
}

func (t Technician) displayName() string {
	if strings.TrimSpace(t.Name) != "" {
		return strings.TrimSpace(t.Name)
	}
	return t.Email
}

// reserve stores the invitation. When a rule refuses it, sessions that time has already
// ended but no handler has written down yet are expired first and the invitation tried
// once more: time is authoritative, so an overdue session must not hold a slot.
func (s *Service) reserve(ctx context.Context, tech Technician, ss session.Session, audit session.AuditEntry) error {
	for attempt := 0; ; attempt++ {
		err := s.Store.CreateInvitation(ctx, ss, ss.InviteExpiresAt.Add(s.Config.LookupGrace), s.Config.Limits, audit)
		if err == nil {
			return nil
		}
		var freed bool
		var lerr error
		switch {
		case errors.Is(err, ErrTechnicianBusy):
			freed, lerr = s.expireTechnicianSession(ctx, tech)
		case errors.Is(err, ErrNoFreeSlot), errors.Is(err, ErrCapReached):
			freed, lerr = s.expireOverdueOfAccount(ctx, tech.Account)
		default:
			return fmt.Errorf("invite: %w", err)
		}
		if lerr != nil {
			return fmt.Errorf("invite: freeing overdue sessions: %w", lerr)
		}
		if freed && attempt < 2 {
			continue
		}
		return s.refusal(ctx, tech, err)
	}
}

func (s *Service) refusal(ctx context.Context, tech Technician, err error) error {
	switch {
	case errors.Is(err, ErrTechnicianBusy):
		e := refuse(CodeSessionExists, "You already have an open ad-hoc session; end or cancel it first.")
		if id, lerr := s.Store.TechnicianSession(ctx, tech.Account, tech.ID); lerr == nil {
			e.SessionID = id
		}
		return e
	case errors.Is(err, ErrNoFreeSlot):
		return refuse(CodeNoFreeSlot, "All slots of the account are in use; end a session or add slots.")
	default:
		return refuse(CodeAdhocCapReached, "The account has reached its limit of concurrent ad-hoc sessions.")
	}
}

func (s *Service) expireTechnicianSession(ctx context.Context, tech Technician) (bool, error) {
	id, err := s.Store.TechnicianSession(ctx, tech.Account, tech.ID)
	if errors.Is(err, ErrNotFound) {
		return true, nil // released meanwhile: try again
	}
	if err != nil {
		return false, err
	}
	return s.expireOrRelease(ctx, tech.Account, TechnicianLock{Technician: tech.ID, SessionID: id})
}

// expireOrRelease ends the session holding a technician lock if time has ended it, or, if
// storage's TTL removed its item before any expiry layer wrote it down, gives its lock and
// slot back: a session gone is over. It reports whether anything was freed.
func (s *Service) expireOrRelease(ctx context.Context, account string, lock TechnicianLock) (bool, error) {
	_, err := s.Store.GetSession(ctx, lock.SessionID)
	if errors.Is(err, ErrNotFound) {
		released, rerr := s.Store.ReleaseOrphan(ctx, account, lock.Technician, lock.SessionID)
		if released {
			s.log().Warn("released the lock and slot of a session removed by TTL", "session", lock.SessionID)
		}
		return released, rerr
	}
	if err != nil {
		return false, err
	}
	return s.Expire(ctx, lock.SessionID)
}

// expireOverdueOfAccount frees the slots that time has already freed: sessions past their
// end, and (when that frees nothing) sessions that storage's TTL removed while their locks
// and slots were still held.
func (s *Service) expireOverdueOfAccount(ctx context.Context, account string) (bool, error) {
	// Only sessions stored as running can be overdue.
	list, err := s.Store.ListSessions(ctx, account, ListFilter{Statuses: []session.State{session.Invited, session.AppStarted, session.Active}}, 5000)
	if err != nil {
		return false, err
	}
	now := s.now()
	freed := false
	for i := range list {
		if list[i].Effective(now) == list[i].Status {
			continue
		}
		changed, err := s.Expire(ctx, list[i].ID)
		if err != nil {
			return freed, err
		}
		freed = freed || changed
	}
	if freed {
		return true, nil
	}
	locks, err := s.Store.TechnicianLocks(ctx, account)
	if err != nil {
		return false, err
	}
	for _, l := range locks {
		changed, err := s.expireOrRelease(ctx, account, l)
		if err != nil {
			return freed, err
		}
		freed = freed || changed
	}
	return freed, nil
}

// JoinURL is the link of the invitation mail.
func (s *Service) JoinURL(token string) string {
	return strings.TrimRight(s.Config.PublicBaseURL, "/") + "/join/" + token
}

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

// Cancel cancels an invitation or ends an active session now. On a session that is over
// already it changes nothing and answers how it stands, so a retried DELETE is harmless.
func (s *Service) Cancel(ctx context.Context, tech Technician, id string) (SessionView, error) {
	cur, err := s.visible(ctx, tech, id)
	if err != nil {
		return SessionView{}, err
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
		return SessionView{}, fmt.Errorf("cancel %s: %w", id, err)
	}
	s.log().Info("session cancelled or ended by technician", "session", id, "status", ss.Status)
	return s.view(&ss, s.now()), nil
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
