// Package bench measures what the product costs: the handlers' time over the raw
// DynamoDB round trips they make, the round trips and capacity of every API call and of a
// whole 24-hour session, the bootstraps' size and start-up time, and from those the price
// of a session at AWS list prices and a model of a million concurrent sessions.
//
// A Rig runs the Lambda handlers of internal/httpapi, called with API Gateway events,
// against DynamoDB Local and aws-ses-v2-local. KMS, EventBridge and EventBridge Scheduler
// cannot run here: the rig puts counting stand-ins behind the same interfaces (local key
// files for KMS), so their calls are counted and priced but cost no time. With
// RigOptions.Live the rig also runs the live function (the WebSocket API's authorizer and
// routes) with the events API Gateway sends, and counts what it pushes through a stand-in
// for @connections. PushLatency instead runs the whole local stack (internal/local/devstack)
// with real WebSocket clients, to time pushes from commit to receipt. cmd/benchreport
// prints the figures; the Go benchmarks of this package show the overhead ratios in
// `go test -bench` form.
package bench

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	sestypes "github.com/aws/aws-sdk-go-v2/service/sesv2/types"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/measure/ddbmeter"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/lambdatest"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// Counts are the calls to the services that cannot run here, and to S3.
type Counts struct {
	KMS              atomic.Int64 // Seal (GenerateDataKey), Open (Decrypt), MAC (GenerateMac)
	Events           atomic.Int64 // entries put on the bus
	SchedulesCreated atomic.Int64 // CreateSchedule or UpdateSchedule
	SchedulesDeleted atomic.Int64
	Mails            atomic.Int64
	S3               atomic.Int64 // HeadObject of the app download
	// The @connections stand-in (Pusher): every POST, the messages they delivered in
	// billed 32 KB units and bytes, and the POSTs that found the connection gone (410).
	Pushes     atomic.Int64
	PushUnits  atomic.Int64
	PushBytes  atomic.Int64
	PushesGone atomic.Int64
	// ICE: the requests for a remote connection's TURN servers (in AWS one
	// GetIceServerConfig to Kinesis Video Streams each).
	ICE atomic.Int64
}

// CountSnapshot is Counts at one moment.
type CountSnapshot struct {
	KMS, Events, SchedulesCreated, SchedulesDeleted, Mails, S3 int64
	Pushes, PushUnits, PushBytes, PushesGone                   int64
	ICE                                                        int64
}

func (c *Counts) snapshot() CountSnapshot {
	return CountSnapshot{c.KMS.Load(), c.Events.Load(), c.SchedulesCreated.Load(), c.SchedulesDeleted.Load(), c.Mails.Load(), c.S3.Load(),
		c.Pushes.Load(), c.PushUnits.Load(), c.PushBytes.Load(), c.PushesGone.Load(), c.ICE.Load()}
}

func (a CountSnapshot) minus(b CountSnapshot) CountSnapshot {
	return CountSnapshot{a.KMS - b.KMS, a.Events - b.Events, a.SchedulesCreated - b.SchedulesCreated, a.SchedulesDeleted - b.SchedulesDeleted, a.Mails - b.Mails, a.S3 - b.S3,
		a.Pushes - b.Pushes, a.PushUnits - b.PushUnits, a.PushBytes - b.PushBytes, a.PushesGone - b.PushesGone, a.ICE - b.ICE}
}

type countingSealer struct {
	inner support.Sealer
	n     *atomic.Int64
}

func (s countingSealer) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	s.n.Add(1)
	return s.inner.Seal(ctx, plaintext, aad)
}

func (s countingSealer) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	s.n.Add(1)
	return s.inner.Open(ctx, sealed, aad)
}

type countingMAC struct {
	inner support.CodeMACer
	n     *atomic.Int64
}

func (m countingMAC) MAC(ctx context.Context, message string) ([]byte, error) {
	m.n.Add(1)
	return m.inner.MAC(ctx, message)
}

// bus counts the events the service publishes; EventBridge bills each entry.
type bus struct{ n *atomic.Int64 }

func (b bus) Publish(_ context.Context, evs ...adhocevents.Event) error {
	b.n.Add(int64(len(evs)))
	return nil
}

