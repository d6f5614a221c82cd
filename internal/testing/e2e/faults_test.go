package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithymw "github.com/aws/smithy-go/middleware"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/logbuf"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// --- SES failing or slow -------------------------------------------------------------------

// sesStub stands in for SES: it answers as told, or hands the request on to the real
// aws-ses-v2-local.
type sesStub struct {
	srv   *httptest.Server
	calls atomic.Int64
	// answer decides what to do with a SendEmail; nil passes it to the real mail server.
	answer func(w http.ResponseWriter, r *http.Request, body []byte) bool
	// done counts the requests the stub has finished with.
	done atomic.Int64
}

func newSESStub(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte) bool) *sesStub {
	t.Helper()
	upstream, err := url.Parse(testenv.SES(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	s := &sesStub{answer: answer}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer s.done.Add(1)
		body, _ := io.ReadAll(r.Body)
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/v2/email/outbound-emails") {
			s.calls.Add(1)
			if s.answer != nil && s.answer(w, r, body) {
				return
			}
		}
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		r.ContentLength = int64(len(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// sesError answers like SES does: the error type in a header, the message in the body.
func sesError(w http.ResponseWriter, status int, typ, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", typ)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}

// nothingReserved checks that no invitation holds anything: no slot, no session, the
// technician free to invite.
func nothingReserved(t *testing.T, e *env, tech string) {
	t.Helper()
	acc := e.do(http.MethodGet, "/v1/account", tech, nil)
	want(t, acc, http.StatusOK, "")
	if acc.num("used") != 0 || acc.num("adhocInUse") != 0 {
		t.Errorf("a failed invitation kept a slot: %s", acc.Raw)
	}
	list := e.do(http.MethodGet, "/v1/sessions", tech, nil)
	if n := len(list.JSON["sessions"].([]any)); n != 0 {
		t.Errorf("a failed invitation left %d sessions: %s", n, list.Raw)
	}
}

// TestMailServerErrorsAndSlowness: SES answering 500 (and the SDK's retries getting 500
// too), SES answering slowly but in time, and SES so slow that the caller gives up — as
// API Gateway does after 30 s and Lambda at its timeout. Whatever happens, an invitation
// whose mail was not sent keeps nothing reserved.
func TestMailServerErrorsAndSlowness(t *testing.T) {
	cases := []struct {
		name  string
		delay time.Duration // before SES answers
		fail  bool          // SES answers 500
		// giveUp is how long the caller waits: through the gateway, a client that hangs
		// up; for the Lambda handler, the function's deadline.
		giveUp time.Duration
		lambda bool
		want   int // 0: the caller gave up, nothing to check but what is kept
	}{
		{name: "500", fail: true, want: http.StatusBadGateway},
		{name: "slow but in time", delay: 1500 * time.Millisecond, want: http.StatusCreated},
		{name: "client gives up", delay: 4 * time.Second, giveUp: time.Second},
		{name: "function deadline", delay: 4 * time.Second, giveUp: time.Second, lambda: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			stub := newSESStub(t, func(w http.ResponseWriter, r *http.Request, _ []byte) bool {
				select {
				case <-time.After(tc.delay):
				case <-r.Context().Done():
					return true
				}
				if tc.fail {
					sesError(w, http.StatusInternalServerError, "InternalFailure", "internal failure")
					return true
				}
				return false
			})
			e := start(t, withSES(stub.srv.URL))
			tech := e.technician("tina@example.com", "acme", false)
			user := strings.ReplaceAll(tc.name, " ", "-") + "@example.org"
			body := map[string]any{"email": user, "password": goodPassword, "locale": "en"}
			began := time.Now()

			switch {
			case tc.lambda:
				ctx, cancel := context.WithTimeout(context.Background(), tc.giveUp)
				defer cancel()
				res, err := e.st.Gateway.Invitation(ctx, technicianEvent(t, e, tech, http.MethodPost, "/v1/sessions", body))
				if err != nil {
					t.Fatalf("the handler returned a Go error (API Gateway would answer a bare 502): %v", err)
				}
				if res.StatusCode < 500 {
					t.Fatalf("past its deadline the handler answered %d: %s", res.StatusCode, res.Body)
				}
			case tc.giveUp > 0:
				raw, _ := json.Marshal(body)
				req, _ := http.NewRequest(http.MethodPost, e.st.URL+"/v1/sessions", strings.NewReader(string(raw)))
				req.Header.Set("Authorization", "Bearer "+tech)
				if _, err := (&http.Client{Timeout: tc.giveUp}).Do(req); err == nil {
					t.Fatal("the request finished although SES had not answered yet")
				}
			default:
				want(t, e.do(http.MethodPost, "/v1/sessions", tech, body), tc.want, map[int]string{http.StatusBadGateway: "mail_failed"}[tc.want])
			}
			if stub.calls.Load() == 0 {
				t.Fatal("the mail server was never asked; the test proves nothing")
			}
			t.Logf("SES asked %d times; the invitation took %s", stub.calls.Load(), time.Since(began).Round(time.Millisecond))

			if tc.want == http.StatusCreated {
				if len(testenv.MailsTo(t, e.st.SESURL, user, time.Time{})) != 1 {
					t.Fatal("the slow mail did not arrive")
				}
				return
			}
			// Let the service finish what it does after the caller left.
			waitFor(t, 10*time.Second, "the service to finish with the mail server", func() bool {
				return stub.done.Load() >= stub.calls.Load() && strings.Contains(e.logs.String(), "sending the invitation mail failed")
			})
			// The rollback follows the log line; give it a moment, then check everything.
			for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
				if e.do(http.MethodGet, "/v1/account", tech, nil).num("used") == 0 {
					break
				}
			}
			nothingReserved(t, e, tech)
			if len(testenv.MailsTo(t, e.st.SESURL, user, time.Time{})) != 0 {
				t.Error("a mail went out for an invitation that does not exist")
			}
		})
	}
}

// technicianEvent is the API Gateway event of a technician's request, as the JWT
// authorizer passes it to the function.
func technicianEvent(t *testing.T, e *env, token, method, path string, body any) events.APIGatewayV2HTTPRequest {
	t.Helper()
	claims, err := e.st.Issuer.Verify(token)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(body)
	return events.APIGatewayV2HTTPRequest{
		RawPath: path, Body: string(raw), Headers: map[string]string{"content-type": "application/json"},
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			HTTP:       events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path},
			Authorizer: &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims}},
		},
	}
}

