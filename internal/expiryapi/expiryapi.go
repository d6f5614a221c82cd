// Package expiryapi is the `expiry` function: it adapts what EventBridge Scheduler's
// one-time schedules and the every-5-minutes rule deliver to the expiry use cases of
// internal/support (Expire one session, Sweep the overdue ones).
package expiryapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Input is every payload the expiry function receives: a one-time schedule's
// events.ExpiryDue ({"sessionId": …}), the sweep rule's constant input ({"sweep": true}),
// or the rule's plain scheduled event (detail-type "Scheduled Event"), which also sweeps.
type Input struct {
	SessionID  string `json:"sessionId"`
	Sweep      bool   `json:"sweep"`
	DetailType string `json:"detail-type"`
}

// Result says what one invocation did, for the logs and tests.
type Result struct {
	Expired int `json:"expired"`
}

// Handler is the `expiry` function's handler. Unlike the API handlers it returns errors: the
// scheduler and the rule retry a failed invocation and finally hand it to the dead-letter
// queue, which is what should happen when DynamoDB is unreachable.
func Handler(svc *support.Service, log *slog.Logger) func(ctx context.Context, raw json.RawMessage) (Result, error) {
	return func(ctx context.Context, raw json.RawMessage) (Result, error) {
		var in Input
		if err := json.Unmarshal(raw, &in); err != nil {
			// A payload we cannot read will not get better by retrying: log it and drop it.
			log.ErrorContext(ctx, "expiry: unreadable input", "error", err)
			return Result{}, nil
		}
		switch {
		case in.SessionID != "":
			changed, err := svc.Expire(ctx, in.SessionID)
			if err != nil {
				return Result{}, fmt.Errorf("expiry of %s: %w", in.SessionID, err)
			}
			log.InfoContext(ctx, "expiry for one session", "session", in.SessionID, "changed", changed)
			if changed {
				return Result{Expired: 1}, nil
			}
			return Result{}, nil
		case in.Sweep || in.DetailType == "Scheduled Event":
			n, err := svc.Sweep(ctx)
			if err != nil {
				return Result{Expired: n}, fmt.Errorf("sweep: %w", err)
			}
			log.InfoContext(ctx, "sweep", "expired", n)
			return Result{Expired: n}, nil
		}
		log.WarnContext(ctx, "expiry: input names neither a session nor a sweep")
		return Result{}, nil
	}
}

// DuePayload is the JSON a one-time schedule delivers for a session.
func DuePayload(due events.ExpiryDue) json.RawMessage {
	raw, _ := json.Marshal(due)
	return raw
}