// Schedules stands in for EventBridge Scheduler: it keeps the one-time schedules so that a
// test can fire the due ones, as the scheduler would.
type Schedules struct {
	mu      sync.Mutex
	pending map[string]adhocevents.ExpiryDue
	counts  *Counts
}

// ScheduleExpiry implements support.Scheduler.
func (s *Schedules) ScheduleExpiry(_ context.Context, name string, at time.Time, due adhocevents.ExpiryDue) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	due.DueAt = at
	s.pending[name] = due
	s.counts.SchedulesCreated.Add(1)
	return nil
}

// DeleteExpiry implements support.Scheduler.
func (s *Schedules) DeleteExpiry(_ context.Context, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.pending, name)
	s.counts.SchedulesDeleted.Add(1)
	return nil
}

// TakeDue removes and returns the schedules due at now (they delete themselves after
// firing, as ActionAfterCompletion DELETE does).
func (s *Schedules) TakeDue(now time.Time) []adhocevents.ExpiryDue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []adhocevents.ExpiryDue
	for name, d := range s.pending {
		if !d.DueAt.After(now) {
			out = append(out, d)
			delete(s.pending, name)
		}
	}
	return out
}

// LastDue is when the latest pending schedule is due: after pairing, the session's end
// (the pairing retry window's schedule comes before it, and the first poll deletes it).
func (s *Schedules) LastDue() (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last time.Time
	for _, d := range s.pending {
		if d.DueAt.After(last) {
			last = d.DueAt
		}
	}
	return last, !last.IsZero()
}

// Pending is how many schedules wait.
func (s *Schedules) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// mailer sends through the real SES adapter and keeps each recipient's join link, which
// the app needs; the tests of internal/mail read mail back from the server, here the
// server's store would grow with every benchmark iteration.
type mailer struct {
	inner support.Mailer
	rec   *Recorder
	n     *atomic.Int64
	mu    sync.Mutex
	links map[string]string
}

func (m *mailer) SendInvitation(ctx context.Context, im support.InvitationMail) error {
	m.rec.Note("SES.SendEmail")
	m.n.Add(1)
	if err := m.inner.SendInvitation(ctx, im); err != nil {
		return err
	}
	m.mu.Lock()
	m.links[im.To] = im.JoinURL
	m.mu.Unlock()
	return nil
}

func (m *mailer) token(to string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	link, ok := m.links[to]
	if !ok {
		return "", fmt.Errorf("no invitation mail to %s", to)
	}
	i := strings.LastIndex(link, "/join/")
	if i < 0 {
		return "", fmt.Errorf("mail to %s: no join link", to)
	}
	return link[i+len("/join/"):], nil
}

// downloads plays the S3 app download: a HeadObject to see the build is there, then a
// presigned link (signing is local, no request).
type downloads struct{ n *atomic.Int64 }

func (d downloads) Available(context.Context, string) bool {
	d.n.Add(1)
	return true
}

func (d downloads) Download(_ context.Context, arch, fileName string) (httpapi.Download, error) {
	d.n.Add(1)
	return httpapi.Download{RedirectURL: "https://app-bucket.s3.amazonaws.com/agent/" + arch + "/SupportSession.exe?file=" + fileName}, nil
}

// RigOptions configure NewRig.
type RigOptions struct {
	DynamoDBEndpoint string
	SESEndpoint      string
	Table            string         // created if missing
	Config           support.Config // zero: support.Defaults()
	// Log also receives the handlers' logs (JSON lines, as in Lambda); they are counted
	// in any case.
	Log io.Writer
	// Live wires the live channel: the live function's handler (Rig.Live) and a counting
	// stand-in for @connections (Rig.Pusher). Without it the service runs as a deployment
	// without a live channel, where the app and the console only poll.
	Live bool
}

