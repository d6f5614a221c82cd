package protocol

import (
	"encoding/json"
	"time"
)

// Remote access (DESIGN.md, "Remote access"): the technician's console and the app set up
// a WebRTC connection whose offers, answers and ICE candidates travel over the two live
// connections; the data channels carry the terminal, the files, the screen, the input and the clipboard. This file holds what the
// server, the console and the app say to each other about it; what flows inside the data
// channels is the app's business (agent/remote).

// Types of the remote-access messages the server sends on a live connection.
const (
	// TypeRemote tells the app that a technician wants to connect (LiveRemote).
	TypeRemote = "remote"
	// TypeSignal carries a signal of the other end (LiveSignal).
	TypeSignal = "signal"
)

// Kinds of Signal.
const (
	SignalOffer     = "offer"
	SignalAnswer    = "answer"
	SignalCandidate = "candidate"
	SignalBye       = "bye"
)

// Reasons a remote connection ends, as the app reports them (RemoteEndedRequest) and as a
// bye signal may carry them.
const (
	RemoteDisconnectedByTechnician = "disconnected_by_technician"
	RemoteDisconnectedByUser       = "disconnected_by_user"
	RemoteSessionEnded             = "session_ended"
	RemotePasswordAttempts         = "password_attempts"
	RemoteFailed                   = "failed" // ICE or DTLS failed or timed out
	RemoteServiceStopped           = "service_stopped"
	RemoteSuperseded               = "superseded"
)

// RemoteAnswerTimeout is how long a remote connection waits for the app's answer: the
// server treats a remote connection the app has not answered within it as ended (lazily,
// as time ends a session), and the app gives up on one that has not connected by then.
const RemoteAnswerTimeout = 30 * time.Second

// Labels of the data channels the console creates.
const (
	ChannelTerminal = "terminal"
	ChannelFiles    = "files"
	// Issue 14: the user's screen, the technician's mouse and keyboard, and the
	// clipboard, served through the helper in the user's session.
	ChannelScreen    = "screen"
	ChannelInput     = "input"
	ChannelClipboard = "clipboard"
)

// LiveRemote is the server's push to the app's live connection when a technician starts a
// remote connection (POST /v1/sessions/{id}/remote).
type LiveRemote struct {
	Type       string      `json:"type"` // TypeRemote
	RemoteID   string      `json:"remoteId"`
	ICEServers []ICEServer `json:"iceServers"`
	Technician string      `json:"technician"`
	// ExpiresAt is when the ICE servers' credentials expire.
	ExpiresAt time.Time `json:"expiresAt"`
}

// LiveSignal is a signal the server relays from the other end of a remote connection. To
// the app it carries no session id; to a console it does.
type LiveSignal struct {
	Type      string `json:"type"` // TypeSignal
	SessionID string `json:"sessionId,omitempty"`
	RemoteID  string `json:"remoteId"`
	Signal    Signal `json:"signal"`
}

// SignalAction is a client's {"action":"signal",…}: the console names the session, the
// app does not (its agent token does).
type SignalAction struct {
	Action    string `json:"action"` // ActionSignal
	SessionID string `json:"sessionId,omitempty"`
	RemoteID  string `json:"remoteId"`
	Signal    Signal `json:"signal"`
}

// Signal is an offer, an answer, an ICE candidate or a bye.
type Signal struct {
	Kind string `json:"kind"`
	// SDP is the session description of an offer or an answer.
	SDP string `json:"sdp,omitempty"`
	// Candidate is a candidate's RTCIceCandidateInit; a "candidate" signal with none
	// (JSON null) ends the trickle.
	Candidate *ICECandidate `json:"candidate,omitempty"`
	// Reason is why a bye ends the connection (one of the Remote… reasons).
	Reason string `json:"reason,omitempty"`
}

// MarshalJSON writes the end of the trickle as "candidate": null, as browsers expect it.
func (s Signal) MarshalJSON() ([]byte, error) {
	type plain Signal
	if s.Kind == SignalCandidate && s.Candidate == nil {
		return json.Marshal(struct {
			Kind      string        `json:"kind"`
			Candidate *ICECandidate `json:"candidate"`
		}{s.Kind, nil})
	}
	return json.Marshal(plain(s))
}

// ICECandidate is an RTCIceCandidateInit, as a browser's candidate.toJSON() gives it.
type ICECandidate struct {
	Candidate        string  `json:"candidate"`
	SDPMid           *string `json:"sdpMid,omitempty"`
	SDPMLineIndex    *uint16 `json:"sdpMLineIndex,omitempty"`
	UsernameFragment *string `json:"usernameFragment,omitempty"`
}

// RemoteEndedRequest is the app's report of a remote connection's end: the server writes
// the audit entry remote_ended from it. Idempotent per RemoteID.
type RemoteEndedRequest struct {
	RemoteID string `json:"remoteId"`
	Reason   string `json:"reason"`
	// Channels are the labels of the data channels that were opened.
	Channels   []string `json:"channels"`
	DurationMs int64    `json:"durationMs"`
	// BytesToPC and BytesFromPC count the data channels' payload.
	BytesToPC   int64 `json:"bytesToPc"`
	BytesFromPC int64 `json:"bytesFromPc"`
}
