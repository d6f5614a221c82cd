package support

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// What the app reports about itself is shown to technicians: keep it short, and refuse
// what could make it look like something else (session.Invisible).
const maxFieldLen = 128

func cleanField(name, v string, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if required && v == "" {
		return "", refuse(CodeInvalidRequest, name+" is required.")
	}
	if len(v) > maxFieldLen {
		return "", refuse(CodeInvalidRequest, name+" is too long.")
	}
	if !session.VisibleText(v) {
		return "", refuse(CodeInvalidRequest, name+" contains control, format or unassigned characters.")
	}
	return v, nil
}

// MachineHash is what the server keeps of the machine id an app reports: its SHA-256,
// so the raw id is never stored.
func MachineHash(id string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(id)))
	return hex.EncodeToString(sum[:])
}

// PC is what the app reports about itself and the PC it runs on.
type PC struct {
	Platform     string
	OSVersion    string
	Hostname     string
	AgentVersion string
	MachineID    string // only its hash is kept (MachineHash)
}

func computerFrom(pc PC) (session.Computer, error) {
	var c session.Computer
	var err error
	if c.Platform, err = cleanField("platform", strings.ToLower(pc.Platform), true); err != nil {
		return c, err
	}
	if c.OSVersion, err = cleanField("osVersion", pc.OSVersion, false); err != nil {
		return c, err
	}
	if c.Hostname, err = cleanField("hostname", pc.Hostname, true); err != nil {
		return c, err
	}
	if !session.ValidHostname(c.Hostname) {
		return c, refuse(CodeInvalidRequest, "hostname is not a Windows computer name (letters, digits, '-' and '_', at most 63 bytes).")
	}
	if c.AgentVersion, err = cleanField("agentVersion", pc.AgentVersion, false); err != nil {
		return c, err
	}
	id, err := cleanField("machineId", pc.MachineID, true)
	if err != nil {
		return c, err
	}
	c.MachineHash = MachineHash(id)
	return c, nil
}

// invitation finds the session of an invite token, or answers not_found.
func (s *Service) invitation(ctx context.Context, token string) (session.Session, error) {
	id, err := s.invitationID(ctx, token)
	if err != nil {
		return session.Session{}, err
	}
	ss, err := s.Store.GetSession(ctx, id)
	if err != nil {
		return session.Session{}, err
	}
	if !ownsToken(&ss, secrets.HashToken(token)) {
		return session.Session{}, s.strayLookup(id)
	}
	return ss, nil
}

// strayLookup answers for an invite lookup that leads to a session of another invitation:
// the two items disagree, which only a writer of the table can bring about. The token is
// treated as unknown, and the session is left untouched.
func (s *Service) strayLookup(id string) error {
	s.log().Warn("an invite lookup leads to a session of another invitation; refused", "session", id)
	return refuse(CodeNotFound, "This invitation link is not known.")
}

func (s *Service) invitationID(ctx context.Context, token string) (string, error) {
	id, err := s.Store.SessionIDByInviteToken(ctx, secrets.HashToken(token))
	if errors.Is(err, ErrNotFound) {
		return "", refuse(CodeNotFound, "This invitation link is not known.")
	}
	if err != nil {
		return "", fmt.Errorf("invite lookup: %w", err)
	}
	return id, nil
}

// refusePending answers for an invitation that can no longer be started or paired.
func refusePending(eff session.State) error {
	switch eff {
	case session.Locked:
		return refuse(CodeLocked, "Too many wrong security codes: this invitation is locked. Ask the technician for a new one.")
	case session.Active:
		return refuse(CodeAlreadyPaired, "This invitation has already been used on a PC.")
	}
	return refuse(CodeExpired, "This invitation has ended or expired. Ask the technician for a new one.")
}

// machineBusy reports whether another session holds this PC with an active, unexpired
// session. If another session holds the PC's lock although it is over (ended early, and
// the best-effort release of the lock failed), it returns that session's id as stale:
// activation may take the lock over from it.
func (s *Service) machineBusy(ctx context.Context, hash, self string, now time.Time) (busy bool, stale string, err error) {
	id, err := s.Store.MachineSession(ctx, hash)
	if errors.Is(err, ErrNotFound) || err == nil && id == self {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("machine lookup: %w", err)
	}
	other, err := s.Store.GetSession(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return false, id, nil
	}
	if err != nil {
		return false, "", fmt.Errorf("machine's session: %w", err)
	}
	if other.Effective(now) == session.Active {
		return true, "", nil
	}
	return false, id, nil
}

