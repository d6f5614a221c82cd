package liveapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	adhocevents "github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/eventbus"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/apidoc"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// pushes records what the handler sends through @connections; gone connections answer
// 410, as API Gateway's does.
type pushes struct {
	mu   sync.Mutex
	sent map[string][]string
	gone map[string]bool
}

func (p *pushes) Push(_ context.Context, id string, msg []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gone[id] {
		return support.ErrGone
	}
	if p.sent == nil {
		p.sent = map[string][]string{}
	}
	p.sent[id] = append(p.sent[id], string(msg))
	return nil
}

func (p *pushes) to(id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.sent[id]...)
}

type noSchedules struct{}

func (noSchedules) ScheduleExpiry(context.Context, string, time.Time, adhocevents.ExpiryDue) error {
	return nil
}
func (noSchedules) DeleteExpiry(context.Context, string) error { return nil }

// fixture is the live function's handler on a fresh table, with one active session and a
// clock the test moves.
type fixture struct {
	t       *testing.T
	handle  liveapi.Handler
	svc     *support.Service
	store   *store.Store
	pushes  *pushes
	clock   *clock.Fake
	session session.Session
	token   string // the session's agent token
	tech    support.Technician
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	client, table := testenv.Table(t)
	f := &fixture{t: t, pushes: &pushes{gone: map[string]bool{}}, clock: clock.NewFake(time.Now().UTC().Truncate(time.Millisecond))}
	f.store = store.New(client, table, store.WithClock(f.clock))
	cfg := support.Defaults()
	cfg.LiveURL = "wss://live.example.com/live"
	f.svc = &support.Service{Store: f.store, Events: eventbus.NewLocal(), Schedules: noSchedules{}, Live: views.Live(f.pushes),
		Config: cfg, Clock: f.clock, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	f.handle = liveapi.New(f.svc, f.svc.Log)
	f.tech = support.Technician{ID: "tech-1", Email: "tina@example.com", Account: "acme"}
	f.session, f.token = f.activeSession("acme", "tech-1")
	return f
}

// activeSession stores an active session of the account and technician, as pairing
// leaves it, and returns it with its agent token.
func (f *fixture) activeSession(account, tech string) (session.Session, string) {
	f.t.Helper()
	ctx := context.Background()
	id := secrets.NewSessionID()
	ss := session.Session{ID: id, Account: account, Technician: tech, TechnicianEmail: tech + "@example.com",
		UserEmail: "user@example.org", Locale: "en", Username: session.DefaultUsername,
		Status: session.Invited, Version: 1, CreatedAt: f.clock.Now(), InviteExpiresAt: f.clock.Now().Add(time.Hour),
		InviteTokenHash: secrets.HashToken(id)}
	audit := session.AuditEntry{SessionID: id, At: f.clock.Now(), Seq: 1, Action: "invited", To: session.Invited}
	if err := f.store.CreateInvitation(ctx, ss, f.clock.Now().Add(time.Hour), support.Limits{Slots: 10, AdhocCap: 10}, audit); err != nil {
		f.t.Fatal(err)
	}
	token, err := secrets.NewAgentToken(id)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := ss.Move(session.Active, "", f.clock.Now()); err != nil {
		f.t.Fatal(err)
	}
	ss.Version, ss.ActivatedAt, ss.ExpiresAt, ss.LastSeenAt = 2, f.clock.Now(), f.clock.Now().Add(24*time.Hour), f.clock.Now()
	ss.AgentTokenHash = secrets.HashToken(token)
	ss.Computer = session.Computer{Platform: "windows", OSVersion: "Windows 11", Hostname: "PC-1", MachineHash: "m-" + id}
	if err := f.store.Commit(ctx, support.Change{Session: ss, AcquireMachine: true,
		AgentLookup: &support.Lookup{TokenHash: ss.AgentTokenHash, Until: ss.ExpiresAt}}); err != nil {
		f.t.Fatal(err)
	}
	return ss, token
}

func (f *fixture) ticket(tech support.Technician) string {
	f.t.Helper()
	v, err := f.svc.IssueTicket(context.Background(), tech)
	if err != nil {
		f.t.Fatal(err)
	}
	return v.Ticket
}

func (f *fixture) invoke(event any) (any, error) {
	f.t.Helper()
	raw, err := json.Marshal(event)
	if err != nil {
		f.t.Fatal(err)
	}
	return f.handle(context.Background(), raw)
}

const methodArn = "arn:aws:execute-api:eu-central-1:000000000000:abc123/live/$connect"

func authorizerEvent(conn, bearer, ticket string) liveapi.AuthorizerRequest {
	req := liveapi.AuthorizerRequest{Type: "REQUEST", MethodArn: methodArn, Headers: map[string]string{"Host": "abc123.execute-api.eu-central-1.amazonaws.com"},
		QueryStringParameters: map[string]string{},
		RequestContext:        events.APIGatewayWebsocketProxyRequestContext{RouteKey: "$connect", EventType: "CONNECT", ConnectionID: conn, Stage: "live"}}
	if bearer != "" {
		req.Headers["Authorization"] = "Bearer " + bearer
	}
	if ticket != "" {
		req.QueryStringParameters["ticket"] = ticket
	}
	return req
}

// authorize runs the authorizer and returns the context of the policy, or the error.
func (f *fixture) authorize(bearer, ticket string) (map[string]any, error) {
	f.t.Helper()
	out, err := f.invoke(authorizerEvent("c-auth", bearer, ticket))
	if err != nil {
		return nil, err
	}
	p, ok := out.(events.APIGatewayCustomAuthorizerResponse)
	if !ok {
		f.t.Fatalf("authorizer answered %T", out)
	}
	if len(p.PolicyDocument.Statement) != 1 || p.PolicyDocument.Statement[0].Effect != "Allow" ||
		p.PolicyDocument.Statement[0].Resource[0] != methodArn {
		f.t.Fatalf("policy %+v, want Allow on %s", p.PolicyDocument, methodArn)
	}
	ctx := p.Context
	ctx["principalId"] = p.PrincipalID
	return ctx, nil
}

// route runs a route's event with the authorizer context of a peer.
func (f *fixture) route(route, conn string, authorizer map[string]any, body string) int {
	f.t.Helper()
	ev := events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: events.APIGatewayWebsocketProxyRequestContext{
		RouteKey: route, ConnectionID: conn, Stage: "live", Authorizer: authorizer}}
	// Through JSON, as API Gateway delivers it.
	out, err := f.invoke(ev)
	if err != nil {
		f.t.Fatalf("%s: %v", route, err)
	}
	return out.(events.APIGatewayProxyResponse).StatusCode
}