func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --- DynamoDB unreachable mid-pair ------------------------------------------------------------

// tcpProxy sits between the service and DynamoDB Local, so a test can cut the network:
// Cut closes every connection and refuses new ones, Restore listens again on the same
// port, DropNextAnswer lets the next request through but loses its answer and then cuts.
type tcpProxy struct {
	t      *testing.T
	target string
	addr   string

	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	dropNext bool
	accepted sync.WaitGroup
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{t: t, target: u.Host, conns: map[net.Conn]struct{}{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(func() {
		p.Cut()
		p.accepted.Wait()
	})
	return p
}

func (p *tcpProxy) URL() string { return "http://" + p.addr }

func (p *tcpProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.accepted.Add(1)
	go func() {
		defer p.accepted.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed by Cut
			}
			go p.pipe(c)
		}
	}()
}

func (p *tcpProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln == nil {
		_ = c.Close()
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *tcpProxy) pipe(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	go func() {
		_, _ = io.Copy(server, client)
		_ = server.Close()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			p.mu.Lock()
			drop := p.dropNext
			p.dropNext = false
			p.mu.Unlock()
			if drop {
				// DynamoDB has done the work and answered; the answer never arrives.
				p.Cut()
				return
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	_ = client.Close()
}

// Cut closes the listener and every connection: DynamoDB is unreachable.
func (p *tcpProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = map[net.Conn]struct{}{}
}

// Restore makes DynamoDB reachable again on the same address.
func (p *tcpProxy) Restore() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// DropNextAnswer loses the answer to the next request and then cuts the network.
func (p *tcpProxy) DropNextAnswer() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropNext = true
}

// opHook runs an action just before the service's n-th call of a DynamoDB operation.
type opHook struct {
	mu     sync.Mutex
	op     string
	n      int
	action func()
	fired  bool
}

func (h *opHook) arm(op string, n int, action func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.op, h.n, h.action, h.fired = op, n, action, false
}

func (h *opHook) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *smithymw.Stack) error {
		return stack.Initialize.Add(smithymw.InitializeMiddlewareFunc("faultHook",
			func(ctx context.Context, in smithymw.InitializeInput, next smithymw.InitializeHandler) (smithymw.InitializeOutput, smithymw.Metadata, error) {
				h.mu.Lock()
				var action func()
				if h.action != nil && awsmw.GetOperationName(ctx) == h.op {
					if h.n--; h.n == 0 {
						action, h.action, h.fired = h.action, nil, true
					}
				}
				h.mu.Unlock()
				if action != nil {
					action()
				}
				return next.HandleInitialize(ctx, in)
			}), smithymw.After)
	})
}

