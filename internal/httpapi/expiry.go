package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// ExpiryInput is every payload the expiry function receives: a one-time schedule's
// events.ExpiryDue ({"sessionId": …}), the sweep rule's constant input ({"sweep": true}),
// or the rule's plain scheduled event (detail-type "Scheduled Event"), which also sweeps.
type ExpiryInput struct {
	SessionID  string `json:"sessionId"`
	Sweep      bool   `json:"sweep"`
	DetailType string `json:"detail-type"`
}

// ExpiryResult says what one invocation did, for the logs and tests.
type ExpiryResult struct {
	Expired int `json:"expired"`
}

// Expiry is the `expiry` function. Unlike the API handlers it returns errors: the
// scheduler and the rule retry a failed invocation and finally hand it to the dead-letter
// queue, which is what should happen when DynamoDB is unreachable.
func Expiry(svc *support.Service, log *slog.Logger) func(ctx context.Context, raw json.RawMessage) (ExpiryResult, error) {
	return func(ctx context.Context, raw json.RawMessage) (ExpiryResult, error) {
		var in ExpiryInput
		if err := json.Unmarshal(raw, &in); err != nil {
			// A payload we cannot read will not get better by retrying: log it and drop it.
			log.ErrorContext(ctx, "expiry: unreadable input", "error", err)
			return ExpiryResult{}, nil
		}
		switch {
		case in.SessionID != "":
			changed, err := svc.Expire(ctx, in.SessionID)
			if err != nil {
				return ExpiryResult{}, fmt.Errorf("expiry of %s: %w", in.SessionID, err)
			}
			log.InfoContext(ctx, "expiry for one session", "session", in.SessionID, "changed", changed)
			if changed {
				return ExpiryResult{Expired: 1}, nil
			}
			return ExpiryResult{}, nil
		case in.Sweep || in.DetailType == "Scheduled Event":
			n, err := svc.Sweep(ctx)
			if err != nil {
				return ExpiryResult{Expired: n}, fmt.Errorf("sweep: %w", err)
			}
			log.InfoContext(ctx, "sweep", "expired", n)
			return ExpiryResult{Expired: n}, nil
		}
		log.WarnContext(ctx, "expiry: input names neither a session nor a sweep")
		return ExpiryResult{}, nil
	}
}

// ExpiryDuePayload is the JSON a one-time schedule delivers for a session.
func ExpiryDuePayload(due events.ExpiryDue) json.RawMessage {
	raw, _ := json.Marshal(due)
	return raw
}
