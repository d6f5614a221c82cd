package support

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Remote access (DESIGN.md, "Remote access"; the contract between console, server and app
// is remote-protocol): a technician starts a remote connection to the PC of an active
// session whose app holds its live connection; the server tells the app, relays the
// WebRTC signals between the console tab that started it and the app, and records the
// start and the end the app reports. What flows in the connection never passes the server.
//
// One technician at a time per session: a start while another technician's remote
// connection is pending or connected is refused (remote_busy); the same technician starting
// again replaces their older attempt (a reloaded page), which the app ends as superseded.
// The session item carries the current remote connection, so every rule is decided on the
// item that is read anyway and enforced by its conditional write: of two racing starts
// exactly one wins.

// Audit actions of remote access.
const (
	ActionRemoteStarted = "remote_started"
	ActionRemoteEnded   = "remote_ended"
)

// RemoteStarted is a remote connection the technician has just started: what the
// console needs to set it up (POST /v1/sessions/{id}/remote).
type RemoteStarted struct {
	RemoteID   string
	ICEServers []protocol.ICEServer
	ExpiresAt  time.Time // when the ICE servers' credentials expire
	Technician string    // who is connecting, as the PC's notice names them
}

var errNoRemoteAccess = refuse(CodeNotFound, "This deployment has no remote access.")

// StartRemote starts a remote connection of the technician to the session's PC: it checks
// the rules, asks for ICE servers, records the remote connection on the session (audit
// remote_started, event RemoteAccessStarted) and tells the app over its live connection.
func (s *Service) StartRemote(ctx context.Context, tech Technician, id string) (RemoteStarted, error) {
	if s.Live == nil || s.ICE == nil {
		return RemoteStarted{}, errNoRemoteAccess
	}
	cur, err := s.visible(ctx, tech, id)
	if err != nil {
		return RemoteStarted{}, err
	}
	// Decided once before the ICE servers are asked for (in AWS the first request of an
	// account makes its signalling channel), and again on the item the write is
	// conditional on.
	if err := remoteRefusal(&cur, tech, s.now()); err != nil {
		return RemoteStarted{}, err
	}
	remoteID := secrets.NewRemoteID()
	servers, expires, err := s.ICE.Servers(ctx, tech.Account, remoteID)
	if err != nil {
		return RemoteStarted{}, fmt.Errorf("remote for %s: ice servers: %w", id, err)
	}
	name := tech.displayName()
	ss, err := s.updateFrom(ctx, cur, func(ss *session.Session, now time.Time) (*step, error) {
		if st, err := s.expireIfOverdue(ss, now); !errors.Is(err, errNoChange) {
			return st, err
		}
		if err := remoteRefusal(ss, tech, now); err != nil {
			return nil, err
		}
		ss.StartRemote(session.Remote{ID: remoteID, Technician: tech.ID, TechnicianName: name,
			StartedAt: now, PendingUntil: now.Add(protocol.RemoteAnswerTimeout)})
		e := event(events.RemoteAccessStarted, ss, now)
		e.Detail.Remote = &events.Remote{RemoteID: remoteID, Technician: tech.ID, StartedAt: now}
		return &step{
			action: ActionRemoteStarted, actor: tech.actor(),
			detail: fmt.Sprintf("remoteId=%s technician=%s", remoteID, tech.ID),
			events: []events.Event{e},
		}, nil
	})
	if err != nil {
		return RemoteStarted{}, fmt.Errorf("remote for %s: %w", id, gone(err))
	}
	if ss.Remote == nil || ss.Remote.ID != remoteID {
		// Time had ended the session: the write above recorded that instead.
		return RemoteStarted{}, errNotActive
	}
	out := RemoteStarted{RemoteID: remoteID, ICEServers: servers, ExpiresAt: expires, Technician: name}
	msg, err := s.Live.RemoteMessage(out)
	if err != nil {
		return RemoteStarted{}, fmt.Errorf("remote for %s: %w", id, err)
	}
	err = s.Live.Push(ctx, ss.LiveConnection, msg)
	switch {
	case errors.Is(err, ErrGone):
		// The app's connection closed without its $disconnect yet: the PC cannot be
		// reached, and the remote connection is over before it began.
		s.unreachable(ctx, ss, remoteID)
		return RemoteStarted{}, errOffline
	case err != nil:
		// The app may still have it; if not, the remote connection ends unanswered after
		// protocol.RemoteAnswerTimeout, which the console tells the technician.
		s.log().Warn("remote: push to the app failed", "session", id, "remote", remoteID, "error", err)
	}
	s.log().Info("remote connection started", "session", id, "remote", remoteID, "technician", tech.ID)
	return out, nil
}

var (
	errNotActive = refuse(CodeNotActive, "The session is not active.")
	errOffline   = refuse(CodePCOffline, "The PC is not online.")
)

// remoteRefusal says why the technician may not start a remote connection now, or nil.
func remoteRefusal(ss *session.Session, tech Technician, now time.Time) error {
	switch {
	case ss.Effective(now) != session.Active:
		return errNotActive
	case !ss.Live(now):
		// Polling alone is not enough: the signals travel over the app's live connection.
		return errOffline
	}
	if r := ss.CurrentRemote(now); r != nil && r.Technician != tech.ID {
		return refuse(CodeRemoteBusy, r.TechnicianName+" is connected to this PC; one technician at a time.")
	}
	return nil
}

// unreachable ends a remote connection whose start could not reach the app, whose live
// connection turned out to be gone: the connection is forgotten, and the audit records
// the end the app never can.
func (s *Service) unreachable(ctx context.Context, ss session.Session, remoteID string) {
	actx, cancel := detached(ctx)
	defer cancel()
	gone := ss.LiveConnection
	_, err := s.updateFrom(actx, ss, func(ss *session.Session, now time.Time) (*step, error) {
		start, ok := ss.TakeReport(remoteID)
		if !ok {
			return nil, errNoChange
		}
		if ss.LiveConnection == gone {
			ss.LiveConnection, ss.LiveSince = "", time.Time{}
		}
		return s.remoteEnd(ss, start, RemoteReport{RemoteID: remoteID, Reason: protocol.RemoteFailed}, session.ActorRemote, now,
			"the PC's live connection was gone"), nil
	})
	if err != nil {
		s.log().Warn("remote: forgetting an unreachable remote connection failed", "session", ss.ID, "remote", remoteID, "error", err)
	}
}

// Signal relays one signal of a remote connection to its other end, only between the two
// ends of the same session and remote connection: the console tab of the technician who
// started it (the first tab to signal binds it; no other may follow) and the session's app.
// The app answers the console's offer. Anything else is refused with no_remote, which says
// nothing about why: a stranger learns nothing of the session. sessionID is the console's
// (the app's is its own).
func (s *Service) Signal(ctx context.Context, peer LivePeer, connectionID, sessionID, remoteID string, sig protocol.Signal) error {
	if s.Live == nil {
		return errNoRemote
	}
	if err := checkSignal(peer.Kind, sig); err != nil {
		return err
	}
	var (
		to    string // the other end's live connection
		named string // the session the relayed message names: only a console is told
		ss    session.Session
		err   error
	)
	switch peer.Kind {
	case PeerConsole:
		if sessionID == "" {
			return refuse(CodeInvalidRequest, `A console's signal names its session ("sessionId").`)
		}
		ss, err = s.consoleSignal(ctx, peer, connectionID, sessionID, remoteID)
		to = ss.LiveConnection
	case PeerApp:
		if sessionID != "" && sessionID != peer.SessionID {
			return errNoRemote
		}
		ss, err = s.appSignal(ctx, peer, remoteID, sig)
		if err == nil {
			to, named = ss.Remote.Console, ss.ID
		}
	default:
		return fmt.Errorf("signal: unknown peer kind %q", peer.Kind)
	}
	if err != nil {
		return err
	}
	msg, err := s.Live.SignalMessage(named, remoteID, sig)
	if err != nil {
		return fmt.Errorf("signal: %w", err)
	}
	if err := s.Live.Push(ctx, to, msg); errors.Is(err, ErrGone) {
		return errNoRemote
	} else if err != nil {
		return fmt.Errorf("signal of %s: %w", remoteID, err)
	}
	return nil
}

var errNoRemote = refuse(CodeNoRemote, "There is no remote connection to signal.")

// checkSignal checks a signal's form: the console offers and the app answers, both
// trickle candidates and may say bye. This depends on nothing stored.
func checkSignal(kind string, sig protocol.Signal) error {
	var ok bool
	switch sig.Kind {
	case protocol.SignalOffer:
		ok = kind == PeerConsole && sig.SDP != ""
	case protocol.SignalAnswer:
		ok = kind == PeerApp && sig.SDP != ""
	case protocol.SignalCandidate:
		ok = sig.Candidate == nil || sig.Candidate.Candidate != "" || sig.Candidate.SDPMid != nil || sig.Candidate.SDPMLineIndex != nil
	case protocol.SignalBye:
		ok = sig.Reason == "" || slices.Contains(remoteReasons, sig.Reason)
	}
	if !ok {
		return refuse(CodeInvalidRequest, "The console sends offers, the app answers; both send candidates and bye, as api/asyncapi.yaml describes them.")
	}
	return nil
}

// consoleSignal finds the session of a console's signal, and binds the console tab to the
// remote connection with its first signal.
func (s *Service) consoleSignal(ctx context.Context, peer LivePeer, conn, sessionID, remoteID string) (session.Session, error) {
	if !secrets.ValidSessionID(sessionID) || !secrets.ValidRemoteID(remoteID) {
		return session.Session{}, errNoRemote
	}
	cur, err := s.Store.GetSession(ctx, sessionID)
	if errors.Is(err, ErrNotFound) {
		return session.Session{}, errNoRemote
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("signal: read session %s: %w", sessionID, err)
	}
	if cur.Account != peer.Account {
		return session.Session{}, errNoRemote
	}
	ours := func(ss *session.Session, now time.Time) (*session.Remote, error) {
		r := ss.CurrentRemote(now)
		if r == nil || r.ID != remoteID || r.Technician != peer.Technician || !ss.Live(now) ||
			r.Console != "" && r.Console != conn {
			return nil, errNoRemote
		}
		return r, nil
	}
	if r, err := ours(&cur, s.now()); err != nil || r.Console == conn {
		return cur, err
	}
	return s.updateFrom(ctx, cur, func(ss *session.Session, now time.Time) (*step, error) {
		r, err := ours(ss, now)
		if err != nil {
			return nil, err
		}
		if r.Console == conn {
			return nil, errNoChange // a racing signal of the same tab bound it
		}
		bound := *r
		bound.Console = conn
		ss.Remote = &bound
		return &step{}, nil
	})
}

// appSignal finds the remote connection of the app's signal; the app's answer marks it
// connected.
func (s *Service) appSignal(ctx context.Context, peer LivePeer, remoteID string, sig protocol.Signal) (session.Session, error) {
	cur, err := s.Store.GetSession(ctx, peer.SessionID)
	if errors.Is(err, ErrNotFound) {
		return session.Session{}, errNoRemote
	}
	if err != nil {
		return session.Session{}, fmt.Errorf("signal: read session %s: %w", peer.SessionID, err)
	}
	ours := func(ss *session.Session, now time.Time) (*session.Remote, error) {
		r := ss.CurrentRemote(now)
		if r == nil || r.ID != remoteID || r.Console == "" {
			// Nobody to relay to: the console has not signalled (the app answers an
			// offer, so it cannot have), or the remote connection is over.
			return nil, errNoRemote
		}
		return r, nil
	}
	r, err := ours(&cur, s.now())
	if err != nil || sig.Kind != protocol.SignalAnswer || !r.ConnectedAt.IsZero() {
		return cur, err
	}
	return s.updateFrom(ctx, cur, func(ss *session.Session, now time.Time) (*step, error) {
		r, err := ours(ss, now)
		if err != nil {
			return nil, err
		}
		if !r.ConnectedAt.IsZero() {
			return nil, errNoChange
		}
		answered := *r
		answered.ConnectedAt = now
		ss.Remote = &answered
		return &step{}, nil
	})
}

// RemoteReport is the app's report of a remote connection's end
// (POST /v1/agent/remote/ended).
type RemoteReport struct {
	RemoteID    string
	Reason      string   // one of the protocol.Remote… reasons
	Channels    []string // the data channels that were opened
	Duration    time.Duration
	BytesToPC   int64
	BytesFromPC int64
}

// remoteReasons are the reasons a remote connection may end with (remote-protocol).
var remoteReasons = []string{
	protocol.RemoteDisconnectedByTechnician, protocol.RemoteDisconnectedByUser, protocol.RemoteSessionEnded,
	protocol.RemotePasswordAttempts, protocol.RemoteFailed, protocol.RemoteServiceStopped, protocol.RemoteSuperseded,
}

// channelLabel is the form of a data channel's label in a report: issue 14 adds channels,
// so the labels are not a fixed list, but they go into the audit and must stay plain.
var channelLabel = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

const maxReportChannels = 16

func checkReport(r RemoteReport) error {
	switch {
	case !secrets.ValidRemoteID(r.RemoteID):
		return refuse(CodeInvalidRequest, "remoteId is not a remote connection's id.")
	case !slices.Contains(remoteReasons, r.Reason):
		return refuse(CodeInvalidRequest, "reason must be one of: "+strings.Join(remoteReasons, ", ")+".")
	case len(r.Channels) > maxReportChannels:
		return refuse(CodeInvalidRequest, "channels lists too many channels.")
	case r.Duration < 0 || r.BytesToPC < 0 || r.BytesFromPC < 0:
		return refuse(CodeInvalidRequest, "durationMs, bytesToPc and bytesFromPc must not be negative.")
	}
	for _, c := range r.Channels {
		if !channelLabel.MatchString(c) {
			return refuse(CodeInvalidRequest, "channels holds a label that is not a data channel's.")
		}
	}
	return nil
}

// RemoteEnded records the app's report of a remote connection's end: the audit entry
// remote_ended with its figures and the event RemoteAccessEnded, once per remote
// connection (a repeated report changes nothing), for remote connections of the app's own
// session only, in whatever state the session is now (its end ends them all). A report of
// the current remote connection frees the PC for the next technician.
func (s *Service) RemoteEnded(ctx context.Context, token string, rep RemoteReport) error {
	ss, err := s.agentSession(ctx, token)
	if err != nil {
		return err
	}
	// After the token, as everywhere: a stranger learns nothing from the form of a body.
	if err := checkReport(rep); err != nil {
		return err
	}
	_, err = s.updateFrom(ctx, ss, func(ss *session.Session, now time.Time) (*step, error) {
		start, ok := ss.TakeReport(rep.RemoteID)
		if !ok {
			return nil, errNoChange // reported already, or not one of this session's
		}
		return s.remoteEnd(ss, start, rep, appActor(ss.Computer), now, ""), nil
	})
	if err != nil {
		return fmt.Errorf("remote %s ended: %w", rep.RemoteID, gone(err))
	}
	s.log().Info("remote connection ended", "session", ss.ID, "remote", rep.RemoteID, "reason", rep.Reason)
	return nil
}

// remoteEnd is the audit entry and the event of a remote connection's end.
func (s *Service) remoteEnd(ss *session.Session, start session.RemoteStart, rep RemoteReport, actor session.Actor, now time.Time, note string) *step {
	channels := "none"
	if len(rep.Channels) > 0 {
		channels = strings.Join(rep.Channels, ",")
	}
	ms := rep.Duration.Milliseconds()
	detail := fmt.Sprintf("remoteId=%s technician=%s reason=%s channels=%s durationMs=%d bytesToPc=%d bytesFromPc=%d",
		rep.RemoteID, start.Technician, rep.Reason, channels, ms, rep.BytesToPC, rep.BytesFromPC)
	if note != "" {
		detail += " (" + note + ")"
	}
	e := event(events.RemoteAccessEnded, ss, now)
	e.Detail.Remote = &events.Remote{RemoteID: rep.RemoteID, Technician: start.Technician, StartedAt: start.StartedAt, EndedAt: &now,
		Reason: rep.Reason, Channels: rep.Channels, DurationMs: ms, BytesToPC: rep.BytesToPC, BytesFromPC: rep.BytesFromPC}
	return &step{action: ActionRemoteEnded, actor: actor, detail: detail, events: []events.Event{e}}
}
