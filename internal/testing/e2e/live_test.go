package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testing/apidoc"
)

// liveConn is a real WebSocket client on the local gateway's /live: what it receives
// arrives on msgs, and closed is set once the server has closed it.
type liveConn struct {
	t      *testing.T
	ws     *websocket.Conn
	msgs   chan map[string]any
	raw    chan string
	closed chan error
}

// dialLive opens a live connection; header carries the agent token, rawURL the ticket.
func dialLive(t *testing.T, rawURL string, header http.Header) (*liveConn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ws, res, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, res, err
	}
	ws.SetReadLimit(1 << 20)
	c := &liveConn{t: t, ws: ws, msgs: make(chan map[string]any, 64), raw: make(chan string, 64), closed: make(chan error, 1)}
	go func() {
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				c.closed <- err
				return
			}
			if err := liveDoc.ValidateServerMessage(data); err != nil {
				t.Errorf("a message the server sent differs from api/asyncapi.yaml: %v: %s", err, data)
			}
			m := map[string]any{}
			_ = json.Unmarshal(data, &m)
			c.raw <- string(data)
			c.msgs <- m
		}
	}()
	t.Cleanup(func() { _ = ws.CloseNow() })
	return c, res, nil
}

// appLive opens the app's live connection with its agent token.
func (a *app) live() *liveConn {
	a.e.t.Helper()
	c, res, err := dialLive(a.e.t, a.e.st.LiveURL, http.Header{"Authorization": {"Bearer " + a.agent}})
	if err != nil {
		a.e.t.Fatalf("the app's live connection: %v (%v)", err, statusOf(res))
	}
	return c
}

// consoleLive opens a console's live connection with a fresh ticket.
func (e *env) consoleLive(techToken string) *liveConn {
	e.t.Helper()
	r := e.do(http.MethodPost, "/v1/live/tickets", techToken, nil)
	want(e.t, r, http.StatusCreated, "")
	c, res, err := dialLive(e.t, r.str("url"), nil)
	if err != nil {
		e.t.Fatalf("the console's live connection: %v (%v)", err, statusOf(res))
	}
	return c
}

func statusOf(res *http.Response) int {
	if res == nil {
		return 0
	}
	return res.StatusCode
}

func (e *env) liveOpen() int { return e.st.Gateway.Live.Open() }

// waitLive waits until the gateway has n connections open (a connection counts once its
// $connect has been stored).
func (e *env) waitLive(n int) {
	e.t.Helper()
	waitFor(e.t, 5*time.Second, "live connections open", func() bool { return e.liveOpen() >= n })
}

// next waits for the next message of a type, skipping others; it fails after limit.
func (c *liveConn) next(typ string, limit time.Duration) map[string]any {
	c.t.Helper()
	deadline := time.After(limit)
	for {
		select {
		case m := <-c.msgs:
			<-c.raw
			if m["type"] == typ {
				return m
			}
		case err := <-c.closed:
			c.t.Fatalf("the live connection closed while waiting for %q: %v", typ, err)
		case <-deadline:
			c.t.Fatalf("no %q message within %s", typ, limit)
		}
	}
}

// session waits for a session message about id with the given status.
func (c *liveConn) session(id, status string, limit time.Duration) map[string]any {
	c.t.Helper()
	deadline := time.Now().Add(limit)
	for {
		m := c.next(protocol.TypeSession, time.Until(deadline))
		if m["id"] == id && m["status"] == status {
			return m
		}
	}
}

// quiet fails if any message arrives within d.
func (c *liveConn) quiet(d time.Duration, what string) {
	c.t.Helper()
	select {
	case m := <-c.msgs:
		c.t.Fatalf("%s: got %v", what, m)
	case <-time.After(d):
	}
}

func (c *liveConn) send(v any) {
	c.t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	c.sendRaw(string(raw))
}

