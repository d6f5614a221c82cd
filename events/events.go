// Package events names what happens to a session, for EventBridge. The handlers publish
// these and the CDK stack builds its rules from the same names, so the two cannot drift.
// An event carries ids, the account, the technician and timestamps: never a secret and
// never an e-mail address.
package events

import "time"

// Source is the EventBridge source of every event of the product.
const Source = "adhoc.support"

// DetailType is the EventBridge detail-type of an event.
type DetailType string

// The events of a session's life.
const (
	SessionInvited   DetailType = "SessionInvited"
	AppStarted       DetailType = "AppStarted"
	PairingFailed    DetailType = "PairingFailed"
	SessionActivated DetailType = "SessionActivated"
	SessionEnded     DetailType = "SessionEnded"
	AppRemoved       DetailType = "AppRemoved"
	// RemoteAccessStarted: a technician started a remote connection to the PC.
	RemoteAccessStarted DetailType = "RemoteAccessStarted"
	// RemoteAccessEnded: the app reported a remote connection's end.
	RemoteAccessEnded DetailType = "RemoteAccessEnded"
)

// All lists every detail type, for rules that want them all.
var All = []DetailType{SessionInvited, AppStarted, PairingFailed, SessionActivated, SessionEnded, AppRemoved,
	RemoteAccessStarted, RemoteAccessEnded}

// Detail is the JSON detail of every event. Fields that do not apply stay empty.
type Detail struct {
	SessionID  string    `json:"sessionId"`
	Account    string    `json:"account"`
	Technician string    `json:"technician"`
	Status     string    `json:"status"`
	At         time.Time `json:"at"`

	// SessionEnded: why.
	Reason string `json:"reason,omitempty"`
	// PairingFailed: attempts left before the invitation locks.
	AttemptsLeft *int `json:"attemptsLeft,omitempty"`
	// SessionActivated: the end of the 24 hours. SessionInvited: the invite expiry.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// RemoteAccessStarted and RemoteAccessEnded: the remote connection. Technician above
	// stays the session's; Remote.Technician is who connected (an admin may connect to
	// another technician's session).
	Remote *Remote `json:"remote,omitempty"`
}

// Remote is a remote connection in the detail of RemoteAccessStarted and
// RemoteAccessEnded. The figures come with the end only, from the app's report.
type Remote struct {
	RemoteID   string     `json:"remoteId"`
	Technician string     `json:"technician"`
	StartedAt  time.Time  `json:"startedAt"`
	EndedAt    *time.Time `json:"endedAt,omitempty"`
	// Reason is why it ended (protocol.Remote…: disconnected_by_technician, session_ended, …).
	Reason      string   `json:"reason,omitempty"`
	Channels    []string `json:"channels,omitempty"`
	DurationMs  int64    `json:"durationMs,omitempty"`
	BytesToPC   int64    `json:"bytesToPc,omitempty"`
	BytesFromPC int64    `json:"bytesFromPc,omitempty"`
}

// Event is one event ready to publish.
type Event struct {
	Type   DetailType
	Detail Detail
}

// ExpiryDue is the payload a one-time schedule delivers to the expiry function: look at
// this session now. It is not published on the bus.
type ExpiryDue struct {
	SessionID string    `json:"sessionId"`
	DueAt     time.Time `json:"dueAt"`
}