var errAlreadySupported = refuse(CodeAlreadySupported, "This PC already has an active support session.")

// HelloResult tells the app where its invitation stands.
type HelloResult struct {
	Status   session.State // invited or app_started
	Interval time.Duration // until the app asks again
}

// Hello records that the app has started on a PC and tells it how often to ask again.
func (s *Service) Hello(ctx context.Context, inviteToken string, pc PC) (HelloResult, error) {
	if !protocol.ValidToken(inviteToken) {
		return HelloResult{}, refuse(CodeInvalidRequest, "inviteToken is missing or malformed.")
	}
	c, err := computerFrom(pc)
	if err != nil {
		return HelloResult{}, err
	}
	id, err := s.invitationID(ctx, inviteToken)
	if err != nil {
		return HelloResult{}, err
	}
	tokenHash := secrets.HashToken(inviteToken)
	ss, err := s.update(ctx, id, func(ss *session.Session, now time.Time) (*step, error) {
		if !ownsToken(ss, tokenHash) {
			return nil, s.strayLookup(ss.ID)
		}
		if st, err := s.expireIfOverdue(ss, now); !errors.Is(err, errNoChange) {
			return st, err
		}
		if !ss.Status.Pending() {
			return nil, refusePending(ss.Status)
		}
		if c.Platform != protocol.PlatformWindows {
			return nil, refuse(CodeUnsupportedPlatform, "Ad-hoc support is available for Windows PCs only.")
		}
		if busy, _, err := s.machineBusy(ctx, c.MachineHash, ss.ID, now); err != nil || busy {
			return nil, orRefusal(err, errAlreadySupported)
		}
		if ss.Status == session.AppStarted && ss.Computer == c && now.Sub(ss.LastSeenAt) < s.Config.SeenEvery {
			return nil, errNoChange
		}
		prev := ss.Computer
		ss.Computer, ss.LastSeenAt = c, now
		detail := "app " + c.AgentVersion + " on " + c.OSVersion
		if ss.Status == session.AppStarted {
			if prev.MachineHash == c.MachineHash {
				return &step{}, nil // details and last seen only
			}
			// Another PC took the invitation up (anyone with the link can): the technician
			// must see that, live and in the trail, before reading out the code.
			detail = "app started on another PC: " + c.Hostname + " (before: " + prev.Hostname + ")"
		} else if err := ss.Move(session.AppStarted, "", now); err != nil {
			return nil, err
		}
		return &step{
			action: string(session.AppStarted), actor: appActor(c), detail: detail,
			events: []events.Event{event(events.AppStarted, ss, now)},
		}, nil
	})
	if err != nil {
		return HelloResult{}, gone(err)
	}
	if !ss.Status.Pending() {
		return HelloResult{}, refusePending(ss.Status)
	}
	return HelloResult{Status: ss.Status, Interval: s.Config.PendingInterval}, nil
}

func appActor(c session.Computer) session.Actor { return session.Actor{Kind: "app", ID: c.Hostname} }

// PairRequest is the app's pairing: the invitation, the code the user typed, and the PC.
type PairRequest struct {
	InviteToken  string
	SecurityCode string // as typed: with '-' or spaces, or without
	// Nonce is chosen by the app at random for each pairing: a retry with the same nonce
	// gets the same answer again, until the app's first poll confirms its set-up or the
	// pairing retry window closes (Config.PairRetryWindow).
	Nonce string
	PC    PC
}

// PairResult activates the app: from now on it authenticates with AgentToken. It holds
// the hidden account's password, which is erased from storage at the app's first poll (or
// when the pairing retry window closes, Config.PairRetryWindow after activation); the
// caller wipes Password once it is sent.
type PairResult struct {
	AgentToken string
	SessionID  string
	ExpiresAt  time.Time
	Username   string // the hidden administrator account
	Password   []byte
	Interval   time.Duration // until the first poll
	LiveURL    string        // where the app opens its live connection; "" without one
}

