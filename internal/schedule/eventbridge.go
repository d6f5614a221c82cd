// Package schedule arranges the one-time call of the expiry function for a session: with
// EventBridge Scheduler in AWS, and with an in-process scheduler backed by a JSON file in
// local mode.
package schedule

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
)

// ValidName reports whether name can name a schedule: what EventBridge Scheduler accepts,
// 1 to 64 of 0-9 A-Z a-z _ . -. The local scheduler applies the same rule, so a name that
// works locally works in AWS. A loop rather than the regexp ^[0-9A-Za-z_.-]{1,64}$
// (TestValidNameAsRegexp holds the two together): compiling that at package
// initialization, 64 copies of the class, cost every start of every function about
// 0.15 ms.
func ValidName(name string) bool {
	if len(name) < 1 || len(name) > 64 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// MinLead is how far ahead a schedule is put at the least. EventBridge Scheduler runs
// one-time schedules with one-minute precision and is not documented to fire an at() time
// that has already passed, so a time in the past (or too close to now) is moved to now
// plus MinLead; the expiry function checks the session's own times anyway.
const MinLead = time.Minute

// Retry settings of the schedule's target. The periodic sweep catches whatever a schedule
// misses, so an hour of retries is plenty.
const (
	maxRetryAttempts = 10
	maxEventAge      = time.Hour
)

// SchedulerAPI is the part of the EventBridge Scheduler client the adapter uses;
// *scheduler.Client satisfies it.
type SchedulerAPI interface {
	CreateSchedule(ctx context.Context, in *scheduler.CreateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error)
	UpdateSchedule(ctx context.Context, in *scheduler.UpdateScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error)
	DeleteSchedule(ctx context.Context, in *scheduler.DeleteScheduleInput, optFns ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error)
}

// Config says where schedules live and what they invoke.
type Config struct {
	GroupName string // schedule group; empty means the account's default group
	TargetARN string // the expiry function
	RoleARN   string // the role Scheduler assumes to invoke it
	DLQARN    string // SQS queue for invocations that failed every retry; optional
	// Clock decides how soon a schedule may fire at the earliest (MinLead); nil is the
	// real clock.
	Clock clock.Clock
}

// EventBridgeScheduler puts one-time schedules in EventBridge Scheduler.
type EventBridgeScheduler struct {
	client SchedulerAPI
	cfg    Config
}

// NewEventBridgeScheduler returns a scheduler creating schedules per cfg.
func NewEventBridgeScheduler(client SchedulerAPI, cfg Config) *EventBridgeScheduler {
	return &EventBridgeScheduler{client: client, cfg: cfg}
}

// AtExpression is the one-time schedule expression for t, in UTC and whole seconds
// (rounded up, so the schedule never fires before t).
func AtExpression(t time.Time) string {
	return "at(" + ceilSecond(t).UTC().Format("2006-01-02T15:04:05") + ")"
}

func ceilSecond(t time.Time) time.Time {
	if s := t.Truncate(time.Second); !s.Equal(t) {
		return s.Add(time.Second)
	}
	return t
}

// ScheduleExpiry creates the schedule name to deliver due at the time at; if it exists
// already, it is replaced.
func (s *EventBridgeScheduler) ScheduleExpiry(ctx context.Context, name string, at time.Time, due events.ExpiryDue) error {
	if !ValidName(name) {
		return fmt.Errorf("schedule expiry: invalid schedule name %q", name)
	}
	if earliest := clock.Or(s.cfg.Clock).Now().Add(MinLead); at.Before(earliest) {
		at = earliest
	}
	input, err := json.Marshal(due)
	if err != nil {
		return fmt.Errorf("schedule expiry %s: encode input: %w", name, err)
	}
	target := &types.Target{
		Arn:     aws.String(s.cfg.TargetARN),
		RoleArn: aws.String(s.cfg.RoleARN),
		Input:   aws.String(string(input)),
		RetryPolicy: &types.RetryPolicy{
			MaximumRetryAttempts:     aws.Int32(maxRetryAttempts),
			MaximumEventAgeInSeconds: aws.Int32(int32(maxEventAge / time.Second)),
		},
	}
	if s.cfg.DLQARN != "" {
		target.DeadLetterConfig = &types.DeadLetterConfig{Arn: aws.String(s.cfg.DLQARN)}
	}
	expr := AtExpression(at)
	desc := "Expiry of ad-hoc support session " + due.SessionID

	// Create, and update when it exists. A schedule may also vanish between the two
	// (it fired and deleted itself), so go round once more.
	for range 3 {
		_, err := s.client.CreateSchedule(ctx, &scheduler.CreateScheduleInput{
			Name:                       aws.String(name),
			GroupName:                  s.group(),
			ScheduleExpression:         aws.String(expr),
			ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
			ActionAfterCompletion:      types.ActionAfterCompletionDelete,
			State:                      types.ScheduleStateEnabled,
			Description:                aws.String(desc),
			Target:                     target,
		})
		var conflict *types.ConflictException
		if !errors.As(err, &conflict) {
			if err != nil {
				return fmt.Errorf("schedule expiry %s: create schedule: %w", name, err)
			}
			return nil
		}
		// UpdateSchedule replaces every setting, so it gets the full definition again.
		_, err = s.client.UpdateSchedule(ctx, &scheduler.UpdateScheduleInput{
			Name:                       aws.String(name),
			GroupName:                  s.group(),
			ScheduleExpression:         aws.String(expr),
			ScheduleExpressionTimezone: aws.String("UTC"),
			FlexibleTimeWindow:         &types.FlexibleTimeWindow{Mode: types.FlexibleTimeWindowModeOff},
			ActionAfterCompletion:      types.ActionAfterCompletionDelete,
			State:                      types.ScheduleStateEnabled,
			Description:                aws.String(desc),
			Target:                     target,
		})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) {
			if err != nil {
				return fmt.Errorf("schedule expiry %s: update schedule: %w", name, err)
			}
			return nil
		}
	}
	return fmt.Errorf("schedule expiry %s: schedule kept appearing and disappearing", name)
}

// DeleteExpiry deletes the schedule name; a schedule that does not exist (never made,
// already fired, already deleted) is not an error.
func (s *EventBridgeScheduler) DeleteExpiry(ctx context.Context, name string) error {
	if !ValidName(name) {
		return fmt.Errorf("delete expiry: invalid schedule name %q", name)
	}
	_, err := s.client.DeleteSchedule(ctx, &scheduler.DeleteScheduleInput{Name: aws.String(name), GroupName: s.group()})
	var notFound *types.ResourceNotFoundException
	if err != nil && !errors.As(err, &notFound) {
		return fmt.Errorf("delete expiry %s: %w", name, err)
	}
	return nil
}

func (s *EventBridgeScheduler) group() *string {
	if s.cfg.GroupName == "" {
		return nil
	}
	return aws.String(s.cfg.GroupName)
}