func (h *opHook) didFire() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fired
}

// withDynamoDB points the service at another DynamoDB endpoint, with client options.
func withDynamoDB(endpoint string, opts ...func(*dynamodb.Options)) option {
	return func(o *devstack.Options) {
		o.DynamoDBEndpoint = endpoint
		o.DynamoDBOptions = append(o.DynamoDBOptions, opts...)
	}
}

// direct reads the table around the proxy, whatever state the network is in.
func direct(t *testing.T, e *env) (*dynamodb.Client, *store.Store) {
	t.Helper()
	db := standins.DynamoDBClient(testenv.DynamoDBEndpoint(t))
	return db, store.New(db, e.st.Table)
}

// kinds counts the table's items by kind.
func kinds(t *testing.T, db *dynamodb.Client, table string) map[string]int {
	t.Helper()
	out := map[string]int{}
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table, ConsistentRead: ptr(true)})
	for page := 0; p.HasMorePages() && page < 100; page++ {
		res, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range res.Items {
			if k, ok := it["kind"].(*types.AttributeValueMemberS); ok {
				out[k.Value]++
			}
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

// TestDynamoDBUnreachableMidPair cuts the network to DynamoDB at three points of a
// pairing: after the invite lookup, just before the activation transaction, and after the
// transaction with its answer lost. The app gets a 500 problem (never a Go error, which API
// Gateway would turn into a bare 502), storage holds either the whole activation or none of
// it, and the app's retry succeeds once DynamoDB is back.
func TestDynamoDBUnreachableMidPair(t *testing.T) {
	cases := []struct {
		name      string
		op        string
		n         int
		loseReply bool // the transaction is committed, its answer lost
	}{
		{"after the invite lookup", "GetItem", 2, false},
		{"before the activation transaction", "TransactWriteItems", 1, false},
		{"the activation's answer lost", "TransactWriteItems", 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			proxy := newTCPProxy(t, testenv.DynamoDBEndpoint(t))
			hook := &opHook{}
			e := start(t, withDynamoDB(proxy.URL(), hook.option))
			tech := e.technician("tina@example.com", "acme", false)
			id, code := e.invite(tech, "user@example.org")
			a := e.app(e.inviteToken("user@example.org"))
			want(t, a.hello(), http.StatusOK, "")
			db, st := direct(t, e)
			before := kinds(t, db, e.st.Table)

			hook.arm(tc.op, tc.n, func() {
				if tc.loseReply {
					proxy.DropNextAnswer()
				} else {
					proxy.Cut()
				}
			})
			r := a.pair(code)
			if !hook.didFire() {
				t.Fatal("the fault was never injected")
			}
			want(t, r, http.StatusInternalServerError, "internal_error")
			for _, secret := range []string{goodPassword, "agentToken", "password"} {
				if strings.Contains(r.Raw, secret) {
					t.Fatalf("the 500 answer carries %q: %s", secret, r.Raw)
				}
			}

			ss, err := st.GetSession(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			after := kinds(t, db, e.st.Table)
			if !tc.loseReply {
				// Nothing of the activation was stored.
				if ss.Status != session.AppStarted || ss.FailedAttempts != 0 || ss.AgentTokenHash != nil {
					t.Fatalf("after the failed pairing: status %s, %d failed attempts, agent token %v", ss.Status, ss.FailedAttempts, ss.AgentTokenHash != nil)
				}
				if after["agent"] != 0 || after["machineLock"] != 0 || after["audit"] != before["audit"] {
					t.Fatalf("partial activation stored: items before %v, after %v", before, after)
				}
			} else {
				// The transaction went through: all of it.
				if ss.Status != session.Active || after["agent"] != 1 || after["machineLock"] != 1 || after["audit"] != before["audit"]+1 {
					t.Fatalf("committed activation incomplete: status %s, items before %v, after %v", ss.Status, before, after)
				}
			}
			acc, err := st.Account(context.Background(), "acme", support.Defaults().Limits)
			if err != nil {
				t.Fatal(err)
			}
			if acc.Used != 1 || acc.AdhocInUse != 1 {
				t.Fatalf("slot counts changed by the failed pairing: %+v", acc)
			}

			proxy.Restore()
			// The app retries with the same nonce, as it does after a failed request.
			r = a.pair(code)
			want(t, r, http.StatusOK, "")
			if r.JSON["account"].(map[string]any)["password"] != goodPassword {
				t.Fatalf("the retried pairing did not hand over the password: %s", r.Raw)
			}
			p := a.poll()
			want(t, p, http.StatusOK, "")
			if p.str("status") != "active" {
				t.Fatalf("poll after the retried pairing: %s", p.Raw)
			}
			audit := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
			if n := strings.Count(audit.Raw, `"action":"active"`); n != 1 {
				t.Fatalf("%d activations in the audit trail, want 1", n)
			}
			// The session's one-time expiry schedule exists, so it ends on time even if the
			// sweep is late.
			var names []string
			for _, p := range e.st.Scheduler.Pending() {
				names = append(names, p.Name)
			}
			if !strings.Contains(strings.Join(names, ","), "session-"+id) {
				t.Errorf("no expiry schedule for the session after the retried pairing; pending: %v", names)
			}
		})
	}
}

// --- scheduler deliveries lost, duplicated and reordered --------------------------------------

// TestExpiryDeliveriesLostDuplicatedReordered delivers the expiry payloads of several
// sessions the way EventBridge Scheduler may: some early, some twice or three times, in
// shuffled order and concurrently, some never; deliveries for sessions that were ended by
// hand meanwhile and for ids that do not exist. Each session ends exactly once, and the
// sweep catches the lost ones.
func TestExpiryDeliveriesLostDuplicatedReordered(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 10, 10)
	type sess struct {
		id, tech string
		lost     bool
	}
	var all []sess
	for i := range 6 {
		tech := e.technician(fmt.Sprintf("t%d@example.com", i), "acme", false)
		user := fmt.Sprintf("u%d@example.org", i)
		var id string
		if i < 4 {
			id, _ = activeSession(t, e, tech, user)
		} else {
			id, _ = e.invite(tech, user) // invitations expire too
		}
		all = append(all, sess{id: id, tech: tech, lost: i%3 == 2})
	}
	manual, _ := activeSession(t, e, e.technician("m@example.com", "acme", false), "manual@example.org")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+manual, e.technician("m@example.com", "acme", false), nil), http.StatusOK, "")
	// Only the test delivers: the stack's own schedules are dropped.
	for _, p := range e.st.Scheduler.Pending() {
		if err := e.st.Scheduler.DeleteExpiry(context.Background(), p.Name); err != nil {
			t.Fatal(err)
		}
	}

	payload := func(id string) string { return `{"sessionId":"` + id + `"}` }
	// Early deliveries change nothing.
	for _, s := range all {
		if n := e.expiry(payload(s.id)).Expired; n != 0 {
			t.Fatalf("an early delivery expired %s", s.id)
		}
	}
	e.clock.Advance(25 * time.Hour)

	var deliveries []string
	for i, s := range all {
		if s.lost {
			continue
		}
		for range 1 + i%3 {
			deliveries = append(deliveries, payload(s.id))
		}
	}
	deliveries = append(deliveries, payload(manual), payload(manual), payload("aaaaaaaaaaaaaaaaaaaaaaaaaa"), `{"sessionId":"no-such"}`)
	rng := rand.New(rand.NewPCG(8, 8))
	rng.Shuffle(len(deliveries), func(i, j int) { deliveries[i], deliveries[j] = deliveries[j], deliveries[i] })

	expiry := expiryapi.Handler(e.st.Service, slog.New(slog.NewJSONHandler(e.logs, nil)))
	var expired atomic.Int64
	var wg sync.WaitGroup
	for i, d := range deliveries {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%4) * 5 * time.Millisecond) // some at once, some after
			res, err := expiry(context.Background(), json.RawMessage(d))
			if err != nil {
				t.Errorf("delivery %s: %v", d, err)
			}
			expired.Add(int64(res.Expired))
		}()
	}
	wg.Wait()
	delivered := 0
	for _, s := range all {
		if !s.lost {
			delivered++
		}
	}
	if got := expired.Load(); got != int64(delivered) {
		t.Fatalf("%d deliveries expired %d sessions, want %d (one per delivered session)", len(deliveries), got, delivered)
	}
	if n := e.expiry(`{"sweep":true}`).Expired; n != len(all)-delivered {
		t.Fatalf("the sweep expired %d sessions, want the %d whose deliveries were lost", n, len(all)-delivered)
	}
	for _, s := range append(all, sess{id: manual}) {
		if n := countEvents(e, s.id, adhocevents.SessionEnded); n != 1 {
			t.Errorf("session %s ended %d times", s.id, n)
		}
	}
	if got := e.status(e.technician("m@example.com", "acme", false), manual); got != "ended" {
		t.Errorf("the session ended by hand is %s after late deliveries", got)
	}
	acc := e.do(http.MethodGet, "/v1/account", all[0].tech, nil)
	if acc.num("used") != 0 {
		t.Fatalf("slots still used: %s", acc.Raw)
	}
}