// Rig is the product's handlers on DynamoDB Local and aws-ses-v2-local.
type Rig struct {
	Service    *support.Service
	Invitation httpapi.Handler
	Pairing    httpapi.Handler
	Expiry     func(context.Context, json.RawMessage) (expiryapi.Result, error)
	Live       liveapi.Handler // nil without RigOptions.Live
	Pusher     *Pusher         // @connections; nil without RigOptions.Live

	// Clock is the service's clock: it runs with real time and Advance moves it on, so
	// that a whole day of polls runs in seconds while short stretches still see time pass.
	Clock     *clock.Fake
	Table     string
	Raw       *dynamodb.Client // unmetered: baselines and read-backs
	SES       *sesv2.Client
	Meter     *ddbmeter.Meter // what DynamoDB Local reports
	Recorder  *Recorder       // what the service sent
	Counts    *Counts
	Schedules *Schedules

	mail *mailer
	logs *logCounter
	seq  atomic.Int64
	run  string // distinguishes this rig's technicians and machines from other runs'
}

// NewRig wires the service as internal/setup does for Lambda, with the stand-ins above.
func NewRig(ctx context.Context, o RigOptions) (*Rig, error) {
	r := &Rig{Clock: clock.NewRunning(time.Now().UTC()), Table: o.Table, Meter: &ddbmeter.Meter{}, Recorder: NewRecorder(), Counts: &Counts{}}
	r.Raw = standins.DynamoDBClient(o.DynamoDBEndpoint)
	if err := store.CreateTable(ctx, r.Raw, o.Table); err != nil {
		return nil, fmt.Errorf("bench rig: %w", err)
	}
	r.SES = standins.SESClient(o.SESEndpoint)
	db := standins.DynamoDBClient(o.DynamoDBEndpoint, r.Meter.Option, r.Recorder.Option)
	key := make([]byte, secrets.KeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("bench rig: %w", err)
	}
	sealer, err := secrets.NewLocalSealer(key)
	if err != nil {
		return nil, fmt.Errorf("bench rig: %w", err)
	}
	codes, err := secrets.NewLocalCodeMAC(key)
	if err != nil {
		return nil, fmt.Errorf("bench rig: %w", err)
	}
	cfg := o.Config
	if cfg.SessionTTL == 0 {
		cfg = support.Defaults()
	}
	cfg.PublicBaseURL = "https://support.example.com"
	r.logs = &logCounter{}
	logTo := io.Writer(r.logs)
	if o.Log != nil {
		logTo = io.MultiWriter(o.Log, r.logs)
	}
	log := slog.New(slog.NewJSONHandler(logTo, nil))
	r.Schedules = &Schedules{pending: map[string]adhocevents.ExpiryDue{}, counts: r.Counts}
	r.mail = &mailer{inner: mail.New(r.SES, "support@example.com"), rec: r.Recorder, n: &r.Counts.Mails, links: map[string]string{}}
	r.Service = &support.Service{
		Store:     store.New(db, o.Table),
		Mail:      r.mail,
		Events:    bus{n: &r.Counts.Events},
		Schedules: r.Schedules,
		Sealer:    countingSealer{inner: sealer, n: &r.Counts.KMS},
		Codes:     countingMAC{inner: codes, n: &r.Counts.KMS},
		Config:    cfg,
		Clock:     r.Clock,
		Log:       log,
	}
	r.Invitation = httpapi.Invitation(r.Service, http.NotFoundHandler(), log)
	r.Pairing = httpapi.Pairing(r.Service, downloads{n: &r.Counts.S3}, log)
	r.Expiry = expiryapi.Handler(r.Service, log)
	if o.Live {
		r.Pusher = &Pusher{counts: r.Counts, open: map[string]time.Time{}, got: map[string][][]byte{}}
		r.Service.Live = views.Live(r.Pusher)
		r.Service.Config.LiveURL = rigLiveURL
		r.Live = liveapi.New(r.Service, log)
		r.Service.ICE = iceCounter{n: &r.Counts.ICE}
	}
	r.run = secrets.NewSessionID()[:8]
	return r, nil
}

// Technician is a caller of the technician routes.
type Technician struct {
	ID, Email, Account string
}

func (t Technician) claims() map[string]string {
	return map[string]string{"sub": t.ID, "email": t.Email, "custom:account": t.Account}
}

// NewTechnician is a technician of account no one else uses.
func (r *Rig) NewTechnician(account string) Technician {
	n := r.seq.Add(1)
	return Technician{ID: fmt.Sprintf("tech-%s-%d", r.run, n), Email: fmt.Sprintf("tech-%s-%d@example.com", r.run, n), Account: account}
}

