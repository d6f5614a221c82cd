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

// InviteRequest is what the technician enters on the Ad-hoc support page.
type InviteRequest struct {
	Email    string
	Password string
	Locale   string // "en" or "de"
}

// Invitation is a new invitation. SecurityCode is shown once and never again.
type Invitation struct {
	ID              string
	SecurityCode    string // formatted for reading out: 123-456-789
	Status          session.State
	InviteExpiresAt time.Time
	Username        string // the hidden administrator account the app will create
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
	ss := session.Session{
		ID: id, Account: tech.Account, Technician: tech.ID, TechnicianEmail: tech.Email,
		TechnicianName: tech.displayName(), UserEmail: email, Locale: locale, Username: username,
		Status: session.Invited, Version: 1, CreatedAt: now, InviteExpiresAt: now.Add(s.Config.InviteTTL),
		InviteTokenHash: secrets.HashToken(token), Sealing: session.SealedForInvitation,
	}
	if ss.CodeMAC, err = s.codeMAC(ctx, &ss, code); err != nil {
		return Invitation{}, fmt.Errorf("invite: %w", err)
	}
	pw := []byte(req.Password)
	ss.SealedPassword, err = s.sealPairing(ctx, &ss, token, pw)
	clear(pw)
	if err != nil {
		return Invitation{}, fmt.Errorf("invite: sealing the password: %w", err)
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
		ID: id, SecurityCode: session.FormatCode(code), Status: session.Invited,
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