// --- the app offline through expiry ------------------------------------------------------------

// TestAppOfflineThroughExpiry: the PC is off from shortly after pairing until long after
// the session's end. The sweep ends the session meanwhile; when the app comes back, its
// first poll says expired, it cleans up and reports removed, and every later call says the
// session is over.
func TestAppOfflineThroughExpiry(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 1, 1)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "user@example.org")
	for _, p := range e.st.Scheduler.Pending() { // the one-time schedule is lost too
		_ = e.st.Scheduler.DeleteExpiry(context.Background(), p.Name)
	}

	e.clock.Advance(24*time.Hour + 6*time.Minute)
	if n := e.expiry(`{"sweep":true}`).Expired; n != 1 {
		t.Fatalf("the sweep expired %d sessions, want 1", n)
	}
	// The slot is free while the PC is still off.
	e.invite(e.technician("tom@example.com", "acme", false), "other@example.org")

	e.clock.Advance(3 * 24 * time.Hour) // back after a long weekend
	p := a.poll()
	want(t, p, http.StatusOK, "")
	if p.str("status") != "expired" {
		t.Fatalf("the first poll after coming back: %s, want expired", p.Raw)
	}
	want(t, a.removed(), http.StatusNoContent, "")
	if s := e.status(tech, id); s != "removed" {
		t.Fatalf("after the app's report: %s", s)
	}
	e.clock.Advance(time.Minute)
	want(t, a.poll(), http.StatusGone, "expired")
	want(t, a.end(), http.StatusGone, "expired")
	if n := countEvents(e, id, adhocevents.SessionEnded); n != 1 {
		t.Fatalf("%d SessionEnded events, want 1", n)
	}
	if n := countEvents(e, id, adhocevents.AppRemoved); n != 1 {
		t.Fatalf("%d AppRemoved events, want 1", n)
	}
}

