// Package devstack runs the whole product on one machine: DynamoDB Local, aws-ses-v2-local,
// the in-process bus and scheduler, the TURN server of remote access, and the local gateway in front of the same handlers
// the Lambda functions run. `make run` starts it through cmd/adhoc-local; end-to-end tests
// start it in process.
package devstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/connections"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/schedule"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// Options configure a local stack. Zero values pick what tests want: free ports, fresh
// temporary data.
type Options struct {
	// DataDir keeps the keys, the scheduler's pending schedules, the event log and (unless
	// DynamoDBEndpoint is set) DynamoDB Local's data. "" uses a temporary folder that
	// Close removes.
	DataDir string
	// Addr is where the gateway listens, e.g. "127.0.0.1:8080"; "" picks a free port.
	Addr string
	// DynamoDBEndpoint reuses a running DynamoDB Local; "" starts one on DynamoDBPort.
	DynamoDBEndpoint string
	DynamoDBPort     int
	// SESEndpoint reuses a running aws-ses-v2-local; "" starts one on SESPort.
	SESEndpoint string
	SESPort     int
	Table       string // "" = "adhoc-support"
	Config      support.Config
	// Clock is the clock of the service, the store and the scheduler; nil is the real
	// clock.
	Clock clock.Clock
	// SweepEvery is how often the sweep rule fires; 0 = 5 minutes as in AWS, negative =
	// never (tests that sweep themselves).
	SweepEvery time.Duration
	// AppDir holds the Windows app builds as `make agent` leaves them
	// (windows-<arch>/SupportSession.exe); "" = <repo>/dist/agent-dev, the development build.
	AppDir  string
	Console http.Handler
	Log     *slog.Logger
	// MailFrom is the sender of the invitation mail.
	MailFrom string
	// DynamoDBOptions are further options of the service's DynamoDB client (a meter).
	DynamoDBOptions []func(*dynamodb.Options)
	// Wrap, if set, wraps the gateway (tests that count or disturb requests).
	Wrap func(http.Handler) http.Handler
	// LiveLimits are the live channel's limits (zero: AWS's); NoLive runs without a live
	// channel, as a deployment behind a proxy that blocks WebSockets looks to its clients.
	LiveLimits gateway.LiveLimits
	NoLive     bool
	// TURNPort is where the local TURN server of remote access listens on 127.0.0.1,
	// UDP and TCP (`make run`: TURN_PORT, 3478); 0 picks a free port.
	TURNPort int
}

// Stack is a running local product.
type Stack struct {
	URL         string // the gateway: console, API, join pages
	LiveURL     string // the live channel: ws://…/live ("" with NoLive)
	SESURL      string // aws-ses-v2-local: its page shows every mail
	DynamoDBURL string
	Table       string
	DataDir     string

	Service   *support.Service
	Bus       *eventbus.Local
	Scheduler *schedule.Local
	Gateway   *gateway.Gateway
	Issuer    *gateway.Issuer
	DynamoDB  *dynamodb.Client
	// TURN is the TURN server remote connections relay through (the ICE servers the
	// service hands out); Kinesis Video Streams' managed TURN stands in its place in AWS.
	TURN *turn.Server

	closers []func()
	server  *http.Server
}

