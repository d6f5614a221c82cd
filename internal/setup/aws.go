package setup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/connections"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/schedule"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// AWS is the service and its parts as the Lambda functions run them.
type AWS struct {
	Service   *support.Service
	Downloads httpapi.AppDownloads // nil: the function hands out no app (s3app adds it)
	Log       *slog.Logger
	// Config is the SDK configuration every client is built from, also the parts'.
	Config aws.Config
}

// Env reads a function's environment for FromAWS and its parts, and collects the required
// variables that are missing, so that one error at start names them all.
type Env struct {
	getenv  func(string) string
	missing []string
}

// Get returns the variable's value; "" when it is not set.
func (e *Env) Get(name string) string { return e.getenv(name) }

// Need returns a required variable's value and remembers it as missing when it is not
// set.
func (e *Env) Need(name string) string {
	v := e.getenv(name)
	if v == "" {
		e.missing = append(e.missing, name)
	}
	return v
}

// Part adds a service only some functions call, with its own SDK client. Each part is a
// package of its own (internal/setup/kmskeys, sesmail, s3app) and each function's main
// names the parts it uses, so that a function links only the clients it calls: an SDK
// client costs a bootstrap half a megabyte to two megabytes and its package
// initialization, whether it is called or not.
type Part func(a *AWS, env *Env) error

// FromAWS wires the service to what every function calls, DynamoDB, EventBridge,
// EventBridge Scheduler and the live channel's @connections, and then adds the parts.
// Without kmskeys the service refuses to seal, open or MAC, and without sesmail to send
// mail: those functions' roles may not either, and a wrong call fails loudly. A missing
// required variable is an error at start, not at the first request.
//
// The SDK configuration comes from the environment Lambda sets (sdkConfig: region,
// credentials, and the SDK's own endpoint variables). No variable of the product's own
// moves a client: AWS_ENDPOINT_URL_<SERVICE> point the real bootstraps at local stand-ins
// and fakes in tests; none is set in AWS.
func FromAWS(getenv func(string) string, parts ...Part) (*AWS, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := Settings(getenv)
	if err != nil {
		return nil, err
	}
	env := &Env{getenv: getenv}
	table := env.Need(deploy.EnvTableName)
	bus := env.Need(deploy.EnvEventBusName)
	liveEndpoint, liveURL, err := liveSettings(getenv)
	if err != nil {
		return nil, err
	}
	awsCfg, err := sdkConfig(getenv)
	if err != nil {
		return nil, err
	}
	a := &AWS{Log: log, Config: awsCfg}
	a.Service = &support.Service{
		Store:  store.New(dynamodb.NewFromConfig(awsCfg), table),
		Events: eventbus.NewEventBridge(eventbridge.NewFromConfig(awsCfg), bus),
		Sealer: noKeys{},
		Codes:  noKeys{},
		Mail:   noMail{},
		Config: cfg,
		Log:    log,
	}
	if group := getenv(deploy.EnvScheduleGroup); group != "" {
		a.Service.Schedules = schedule.NewEventBridgeScheduler(scheduler.NewFromConfig(awsCfg), schedule.Config{
			GroupName: group, TargetARN: getenv(deploy.EnvExpiryFunction), RoleARN: getenv(deploy.EnvSchedulerRole), DLQARN: getenv(deploy.EnvExpiryDLQ),
		})
	} else {
		a.Service.Schedules = noSchedules{log: log}
	}
	if liveEndpoint != "" {
		a.Service.Live = views.Live(connections.NewForEndpoint(awsCfg, liveEndpoint))
		a.Service.Config.LiveURL = liveURL
	}
	for _, part := range parts {
		if err := part(a, env); err != nil {
			return nil, err
		}
	}
	if len(env.missing) > 0 {
		return nil, fmt.Errorf("missing environment variables: %v", env.missing)
	}
	return a, nil
}

// liveSettings reads the live channel's two variables: both set and well-formed, or
// neither. Half a live channel would hand out a URL nobody pushes to, or push to
// connections no client was told how to open.
func liveSettings(getenv func(string) string) (endpoint, liveURL string, err error) {
	endpoint, liveURL = getenv(deploy.EnvLiveEndpoint), getenv(deploy.EnvLiveURL)
	if endpoint == "" && liveURL == "" {
		return "", "", nil
	}
	if endpoint == "" || liveURL == "" {
		return "", "", fmt.Errorf("%s and %s go together: set both (the live channel) or neither", deploy.EnvLiveEndpoint, deploy.EnvLiveURL)
	}
	if u, perr := url.Parse(endpoint); perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", "", fmt.Errorf("%s=%q: want the stage's https:// URL", deploy.EnvLiveEndpoint, endpoint)
	}
	if u, perr := url.Parse(liveURL); perr != nil || (u.Scheme != "wss" && u.Scheme != "ws") || u.Host == "" {
		return "", "", fmt.Errorf("%s=%q: want the stage's wss:// URL", deploy.EnvLiveURL, liveURL)
	}
	return endpoint, liveURL, nil
}

// errNotHere is what a stand-in for a part the function lacks answers with.
var errNotHere = errors.New("this function does not do that: its main adds no such part, and its role may not")

// noMail is the mailer of a function that must never send mail (pairing, expiry, live):
// their roles are not allowed to, and this makes a wrong call fail loudly.
type noMail struct{}

func (noMail) SendInvitation(context.Context, support.InvitationMail) error {
	return fmt.Errorf("send invitation mail: %w", errNotHere)
}

// noKeys stands in for the KMS keys in a function that never seals, opens or MACs
// (expiry, live): their roles have no KMS permission, and they link no KMS client.
type noKeys struct{}

func (noKeys) Seal(context.Context, []byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("seal: %w", errNotHere)
}

func (noKeys) Open(context.Context, []byte, []byte) ([]byte, error) {
	return nil, fmt.Errorf("open: %w", errNotHere)
}

func (noKeys) MAC(context.Context, string) ([]byte, error) {
	return nil, fmt.Errorf("code mac: %w", errNotHere)
}

// noSchedules stands in where no schedule group is configured: the 5-minute sweep still
// expires every session on time.
type noSchedules struct{ log *slog.Logger }

func (n noSchedules) ScheduleExpiry(_ context.Context, name string, _ time.Time, _ events.ExpiryDue) error {
	n.log.Warn("no schedule group configured; relying on the sweep", "schedule", name)
	return nil
}

func (noSchedules) DeleteExpiry(context.Context, string) error { return nil }