func (c *liveConn) sendRaw(s string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.Write(ctx, websocket.MessageText, []byte(s)); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// waitClosed waits until the server closes the connection and returns the close status.
func (c *liveConn) waitClosed(limit time.Duration) websocket.StatusCode {
	c.t.Helper()
	for {
		select {
		case <-c.msgs:
			<-c.raw
		case err := <-c.closed:
			return websocket.CloseStatus(err)
		case <-time.After(limit):
			c.t.Fatalf("the connection is still open after %s", limit)
		}
	}
}

// TestLiveEndReachesTheAppAtOnce: the technician ends the session and the app's live
// connection is told within a second, without a poll.
func TestLiveEndReachesTheAppAtOnce(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "live-end@example.org")
	live := a.live()
	e.clock.Advance(e.st.Service.Config.ActiveInterval)
	if r := a.poll(); r.num("interval") != int(e.st.Service.Config.LiveInterval/time.Second) || r.str("liveUrl") != e.st.LiveURL {
		t.Fatalf("poll while live: %s, want the live interval and the live URL", r.Raw)
	}
	ended := time.Now()
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil), http.StatusOK, "")
	m := live.next(protocol.TypeStatus, time.Second)
	if m["status"] != protocol.StatusEnded {
		t.Fatalf("pushed %v, want status ended", m)
	}
	t.Logf("the end reached the app %s after the DELETE was sent", time.Since(ended).Round(time.Millisecond))
}

// TestLiveConsoleFollowsSetUp: the console's connection is told of the app's start and
// of the pairing, each within a second.
func TestLiveConsoleFollowsSetUp(t *testing.T) {
	e := start(t, realClock())
	tech := e.technician("tina@example.com", "acme", false)
	console := e.consoleLive(tech)
	e.waitLive(1)
	id, code := e.invite(tech, "live-setup@example.org")
	console.session(id, "invited", time.Second)
	a := e.app(e.inviteToken("live-setup@example.org"))
	want(t, a.hello(), http.StatusOK, "")
	m := console.session(id, "app_started", time.Second)
	if c, _ := m["computer"].(map[string]any); c["hostname"] != a.hostname {
		t.Fatalf("app_started without the PC: %v", m)
	}
	want(t, a.pair("000-000-000"), http.StatusUnauthorized, "invalid_code")
	if m := console.next(protocol.TypeSession, time.Second); m["attemptsLeft"] != float64(4) {
		t.Fatalf("a wrong code was pushed as %v, want attemptsLeft 4", m)
	}
	want(t, a.pair(code), http.StatusOK, "")
	if m := console.session(id, "active", time.Second); !m["computer"].(map[string]any)["online"].(bool) {
		t.Fatalf("the pairing was pushed as %v, want the PC online", m)
	}
}

// TestLiveAccountsAreApart: a console of another account, and a console of another
// technician of the same account, never hear of a session; an admin's console does.
func TestLiveAccountsAreApart(t *testing.T) {
	e := start(t, realClock())
	tina := e.technician("tina@example.com", "acme", false)
	otherTech := e.consoleLive(e.technician("tom@example.com", "acme", false))
	admin := e.consoleLive(e.technician("ada@example.com", "acme", true))
	stranger := e.consoleLive(e.technician("eve@example.com", "evil", true))
	e.waitLive(3)
	id, a := activeSession(t, e, tina, "live-apart@example.org")
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tina, nil), http.StatusOK, "")
	admin.session(id, "ended", time.Second)
	_ = a
	otherTech.quiet(300*time.Millisecond, "another technician's console heard of the session")
	stranger.quiet(0, "another account's console heard of the session")
}

// TestLiveDropIsCaughtUp: the connection drops, the session ends meanwhile; the server
// forgets the connection, the app's next poll (at the short interval again) tells it, and
// a new connection works.
func TestLiveDropIsCaughtUp(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "live-drop@example.org")
	a.live()
	e.st.Gateway.Live.CloseAll()
	waitFor(t, 5*time.Second, "the dropped connection is forgotten", func() bool {
		ss, err := e.st.Service.Store.GetSession(context.Background(), id)
		return err == nil && ss.LiveConnection == ""
	})
	e.clock.Advance(e.st.Service.Config.ActiveInterval)
	if r := a.poll(); r.num("interval") != int(e.st.Service.Config.ActiveInterval/time.Second) {
		t.Fatalf("poll after the drop: %s, want the active interval", r.Raw)
	}
	live := a.live()
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil), http.StatusOK, "")
	live.next(protocol.TypeStatus, time.Second)
}