// Pair checks the security code the user typed. The right code activates the session and
// hands the app its token and the hidden account; five wrong codes lock the invitation.
func (s *Service) Pair(ctx context.Context, req PairRequest) (PairResult, error) {
	if !protocol.ValidToken(req.InviteToken) {
		return PairResult{}, refuse(CodeInvalidRequest, "inviteToken is missing or malformed.")
	}
	digits, err := session.ParseCode(req.SecurityCode)
	if err != nil {
		return PairResult{}, refuse(CodeInvalidRequest, "The security code has 9 digits, like 123-456-789.")
	}
	nonce := req.Nonce
	if !protocol.ValidNonce(nonce) {
		return PairResult{}, refuse(CodeInvalidRequest,
			fmt.Sprintf("nonce must be %d to %d letters, digits, '-' or '_', chosen at random for each pairing.", protocol.MinNonceLen, protocol.MaxNonceLen))
	}
	c, err := computerFrom(req.PC)
	if err != nil {
		return PairResult{}, err
	}
	id, err := s.invitationID(ctx, req.InviteToken)
	if err != nil {
		return PairResult{}, err
	}
	cur, err := s.Store.GetSession(ctx, id)
	if err != nil {
		return PairResult{}, gone(err)
	}
	// The lookup is an item of its own: the session must be the token's too, or a writer
	// of the table could lead one invitation's link to another account's session.
	tokenHash := secrets.HashToken(req.InviteToken)
	if !ownsToken(&cur, tokenHash) {
		return PairResult{}, s.strayLookup(id)
	}
	mac, err := s.codeMAC(ctx, &cur, digits)
	if err != nil {
		return PairResult{}, fmt.Errorf("pair: %w", err)
	}
	// The right code for an invitation still pending: open the password now, before
	// anything is written, so that a password that does not open (a tampered item) never
	// activates the session. Nothing a pending item's binding depends on changes until it
	// is activated or ends, so what opens here is what a retried decision would open.
	var password []byte
	if cur.Status.Pending() && secrets.Equal(mac, cur.CodeMAC) {
		if password, err = s.openPairing(ctx, &cur, req.InviteToken, cur.SealedPassword); err != nil {
			s.log().Error("the sealed password does not open; not activating", "session", id, "error", err)
			return PairResult{}, fmt.Errorf("pair: opening the password: %w", err)
		}
	}
	sealing := cur.Sealing
	ss, out, err := updateOutcome(ctx, s, cur, func(ss *session.Session, now time.Time) (*step, pairOutcome, error) {
		if !ownsToken(ss, tokenHash) || ss.Sealing != sealing {
			return nil, pairOutcome{}, s.strayLookup(ss.ID)
		}
		if st, err := s.expireOrErase(ss, now); !errors.Is(err, errNoChange) {
			// Time ended it, or closed the retry window, first: the code is not looked at.
			return st, pairOutcome{kind: pairNothing}, err
		}
		// The nonce stands in for the code on a retry: compare it in constant time. What
		// the retry gets opens only with this invitation's token (openPairing).
		if ss.Status == session.Active && ss.SealedAgentToken != nil && secrets.Equal([]byte(ss.PairNonce), []byte(nonce)) {
			return nil, pairOutcome{kind: pairRetried}, errNoChange
		}
		if !ss.Status.Pending() {
			return nil, pairOutcome{}, refusePending(ss.Status)
		}
		if c.Platform != protocol.PlatformWindows {
			return nil, pairOutcome{}, refuse(CodeUnsupportedPlatform, "Ad-hoc support is available for Windows PCs only.")
		}
		busy, stale, err := s.machineBusy(ctx, c.MachineHash, ss.ID, now)
		if err != nil || busy {
			return nil, pairOutcome{}, orRefusal(err, errAlreadySupported)
		}
		if !secrets.Equal(mac, ss.CodeMAC) {
			st, left, err := s.wrongCode(ss, c, now)
			return st, pairOutcome{kind: pairWrongCode, attemptsLeft: left}, err
		}
		if password == nil {
			// Only if the item changed its code between the reads, which nothing does.
			return nil, pairOutcome{}, fmt.Errorf("pair %s: the code matched only after the first read", ss.ID)
		}
		st, token, err := s.activate(ctx, ss, c, req.InviteToken, nonce, now)
		if err != nil {
			return nil, pairOutcome{}, err
		}
		st.machineTakeOver = stale
		return st, pairOutcome{kind: pairActivated, agentToken: token}, nil
	})
	if out.kind != pairActivated {
		clear(password)
		password = nil
	}
	if errors.Is(err, ErrMachineBusy) {
		return PairResult{}, errAlreadySupported
	}
	if err != nil {
		return PairResult{}, gone(err)
	}
	switch out.kind {
	case pairWrongCode:
		if out.attemptsLeft == 0 {
			return PairResult{}, refusePending(session.Locked)
		}
		e := refuse(CodeInvalidCode, "The security code is not right. Check it with the technician and type it again.")
		e.AttemptsLeft = &out.attemptsLeft
		return PairResult{}, e
	case pairActivated:
		return s.pairAnswer(ctx, ss, req.InviteToken, out.agentToken, password)
	case pairRetried:
		// A retry of a pairing that was stored but whose answer was lost: its commit may
		// have reported a failure, so the schedules that follow activation may be
		// missing. Arranging them again is harmless (same names replace).
		actx, cancel := detached(ctx)
		defer cancel()
		s.unschedule(actx, inviteSchedule(ss.ID))
		s.schedule(actx, sessionSchedule(ss.ID), ss.ExpiresAt, ss.ID)
		s.schedule(actx, pairingSchedule(ss.ID), s.retryWindowEnd(&ss), ss.ID)
		return s.pairAnswer(ctx, ss, req.InviteToken, "", nil)
	}
	// pairNothing: what time made of the invitation is the answer.
	return PairResult{}, refusePending(ss.Status)
}

