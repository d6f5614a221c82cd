package schedule_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/scheduler/types"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/schedule"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var (
	_ support.Scheduler     = (*schedule.EventBridgeScheduler)(nil)
	_ support.Scheduler     = (*schedule.Local)(nil)
	_ schedule.SchedulerAPI = (*scheduler.Client)(nil)
)

var testCfg = schedule.Config{
	GroupName: "adhoc-support",
	TargetARN: "arn:aws:lambda:eu-central-1:111122223333:function:expiry",
	RoleARN:   "arn:aws:iam::111122223333:role/scheduler-invoke",
	DLQARN:    "arn:aws:sqs:eu-central-1:111122223333:expiry-dlq",
}

// fakeScheduler records every request; the error queues answer the calls in turn (nil:
// success), like Scheduler would for an existing or missing schedule.
type fakeScheduler struct {
	creates    []*scheduler.CreateScheduleInput
	updates    []*scheduler.UpdateScheduleInput
	deletes    []*scheduler.DeleteScheduleInput
	createErrs []error
	updateErrs []error
	deleteErr  error
}

func pop(q *[]error) error {
	if len(*q) == 0 {
		return nil
	}
	err := (*q)[0]
	*q = (*q)[1:]
	return err
}

func (f *fakeScheduler) CreateSchedule(_ context.Context, in *scheduler.CreateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.CreateScheduleOutput, error) {
	f.creates = append(f.creates, in)
	if err := pop(&f.createErrs); err != nil {
		return nil, err
	}
	return &scheduler.CreateScheduleOutput{ScheduleArn: aws.String("arn:schedule")}, nil
}

func (f *fakeScheduler) UpdateSchedule(_ context.Context, in *scheduler.UpdateScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.UpdateScheduleOutput, error) {
	f.updates = append(f.updates, in)
	if err := pop(&f.updateErrs); err != nil {
		return nil, err
	}
	return &scheduler.UpdateScheduleOutput{ScheduleArn: aws.String("arn:schedule")}, nil
}

func (f *fakeScheduler) DeleteSchedule(_ context.Context, in *scheduler.DeleteScheduleInput, _ ...func(*scheduler.Options)) (*scheduler.DeleteScheduleOutput, error) {
	f.deletes = append(f.deletes, in)
	return &scheduler.DeleteScheduleOutput{}, f.deleteErr
}

var (
	conflict = &types.ConflictException{Message: aws.String("exists")}
	notFound = &types.ResourceNotFoundException{Message: aws.String("missing")}
	internal = &types.InternalServerException{Message: aws.String("boom")}
)

var fixedNow = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

func newAdapter(f *fakeScheduler, cfg schedule.Config) *schedule.EventBridgeScheduler {
	cfg.Clock = clock.NewFake(fixedNow)
	return schedule.NewEventBridgeScheduler(f, cfg)
}

// definition is what Create and Update have in common, to compare them.
type definition struct {
	name, group, expr, tz, desc string
	window                      *types.FlexibleTimeWindow
	after                       types.ActionAfterCompletion
	state                       types.ScheduleState
	target                      *types.Target
}

func fromCreate(in *scheduler.CreateScheduleInput) definition {
	return definition{aws.ToString(in.Name), aws.ToString(in.GroupName), aws.ToString(in.ScheduleExpression), aws.ToString(in.ScheduleExpressionTimezone), aws.ToString(in.Description), in.FlexibleTimeWindow, in.ActionAfterCompletion, in.State, in.Target}
}

func fromUpdate(in *scheduler.UpdateScheduleInput) definition {
	return definition{aws.ToString(in.Name), aws.ToString(in.GroupName), aws.ToString(in.ScheduleExpression), aws.ToString(in.ScheduleExpressionTimezone), aws.ToString(in.Description), in.FlexibleTimeWindow, in.ActionAfterCompletion, in.State, in.Target}
}