// TestLiveHandshakesRefused: every handshake without a valid credential gets 401 and
// leaves nothing stored.
func TestLiveHandshakesRefused(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, a := activeSession(t, e, tech, "live-refused@example.org")
	ticket := func() string {
		r := e.do(http.MethodPost, "/v1/live/tickets", tech, nil)
		want(t, r, http.StatusCreated, "")
		return r.str("ticket")
	}
	used := ticket()
	c, _, err := dialLive(t, e.st.LiveURL+"?ticket="+used, nil)
	if err != nil {
		t.Fatalf("a fresh ticket: %v", err)
	}
	e.waitLive(1)
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	waitFor(t, 5*time.Second, "the console's connection is forgotten", func() bool { return e.liveOpen() == 0 })
	expired := ticket()
	e.clock.Advance(protocol.LiveTicketLifetime + time.Second)
	id, secret, _ := strings.Cut(a.agent, ".")
	other := strings.Repeat("a", 25) + "a." + secret // another session's id with this secret
	cases := []struct {
		name   string
		query  string
		header http.Header
	}{
		{"nothing", "", nil},
		{"garbage bearer", "", http.Header{"Authorization": {"Bearer garbage"}}},
		{"a used ticket", "?ticket=" + used, nil},
		{"an expired ticket", "?ticket=" + expired, nil},
		{"a garbage ticket", "?ticket=%00%01", nil},
		{"the token with another session's id", "", http.Header{"Authorization": {"Bearer " + other}}},
		{"the token of this session with a wrong secret", "", http.Header{"Authorization": {"Bearer " + id + "." + strings.Repeat("A", 43)}}},
		{"a ticket as bearer", "", http.Header{"Authorization": {"Bearer " + ticket()}}},
		{"both a token and a ticket", "?ticket=" + ticket(), http.Header{"Authorization": {"Bearer " + a.agent}}},
	}
	for _, tc := range cases {
		_, res, err := dialLive(t, e.st.LiveURL+tc.query, tc.header)
		if err == nil || statusOf(res) != http.StatusUnauthorized {
			t.Errorf("%s: handshake %v, status %d; want 401", tc.name, err, statusOf(res))
		}
	}
	if n := e.liveOpen(); n != 0 {
		t.Errorf("%d connections open after refused handshakes", n)
	}
	db, _ := direct(t, e)
	if k := kinds(t, db, e.st.Table); k["console"] != 0 {
		t.Errorf("console connections stored after refused handshakes: %v", k)
	}
	ss, err := e.st.Service.Store.GetSession(context.Background(), id)
	if err != nil || ss.LiveConnection != "" {
		t.Errorf("the session records a live connection after refused handshakes: %q (%v)", ss.LiveConnection, err)
	}
	// An ended session's token no longer opens a connection.
	want(t, a.end(), http.StatusOK, "")
	if _, res, err := dialLive(t, e.st.LiveURL, http.Header{"Authorization": {"Bearer " + a.agent}}); err == nil || statusOf(res) != http.StatusUnauthorized {
		t.Errorf("an ended session's token: %v, status %d; want 401", err, statusOf(res))
	}
}

