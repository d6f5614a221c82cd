package support

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// The live channel (DESIGN.md, "Live channel"): the app and every console tab hold a
// WebSocket, and every change of a session is pushed to the connections that may see it
// right after its commit, so that nobody waits for a poll. Polls stay as the safety net.

// Kinds of live peers.
const (
	PeerApp     = "app"
	PeerConsole = "console"
)

// LivePeer is who holds a live connection, as AuthorizeLive found it. The WebSocket API
// hands it to every later event of the connection (the authorizer's context).
type LivePeer struct {
	Kind       string // PeerApp or PeerConsole
	SessionID  string // the app's session
	Account    string
	Technician string // a console's technician; for the app, the session's technician
	Admin      bool   // a console of an admins member
}

// LiveTicket is a console's one-use ticket for the live channel: URL is where to connect,
// the ticket already in its query.
type LiveTicket struct {
	Ticket    string
	URL       string
	ExpiresAt time.Time
}

// errNoLive refuses live-channel calls of a deployment without one.
var errNoLive = refuse(CodeNotFound, "This deployment has no live channel; poll instead.")

// IssueTicket gives a console tab a ticket for one live connection, valid for a minute.
// Only the ticket's hash is stored.
func (s *Service) IssueTicket(ctx context.Context, tech Technician) (LiveTicket, error) {
	if s.Config.LiveURL == "" || s.Live == nil {
		return LiveTicket{}, errNoLive
	}
	ticket, err := secrets.NewToken()
	if err != nil {
		return LiveTicket{}, fmt.Errorf("ticket: %w", err)
	}
	expires := s.now().Add(protocol.LiveTicketLifetime)
	if err := s.Store.PutTicket(ctx, Ticket{Hash: secrets.HashToken(ticket), Technician: tech, ExpiresAt: expires}); err != nil {
		return LiveTicket{}, fmt.Errorf("ticket: %w", err)
	}
	return LiveTicket{Ticket: ticket, URL: s.liveURLWith("ticket", ticket), ExpiresAt: expires}, nil
}

func (s *Service) liveURLWith(key, value string) string {
	sep := "?"
	if strings.Contains(s.Config.LiveURL, "?") {
		sep = "&"
	}
	return s.Config.LiveURL + sep + key + "=" + url.QueryEscape(value)
}

var errLiveUnauthorized = refuse(CodeUnauthorized, "A live connection needs the app's token (Authorization: Bearer) or a console ticket (?ticket=).")

// AuthorizeLive decides a live connection's handshake: the app by its agent token (its
// session must be active), a console tab by its one-use ticket. Anything else is refused,
// and nothing is stored for a refused handshake.
func (s *Service) AuthorizeLive(ctx context.Context, bearer, ticket string) (LivePeer, error) {
	switch {
	case bearer != "" && ticket != "":
		return LivePeer{}, errLiveUnauthorized // one credential, not a choice of two
	case bearer != "":
		ss, err := s.agentSession(ctx, bearer)
		if err != nil {
			return LivePeer{}, err
		}
		if ss.Effective(s.now()) != session.Active {
			return LivePeer{}, refuse(CodeExpired, "The session is over.")
		}
		return LivePeer{Kind: PeerApp, SessionID: ss.ID, Account: ss.Account, Technician: ss.Technician}, nil
	case ticket != "":
		if !protocol.ValidToken(ticket) {
			return LivePeer{}, errLiveUnauthorized
		}
		t, err := s.Store.TakeTicket(ctx, secrets.HashToken(ticket), s.now())
		if errors.Is(err, ErrNotFound) {
			return LivePeer{}, refuse(CodeUnauthorized, "The ticket is not known, was used already or has expired; ask for a new one.")
		}
		if err != nil {
			return LivePeer{}, fmt.Errorf("live ticket: %w", err)
		}
		tech := t.Technician
		return LivePeer{Kind: PeerConsole, Account: tech.Account, Technician: tech.ID, Admin: tech.Admin}, nil
	}
	return LivePeer{}, errLiveUnauthorized
}

// LiveConnected records a connection that the gateway has accepted: the app's on its
// session item (so a poll, a listing and a push find it without another read), a
// console's as an item of its own.
func (s *Service) LiveConnected(ctx context.Context, peer LivePeer, connectionID string) error {
	now := s.now()
	switch peer.Kind {
	case PeerConsole:
		c := ConsoleConnection{ID: connectionID, Account: peer.Account, Technician: peer.Technician, Admin: peer.Admin,
			Since: now, Until: now.Add(protocol.MaxLiveConnection)}
		if err := s.Store.PutConsole(ctx, c); err != nil {
			return fmt.Errorf("console connected: %w", err)
		}
		return nil
	case PeerApp:
		ss, err := s.update(ctx, peer.SessionID, func(ss *session.Session, now time.Time) (*step, error) {
			// Time may have ended the session since the handshake was authorized: write
			// that down, and refuse below.
			if st, err := s.expireIfOverdue(ss, now); !errors.Is(err, errNoChange) {
				return st, err
			}
			if ss.Status != session.Active {
				return nil, errNoChange
			}
			ss.LiveConnection, ss.LiveSince = connectionID, now
			return &step{}, nil
		})
		if err != nil {
			return fmt.Errorf("app connected: %w", gone(err))
		}
		if ss.Status != session.Active || ss.LiveConnection != connectionID {
			return refuse(CodeExpired, "The session is over.")
		}
		return nil
	}
	return fmt.Errorf("live connected: unknown peer kind %q", peer.Kind)
}