func checkDefinition(t *testing.T, d definition, cfg schedule.Config, name, wantExpr string, due events.ExpiryDue) {
	t.Helper()
	if d.name != name || d.group != cfg.GroupName {
		t.Errorf("name %q group %q, want %q %q", d.name, d.group, name, cfg.GroupName)
	}
	if d.expr != wantExpr {
		t.Errorf("expression %q, want %q", d.expr, wantExpr)
	}
	if d.tz != "UTC" {
		t.Errorf("timezone %q, want UTC", d.tz)
	}
	if d.window == nil || d.window.Mode != types.FlexibleTimeWindowModeOff || d.window.MaximumWindowInMinutes != nil {
		t.Errorf("flexible time window %+v, want mode OFF", d.window)
	}
	if d.after != types.ActionAfterCompletionDelete {
		t.Errorf("action after completion %q, want DELETE", d.after)
	}
	if d.state != types.ScheduleStateEnabled {
		t.Errorf("state %q, want ENABLED", d.state)
	}
	if !strings.Contains(d.desc, due.SessionID) {
		t.Errorf("description %q does not name the session", d.desc)
	}
	tg := d.target
	if tg == nil {
		t.Fatal("no target")
	}
	if aws.ToString(tg.Arn) != cfg.TargetARN || aws.ToString(tg.RoleArn) != cfg.RoleARN {
		t.Errorf("target %q role %q", aws.ToString(tg.Arn), aws.ToString(tg.RoleArn))
	}
	if cfg.DLQARN == "" && tg.DeadLetterConfig != nil {
		t.Errorf("dead-letter config %v without a DLQ configured", tg.DeadLetterConfig)
	}
	if cfg.DLQARN != "" && (tg.DeadLetterConfig == nil || aws.ToString(tg.DeadLetterConfig.Arn) != cfg.DLQARN) {
		t.Errorf("dead-letter config %+v, want %s", tg.DeadLetterConfig, cfg.DLQARN)
	}
	if rp := tg.RetryPolicy; rp == nil || aws.ToInt32(rp.MaximumRetryAttempts) <= 0 || aws.ToInt32(rp.MaximumEventAgeInSeconds) < 60 || aws.ToInt32(rp.MaximumEventAgeInSeconds) > 86400 {
		t.Errorf("retry policy %+v out of Scheduler's range", rp)
	}
	var got events.ExpiryDue
	if err := json.Unmarshal([]byte(aws.ToString(tg.Input)), &got); err != nil {
		t.Fatalf("input %q is not JSON: %v", aws.ToString(tg.Input), err)
	}
	if got.SessionID != due.SessionID || !got.DueAt.Equal(due.DueAt) {
		t.Errorf("input %+v, want %+v", got, due)
	}
}

func TestEventBridgeSchedulerCreate(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		berlin = time.FixedZone("CET", 3600)
	}
	noGroupNoDLQ := testCfg
	noGroupNoDLQ.GroupName, noGroupNoDLQ.DLQARN = "", ""
	tests := []struct {
		name     string
		cfg      schedule.Config
		at       time.Time
		wantExpr string
	}{
		{"whole second", testCfg, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), "at(2026-03-02T10:00:00)"},
		{"fraction rounds up", testCfg, time.Date(2026, 3, 2, 10, 0, 0, 1, time.UTC), "at(2026-03-02T10:00:01)"},
		{"other zone becomes UTC", testCfg, time.Date(2026, 3, 2, 11, 0, 0, 0, berlin), "at(2026-03-02T10:00:00)"},
		{"past moves to now plus a minute", testCfg, fixedNow.Add(-time.Hour), "at(2026-03-01T10:01:00)"},
		{"too close moves to now plus a minute", testCfg, fixedNow.Add(10 * time.Second), "at(2026-03-01T10:01:00)"},
		{"no group, no DLQ", noGroupNoDLQ, time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC), "at(2026-03-02T10:00:00)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeScheduler{}
			due := events.ExpiryDue{SessionID: "abcdefghijklmnopqrstuvwxyz", DueAt: tt.at}
			if err := newAdapter(f, tt.cfg).ScheduleExpiry(context.Background(), "expiry-abc", tt.at, due); err != nil {
				t.Fatal(err)
			}
			if len(f.creates) != 1 || len(f.updates) != 0 {
				t.Fatalf("creates %d updates %d, want 1 0", len(f.creates), len(f.updates))
			}
			if tt.cfg.GroupName == "" && f.creates[0].GroupName != nil {
				t.Errorf("group %q sent without a group configured", *f.creates[0].GroupName)
			}
			checkDefinition(t, fromCreate(f.creates[0]), tt.cfg, "expiry-abc", tt.wantExpr, due)
		})
	}
}