// Start brings the stack up and returns once it answers. Close stops what it started.
func Start(ctx context.Context, o Options) (_ *Stack, err error) {
	st := &Stack{}
	defer func() {
		// On an error the returned stack is nil: close what was started through st.
		if err != nil {
			st.Close()
		}
	}()
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	if st.DataDir = o.DataDir; st.DataDir == "" {
		tmp, terr := os.MkdirTemp("", "adhoc-local-*")
		if terr != nil {
			return nil, fmt.Errorf("devstack: %w", terr)
		}
		st.DataDir = tmp
		st.closers = append(st.closers, func() { _ = os.RemoveAll(tmp) })
	}
	if err := os.MkdirAll(st.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("devstack: data folder: %w", err)
	}

	// DynamoDB Local keeps its data in the data folder, so sessions survive a restart.
	st.DynamoDBURL = o.DynamoDBEndpoint
	if st.DynamoDBURL == "" {
		ddbDir := filepath.Join(st.DataDir, "dynamodb")
		if err := os.MkdirAll(ddbDir, 0o700); err != nil {
			return nil, fmt.Errorf("devstack: %w", err)
		}
		p, perr := standins.StartDynamoDB(ctx, standins.DynamoDBOptions{
			Port: o.DynamoDBPort, DataDir: ddbDir, LogFile: filepath.Join(st.DataDir, "dynamodb.log"),
		})
		if perr != nil {
			return nil, fmt.Errorf("devstack: %w", perr)
		}
		st.closers = append(st.closers, func() { _ = p.Stop() })
		st.DynamoDBURL = p.Endpoint
	}
	st.SESURL = o.SESEndpoint
	if st.SESURL == "" {
		p, perr := standins.StartSES(ctx, standins.SESOptions{Port: o.SESPort, LogFile: filepath.Join(st.DataDir, "ses.log")})
		if perr != nil {
			return nil, fmt.Errorf("devstack: %w", perr)
		}
		st.closers = append(st.closers, func() { _ = p.Stop() })
		st.SESURL = p.Endpoint
	}

	st.Table = o.Table
	if st.Table == "" {
		st.Table = "adhoc-support"
	}
	st.DynamoDB = standins.DynamoDBClient(st.DynamoDBURL)
	if err := store.CreateTable(ctx, st.DynamoDB, st.Table); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	serviceDB := st.DynamoDB
	if len(o.DynamoDBOptions) > 0 {
		serviceDB = standins.DynamoDBClient(st.DynamoDBURL, o.DynamoDBOptions...)
	}

	keys := filepath.Join(st.DataDir, "keys")
	passwordKey, err := secrets.LoadOrCreateKeyFile(filepath.Join(keys, "password.key"))
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	codeKey, err := secrets.LoadOrCreateKeyFile(filepath.Join(keys, "code.key"))
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	jwtKey, err := secrets.LoadOrCreateKeyFile(filepath.Join(keys, "jwt.key"))
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	sealer, err := secrets.NewLocalSealer(passwordKey)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	codes, err := secrets.NewLocalCodeMAC(codeKey)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	// Sign-in tokens follow the real clock even when tests move the product's clock on by
	// a day: they are about the person at the keyboard, not about the session.
	if st.Issuer, err = gateway.NewIssuer(jwtKey, nil); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}

	st.Bus = eventbus.NewLocal()
	if err := st.Bus.LogTo(filepath.Join(st.DataDir, "events.jsonl")); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	st.closers = append(st.closers, func() { _ = st.Bus.Close() })

	from := o.MailFrom
	if from == "" {
		from = "support@adhoc-support.local"
	}
	cfg := o.Config
	if cfg.SessionTTL == 0 {
		cfg = support.Defaults()
	}
	// The stand-in for KVS's managed TURN, on loopback, with credentials that expire.
	if st.TURN, err = turn.Start(turn.Options{Port: o.TURNPort}); err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	st.closers = append(st.closers, func() { _ = st.TURN.Close() })

	svc := &support.Service{
		Store:  store.New(serviceDB, st.Table, store.WithClock(o.Clock)),
		Mail:   mail.New(standins.SESClient(st.SESURL), from),
		Events: st.Bus,
		Sealer: sealer,
		Codes:  codes,
		ICE:    st.TURN,
		Config: cfg,
		Clock:  o.Clock,
		Log:    log,
	}
	st.Service = svc

	// The scheduler calls the expiry function's handler with the payload a one-time
	// EventBridge schedule would deliver.
	expiry := expiryapi.Handler(svc, log)
	st.Scheduler, err = schedule.NewLocal(filepath.Join(st.DataDir, "schedules.json"), func(ctx context.Context, due events.ExpiryDue) error {
		_, err := expiry(ctx, expiryapi.DuePayload(due))
		return err
	}, o.Clock)
	if err != nil {
		return nil, fmt.Errorf("devstack: %w", err)
	}
	svc.Schedules = st.Scheduler

	listener, err := net.Listen("tcp", addrOr(o.Addr))
	if err != nil {
		return nil, fmt.Errorf("devstack: gateway: %w", err)
	}
	st.URL = "http://" + hostPort(listener.Addr())
	if cfg.PublicBaseURL == "" || cfg.PublicBaseURL == support.Defaults().PublicBaseURL {
		svc.Config.PublicBaseURL = st.URL
	}
	var live *gateway.Live
	if !o.NoLive {
		// The live function's handler behind the stand-in of the WebSocket API; pushes go
		// through the same @connections client as in AWS, to the gateway's stand-in.
		live = &gateway.Live{Handler: liveapi.New(svc, log), Limits: o.LiveLimits, Log: log}
		st.LiveURL = LiveURLOf(st.URL)
		if svc.Config.LiveURL == "" {
			svc.Config.LiveURL = st.LiveURL
		}
		svc.Live = views.Live(connections.NewForEndpoint(standins.AWSConfig(st.URL), st.URL))
	}
	appDir := o.AppDir
	if appDir == "" {
		if root, rerr := standins.RepoRoot(); rerr == nil {
			appDir = filepath.Join(root, "dist", "agent-dev")
		}
	}
	st.Gateway = &gateway.Gateway{
		Invitation: httpapi.Invitation(svc, o.Console, log),
		Pairing:    httpapi.Pairing(svc, localDownloads{dir: appDir}, log),
		Live:       live,
		Issuer:     st.Issuer,
		Service:    svc,
		Log:        log,
		Health:     st.health,
	}
	var handler http.Handler = st.Gateway
	if o.Wrap != nil {
		handler = o.Wrap(handler)
	}
	st.server = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if serr := st.server.Serve(listener); serr != nil && !errors.Is(serr, http.ErrServerClosed) {
			log.Error("gateway stopped", "error", serr)
		}
	}()
	st.closers = append(st.closers, func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = st.server.Shutdown(ctx)
	})

	// The scheduler starts after the gateway so that overdue schedules caught up at start
	// find a complete service.
	runCtx, cancel := context.WithCancel(context.Background())
	st.closers = append(st.closers, cancel)
	if err := st.Scheduler.Start(runCtx); err != nil {
		return nil, fmt.Errorf("devstack: scheduler: %w", err)
	}
	st.closers = append(st.closers, st.Scheduler.Stop)
	sweepEvery := o.SweepEvery
	if sweepEvery == 0 {
		sweepEvery = 5 * time.Minute
	}
	if sweepEvery > 0 {
		go st.sweepLoop(runCtx, expiry, sweepEvery, log)
	}
	return st, nil
}

