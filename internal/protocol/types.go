// Package protocol is the wire format of the Support Session app's API (DESIGN.md, "Agent
// routes") and a Go client for it. The pairing handlers answer with these types, and the
// Windows app and the tests speak through the client, so both sides share one definition.
package protocol

import "time"

// Paths of the agent routes.
const (
	PathHello   = "/v1/agent/hello"
	PathPair    = "/v1/agent/pair"
	PathPoll    = "/v1/agent/poll"
	PathEnd     = "/v1/agent/end"
	PathRemoved = "/v1/agent/removed"
	// PathRemoteEnded is where the app reports the end of a remote connection.
	PathRemoteEnded = "/v1/agent/remote/ended"
)

// PlatformWindows is the only platform that can be supported ad hoc.
const PlatformWindows = "windows"

// Status values the server answers the app with.
const (
	StatusInvited    = "invited"
	StatusAppStarted = "app_started"
	StatusActive     = "active"
	StatusExpired    = "expired"
	StatusEnded      = "ended"
)

// HelloRequest is the app's first call: it has started on a PC.
type HelloRequest struct {
	InviteToken  string `json:"inviteToken"`
	Platform     string `json:"platform"`
	OSVersion    string `json:"osVersion"`
	Hostname     string `json:"hostname"`
	AgentVersion string `json:"agentVersion"`
	MachineID    string `json:"machineId"`
}

// HelloResponse tells the app where its invitation stands and how often to ask again.
type HelloResponse struct {
	Status   string `json:"status"`
	Interval int    `json:"interval"` // seconds
}

// PairRequest carries the security code the user typed.
type PairRequest struct {
	InviteToken  string `json:"inviteToken"`
	SecurityCode string `json:"securityCode"`
	Platform     string `json:"platform"`
	OSVersion    string `json:"osVersion"`
	Hostname     string `json:"hostname"`
	AgentVersion string `json:"agentVersion,omitempty"`
	MachineID    string `json:"machineId"`
	// Nonce is chosen by the app at random once per pairing (see ValidNonce); a retry with
	// the same nonce gets the same answer again, until the app's first poll confirms it or
	// the server's pairing retry window (10 minutes after activation) closes.
	Nonce string `json:"nonce"`
}

// PairResponse activates the app: from now on it authenticates with AgentToken.
type PairResponse struct {
	AgentToken string        `json:"agentToken"`
	SessionID  string        `json:"sessionId"`
	ExpiresAt  time.Time     `json:"expiresAt"`
	Account    HiddenAccount `json:"account"`
	Interval   int           `json:"interval"`
	// LiveURL is where the app opens its live connection (wss://…); absent when the
	// deployment has no live channel.
	LiveURL string `json:"liveUrl,omitempty"`
}

// HiddenAccount is the local administrator account the app creates. The app wipes
// Password once the account is made.
type HiddenAccount struct {
	Username string `json:"username"`
	Password Secret `json:"password"`
}

// PollResponse is the answer to a poll while the session exists.
type PollResponse struct {
	Status    string    `json:"status"`
	ExpiresAt time.Time `json:"expiresAt"`
	// Interval is long (15 minutes) while the app's live connection is open.
	Interval int    `json:"interval"`
	LiveURL  string `json:"liveUrl,omitempty"`
}

// EndResponse confirms that the user ended the session.
type EndResponse struct {
	Status string `json:"status"`
}

// Problem is an RFC 9457 problem detail as the API sends it (application/problem+json).
type Problem struct {
	Type     string `json:"type,omitempty"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Code is stable and what clients branch on.
	Code string `json:"code"`
	// AttemptsLeft comes with invalid_code.
	AttemptsLeft *int `json:"attemptsLeft,omitempty"`
	// Interval comes with slow_down: the new polling interval in seconds.
	Interval int `json:"interval,omitempty"`
	// SessionID comes with the technician's session_exists: the open session.
	SessionID string `json:"sessionId,omitempty"`
}

// Problem codes of the agent routes.
const (
	CodeInvalidRequest      = "invalid_request"
	CodeUnsupportedPlatform = "unsupported_platform"
	CodeAlreadySupported    = "already_supported"
	CodeExpired             = "expired"
	CodeLocked              = "locked"
	CodeNotFound            = "not_found"
	CodeInvalidCode         = "invalid_code"
	CodeAlreadyPaired       = "already_paired"
	CodeSlowDown            = "slow_down"
	CodeInvalidToken        = "invalid_token"
)