func TestEventBridgeSchedulerReplace(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	due := events.ExpiryDue{SessionID: "s1", DueAt: at}
	tests := []struct {
		name        string
		createErrs  []error
		updateErrs  []error
		wantCreates int
		wantUpdates int
		wantErr     bool
		wantIs      error // when set, the error wraps it
	}{
		{"exists: update", []error{conflict}, nil, 1, 1, false, nil},
		{"vanished before update: create again", []error{conflict}, []error{notFound}, 2, 1, false, nil},
		{"update fails", []error{conflict}, []error{internal}, 1, 1, true, internal},
		{"create fails", []error{internal}, nil, 1, 0, true, internal},
		{"keeps flapping", []error{conflict, conflict, conflict}, []error{notFound, notFound, notFound}, 3, 3, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeScheduler{createErrs: tt.createErrs, updateErrs: tt.updateErrs}
			err := newAdapter(f, testCfg).ScheduleExpiry(context.Background(), "expiry-s1", at, due)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Fatalf("err = %v, want %v wrapped", err, tt.wantIs)
			}
			if err != nil && !strings.Contains(err.Error(), "expiry-s1") {
				t.Errorf("error %q does not name the schedule", err)
			}
			if len(f.creates) != tt.wantCreates || len(f.updates) != tt.wantUpdates {
				t.Fatalf("creates %d updates %d, want %d %d", len(f.creates), len(f.updates), tt.wantCreates, tt.wantUpdates)
			}
			for _, u := range f.updates {
				checkDefinition(t, fromUpdate(u), testCfg, "expiry-s1", "at(2026-03-02T10:00:00)", due)
			}
		})
	}
}

func TestEventBridgeSchedulerDelete(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr bool
	}{
		{"deleted", nil, false},
		{"not found is fine", notFound, false},
		{"other error", internal, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeScheduler{deleteErr: tt.err}
			err := newAdapter(f, testCfg).DeleteExpiry(context.Background(), "expiry-s1")
			if (err != nil) != tt.wantErr || tt.wantErr && !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(f.deletes) != 1 || aws.ToString(f.deletes[0].Name) != "expiry-s1" || aws.ToString(f.deletes[0].GroupName) != testCfg.GroupName {
				t.Fatalf("delete requests %+v", f.deletes)
			}
		})
	}
}

func TestScheduleNames(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"expiry-abcdefghijklmnopqrstuvwxyz", true},
		{"invite_expiry.v2-ABC", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"with space", false},
		{"slash/inside", false},
		{"colon:inside", false},
		{"umlaut-ä", false},
		{"newline\n", false},
	}
	for _, tt := range tests {
		if got := schedule.ValidName(tt.name); got != tt.ok {
			t.Errorf("ValidName(%q) = %v, want %v", tt.name, got, tt.ok)
		}
		f := &fakeScheduler{}
		a := newAdapter(f, testCfg)
		local, err := schedule.NewLocal("", func(context.Context, events.ExpiryDue) error { return nil }, nil)
		if err != nil {
			t.Fatal(err)
		}
		for label, err := range map[string]error{
			"adapter schedule": a.ScheduleExpiry(context.Background(), tt.name, fixedNow.Add(time.Hour), events.ExpiryDue{}),
			"adapter delete":   a.DeleteExpiry(context.Background(), tt.name),
			"local schedule":   local.ScheduleExpiry(context.Background(), tt.name, fixedNow.Add(time.Hour), events.ExpiryDue{}),
			"local delete":     local.DeleteExpiry(context.Background(), tt.name),
		} {
			if (err == nil) != tt.ok {
				t.Errorf("%s(%q): err = %v, want ok %v", label, tt.name, err, tt.ok)
			}
		}
		if !tt.ok && len(f.creates)+len(f.deletes) != 0 {
			t.Errorf("invalid name %q reached Scheduler", tt.name)
		}
	}
}