// LiveURLOf is where the gateway at gatewayURL (http://host:port) serves the live channel:
// ws://host:port/live. cmd/adhoc-local needs it for the console's CSP before the stack runs.
func LiveURLOf(gatewayURL string) string {
	return "ws://" + strings.TrimPrefix(gatewayURL, "http://") + gateway.PathLive
}

// sweepLoop is the EventBridge rule "every 5 minutes → expiry {sweep: true}". It sweeps
// once right away too, so that sessions that ended while the stack was down are written
// down at start.
func (st *Stack) sweepLoop(ctx context.Context, expiry func(context.Context, json.RawMessage) (expiryapi.Result, error), every time.Duration, log *slog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := expiry(ctx, json.RawMessage(`{"sweep":true}`)); err != nil && ctx.Err() == nil {
			log.Warn("sweep failed", "error", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// health answers once the table exists and the mail server answers.
func (st *Stack) health(ctx context.Context) error {
	if _, err := st.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &st.Table}); err != nil {
		return fmt.Errorf("table: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, st.SESURL+"/health-check", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("mail server: %w", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("mail server: %s", res.Status)
	}
	return nil
}

// Close stops everything Start started, in reverse order.
func (st *Stack) Close() {
	for i := len(st.closers) - 1; i >= 0; i-- {
		st.closers[i]()
	}
	st.closers = nil
}

func addrOr(addr string) string {
	if addr == "" {
		return "127.0.0.1:0"
	}
	return addr
}

func hostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := "localhost"
	if !tcp.IP.IsLoopback() && !tcp.IP.IsUnspecified() {
		host = tcp.IP.String()
	}
	return net.JoinHostPort(host, strconv.Itoa(tcp.Port))
}

// localDownloads serves the Windows app from the local build folder.
type localDownloads struct{ dir string }

func (d localDownloads) path(arch string) string {
	return filepath.Join(d.dir, "windows-"+arch, "SupportSession.exe")
}

// Available reports whether a build exists for the architecture.
func (d localDownloads) Available(_ context.Context, arch string) bool {
	_, err := os.Stat(d.path(arch))
	return d.dir != "" && err == nil
}

func (d localDownloads) Download(_ context.Context, arch, _ string) (httpapi.Download, error) {
	if d.dir == "" {
		return httpapi.Download{}, httpapi.ErrNoBuild
	}
	b, err := os.ReadFile(d.path(arch))
	if errors.Is(err, os.ErrNotExist) {
		return httpapi.Download{}, httpapi.ErrNoBuild
	}
	if err != nil {
		return httpapi.Download{}, fmt.Errorf("app build: %w", err)
	}
	return httpapi.Download{Body: b}, nil
}