// Unlimited gives an account more slots than any run uses, so that benchmarks can create
// sessions without ending the earlier ones.
func (r *Rig) Unlimited(ctx context.Context, account string) error {
	// 100,000 is the most SetLimits takes.
	return r.Service.SetLimits(ctx, account, support.Limits{Slots: 100_000, AdhocCap: 100_000})
}

// Session is one invitation as the technician and the app know it.
type Session struct {
	Tech    Technician
	ID      string
	Code    string // the security code, as shown to the technician
	Token   string // the invite token from the mail
	Machine string
	Agent   string // the agent token after pairing
}

// Request is one API call: which function serves it and the event it gets.
type Request struct {
	Function string // "invitation" or "pairing"
	Event    events.APIGatewayV2HTTPRequest
	Want     int // expected status
}

// Serve runs a request through its function's handler and checks the status.
func (r *Rig) Serve(ctx context.Context, q Request) (events.APIGatewayV2HTTPResponse, error) {
	h := r.Pairing
	if q.Function == deploy.Invitation {
		h = r.Invitation
	}
	// Errors name the route, not the path: a join path holds the invite token.
	res, err := h(ctx, q.Event)
	if err != nil {
		return res, fmt.Errorf("%s: %w", q.Event.RouteKey, err)
	}
	if q.Want != 0 && res.StatusCode != q.Want {
		return res, fmt.Errorf("%s: status %d, want %d: %s", q.Event.RouteKey, res.StatusCode, q.Want, problemCode(res.Body))
	}
	return res, nil
}

// problemCode keeps an unexpected answer's problem code for an error message, and nothing
// else of the body (a pairing answer holds secrets).
func problemCode(body string) string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal([]byte(body), &p)
	return "code " + p.Code
}

const benchPassword = "Corr3ct-Horse-Battery"

// CreateRequest is the technician's "Send e-mail and prepare session".
func (r *Rig) CreateRequest(t Technician, email string) Request {
	body := fmt.Sprintf(`{"email":%q,"password":%q,"locale":"en"}`, email, benchPassword)
	return Request{deploy.Invitation, lambdatest.APIRequest(http.MethodPost, "/v1/sessions", body, t.claims(), nil), http.StatusCreated}
}

// Created reads the answer of CreateRequest and the invite token from the mail.
func (r *Rig) Created(t Technician, email string, res events.APIGatewayV2HTTPResponse) (*Session, error) {
	var out struct {
		ID           string `json:"id"`
		SecurityCode string `json:"securityCode"`
	}
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.ID == "" {
		return nil, fmt.Errorf("create: unreadable answer (%v)", err)
	}
	token, err := r.mail.token(email)
	if err != nil {
		return nil, err
	}
	return &Session{Tech: t, ID: out.ID, Code: out.SecurityCode, Token: token, Machine: "machine-" + out.ID}, nil
}

// Create invites a new session for a new technician of account.
func (r *Rig) Create(ctx context.Context, account string) (*Session, error) {
	t := r.NewTechnician(account)
	email := "user-" + t.ID + "@example.org"
	res, err := r.Serve(ctx, r.CreateRequest(t, email))
	if err != nil {
		return nil, err
	}
	return r.Created(t, email, res)
}

// GetRequest is the technician's page asking for the session's state.
func (r *Rig) GetRequest(s *Session) Request {
	return Request{deploy.Invitation, lambdatest.APIRequest(http.MethodGet, "/v1/sessions/"+s.ID, "", s.Tech.claims(), nil), http.StatusOK}
}

// JoinRequest is the end user opening the link in the mail.
func (r *Rig) JoinRequest(s *Session) Request {
	return Request{deploy.Pairing, lambdatest.APIRequest(http.MethodGet, "/join/"+s.Token, "", nil, map[string]string{"accept-language": "en"}), http.StatusOK}
}

// DownloadRequest is the end user downloading the app (answered with a redirect to S3).
func (r *Rig) DownloadRequest(s *Session) Request {
	return Request{deploy.Pairing, lambdatest.APIRequest(http.MethodGet, "/join/"+s.Token+"/app", "", nil, nil), http.StatusFound}
}