// --- the local stack stopped and started again -----------------------------------------------

// TestRestartKeepsSessions stops the whole local stack and starts it again on the same
// data folder (devstack runs DynamoDB Local on it). No session is lost, tokens and codes
// issued before still work, and a schedule that fell due while the stack was down fires
// right after the start, by the scheduler's catch-up alone (the sweep is off).
func TestRestartKeepsSessions(t *testing.T) {
	dataDir := t.TempDir()
	e := &env{t: t, clock: newClock(), logs: &logbuf.Buffer{}, http: &http.Client{Timeout: 30 * time.Second}}
	cfg := support.Defaults()
	cfg.SessionTTL = 2 * time.Hour // the active session falls due during the downtime, the invitations not
	cfg.ActiveInterval = 2 * time.Second
	startStack := func() {
		st, err := devstack.Start(context.Background(), devstack.Options{
			DataDir: dataDir, SESEndpoint: testenv.SES(t), Config: cfg, Clock: e.clock,
			SweepEvery: -1, AppDir: t.TempDir(),
			Log: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
		if err != nil {
			t.Fatalf("start the local stack: %v", err)
		}
		t.Cleanup(st.Close)
		e.st = st
	}

	startStack()
	sc := seedRestart(t, e, "acme") // its hello is the last write before the stop
	admin, t3, active, invited, started, code2, a1, a2 := sc.admin, sc.t3, sc.active, sc.invited, sc.started, sc.code2, sc.a1, sc.a2

	e.st.Close()
	e.clock.Advance(3 * time.Hour)
	startStack()

	// Read the store, not the API, so that no time-authoritative read expires it first.
	waitFor(t, 15*time.Second, "the overdue schedule to fire after the restart", func() bool {
		ss, err := e.st.Service.Store.GetSession(context.Background(), active)
		if err != nil || ss.Status != session.Expired {
			return false
		}
		for _, p := range e.st.Scheduler.Pending() {
			if p.Name == "session-"+active {
				return false
			}
		}
		return true
	})
	sessionsSurvived(t, e, admin, map[string]string{active: "expired", started: "app_started", invited: "invited"})
	var pending []string
	for _, p := range e.st.Scheduler.Pending() {
		pending = append(pending, p.Name)
	}
	if got := strings.Join(pending, ","); !strings.Contains(got, "invite-"+started) || !strings.Contains(got, "invite-"+invited) {
		t.Errorf("the invitations' schedules did not survive the restart: %v", pending)
	}
	tokensStillWork(t, e, admin, a1, a2, code2, invited, t3)
}

// restartScene is what seedRestart leaves before a restart: an active session, an
// invitation nobody took up, and one whose app has started.
type restartScene struct {
	admin, t3                string // an admin of the account; the technician of the idle invitation
	active, invited, started string // session ids
	code2                    string // the started invitation's security code
	a1, a2                   *app   // the active session's app; the started one's
}

// seedRestart creates the restart scene in account; the started app's hello is its last
// write.
func seedRestart(t *testing.T, e *env, account string) restartScene {
	t.Helper()
	var sc restartScene
	sc.admin = e.technician("boss@example.com", account, true)
	t2 := e.technician("two@example.com", account, false)
	sc.t3 = e.technician("three@example.com", account, false)
	sc.active, sc.a1 = activeSession(t, e, e.technician("one@example.com", account, false), "u1@"+account+".example.org")
	sc.invited, _ = e.invite(sc.t3, "u3@"+account+".example.org")
	sc.started, sc.code2 = e.invite(t2, "u2@"+account+".example.org")
	sc.a2 = e.app(e.inviteToken("u2@" + account + ".example.org"))
	want(t, sc.a2.hello(), http.StatusOK, "")
	return sc
}

// adhocLocalEnv talks to an adhoc-local started by runAdhocLocal on ports.
func adhocLocalEnv(t *testing.T, ports []int) *env {
	return &env{t: t, clock: newClock(), logs: &logbuf.Buffer{}, http: &http.Client{Timeout: 30 * time.Second},
		st: &devstack.Stack{URL: fmt.Sprintf("http://localhost:%d", ports[0]), SESURL: fmt.Sprintf("http://127.0.0.1:%d", ports[1])}}
}

// sessionsSurvived checks that the account lists each session with its status.
func sessionsSurvived(t *testing.T, e *env, admin string, statuses map[string]string) {
	t.Helper()
	list := e.do(http.MethodGet, "/v1/sessions", admin, nil)
	want(t, list, http.StatusOK, "")
	for id, status := range statuses {
		if !strings.Contains(list.Raw, `"id":"`+id+`","status":"`+status+`"`) {
			t.Errorf("session %s is not listed as %s after the restart: %s", id, status, list.Raw)
		}
	}
}

// tokensStillWork uses what was handed out before the restart: the expired session's app
// cleans up, the waiting app pairs with its code, the technician cancels the invitation.
func tokensStillWork(t *testing.T, e *env, admin string, expired, waiting *app, code, invited, tech string) {
	t.Helper()
	p := expired.poll()
	want(t, p, http.StatusOK, "")
	if p.str("status") != "expired" {
		t.Fatalf("the app of the expired session polls: %s", p.Raw)
	}
	want(t, expired.removed(), http.StatusNoContent, "")
	want(t, waiting.pair(code), http.StatusOK, "")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+invited, tech, nil), http.StatusOK, "")
	acc := e.do(http.MethodGet, "/v1/account", admin, nil)
	if acc.num("used") != 1 {
		t.Fatalf("after the restart: %s, want the one active session's slot used", acc.Raw)
	}
}