// pairOutcome is what the decision of Pair that took effect made of the code: the answer
// after the commit is read from it alone, never from an attempt that lost its race.
type pairOutcome struct {
	kind         pairKind
	attemptsLeft int    // pairWrongCode: 4 … 1, or 0 when this code locked the invitation
	agentToken   string // pairActivated: the new agent token
}

type pairKind int

const (
	// pairNothing: time had ended the invitation first; the code was not looked at.
	pairNothing pairKind = iota
	// pairWrongCode: a wrong code was counted.
	pairWrongCode
	// pairActivated: the right code activated the session with a new agent token.
	pairActivated
	// pairRetried: a retry, with the same nonce, of the pairing that won; nothing is
	// written and the stored answer is given again.
	pairRetried
)

// wrongCode counts a wrong code and returns how many attempts are left; the last one
// locks the invitation.
func (s *Service) wrongCode(ss *session.Session, c session.Computer, now time.Time) (*step, int, error) {
	ss.FailedAttempts++
	left := max(0, session.MaxFailedAttempts-ss.FailedAttempts)
	failed := event(events.PairingFailed, ss, now)
	failed.Detail.AttemptsLeft = &left
	if ss.FailedAttempts < session.MaxFailedAttempts {
		return &step{
			action: "pairing_failed", actor: appActor(c), detail: fmt.Sprintf("wrong security code, %d attempts left", left),
			events: []events.Event{failed},
		}, left, nil
	}
	st, err := s.finish(ss, session.Locked, session.ReasonLocked, appActor(c), now)
	if err != nil {
		return nil, 0, err
	}
	st.detail = "too many wrong security codes"
	st.events = append([]events.Event{failed}, st.events...)
	return st, 0, nil
}

