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
)

// All lists every detail type, for rules that want them all.
var All = []DetailType{SessionInvited, AppStarted, PairingFailed, SessionActivated, SessionEnded, AppRemoved}

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
