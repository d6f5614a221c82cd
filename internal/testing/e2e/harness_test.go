// Package e2e drives the whole product through the local gateway — the same handlers the
// Lambda functions run — against DynamoDB Local and aws-ses-v2-local, as a technician with
// a browser-less HTTP client and as the Support Session app.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/apidoc"
	"github.com/adhoc-support/adhoc-support/internal/testing/logbuf"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// apiDoc checks every answer of every test against api/openapi.yaml, so the document and
// the code cannot drift apart.
var apiDoc = func() *apidoc.Validator {
	v, err := apidoc.Load()
	if err != nil {
		panic(err)
	}
	return v
}()

// newClock is the clock the stack's service, store and scheduler share: it stands at the
// start of the test (whole seconds) until the test moves it.
func newClock() *clock.Fake { return clock.NewFake(time.Now().UTC().Truncate(time.Second)) }

type env struct {
	t     *testing.T
	st    *devstack.Stack
	clock *clock.Fake
	logs  *logbuf.Buffer // everything the stack logs, to check that no secret is ever logged
	http  *http.Client
}

type option func(*devstack.Options)

func withConfig(f func(*support.Config)) option {
	return func(o *devstack.Options) { f(&o.Config) }
}

// realClock runs the stack on the real clock, as `make run` does.
func realClock() option { return func(o *devstack.Options) { o.Clock = nil } }

func withSES(endpoint string) option { return func(o *devstack.Options) { o.SESEndpoint = endpoint } }

// start runs the product in process on a fresh table, with an injected clock.
func start(t *testing.T, opts ...option) *env {
	t.Helper()
	_, table := testenv.Table(t)
	e := &env{t: t, clock: newClock(), logs: &logbuf.Buffer{}, http: &http.Client{Timeout: 30 * time.Second}}
	cfg := support.Defaults()
	cfg.ActiveInterval = 2 * time.Second
	o := devstack.Options{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		Config:           cfg,
		Clock:            e.clock,
		SweepEvery:       -1, // tests sweep explicitly
		AppDir:           t.TempDir(),
		Log:              slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range opts {
		f(&o)
	}
	st, err := devstack.Start(context.Background(), o)
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(st.Close)
	e.st = st
	return e
}

// reply is an HTTP answer with its JSON decoded.
type reply struct {
	Status int
	Header http.Header
	Raw    string
	JSON   map[string]any
}

func (r reply) str(key string) string {
	v, _ := r.JSON[key].(string)
	return v
}

func (r reply) num(key string) int {
	v, _ := r.JSON[key].(float64)
	return int(v)
}

// do sends a request; body may be a string (sent as is) or a value (sent as JSON).
func (e *env) do(method, path, bearer string, body any) reply {
	e.t.Helper()
	var rd io.Reader
	var reqBody []byte
	switch b := body.(type) {
	case nil:
	case string:
		reqBody = []byte(b)
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		reqBody = raw
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.st.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := e.http.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if err := apiDoc.ValidateResponse(req, reqBody, res.StatusCode, res.Header, raw); err != nil &&
		!(errors.Is(err, apidoc.ErrUnknownRoute) && res.StatusCode == http.StatusNotFound) {
		e.t.Errorf("the answer differs from api/openapi.yaml: %v", err)
	}
	r := reply{Status: res.StatusCode, Header: res.Header, Raw: string(raw)}
	_ = json.Unmarshal(raw, &r.JSON)
	return r
}

// want fails the test unless the reply has the status and, for a problem, the code.
func want(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if code != "" {
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("content type %q, want application/problem+json: %s", ct, r.Raw)
		}
		if r.str("code") != code {
			t.Fatalf("code %q, want %q: %s", r.str("code"), code, r.Raw)
		}
	}
}

// technician signs in through the dev route and returns the bearer token.
func (e *env) technician(email, account string, admin bool) string {
	e.t.Helper()
	r := e.do(http.MethodPost, "/v1/dev/token", "", map[string]any{"email": email, "account": account, "admin": admin})
	want(e.t, r, http.StatusOK, "")
	return r.str("token")
}

func (e *env) setLimits(account string, slots, cap int) {
	e.t.Helper()
	r := e.do(http.MethodPut, "/v1/dev/accounts/"+account, "", map[string]any{"slots": slots, "adhocCap": cap})
	want(e.t, r, http.StatusOK, "")
}

const goodPassword = "Corr3ct-Horse-Battery"

// invite creates a session and returns its id and security code.
func (e *env) invite(token, email string) (id, code string) {
	e.t.Helper()
	r := e.do(http.MethodPost, "/v1/sessions", token, map[string]any{"email": email, "password": goodPassword, "locale": "en"})
	want(e.t, r, http.StatusCreated, "")
	return r.str("id"), r.str("securityCode")
}

var joinLink = regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})`)

// inviteToken reads the invite token from the invitation mail sent to the address.
func (e *env) inviteToken(to string) string {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		// The mail server is shared by the package's tests: the newest mail counts.
		mails := testenv.MailsTo(e.t, e.st.SESURL, to, time.Time{})
		for i := len(mails) - 1; i >= 0; i-- {
			if mm := joinLink.FindStringSubmatch(mails[i].Text); mm != nil {
				return mm[1]
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Fatalf("no invitation mail to %s", to)
	return ""
}

// app is the Support Session app's side of the protocol.
type app struct {
	e        *env
	token    string // invite token
	machine  string
	hostname string
	nonce    string
	agent    string // agent token after pairing
}

var appSeq struct {
	mu sync.Mutex
	n  int
}

func (e *env) app(inviteToken string) *app {
	appSeq.mu.Lock()
	appSeq.n++
	n := appSeq.n
	appSeq.mu.Unlock()
	return &app{
		e: e, token: inviteToken, machine: fmt.Sprintf("machine-%s-%d", e.t.Name(), n),
		hostname: fmt.Sprintf("PC-%d", n), nonce: fmt.Sprintf("nonce-%026d", n),
	}
}

func (a *app) hello() reply {
	return a.e.do(http.MethodPost, "/v1/agent/hello", "", map[string]any{
		"inviteToken": a.token, "platform": "windows", "osVersion": "Windows 11 Pro 23H2",
		"hostname": a.hostname, "agentVersion": "1.0.0", "machineId": a.machine,
	})
}

func (a *app) pair(code string) reply {
	r := a.e.do(http.MethodPost, "/v1/agent/pair", "", map[string]any{
		"inviteToken": a.token, "securityCode": code, "platform": "windows", "osVersion": "Windows 11 Pro 23H2",
		"hostname": a.hostname, "agentVersion": "1.0.0", "machineId": a.machine, "nonce": a.nonce,
	})
	if r.Status == http.StatusOK {
		a.agent = r.str("agentToken")
	}
	return r
}

func (a *app) poll() reply    { return a.e.do(http.MethodPost, "/v1/agent/poll", a.agent, nil) }
func (a *app) end() reply     { return a.e.do(http.MethodPost, "/v1/agent/end", a.agent, nil) }
func (a *app) removed() reply { return a.e.do(http.MethodPost, "/v1/agent/removed", a.agent, nil) }