// TestEventBridgeSchedulerWire runs the real SDK client against a stub endpoint that
// answers like Scheduler (409 ConflictException for an existing schedule, 404
// ResourceNotFoundException on delete), so the error matching is checked on real
// responses and the request on the wire.
func TestEventBridgeSchedulerWire(t *testing.T) {
	type request struct {
		method, path, group string
		body                map[string]any
	}
	var mu sync.Mutex
	var reqs []request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(raw, &body)
		group := r.URL.Query().Get("groupName")
		if g, ok := body["GroupName"].(string); ok {
			group = g
		}
		mu.Lock()
		reqs = append(reqs, request{r.Method, r.URL.Path, group, body})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch r.Method {
		case http.MethodPost:
			w.Header().Set("X-Amzn-Errortype", "ConflictException")
			w.WriteHeader(http.StatusConflict)
			_, _ = io.WriteString(w, `{"Message":"Schedule already exists."}`)
		case http.MethodPut:
			_, _ = io.WriteString(w, `{"ScheduleArn":"arn:aws:scheduler:eu-central-1:111122223333:schedule/adhoc-support/expiry-s1"}`)
		case http.MethodDelete:
			w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
			w.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(w, `{"Message":"Schedule not found."}`)
		}
	}))
	defer srv.Close()
	client := scheduler.New(scheduler.Options{
		Region:           "eu-central-1",
		BaseEndpoint:     aws.String(srv.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		RetryMaxAttempts: 1,
	})
	s := schedule.NewEventBridgeScheduler(client, testCfg)
	at := time.Now().Add(2 * time.Hour).UTC()
	due := events.ExpiryDue{SessionID: "s1", DueAt: at}
	if err := s.ScheduleExpiry(context.Background(), "expiry-s1", at, due); err != nil {
		t.Fatalf("schedule over an existing one: %v", err)
	}
	if err := s.DeleteExpiry(context.Background(), "expiry-s1"); err != nil {
		t.Fatalf("delete of a missing schedule: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(reqs) != 3 {
		t.Fatalf("requests = %d, want create, update, delete", len(reqs))
	}
	for i, want := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		if reqs[i].method != want || reqs[i].path != "/schedules/expiry-s1" || reqs[i].group != testCfg.GroupName {
			t.Errorf("request %d = %s %s group %q", i, reqs[i].method, reqs[i].path, reqs[i].group)
		}
	}
	for _, r := range reqs[:2] {
		b := r.body
		wantExpr := schedule.AtExpression(at)
		if b["ScheduleExpression"] != wantExpr || b["ScheduleExpressionTimezone"] != "UTC" || b["ActionAfterCompletion"] != "DELETE" {
			t.Errorf("%s body = %v", r.method, b)
		}
		if w, _ := b["FlexibleTimeWindow"].(map[string]any); w["Mode"] != "OFF" {
			t.Errorf("%s flexible window = %v", r.method, b["FlexibleTimeWindow"])
		}
		tg, _ := b["Target"].(map[string]any)
		if tg["Arn"] != testCfg.TargetARN || tg["RoleArn"] != testCfg.RoleARN {
			t.Errorf("%s target = %v", r.method, tg)
		}
		var got events.ExpiryDue
		input, _ := tg["Input"].(string)
		if err := json.Unmarshal([]byte(input), &got); err != nil || got.SessionID != "s1" || !got.DueAt.Equal(at) {
			t.Errorf("%s input = %q (%v)", r.method, input, err)
		}
	}
}

func TestAtExpression(t *testing.T) {
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 12, 31, 23, 59, 59, 0, time.UTC), "at(2026-12-31T23:59:59)"},
		{time.Date(2026, 12, 31, 23, 59, 59, 500_000_000, time.UTC), "at(2027-01-01T00:00:00)"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", -5*3600)), "at(2026-01-02T08:04:05)"},
	}
	for _, tt := range tests {
		if got := schedule.AtExpression(tt.at); got != tt.want {
			t.Errorf("AtExpression(%v) = %q, want %q", tt.at, got, tt.want)
		}
	}
}