// TestLiveMessages: ping gets pong, a malformed or unknown message gets an error and the
// connection stays open; a message over 128 KB closes it (1009), as API Gateway does.
func TestLiveMessages(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	c := e.consoleLive(tech)
	c.send(map[string]string{"action": "ping"})
	c.next(protocol.TypePong, 2*time.Second)
	for _, tc := range []struct{ body, code string }{
		{`not json`, protocol.LiveCodeMalformed},
		{`{"action":42}`, protocol.LiveCodeMalformed},
		{`{}`, protocol.LiveCodeMalformed},
		{`{"action":"launch"}`, protocol.LiveCodeUnknownAction},
		{`{"action":"signal","remoteId":"r-1"}`, protocol.LiveCodeMalformed},
		{`{"action":"signal","sessionId":"jtxszy5e5zhefg6wi26ongmeze","remoteId":"r-airjqervw6imh6nuv5y4fk3r2i","signal":{"kind":"offer","sdp":"v=0"}}`, protocol.LiveCodeNoRemote},
	} {
		c.sendRaw(tc.body)
		if m := c.next(protocol.TypeError, 2*time.Second); m["code"] != tc.code {
			t.Errorf("%s: %v, want code %s", tc.body, m, tc.code)
		}
	}
	c.send(map[string]string{"action": "ping"})
	c.next(protocol.TypePong, 2*time.Second)
	c.sendRaw(`{"action":"ping","pad":"` + strings.Repeat("x", protocol.MaxLiveMessage) + `"}`)
	if code := c.waitClosed(5 * time.Second); code != websocket.StatusMessageTooBig {
		t.Errorf("an oversize message closed the connection with %d, want %d", code, websocket.StatusMessageTooBig)
	}
	waitFor(t, 5*time.Second, "$disconnect after the oversize message", func() bool {
		db, _ := direct(t, e)
		return kinds(t, db, e.st.Table)["console"] == 0
	})
}

// TestLiveTimeouts: the local gateway closes an idle connection and, however busy, one
// that has reached its maximum age, as API Gateway does (shortened here).
func TestLiveTimeouts(t *testing.T) {
	e := start(t, func(o *devstack.Options) {
		o.LiveLimits = gateway.LiveLimits{IdleTimeout: 400 * time.Millisecond, MaxAge: 1500 * time.Millisecond}
	})
	tech := e.technician("tina@example.com", "acme", false)
	idle := e.consoleLive(tech)
	if code := idle.waitClosed(3 * time.Second); code != websocket.StatusGoingAway {
		t.Errorf("idle: closed with %d, want %d", code, websocket.StatusGoingAway)
	}
	busy := e.consoleLive(tech)
	opened := time.Now()
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				_ = busy.ws.Write(ctx, websocket.MessageText, []byte(`{"action":"ping"}`))
				cancel()
			}
		}
	}()
	code := busy.waitClosed(5 * time.Second)
	close(stop)
	if code != websocket.StatusGoingAway || time.Since(opened) < 1400*time.Millisecond {
		t.Errorf("busy: closed with %d after %s, want %d after 1.5 s", code, time.Since(opened), websocket.StatusGoingAway)
	}
}

// TestLivePresence: a PC holding its live connection is online however long ago it last
// polled, and offline once the connection is gone and the last poll is old.
func TestLivePresence(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, a := activeSession(t, e, tech, "live-presence@example.org")
	online := func() bool {
		r := e.do(http.MethodGet, "/v1/computers?group=adhoc", tech, nil)
		for _, c := range r.JSON["computers"].([]any) {
			if c := c.(map[string]any); c["sessionId"] == id {
				return c["online"].(bool)
			}
		}
		t.Fatalf("session %s is not in the computer group", id)
		return false
	}
	console := e.consoleLive(tech)
	live := a.live()
	e.clock.Advance(10 * time.Minute)
	if !online() {
		t.Fatal("offline while the live connection is open")
	}
	_ = live.ws.Close(websocket.StatusNormalClosure, "")
	if m := console.next(protocol.TypeSession, 2*time.Second); m["computer"].(map[string]any)["online"] != false {
		t.Fatalf("the closed connection was pushed as %v, want the PC offline", m)
	}
	waitFor(t, 5*time.Second, "the closed connection is forgotten", func() bool {
		ss, err := e.st.Service.Store.GetSession(context.Background(), id)
		return err == nil && ss.LiveConnection == ""
	})
	if online() {
		t.Fatal("online without a live connection and 10 minutes after the last poll")
	}
}

// liveDoc checks every message of the live tests against api/asyncapi.yaml.
var liveDoc = func() *apidoc.LiveValidator {
	v, err := apidoc.LoadLive()
	if err != nil {
		panic(err)
	}
	return v
}()