func (f *fixture) liveConnection(id string) string {
	f.t.Helper()
	ss, err := f.store.GetSession(context.Background(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return ss.LiveConnection
}

func (f *fixture) consoles() []support.ConsoleConnection {
	f.t.Helper()
	cs, err := f.store.Consoles(context.Background(), f.tech.Account)
	if err != nil {
		f.t.Fatal(err)
	}
	return cs
}

// TestAuthorizerRefuses: every credential that is not a valid agent token of an active
// session or an unused, unexpired ticket is refused with "Unauthorized", and nothing is
// stored; what the authorizer allows is stored only by $connect.
func TestAuthorizerRefuses(t *testing.T) {
	f := newFixture(t)
	used := f.ticket(f.tech)
	if _, err := f.authorize("", used); err != nil {
		t.Fatalf("a fresh ticket: %v", err)
	}
	expired := f.ticket(f.tech)
	ended, endedToken := f.activeSession("acme", "tech-2")
	endedNext := ended
	if err := endedNext.Move(session.Ended, session.ReasonEndedByTechnician, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	endedNext.Version++
	if err := f.store.Commit(context.Background(), support.Change{Session: endedNext, ReleaseSlot: true}); err != nil {
		t.Fatal(err)
	}
	other, _ := f.activeSession("acme", "tech-3")
	_, secret, _ := strings.Cut(f.token, ".")
	f.clock.Advance(protocol.LiveTicketLifetime + time.Second)

	cases := []struct{ name, bearer, ticket string }{
		{"nothing", "", ""},
		{"garbage bearer", "garbage", ""},
		{"garbage ticket", "", "not a ticket"},
		{"a ticket of the right form never issued", "", strings.Repeat("A", 43)},
		{"a used ticket", "", used},
		{"an expired ticket", "", expired},
		{"another session's id with this session's secret", other.ID + "." + secret, ""},
		{"this session's id with a wrong secret", f.session.ID + "." + strings.Repeat("A", 43), ""},
		{"an ended session's token", endedToken, ""},
		{"a token and a ticket", f.token, f.ticket(f.tech)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.authorize(tc.bearer, tc.ticket)
			if !errors.Is(err, liveapi.ErrUnauthorized) || err.Error() != "Unauthorized" {
				t.Fatalf("got %v, want exactly the error Unauthorized", err)
			}
		})
	}
	if _, err := f.authorize(f.token, ""); err != nil {
		t.Fatalf("the active session's token: %v", err)
	}
	if c := f.liveConnection(f.session.ID); c != "" {
		t.Errorf("the authorizer stored a connection on the session: %q", c)
	}
	if cs := f.consoles(); len(cs) != 0 {
		t.Errorf("the authorizer stored console connections: %+v", cs)
	}
	if len(f.pushes.sent) != 0 {
		t.Errorf("refused handshakes pushed something: %v", f.pushes.sent)
	}
}

// TestConnectAndDisconnect: $connect stores the peer the authorizer let in, $disconnect
// forgets it, and the end of an old connection does not hide the app's newer one.
func TestConnectAndDisconnect(t *testing.T) {
	f := newFixture(t)
	app, err := f.authorize(f.token, "")
	if err != nil {
		t.Fatal(err)
	}
	if app["kind"] != support.PeerApp || app["sessionId"] != f.session.ID {
		t.Fatalf("app context %v", app)
	}
	adminTech := f.tech
	adminTech.ID, adminTech.Admin = "admin-1", true
	console, err := f.authorize("", f.ticket(adminTech))
	if err != nil {
		t.Fatal(err)
	}
	if console["kind"] != support.PeerConsole || console["account"] != "acme" || console["technician"] != "admin-1" || console["admin"] != "true" {
		t.Fatalf("console context %v", console)
	}

	if code := f.route(liveapi.RouteConnect, "app-1", app, ""); code != 200 {
		t.Fatalf("$connect of the app: %d", code)
	}
	if c := f.liveConnection(f.session.ID); c != "app-1" {
		t.Fatalf("the session's connection is %q, want app-1", c)
	}
	if code := f.route(liveapi.RouteConnect, "console-1", console, ""); code != 200 {
		t.Fatalf("$connect of the console: %d", code)
	}
	if cs := f.consoles(); len(cs) != 1 || cs[0].ID != "console-1" || !cs[0].Admin || cs[0].Technician != "admin-1" {
		t.Fatalf("console connections %+v", cs)
	}
	// A reconnect: the new connection comes first, the old one's end follows.
	if code := f.route(liveapi.RouteConnect, "app-2", app, ""); code != 200 {
		t.Fatal(code)
	}
	if code := f.route(liveapi.RouteDisconnect, "app-1", app, ""); code != 200 {
		t.Fatal(code)
	}
	if c := f.liveConnection(f.session.ID); c != "app-2" {
		t.Fatalf("after the old connection's end the session's connection is %q, want app-2", c)
	}
	if code := f.route(liveapi.RouteDisconnect, "app-2", app, ""); code != 200 {
		t.Fatal(code)
	}
	if c := f.liveConnection(f.session.ID); c != "" {
		t.Fatalf("after the last connection's end: %q", c)
	}
	if code := f.route(liveapi.RouteDisconnect, "console-1", console, ""); code != 200 {
		t.Fatal(code)
	}
	if cs := f.consoles(); len(cs) != 0 {
		t.Fatalf("console connections after $disconnect: %+v", cs)
	}

	// Without an authorizer's context nothing is stored: only the authorizer lets peers in.
	for _, ctx := range []map[string]any{nil, {"kind": "app"}, {"kind": "console", "account": "acme"}, {"kind": "robot", "sessionId": f.session.ID}} {
		if code := f.route(liveapi.RouteConnect, "x-1", ctx, ""); code != 401 {
			t.Errorf("$connect with context %v: %d, want 401", ctx, code)
		}
	}
	if c := f.liveConnection(f.session.ID); c != "" || len(f.consoles()) != 0 {
		t.Errorf("stored without a peer: session %q, consoles %+v", c, f.consoles())
	}
	// An app whose session has run out meanwhile is refused (410) and not recorded.
	f.clock.Set(f.session.ExpiresAt.Add(time.Second))
	if code := f.route(liveapi.RouteConnect, "app-3", app, ""); code != 410 {
		t.Fatalf("$connect after the session's end: %d, want 410", code)
	}
	if c := f.liveConnection(f.session.ID); c != "" {
		t.Fatalf("an expired session recorded connection %q", c)
	}
}

// TestMessages: ping is answered with pong; a malformed, unknown or oversize message with
// an error naming why; a connection that is gone loses nothing but the answer.
func TestMessages(t *testing.T) {
	f := newFixture(t)
	console, err := f.authorize("", f.ticket(f.tech))
	if err != nil {
		t.Fatal(err)
	}
	f.route(liveapi.RouteConnect, "c-1", console, "")
	cases := []struct{ route, body, want string }{
		{liveapi.RoutePing, `{"action":"ping"}`, protocol.TypePong},
		{liveapi.RouteDefault, `not json`, protocol.LiveCodeMalformed},
		{liveapi.RouteDefault, `[1,2]`, protocol.LiveCodeMalformed},
		{liveapi.RouteDefault, `{"action":""}`, protocol.LiveCodeMalformed},
		{liveapi.RouteDefault, `{"action":"reboot"}`, protocol.LiveCodeUnknownAction},
		{liveapi.RoutePing, `{"action":"ping","pad":"` + strings.Repeat("x", protocol.MaxLiveMessage) + `"}`, protocol.LiveCodeTooLarge},
		{liveapi.RouteSignal, `{"action":"signal","sessionId":"` + f.session.ID + `","remoteId":"` + secrets.NewRemoteID() + `","signal":{"kind":"offer","sdp":"v=0"}}`, protocol.LiveCodeNoRemote},
		{liveapi.RouteSignal, `{"action":"signal","remoteId":"r-1"}`, protocol.LiveCodeMalformed},
		{liveapi.RouteSignal, `{"action":"signal","sessionId":"` + f.session.ID + `","remoteId":"r-1","signal":{"kind":"offer","sdp":"v=0"},"extra":1}`, protocol.LiveCodeMalformed},
		{liveapi.RouteSignal, `{"action":"signal","sessionId":7}`, protocol.LiveCodeMalformed},
	}
	live, err := apidoc.LoadLive()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		before := len(f.pushes.to("c-1"))
		if code := f.route(tc.route, "c-1", console, tc.body); code != 200 {
			t.Fatalf("%.40s: status %d", tc.body, code)
		}
		got := f.pushes.to("c-1")
		if len(got) != before+1 {
			t.Fatalf("%.40s: %d answers, want 1", tc.body, len(got)-before)
		}
		answer := got[len(got)-1]
		if err := live.ValidateServerMessage([]byte(answer)); err != nil {
			t.Errorf("%.40s: the answer %s differs from api/asyncapi.yaml: %v", tc.body, answer, err)
		}
		var m map[string]string
		_ = json.Unmarshal([]byte(answer), &m)
		if m["type"] != tc.want && m["code"] != tc.want {
			t.Errorf("%.40s: answered %s, want %s", tc.body, answer, tc.want)
		}
	}
	f.pushes.gone["c-1"] = true
	if code := f.route(liveapi.RoutePing, "c-1", console, `{"action":"ping"}`); code != 200 {
		t.Fatalf("a ping from a connection that is gone: %d", code)
	}
}

// TestPushesAfterChanges: a change of the session reaches the app's connection and the
// consoles that may see it, and a console connection that is gone is forgotten.
func TestPushesAfterChanges(t *testing.T) {
	f := newFixture(t)
	app, _ := f.authorize(f.token, "")
	f.route(liveapi.RouteConnect, "app-1", app, "")
	own, _ := f.authorize("", f.ticket(f.tech))
	f.route(liveapi.RouteConnect, "own", own, "")
	other := f.tech
	other.ID = "tech-other"
	stranger, _ := f.authorize("", f.ticket(other))
	f.route(liveapi.RouteConnect, "other", stranger, "")
	gone := f.tech
	goneCtx, _ := f.authorize("", f.ticket(gone))
	f.route(liveapi.RouteConnect, "gone", goneCtx, "")
	f.pushes.gone["gone"] = true

	if _, err := f.svc.Cancel(context.Background(), f.tech, f.session.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.pushes.to("app-1"); len(got) != 1 || !strings.Contains(got[0], `"status":"ended"`) {
		t.Errorf("the app was pushed %v, want one status ended", got)
	}
	if got := f.pushes.to("own"); len(got) != 1 || !strings.Contains(got[0], `"type":"session"`) || !strings.Contains(got[0], `"status":"ended"`) {
		t.Errorf("the technician's console was pushed %v, want the ended session", got)
	}
	if got := f.pushes.to("other"); len(got) != 0 {
		t.Errorf("another technician's console was pushed %v", got)
	}
	for _, c := range f.consoles() {
		if c.ID == "gone" {
			t.Errorf("the gone console connection is still stored")
		}
	}
}

// TestSignalRoute: the signal route relays a remote connection's signals between the
// console tab that started it and the app, in the messages api/asyncapi.yaml describes,
// and answers anything else with an error on the sender's connection.
func TestSignalRoute(t *testing.T) {
	f := newFixture(t)
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	f.svc.ICE = srv
	app, _ := f.authorize(f.token, "")
	f.route(liveapi.RouteConnect, "app-1", app, "")
	tab, _ := f.authorize("", f.ticket(f.tech))
	f.route(liveapi.RouteConnect, "tab-1", tab, "")
	r, err := f.svc.StartRemote(context.Background(), f.tech, f.session.ID)
	if err != nil {
		t.Fatal(err)
	}
	live, err := apidoc.LoadLive()
	if err != nil {
		t.Fatal(err)
	}
	last := func(conn string) map[string]any {
		t.Helper()
		got := f.pushes.to(conn)
		if len(got) == 0 {
			t.Fatalf("nothing pushed to %s", conn)
		}
		raw := got[len(got)-1]
		if err := live.ValidateServerMessage([]byte(raw)); err != nil {
			t.Errorf("pushed to %s: %s differs from api/asyncapi.yaml: %v", conn, raw, err)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(raw), &m)
		return m
	}
	if m := last("app-1"); m["type"] != protocol.TypeRemote || m["remoteId"] != r.RemoteID {
		t.Fatalf("the app was pushed %v, want the remote message", m)
	}
	steps := []struct {
		conn string
		ctx  map[string]any
		body string
		to   string
		want map[string]any // members of the message pushed to `to`
	}{
		{"tab-1", tab, `{"action":"signal","sessionId":"` + f.session.ID + `","remoteId":"` + r.RemoteID + `","signal":{"kind":"offer","sdp":"v=0\r\n"}}`,
			"app-1", map[string]any{"type": "signal", "remoteId": r.RemoteID}},
		{"app-1", app, `{"action":"signal","remoteId":"` + r.RemoteID + `","signal":{"kind":"answer","sdp":"v=0\r\n"}}`,
			"tab-1", map[string]any{"type": "signal", "sessionId": f.session.ID, "remoteId": r.RemoteID}},
		{"tab-1", tab, `{"action":"signal","sessionId":"` + f.session.ID + `","remoteId":"` + r.RemoteID + `","signal":{"kind":"candidate","candidate":{"candidate":"candidate:1 1 udp 1 127.0.0.1 5000 typ host","sdpMid":"0","sdpMLineIndex":0,"usernameFragment":null}}}`,
			"app-1", map[string]any{"type": "signal"}},
		{"app-1", app, `{"action":"signal","remoteId":"` + r.RemoteID + `","signal":{"kind":"candidate","candidate":null}}`,
			"tab-1", map[string]any{"type": "signal"}},
		{"app-1", app, `{"action":"signal","remoteId":"` + secrets.NewRemoteID() + `","signal":{"kind":"candidate","candidate":null}}`,
			"app-1", map[string]any{"type": "error", "code": protocol.LiveCodeNoRemote}},
		{"tab-1", tab, `{"action":"signal","sessionId":"` + f.session.ID + `","remoteId":"` + r.RemoteID + `","signal":{"kind":"answer","sdp":"x"}}`,
			"tab-1", map[string]any{"type": "error", "code": protocol.LiveCodeMalformed}},
	}
	for i, s := range steps {
		if err := live.ValidateClientMessage([]byte(s.body)); err != nil && s.want["type"] != "error" {
			t.Errorf("step %d: the client message differs from api/asyncapi.yaml: %v", i, err)
		}
		before := len(f.pushes.to(s.to))
		if code := f.route(liveapi.RouteSignal, s.conn, s.ctx, s.body); code != 200 {
			t.Fatalf("step %d: status %d", i, code)
		}
		if len(f.pushes.to(s.to)) == before {
			t.Fatalf("step %d: nothing reached %s", i, s.to)
		}
		m := last(s.to)
		for k, v := range s.want {
			if m[k] != v {
				t.Errorf("step %d: %s was pushed %v, want %s = %v", i, s.to, m, k, v)
			}
		}
		if s.want["type"] == "signal" && s.to == "app-1" && m["sessionId"] != nil {
			t.Errorf("step %d: the app was told a session id: %v", i, m)
		}
	}
}