// TestKilledLocalStackKeepsSessions is `make run` killed (SIGKILL: no chance to clean up)
// and started again: the real cmd/adhoc-local as a process, on its own data folder and free
// ports. Every write the product had acknowledged before the kill is still there, the
// pending schedules too, and the tokens and codes handed out before still work. (The
// product's default session length keeps DynamoDB Local's TTL deletion out of the way;
// TestRestartKeepsSessions covers a schedule that falls due during the downtime.)
func TestKilledLocalStackKeepsSessions(t *testing.T) {
	bin := buildAdhocLocal(t)
	ports := freePorts(t, 3)
	dataDir := t.TempDir()
	run := func() *exec.Cmd { return runAdhocLocal(t, bin, ports, dataDir) }

	first := run()
	e := adhocLocalEnv(t, ports)
	sc := seedRestart(t, e, "killed") // its hello is the last write before the kill
	admin, t3, active, invited, started, code2, a1, a2 := sc.admin, sc.t3, sc.active, sc.invited, sc.started, sc.code2, sc.a1, sc.a2

	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	// Its children die with it; wait until DynamoDB Local's port is free.
	waitFor(t, 20*time.Second, "DynamoDB Local to die with adhoc-local", func() bool {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", ports[2]), time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	run()

	sessionsSurvived(t, e, admin, map[string]string{active: "active", started: "app_started", invited: "invited"})
	raw, err := os.ReadFile(filepath.Join(dataDir, "schedules.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"session-" + active, "invite-" + started, "invite-" + invited} {
		if !strings.Contains(string(raw), `"`+name+`"`) {
			t.Errorf("schedule %s did not survive the kill: %s", name, raw)
		}
	}
	p := a1.poll()
	want(t, p, http.StatusOK, "")
	if p.str("status") != "active" {
		t.Fatalf("the active session's app polls: %s", p.Raw)
	}
	want(t, a2.pair(code2), http.StatusOK, "")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+invited, t3, nil), http.StatusOK, "")
	if acc := e.do(http.MethodGet, "/v1/account", admin, nil); acc.num("used") != 2 {
		t.Fatalf("after the restart: %s, want the two active sessions' slots used", acc.Raw)
	}
}

// TestSessionRemovedByTTLGivesItsSlotBack: both expiry layers missed a session (the
// schedule lost, the sweep not yet run) and storage's TTL removed its item at its ttl, as
// DynamoDB may at any moment after it (DynamoDB Local does within seconds). A session gone
// is over: its slot and its technician's single-session lock must come back — whoever
// invites next, the technician or a colleague on the same account.
func TestSessionRemovedByTTLGivesItsSlotBack(t *testing.T) {
	for _, who := range []string{"the same technician", "a colleague"} {
		t.Run(who, func(t *testing.T) {
			e := start(t)
			e.setLimits("acme", 1, 1)
			tech := e.technician("tina@example.com", "acme", false)
			id, a := activeSession(t, e, tech, "user@example.org")
			for _, p := range e.st.Scheduler.Pending() {
				_ = e.st.Scheduler.DeleteExpiry(context.Background(), p.Name)
			}
			db, st := direct(t, e)
			key := map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "SESSION#" + id}, "sk": &types.AttributeValueMemberS{Value: "SESSION"},
			}
			item, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{TableName: &e.st.Table, Key: key, ConsistentRead: ptr(true)})
			if err != nil {
				t.Fatal(err)
			}
			ttlAttr, ok := item.Item["ttl"].(*types.AttributeValueMemberN)
			if !ok {
				t.Fatal("the session item has no ttl")
			}
			var secs int64
			if _, err := fmt.Sscan(ttlAttr.Value, &secs); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Unix(secs, 0).Sub(e.clock.Now()) + time.Second) // the earliest moment TTL may act
			if _, err := db.DeleteItem(context.Background(), &dynamodb.DeleteItemInput{TableName: &e.st.Table, Key: key}); err != nil {
				t.Fatal(err)
			}

			want(t, a.poll(), http.StatusGone, "expired") // the app cleans up
			e.expiry(`{"sweep":true}`)
			next := tech
			if who == "a colleague" {
				next = e.technician("tom@example.com", "acme", false)
			}
			r := e.do(http.MethodPost, "/v1/sessions", next, map[string]any{"email": "next@example.org", "password": goodPassword, "locale": "en"})
			acc, err := st.Account(context.Background(), "acme", support.Defaults().Limits)
			if err != nil {
				t.Fatal(err)
			}
			if r.Status != http.StatusCreated {
				t.Errorf("nobody can invite after the session's item expired: %d %s (account: %d of %d slots used)",
					r.Status, r.Raw, acc.Used, acc.Limits.Slots)
			}
		})
	}
}

