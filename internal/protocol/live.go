package protocol

import (
	"encoding/json"
	"time"
)

// The live channel (DESIGN.md, "Live channel"): one WebSocket per app and per console tab.
// Clients send JSON objects with an "action" (API Gateway's route selection on
// $request.body.action); the server sends JSON objects with a "type". api/asyncapi.yaml
// describes every message; the tests validate what flows against it.

// Actions a client may send.
const (
	ActionPing   = "ping"   // → {"type":"pong"}; keeps the connection inside the idle timeout
	ActionSignal = "signal" // remote access: offers, answers and ICE candidates
)

// Types of the messages the server sends.
const (
	TypePong    = "pong"
	TypeError   = "error"
	TypeStatus  = "status"  // to the app: its session's state changed
	TypeSession = "session" // to a console: a session it may see changed
)

// Limits of the live channel, as API Gateway's WebSocket APIs enforce them. The local
// gateway enforces the same (shorter ones may be configured for tests).
const (
	MaxLiveMessage     = 128 << 10
	LiveIdleTimeout    = 10 * time.Minute
	MaxLiveConnection  = 2 * time.Hour
	LiveTicketLifetime = 60 * time.Second
)

// LivePingInterval is how often a client with nothing else to send pings its live
// connection. API Gateway closes a connection that carried no message for LiveIdleTimeout
// (10 minutes); 8 minutes stays inside it with 2 minutes to spare for a timer that fires
// late (a PC waking from sleep, a busy service) and for the ping's way there, while
// sending as few billed messages as that allows. The app and the cost model
// (internal/measure/bench) use this one value.
const LivePingInterval = 8 * time.Minute

// LiveRenewAge is how long a client keeps one connection before it opens the next, at a
// jittered 90–100 % of it, so that API Gateway's 2-hour cap never cuts a connection and
// many clients that connected together do not renew together. The new connection is
// opened before the old one is closed: no push falls into a gap.
const LiveRenewAge = MaxLiveConnection - 10*time.Minute

// LiveAction is what every client message carries; the rest depends on the action.
type LiveAction struct {
	Action string `json:"action"`
}

// LiveStatus tells the app that its session changed, exactly as a poll would.
type LiveStatus struct {
	Type      string    `json:"type"` // TypeStatus
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// LiveError answers a message the server could not take; the connection stays open.
type LiveError struct {
	Type    string `json:"type"` // TypeError
	Code    string `json:"code"`
	Message string `json:"message,omitempty"`
}

// Error codes of LiveError.
const (
	LiveCodeMalformed     = "malformed"      // not a JSON object with a string "action"
	LiveCodeUnknownAction = "unknown_action" // an action this server does not know
	LiveCodeTooLarge      = "too_large"      // a message larger than the action allows
	LiveCodeNoRemote      = "no_remote"      // a signal without a remote connection to carry it
	LiveCodeInternal      = "internal_error"
)

// LiveType returns the "type" of a server message, or "" when raw is not one.
func LiveType(raw []byte) string {
	var m struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return m.Type
}

// Pong is the answer to a ping.
var Pong = []byte(`{"type":"pong"}`)

// ICEServer is one entry of a WebRTC configuration's iceServers, as the browser's
// RTCPeerConnection and pion take it: TURN (or STUN) URLs with their credentials.
type ICEServer struct {
	URLs       []string `json:"urls"`
	Username   string   `json:"username,omitempty"`
	Credential string   `json:"credential,omitempty"`
}
