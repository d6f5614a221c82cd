package views

import (
	"encoding/json"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// SessionMessage is what a console is pushed when a session it may see changes: the
// session as GET /v1/sessions/{id} shows it, with the message's type.
type SessionMessage struct {
	Type string `json:"type"` // protocol.TypeSession
	SessionView
}

// Presenter writes the live channel's messages (support.Presenter).
type Presenter struct{}

var _ support.Presenter = Presenter{}

// StatusMessage is the app's {"type":"status",…}: what a poll would answer.
func (Presenter) StatusMessage(status session.State, expiresAt time.Time) ([]byte, error) {
	return json.Marshal(protocol.LiveStatus{Type: protocol.TypeStatus, Status: AgentStatus(status), ExpiresAt: expiresAt})
}

// SessionMessage is a console's {"type":"session",…}.
func (Presenter) SessionMessage(v support.SessionInfo) ([]byte, error) {
	return json.Marshal(SessionMessage{Type: protocol.TypeSession, SessionView: Session(v)})
}

// RemoteMessage is the app's {"type":"remote",…}: a technician is starting a remote
// connection.
func (Presenter) RemoteMessage(r support.RemoteStarted) ([]byte, error) {
	return json.Marshal(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: r.RemoteID, ICEServers: r.ICEServers,
		Technician: r.Technician, ExpiresAt: r.ExpiresAt})
}

// SignalMessage is {"type":"signal",…}: the other end's signal, with the session's id
// for a console and without for the app.
func (Presenter) SignalMessage(sessionID, remoteID string, sig protocol.Signal) ([]byte, error) {
	return json.Marshal(protocol.LiveSignal{Type: protocol.TypeSignal, SessionID: sessionID, RemoteID: remoteID, Signal: sig})
}

// Live is the live channel that pushes through p the messages Presenter writes: what a
// support.Service's Live field wants.
func Live(p support.Pusher) support.Live {
	return live{Pusher: p}
}

type live struct {
	support.Pusher
	Presenter
}
