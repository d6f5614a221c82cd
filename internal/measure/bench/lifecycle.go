package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/testing/lambdatest"
)

// DefaultMemoryMB are the functions' memory sizes as infra/stack/stack.go sets them;
// MemoryFromTemplate reads them from a synthesized template instead. The live function's
// 512 MB is this model's assumption, the size of the other API functions, until the
// stack has the function (issue 11); its share of the bill is small either way.
var DefaultMemoryMB = map[string]int{deploy.Invitation: 512, deploy.Pairing: 512, deploy.Expiry: 256, deploy.Live: 512}

// optionalFunctions may be missing from a template: the stack gets them later.
var optionalFunctions = []string{deploy.Live}

// MemoryFromTemplate reads each function's MemorySize from a CloudFormation template that
// `make synth` wrote (the function's Description is "Ad-hoc Support: <name>").
func MemoryFromTemplate(path string) (map[string]int, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("template: %w", err)
	}
	var t struct {
		Resources map[string]struct {
			Type       string
			Properties struct {
				Description string
				MemorySize  int
			}
		}
	}
	if err := json.Unmarshal(raw, &t); err != nil {
		return nil, fmt.Errorf("template %s: %w", path, err)
	}
	out := map[string]int{}
	found := 0
	for _, r := range t.Resources {
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		name, ok := strings.CutPrefix(r.Properties.Description, "Ad-hoc Support: ")
		if _, known := DefaultMemoryMB[name]; ok && known && r.Properties.MemorySize > 0 {
			out[name] = r.Properties.MemorySize
			if !slices.Contains(optionalFunctions, name) {
				found++
			}
		}
	}
	if want := len(DefaultMemoryMB) - len(optionalFunctions); found != want {
		return nil, fmt.Errorf("template %s: memory of %d of %d functions found", path, found, want)
	}
	for _, name := range optionalFunctions {
		if _, ok := out[name]; !ok {
			out[name] = DefaultMemoryMB[name]
		}
	}
	return out, nil
}

// PerCall walks the API once, call by call, as the end-to-end round-trip test does, and
// returns the figures of each call. The rig should be fresh (its own table).
func (r *Rig) PerCall(ctx context.Context) ([]Figures, error) {
	var out []Figures
	var firstErr error
	api := func(name string, q Request) {
		if firstErr != nil {
			return
		}
		f, _, err := r.Measure(ctx, name, q)
		if err != nil {
			firstErr = err
			return
		}
		out = append(out, f)
	}
	account := "percall-" + r.run
	tech := r.NewTechnician(account)
	email := "user-" + tech.ID + "@example.org"
	f, res, err := r.Measure(ctx, "create session", r.CreateRequest(tech, email))
	if err != nil {
		return nil, err
	}
	out = append(out, f)
	s, err := r.Created(tech, email, res)
	if err != nil {
		return nil, err
	}
	api("get session", r.GetRequest(s))
	api("list sessions", Request{deploy.Invitation, lambdatest.APIRequest(http.MethodGet, "/v1/sessions", "", tech.claims(), nil), http.StatusOK})
	api("account", Request{deploy.Invitation, lambdatest.APIRequest(http.MethodGet, "/v1/account", "", tech.claims(), nil), http.StatusOK})
	api("join page", r.JoinRequest(s))
	api("app download (redirect)", r.DownloadRequest(s))
	api("hello", r.HelloRequest(s))
	api("pair, wrong code", r.PairRequest(s, true))
	if firstErr == nil {
		f, res, err := r.Measure(ctx, "pair", r.PairRequest(s, false))
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		if err := s.Paired(res); err != nil {
			return nil, err
		}
	}
	api("poll, first (erases secrets)", r.PollRequest(s))
	r.Clock.Advance(r.Service.Config.ActiveInterval)
	api("poll, idle", r.PollRequest(s))
	r.Clock.Advance(r.Service.Config.SeenEvery)
	api("poll, writes lastSeenAt", r.PollRequest(s))
	api("computers", Request{deploy.Invitation, lambdatest.APIRequest(http.MethodGet, "/v1/computers", "", tech.claims(), nil), http.StatusOK})
	api("audit", Request{deploy.Invitation, lambdatest.APIRequest(http.MethodGet, "/v1/sessions/"+s.ID+"/audit", "", tech.claims(), nil), http.StatusOK})
	api("end, by the user", r.EndRequest(s))
	api("removed", r.RemovedRequest(s))

	// A second session, ended by the technician, and a third that runs out its time.
	if firstErr != nil {
		return nil, firstErr
	}
	s2, err := r.measuredSession(ctx, account)
	if err != nil {
		return nil, err
	}
	api("end, by the technician", r.CancelRequest(s2))
	s3, err := r.measuredSession(ctx, account)
	if err != nil {
		return nil, err
	}
	if firstErr != nil {
		return nil, firstErr
	}
	f, err = r.MeasureExpiry(ctx, "sweep, nothing due", TriggerRule, json.RawMessage(`{"sweep":true}`))
	if err != nil {
		return nil, err
	}
	out = append(out, f)
	r.Clock.Advance(r.Service.Config.SessionTTL)
	due := r.Schedules.TakeDue(r.Clock.Now())
	if len(due) == 0 {
		return nil, errors.New("per call: no schedule due after the session's time")
	}
	for _, d := range due {
		f, err := r.MeasureExpiry(ctx, "expiry, one-time schedule", TriggerSchedule, expiryapi.DuePayload(d))
		if err != nil {
			return nil, err
		}
		if d.SessionID == s3.ID {
			out = append(out, f)
		}
	}
	return out, firstErr
}

