// Package eventbus puts the product's events on a bus: EventBridge in AWS, and an
// in-process bus with the same event JSON in local mode and tests.
package eventbus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge/types"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
)

// MaxBatch is the most entries PutEvents takes in one call.
const MaxBatch = 10

// attempts is how often an entry that EventBridge reported as failed is sent: AWS asks
// callers to resend failed entries themselves (the SDK only retries whole calls).
const attempts = 3

// PutEventsAPI is the part of the EventBridge client the publisher uses;
// *eventbridge.Client satisfies it.
type PutEventsAPI interface {
	PutEvents(ctx context.Context, in *eventbridge.PutEventsInput, optFns ...func(*eventbridge.Options)) (*eventbridge.PutEventsOutput, error)
}

// EventBridge publishes to one EventBridge bus.
type EventBridge struct {
	client PutEventsAPI
	bus    string
	clock  clock.Clock
	// backoff is the pause before resending failed entries, times the attempt number.
	backoff time.Duration
}

// NewEventBridge returns a publisher to the bus busName (name or ARN).
func NewEventBridge(client PutEventsAPI, busName string) *EventBridge {
	return &EventBridge{client: client, bus: busName, clock: clock.Real{}, backoff: 100 * time.Millisecond}
}

// Publish puts the events on the bus in batches of at most MaxBatch, resending entries
// EventBridge reports as failed. It tries every batch and returns an error naming every
// event that could not be put.
func (p *EventBridge) Publish(ctx context.Context, evs ...events.Event) error {
	var errs []error
	for start := 0; start < len(evs); start += MaxBatch {
		batch := evs[start:min(start+MaxBatch, len(evs))]
		if err := p.putBatch(ctx, batch); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("publish to event bus %s: %w", p.bus, err)
	}
	return nil
}

func (p *EventBridge) putBatch(ctx context.Context, batch []events.Event) error {
	pending := make([]events.Event, 0, len(batch))
	entries := make([]types.PutEventsRequestEntry, 0, len(batch))
	for _, ev := range batch {
		e, err := p.entry(ev)
		if err != nil {
			return err
		}
		pending = append(pending, ev)
		entries = append(entries, e)
	}
	for attempt := 1; ; attempt++ {
		out, err := p.client.PutEvents(ctx, &eventbridge.PutEventsInput{Entries: entries})
		if err != nil {
			return fmt.Errorf("put events (%s): %w", describe(pending), err)
		}
		if out.FailedEntryCount == 0 {
			return nil
		}
		var failedEvs []events.Event
		var failedEntries []types.PutEventsRequestEntry
		var reasons []string
		for i, r := range out.Entries {
			if r.ErrorCode == nil || i >= len(pending) {
				continue
			}
			failedEvs = append(failedEvs, pending[i])
			failedEntries = append(failedEntries, entries[i])
			reasons = append(reasons, fmt.Sprintf("%s: %s %s", describe(pending[i:i+1]), aws.ToString(r.ErrorCode), aws.ToString(r.ErrorMessage)))
		}
		if len(failedEvs) == 0 {
			// The count and the entries disagree: nothing can be named or resent.
			return fmt.Errorf("put events: %d of %d entries failed without detail", out.FailedEntryCount, len(entries))
		}
		if attempt == attempts {
			return fmt.Errorf("put events: %d of %d entries failed: %s", len(failedEvs), len(batch), strings.Join(reasons, "; "))
		}
		pending, entries = failedEvs, failedEntries
		select {
		case <-ctx.Done():
			return fmt.Errorf("put events: %s: %w", strings.Join(reasons, "; "), ctx.Err())
		case <-time.After(time.Duration(attempt) * p.backoff):
		}
	}
}

func (p *EventBridge) entry(ev events.Event) (types.PutEventsRequestEntry, error) {
	if ev.Type == "" {
		return types.PutEventsRequestEntry{}, fmt.Errorf("event without detail type (session %s)", ev.Detail.SessionID)
	}
	detail, err := json.Marshal(ev.Detail)
	if err != nil {
		return types.PutEventsRequestEntry{}, fmt.Errorf("encode %s detail: %w", ev.Type, err)
	}
	at := eventTime(ev, p.clock)
	return types.PutEventsRequestEntry{
		Source:       aws.String(events.Source),
		DetailType:   aws.String(string(ev.Type)),
		Detail:       aws.String(string(detail)),
		EventBusName: aws.String(p.bus),
		Time:         &at,
	}, nil
}

// eventTime is when the event happened: the detail's time if set, else now.
func eventTime(ev events.Event, c clock.Clock) time.Time {
	if !ev.Detail.At.IsZero() {
		return ev.Detail.At.UTC()
	}
	return c.Now().UTC()
}

// describe names events by type and session id: enough to find them, never a secret.
func describe(evs []events.Event) string {
	parts := make([]string, len(evs))
	for i, ev := range evs {
		parts[i] = fmt.Sprintf("%s session %s", ev.Type, ev.Detail.SessionID)
	}
	return strings.Join(parts, ", ")
}
