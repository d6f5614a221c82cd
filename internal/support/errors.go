package support

import (
	"errors"
	"fmt"
	"time"
)

// gone answers expired for a session that storage has dropped (its TTL passed) between
// the lookup and the read, and passes every other error on.
func gone(err error) error {
	if errors.Is(err, ErrNotFound) {
		return refuse(CodeExpired, "This session has ended or expired.")
	}
	return err
}

// orRefusal returns err if set, else the refusal.
func orRefusal(err error, refusal *Error) error {
	if err != nil {
		return err
	}
	return refusal
}

// Codes are the stable problem codes the API answers with (DESIGN.md, "HTTP API").
const (
	CodeInvalidRequest      = "invalid_request"
	CodeInvalidEmail        = "invalid_email"
	CodeWeakPassword        = "weak_password"
	CodeUnauthorized        = "unauthorized"
	CodeNotFound            = "not_found"
	CodeSessionExists       = "session_exists"
	CodeNoFreeSlot          = "no_free_slot"
	CodeAdhocCapReached     = "adhoc_cap_reached"
	CodeMailFailed          = "mail_failed"
	CodeUnsupportedPlatform = "unsupported_platform"
	CodeAlreadySupported    = "already_supported"
	CodeExpired             = "expired"
	CodeLocked              = "locked"
	CodeInvalidCode         = "invalid_code"
	CodeAlreadyPaired       = "already_paired"
	CodeSlowDown            = "slow_down"
	CodeInvalidToken        = "invalid_token"
	// Remote access: the session is not active; its app holds no live connection (yet: the
	// service opens it seconds after pairing, so a console may try again); another
	// technician's remote connection is pending or connected; a signal without a remote
	// connection to carry it (live channel only).
	CodeNotActive  = "not_active"
	CodePCOffline  = "pc_offline"
	CodeRemoteBusy = "remote_busy"
	CodeNoRemote   = "no_remote"
)

// Error is a refusal the caller can act on: a stable code, a sentence for people, and the
// extra members some codes carry. Anything that is not an *Error is an internal failure.
type Error struct {
	Code   string
	Detail string
	// AttemptsLeft comes with invalid_code.
	AttemptsLeft *int
	// Interval comes with slow_down: the interval to poll at from now on.
	Interval time.Duration
	// SessionID names the session a session_exists refusal is about, so the console can
	// link to it; only ever set for a session the caller may see.
	SessionID string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Detail) }

func refuse(code, detail string) *Error { return &Error{Code: code, Detail: detail} }

// AsError returns the refusal inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

var errNotFound = refuse(CodeNotFound, "There is no such session.")