// measuredSession creates and activates a session. Its calls go through Measure only to
// keep the recorder's picture of the table whole; their figures are not kept.
func (r *Rig) measuredSession(ctx context.Context, account string) (*Session, error) {
	tech := r.NewTechnician(account)
	email := "user-" + tech.ID + "@example.org"
	_, res, err := r.Measure(ctx, "create", r.CreateRequest(tech, email))
	if err != nil {
		return nil, err
	}
	s, err := r.Created(tech, email, res)
	if err != nil {
		return nil, err
	}
	if _, _, err := r.Measure(ctx, "hello", r.HelloRequest(s)); err != nil {
		return nil, err
	}
	_, res, err = r.Measure(ctx, "pair", r.PairRequest(s, false))
	if err != nil {
		return nil, err
	}
	if err := s.Paired(res); err != nil {
		return nil, err
	}
	_, _, err = r.Measure(ctx, "poll", r.PollRequest(s))
	return s, err
}

// ConsoleStep is the lifecycle's step of the technician's page waiting for the app, and
// ConsolePoll how often the page asks (internal/console/static/console/app.js pollMs).
const (
	ConsoleStep = "technician's page polls the session"
	ConsolePoll = 2500 * time.Millisecond
)

// LifecycleOptions describe the day of one session.
type LifecycleOptions struct {
	// SetupWait is how long the technician's page waits, polling the session every
	// ConsolePoll, while the user opens the mail and starts the app. Default 3 minutes.
	SetupWait   time.Duration
	ConsolePoll time.Duration // default 2.5 s, as the console does
	MemoryMB    map[string]int
}

// Step sums the invocations of one kind in a lifecycle.
type Step struct {
	Name  string  `json:"name"`
	Count int     `json:"count"`
	Sum   Figures `json:"sum"` // durations, round trips and units added up
	Usage Usage   `json:"usage"`
}

// Lifecycle is one session's whole day.
type Lifecycle struct {
	Steps      []Step        `json:"steps"`
	Usage      Usage         `json:"usage"`
	Polls      int           `json:"polls"`
	PollWrites int           `json:"pollWrites"` // polls that wrote to the table
	MeanPoll   time.Duration `json:"meanPollNs"`
	// The live day's: the app's pings and live connections.
	Pings       int `json:"pings,omitempty"`
	Connections int `json:"connections,omitempty"`
	// ActiveItemBytes is the session item's size while active (on the live day: with
	// its connection on record), read after the first poll: every later write of it
	// costs a WRU per started KB.
	ActiveItemBytes int `json:"activeItemBytes"`
}

// sessionItemBytes reads a session item back and sizes it as DynamoDB bills it.
func (r *Rig) sessionItemBytes(ctx context.Context, id string) (int, error) {
	out, err := r.Raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.Table), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{
			store.KeyPK: &types.AttributeValueMemberS{Value: "SESSION#" + id},
			store.KeySK: &types.AttributeValueMemberS{Value: "SESSION"},
		}})
	if err != nil {
		return 0, fmt.Errorf("read the session item: %w", err)
	}
	if out.Item == nil {
		return 0, fmt.Errorf("read the session item: %s not found", id)
	}
	return ItemSize(out.Item), nil
}

func (l *Lifecycle) add(name string, f Figures, mem map[string]int) {
	u := f.Usage(mem)
	l.Usage = l.Usage.Add(u)
	for i := range l.Steps {
		if l.Steps[i].Name == name {
			s := &l.Steps[i]
			s.Count++
			s.Usage = s.Usage.Add(u)
			s.Sum.Duration += f.Duration
			s.Sum.RoundTrips += f.RoundTrips
			s.Sum.RRU += f.RRU
			s.Sum.WRU += f.WRU
			s.Sum.LocalRCU += f.LocalRCU
			s.Sum.LocalWCU += f.LocalWCU
			return
		}
	}
	f.Name = name
	l.Steps = append(l.Steps, Step{Name: name, Count: 1, Sum: f, Usage: u})
}