// freePorts returns n ports that were free a moment ago.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	for _, l := range ls {
		l.Close()
	}
	return ports
}

// TestStaleMachineLockIsTakenOver: a session ended early releases its PC's machine lock
// after its transaction, best effort. When that delete fails (here the network to DynamoDB
// drops just before it), the lock stays behind, naming an ended session until that
// session's 24 hours are over. The same PC must still be able to take a new session at
// once: pairing takes the lock over from a holder that has ended.
func TestStaleMachineLockIsTakenOver(t *testing.T) {
	proxy := newTCPProxy(t, testenv.DynamoDBEndpoint(t))
	hook := &opHook{}
	e := start(t, withDynamoDB(proxy.URL(), hook.option))
	tech := e.technician("tina@example.com", "acme", false)
	first, a := activeSession(t, e, tech, "user@example.org")

	hook.arm("DeleteItem", 1, proxy.Cut)
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+first, tech, nil), http.StatusOK, "")
	if !hook.didFire() {
		t.Fatal("the fault was never injected")
	}
	proxy.Restore()
	db, st := direct(t, e)
	if n := kinds(t, db, e.st.Table)["machineLock"]; n != 1 {
		t.Fatalf("%d machine locks after the failed delete, want the stale one left behind", n)
	}

	second, code := e.invite(tech, "user2@example.org")
	again := e.app(e.inviteToken("user2@example.org"))
	again.machine = a.machine // the same PC
	want(t, again.hello(), http.StatusOK, "")
	want(t, again.pair(code), http.StatusOK, "")
	holder, err := st.MachineSession(context.Background(), support.MachineHash(a.machine))
	if err != nil || holder != second {
		t.Fatalf("machine lock held by %q (err %v), want the new session %s", holder, err, second)
	}

	// A lock held by a session that is still active is not taken over.
	third, code3 := e.invite(e.technician("tom@example.com", "acme", false), "user3@example.org")
	intruder := e.app(e.inviteToken("user3@example.org"))
	intruder.machine = a.machine
	want(t, intruder.pair(code3), http.StatusConflict, "already_supported")
	if holder, _ := st.MachineSession(context.Background(), support.MachineHash(a.machine)); holder != second {
		t.Fatalf("machine lock moved to %q while %s is active (third session %s)", holder, second, third)
	}
}