// LiveDisconnected forgets a closed connection. The app's is forgotten only if it is still
// the one on record: after a reconnect the old connection's end must not hide the new one.
func (s *Service) LiveDisconnected(ctx context.Context, peer LivePeer, connectionID string) error {
	switch peer.Kind {
	case PeerConsole:
		if err := s.Store.DeleteConsole(ctx, peer.Account, connectionID); err != nil {
			return fmt.Errorf("console disconnected: %w", err)
		}
		return nil
	case PeerApp:
		_, err := s.update(ctx, peer.SessionID, func(ss *session.Session, _ time.Time) (*step, error) {
			if ss.LiveConnection != connectionID {
				return nil, errNoChange
			}
			ss.LiveConnection, ss.LiveSince = "", time.Time{}
			return &step{}, nil
		})
		if errors.Is(err, ErrNotFound) {
			return nil // storage has dropped the session: nothing to forget
		}
		if err != nil {
			return fmt.Errorf("app disconnected: %w", err)
		}
		return nil
	}
	return fmt.Errorf("live disconnected: unknown peer kind %q", peer.Kind)
}

// LiveSend sends one message, as the live function writes it (a pong, an error answer), to
// a connection.
func (s *Service) LiveSend(ctx context.Context, connectionID string, msg []byte) error {
	if s.Live == nil {
		return errNoLive
	}
	if err := s.Live.Push(ctx, connectionID, msg); err != nil {
		return fmt.Errorf("push to %s: %w", connectionID, err)
	}
	return nil
}

// maxPushers bounds the pushes to consoles that run at once.
const maxPushers = 8

// notify pushes a committed change to whoever holds a live connection and may see it: the
// session's app, when what a poll would answer has changed, and every console of the
// account's technicians who may see the session, when what they see has changed. It is
// best effort after the commit: a push that fails loses nothing, as the polls catch up.
func (s *Service) notify(ctx context.Context, before, after session.Session) {
	if s.Live == nil {
		return
	}
	now := s.now()
	if after.LiveConnection != "" && after.Status != before.Status {
		if status, err := agentStatus(after.Status); err == nil {
			s.pushApp(ctx, after, status)
		}
	}
	v := info(&after, now)
	if !s.consoleSees(info(&before, now), v) {
		return
	}
	consoles, err := s.Store.Consoles(ctx, after.Account)
	if err != nil {
		s.log().Warn("live: listing console connections failed", "session", after.ID, "error", err)
		return
	}
	msg, err := s.Live.SessionMessage(v)
	if err != nil {
		s.log().Error("live: encoding the session message failed", "session", after.ID, "error", err)
		return
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxPushers)
	for _, c := range consoles {
		if c.Account != after.Account || !(c.Admin || c.Technician == after.Technician) {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			err := s.Live.Push(ctx, c.ID, msg)
			switch {
			case errors.Is(err, ErrGone):
				// Its $disconnect may never come: forget it now.
				if derr := s.Store.DeleteConsole(ctx, c.Account, c.ID); derr != nil {
					s.log().Warn("live: forgetting a gone console connection failed", "connection", c.ID, "error", derr)
				}
			case err != nil:
				s.log().Warn("live: push to a console failed", "session", after.ID, "connection", c.ID, "error", err)
			}
		}()
	}
	wg.Wait()
}

// pushApp tells the app its session's status, as a poll would.
func (s *Service) pushApp(ctx context.Context, ss session.Session, status session.State) {
	msg, err := s.Live.StatusMessage(status, ss.ExpiresAt)
	if err != nil {
		s.log().Error("live: encoding the status message failed", "session", ss.ID, "error", err)
		return
	}
	err = s.Live.Push(ctx, ss.LiveConnection, msg)
	switch {
	case errors.Is(err, ErrGone):
		// The app's connection dropped without a $disconnect yet; its safety poll tells it.
		s.log().Info("live: the app's connection is gone", "session", ss.ID)
	case err != nil:
		s.log().Warn("live: push to the app failed", "session", ss.ID, "error", err)
	}
}

// consoleSees reports whether a console would see a difference between two states of a
// session: whether the messages it would be pushed differ. The last-seen time alone is no
// difference: it moves with every minute's poll, and "online" shows what matters of it.
func (s *Service) consoleSees(before, after SessionInfo) bool {
	strip := func(v SessionInfo) []byte {
		if v.Computer != nil {
			c := *v.Computer
			c.LastSeenAt = time.Time{}
			v.Computer = &c
		}
		raw, _ := s.Live.SessionMessage(v)
		return raw
	}
	return !bytes.Equal(strip(before), strip(after))
}