// Lifecycle runs one session through a whole day at the service's polling interval: the
// invitation, the technician's page waiting, the join page and download, hello, pairing,
// a poll every interval for the session's 24 hours (lastSeenAt written at most once a
// minute), the one-time schedule ending it, and the app's removal report.
func (r *Rig) Lifecycle(ctx context.Context, o LifecycleOptions) (Lifecycle, error) {
	if o.SetupWait == 0 {
		o.SetupWait = 3 * time.Minute
	}
	if o.ConsolePoll == 0 {
		o.ConsolePoll = ConsolePoll
	}
	mem := o.MemoryMB
	if mem == nil {
		mem = DefaultMemoryMB
	}
	var l Lifecycle
	step := func(name string, q Request) (Figures, error) {
		f, _, err := r.Measure(ctx, name, q)
		if err == nil {
			l.add(name, f, mem)
		}
		return f, err
	}
	tech := r.NewTechnician("lifecycle-" + r.run)
	email := "user-" + tech.ID + "@example.org"
	f, res, err := r.Measure(ctx, "create session", r.CreateRequest(tech, email))
	if err != nil {
		return l, err
	}
	l.add("create session", f, mem)
	s, err := r.Created(tech, email, res)
	if err != nil {
		return l, err
	}
	for t := time.Duration(0); t < o.SetupWait; t += o.ConsolePoll {
		r.Clock.Advance(o.ConsolePoll)
		if _, err := step(ConsoleStep, r.GetRequest(s)); err != nil {
			return l, err
		}
	}
	for _, q := range []struct {
		name string
		req  Request
	}{{"join page", r.JoinRequest(s)}, {"app download (redirect)", r.DownloadRequest(s)}, {"hello", r.HelloRequest(s)}} {
		if _, err := step(q.name, q.req); err != nil {
			return l, err
		}
	}
	f, res, err = r.Measure(ctx, "pair", r.PairRequest(s, false))
	if err != nil {
		return l, err
	}
	l.add("pair", f, mem)
	if err := s.Paired(res); err != nil {
		return l, err
	}
	interval, ttl := r.Service.Config.ActiveInterval, r.Service.Config.SessionTTL
	var pollTime time.Duration
	for elapsed := interval; elapsed <= ttl; elapsed += interval {
		r.Clock.Advance(interval)
		if elapsed == ttl {
			// The one-time schedule fires at the end of the 24 hours.
			for _, d := range r.Schedules.TakeDue(r.Clock.Now()) {
				f, err := r.MeasureExpiry(ctx, "expiry, one-time schedule", TriggerSchedule, expiryapi.DuePayload(d))
				if err != nil {
					return l, err
				}
				l.add("expiry, one-time schedule", f, mem)
			}
		}
		f, err := step("poll", r.PollRequest(s))
		if err != nil {
			return l, err
		}
		l.Polls++
		pollTime += f.Duration
		if f.WRU > 0 {
			l.PollWrites++
		}
		if l.Polls == 1 {
			if l.ActiveItemBytes, err = r.sessionItemBytes(ctx, s.ID); err != nil {
				return l, err
			}
		}
	}
	if _, err := step("removed", r.RemovedRequest(s)); err != nil {
		return l, err
	}
	if l.Polls > 0 {
		l.MeanPoll = pollTime / time.Duration(l.Polls)
	}
	return l, nil
}

// SweepsPerDay is how often the rule sweeps (infra/stack.SweepRate: every 5 minutes).
const SweepsPerDay = 24 * 60 / 5

// KMSKeys are the deployment's customer managed keys: the password key, the code MAC key
// and the alarm topic's key (infra/stack).
const KMSKeys = 3

// daysPerMonth turns a monthly price into a daily one.
const daysPerMonth = 365.25 / 12

// Fixed is what the deployment uses per day whatever the number of sessions: the sweeps
// and the KMS keys, from one measured sweep.
func Fixed(sweep Figures, memoryMB map[string]int) Usage {
	u := sweep.Usage(memoryMB).Times(SweepsPerDay)
	u.KMSKeyMonths = KMSKeys / daysPerMonth
	return u
}

// Alone is a deployment's day with a single session: every trace is recorded, as there is
// less than one request a second.
func Alone(session, fixed Usage) Usage {
	u := session.Add(fixed)
	u.Traces = SampledTraces(u.Invocations)
	return u
}