// activate makes the session active with a new agent token, which it returns. The token's
// retry copy is sealed as the password is (sealPairing), so it opens only for a retry that
// brings the invitation's own link.
func (s *Service) activate(ctx context.Context, ss *session.Session, c session.Computer, inviteToken, nonce string, now time.Time) (*step, string, error) {
	token, err := secrets.NewAgentToken(ss.ID)
	if err != nil {
		return nil, "", fmt.Errorf("agent token: %w", err)
	}
	sealed, err := s.sealPairing(ctx, ss, inviteToken, []byte(token))
	if err != nil {
		return nil, "", fmt.Errorf("sealing the agent token: %w", err)
	}
	from := ss.Status
	if err := ss.Move(session.Active, "", now); err != nil {
		return nil, "", err
	}
	ss.ActivatedAt, ss.ExpiresAt = now, now.Add(s.Config.SessionTTL)
	ss.Computer, ss.LastSeenAt = c, now
	// The code's MAC stays as long as the sealed secrets bound to it (EraseSecrets), which
	// are erased at the app's first poll, or when the retry window closes at the latest.
	ss.AgentTokenHash, ss.SealedAgentToken, ss.PairNonce = secrets.HashToken(token), sealed, nonce
	ss.SecretsUntil = now.Add(s.Config.PairRetryWindow)
	activated := event(events.SessionActivated, ss, now)
	activated.Detail.ExpiresAt = &ss.ExpiresAt
	id, expiresAt, secretsUntil := ss.ID, ss.ExpiresAt, ss.SecretsUntil
	return &step{
		action: string(session.Active), from: from, actor: appActor(c), detail: "paired " + c.Hostname,
		agentLookup:    &Lookup{TokenHash: ss.AgentTokenHash, Until: ss.ExpiresAt.Add(s.Config.LookupGrace)},
		acquireMachine: true,
		events:         []events.Event{activated},
		after: func(ctx context.Context) {
			s.unschedule(ctx, inviteSchedule(id))
			s.schedule(ctx, sessionSchedule(id), expiresAt, id)
			s.schedule(ctx, pairingSchedule(id), secretsUntil, id)
		},
	}, token, nil
}

// pairAnswer is the answer of a pairing. token and password are empty for a retried
// pairing, which gets the stored token and password again (both opened with the
// invitation's token).
func (s *Service) pairAnswer(ctx context.Context, ss session.Session, inviteToken, token string, password []byte) (PairResult, error) {
	if token == "" {
		if ss.SealedAgentToken == nil {
			return PairResult{}, refusePending(session.Active)
		}
		raw, err := s.openPairing(ctx, &ss, inviteToken, ss.SealedAgentToken)
		if err != nil {
			s.log().Error("the sealed agent token does not open", "session", ss.ID, "error", err)
			return PairResult{}, fmt.Errorf("pair: opening the agent token: %w", err)
		}
		token = string(raw)
		clear(raw)
	}
	if password == nil {
		var err error
		if password, err = s.openPairing(ctx, &ss, inviteToken, ss.SealedPassword); err != nil {
			s.log().Error("the sealed password does not open", "session", ss.ID, "error", err)
			return PairResult{}, fmt.Errorf("pair: opening the password: %w", err)
		}
	}
	s.log().Info("session activated", "session", ss.ID, "hostname", ss.Computer.Hostname)
	return PairResult{
		AgentToken: token, SessionID: ss.ID, ExpiresAt: ss.ExpiresAt,
		Username: ss.Username, Password: password,
		Interval: s.Config.ActiveInterval,
		LiveURL:  s.liveURL(),
	}, nil
}

// JoinInfo is what the join page needs to know about an invitation.
type JoinInfo struct {
	Locale          string
	Status          session.State
	Open            bool // the app can still be started and paired
	TechnicianName  string
	InviteExpiresAt time.Time
	SessionHours    int
}

// JoinInfo describes the invitation of an invite token for the join page.
func (s *Service) JoinInfo(ctx context.Context, token string) (JoinInfo, error) {
	if !protocol.ValidToken(token) {
		return JoinInfo{}, refuse(CodeNotFound, "This invitation link is not known.")
	}
	ss, err := s.invitation(ctx, token)
	if err != nil {
		return JoinInfo{}, gone(err)
	}
	eff := ss.Effective(s.now())
	return JoinInfo{
		Locale: ss.Locale, Status: eff, Open: eff.Pending(), TechnicianName: ss.TechnicianName,
		InviteExpiresAt: ss.InviteExpiresAt, SessionHours: s.sessionHours(),
	}, nil
}