// HelloRequest is the app's first call.
func (r *Rig) HelloRequest(s *Session) Request {
	b, _ := json.Marshal(protocol.HelloRequest{InviteToken: s.Token, Platform: protocol.PlatformWindows, OSVersion: "Windows 11 Pro 23H2",
		Hostname: "PC-" + s.ID[:6], AgentVersion: "1.0.0", MachineID: s.Machine})
	return Request{deploy.Pairing, lambdatest.APIRequest(http.MethodPost, protocol.PathHello, string(b), nil, nil), http.StatusOK}
}

// PairRequest is the app sending the code the user typed; wrong sends a wrong code.
func (r *Rig) PairRequest(s *Session, wrong bool) Request {
	code, want := s.Code, http.StatusOK
	if wrong {
		code, want = "000-000-000", http.StatusUnauthorized
		if strings.ReplaceAll(s.Code, "-", "") == "000000000" {
			code = "000-000-001"
		}
	}
	b, _ := json.Marshal(protocol.PairRequest{InviteToken: s.Token, SecurityCode: code, Platform: protocol.PlatformWindows,
		OSVersion: "Windows 11 Pro 23H2", Hostname: "PC-" + s.ID[:6], AgentVersion: "1.0.0", MachineID: s.Machine, Nonce: "nonce-" + s.ID})
	return Request{deploy.Pairing, lambdatest.APIRequest(http.MethodPost, protocol.PathPair, string(b), nil, nil), want}
}

// Paired keeps the agent token of a pairing answer.
func (s *Session) Paired(res events.APIGatewayV2HTTPResponse) error {
	var out protocol.PairResponse
	if err := json.Unmarshal([]byte(res.Body), &out); err != nil || out.AgentToken == "" {
		return fmt.Errorf("pair: unreadable answer (%v)", err)
	}
	s.Agent = out.AgentToken
	return nil
}

func (r *Rig) agentRequest(s *Session, path string, want int) Request {
	return Request{deploy.Pairing, lambdatest.APIRequest(http.MethodPost, path, "", nil, map[string]string{"authorization": "Bearer " + s.Agent}), want}
}

// PollRequest is the app's poll.
func (r *Rig) PollRequest(s *Session) Request {
	return r.agentRequest(s, protocol.PathPoll, http.StatusOK)
}

// EndRequest is the user's "end session and remove app".
func (r *Rig) EndRequest(s *Session) Request {
	return r.agentRequest(s, protocol.PathEnd, http.StatusOK)
}

// RemovedRequest is the app reporting that it has cleaned up.
func (r *Rig) RemovedRequest(s *Session) Request {
	return r.agentRequest(s, protocol.PathRemoved, http.StatusNoContent)
}

// CancelRequest is the technician ending the session early.
func (r *Rig) CancelRequest(s *Session) Request {
	return Request{deploy.Invitation, lambdatest.APIRequest(http.MethodDelete, "/v1/sessions/"+s.ID, "", s.Tech.claims(), nil), http.StatusOK}
}

// Activate takes a created session through hello, pairing and the first poll.
func (r *Rig) Activate(ctx context.Context, s *Session) error {
	if _, err := r.Serve(ctx, r.HelloRequest(s)); err != nil {
		return err
	}
	res, err := r.Serve(ctx, r.PairRequest(s, false))
	if err != nil {
		return err
	}
	if err := s.Paired(res); err != nil {
		return err
	}
	_, err = r.Serve(ctx, r.PollRequest(s))
	return err
}

// sendRaw is one SES send of a small mail, for the baseline of the create call.
func (r *Rig) sendRaw(ctx context.Context) error {
	_, err := r.SES.SendEmail(ctx, &sesv2.SendEmailInput{
		FromEmailAddress: aws.String("support@example.com"),
		Destination:      &sestypes.Destination{ToAddresses: []string{"baseline@example.org"}},
		Content: &sestypes.EmailContent{Simple: &sestypes.Message{
			Subject: &sestypes.Content{Data: aws.String("baseline")},
			Body:    &sestypes.Body{Text: &sestypes.Content{Data: aws.String("baseline")}},
		}},
	})
	if err != nil {
		return fmt.Errorf("raw SES send: %w", err)
	}
	return nil
}