// buildAdhocLocal builds cmd/adhoc-local, the program `make run` runs.
func buildAdhocLocal(t *testing.T) string {
	t.Helper()
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "adhoc-local")
	build := exec.Command("go", "build", "-o", bin, "./cmd/adhoc-local")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build adhoc-local: %v\n%s", err, out)
	}
	return bin
}

// runAdhocLocal starts adhoc-local as `make run` does, on the given ports (gateway, SES,
// DynamoDB Local) and data folder, with extra environment such as SESSION_TTL, and waits
// until it answers. It is stopped with an interrupt when the test ends.
func runAdhocLocal(t *testing.T, bin string, ports []int, dataDir string, env ...string) *exec.Cmd {
	t.Helper()
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		fmt.Sprintf("PORT=%d", ports[0]), fmt.Sprintf("SES_PORT=%d", ports[1]), fmt.Sprintf("DYNAMODB_PORT=%d", ports[2]),
		"LOCAL_DATA_DIR="+dataDir)
	cmd.Env = append(cmd.Env, env...)
	out := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	base := fmt.Sprintf("http://localhost:%d", ports[0])
	waitFor(t, 120*time.Second, "adhoc-local to answer /healthz", func() bool {
		select {
		case <-exited:
			t.Fatalf("adhoc-local exited:\n%s", out.String())
		default:
		}
		res, err := http.Get(base + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
	return cmd
}

// TestRollbackIsRetried: the mail fails and so does the first attempt to undo the
// reservation (the database call errors before it is sent, as on a network fault). The
// rollback is tried again, the technician gets 502 mail_failed, and nothing stays
// reserved: the slot, the lock and the session are all gone.
func TestRollbackIsRetried(t *testing.T) {
	stub := newSESStub(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) bool {
		sesError(w, http.StatusInternalServerError, "InternalFailure", "internal failure")
		return true
	})
	var mu sync.Mutex
	armed, failures := false, 0
	failFirstRollback := func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(stack *smithymw.Stack) error {
			return stack.Initialize.Add(smithymw.InitializeMiddlewareFunc("failFirstRollback",
				func(ctx context.Context, in smithymw.InitializeInput, next smithymw.InitializeHandler) (smithymw.InitializeOutput, smithymw.Metadata, error) {
					mu.Lock()
					defer mu.Unlock()
					switch awsmw.GetOperationName(ctx) {
					case "Query": // the rollback reads the audit keys first
						armed = true
					case "TransactWriteItems":
						if armed && failures == 0 {
							failures++
							return smithymw.InitializeOutput{}, smithymw.Metadata{}, errors.New("injected: network unreachable")
						}
					}
					return next.HandleInitialize(ctx, in)
				}), smithymw.After)
		})
	}
	e := start(t, withSES(stub.srv.URL), withDynamoDB(testenv.DynamoDBEndpoint(t), failFirstRollback))
	tech := e.technician("tina@example.com", "acme", false)
	r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": "user@example.org", "password": goodPassword, "locale": "en"})
	want(t, r, http.StatusBadGateway, "mail_failed")
	mu.Lock()
	if failures != 1 {
		t.Fatalf("%d rollback attempts failed, want the first one", failures)
	}
	mu.Unlock()
	if acc := e.do(http.MethodGet, "/v1/account", tech, nil); acc.num("used") != 0 {
		t.Fatalf("after the retried rollback: %s, want nothing reserved", acc.Raw)
	}
	if list := e.do(http.MethodGet, "/v1/sessions", tech, nil); len(list.JSON["sessions"].([]any)) != 0 {
		t.Fatalf("a session is left: %s", list.Raw)
	}
}
