package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The live channel (DESIGN.md, "Live channel"): while the session is active the service
// holds one WebSocket to the server, which pushes the session's status within a second of
// every change, so that a technician's "End session" reaches the PC at once instead of at
// the next poll. Polls stay as the safety net: the server answers them with a long
// interval while the connection is open, and the app polls at the active interval again
// while it has none.

// LiveTiming tunes the live connection. Zero fields get the defaults; tests shorten them.
// These timers run on real time, not on the Clock: the connection lives on the real
// network, whose server closes it after real minutes, while the tests' fake clock moves
// on only when the app sleeps between polls.
type LiveTiming struct {
	// Ping is how often the app sends {"action":"ping"}: well inside the server's
	// 10-minute idle timeout, which only the client's messages reset.
	Ping time.Duration
	// PongWait is how long the answer to a ping may take before the connection counts as
	// dead: a connection whose network path has gone quiet tells nobody.
	PongWait time.Duration
	// MaxAge is how long the app keeps one connection before it opens the next one (at a
	// jittered 90–100 % of it), so that the server's 2-hour cap never cuts it.
	MaxAge time.Duration
	// RetryMin and RetryMax bound the jittered exponential back-off between attempts to
	// connect.
	RetryMin, RetryMax time.Duration
}

func (t LiveTiming) withDefaults() LiveTiming {
	if t.Ping <= 0 {
		t.Ping = protocol.LivePingInterval
	}
	if t.PongWait <= 0 {
		t.PongWait = 30 * time.Second
	}
	if t.MaxAge <= 0 {
		t.MaxAge = protocol.LiveRenewAge
	}
	if t.RetryMin <= 0 {
		t.RetryMin = time.Second
	}
	if t.RetryMax <= 0 {
		t.RetryMax = maxBackoff
	}
	return t
}

const (
	// handshakeTimeout bounds one attempt to connect when the HTTP client sets no timeout
	// of its own (its timeout bounds the handshake as it bounds a poll).
	handshakeTimeout = 30 * time.Second
	// writeTimeout bounds sending one message.
	writeTimeout = 10 * time.Second
	// steadyFor is how long a connection must have lasted for its drop to start the
	// back-off afresh: one that drops at once, again and again, is retried ever slower.
	steadyFor = time.Minute
)

// pingMessage is the client's keep-alive.
var pingMessage, _ = json.Marshal(protocol.LiveAction{Action: protocol.ActionPing})

// checkLiveURL refuses plain ws:// except to this machine in a development build: the
// handshake carries the agent token.
func checkLiveURL(raw string, development bool) error {
	return checkURL("live", raw, "wss", "ws", development)
}

// What the live connection tells Serve.
type liveKind int

const (
	// liveUp: a connection opened (again, or renewed): poll once to catch up on whatever
	// a drop may have lost.
	liveUp liveKind = iota + 1
	// liveDown: the connection is gone; polls fall back to the active interval until the
	// next one opens.
	liveDown
	// liveRefused: the server refused the handshake (401 or 410): poll now, and let the
	// poll's answer decide (the session is most likely over).
	liveRefused
	// liveStatus: the server pushed the session's status.
	liveStatus
)

type liveEvent struct {
	kind   liveKind
	status protocol.LiveStatus // with liveStatus
}

// liveLink keeps the service's live connection open for the session's lifetime and hands
// what happens on it to Serve as events. It never touches the State, which Serve owns.
// Its methods are safe on a nil *liveLink, which stands for "no live connection".
type liveLink struct {
	a      *App
	token  string
	client *http.Client
	timing LiveTiming
	events chan liveEvent
	up     atomic.Bool
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	// cur is the connection held now, nil while there is none: remote access's signals
	// go out on it.
	cur atomic.Pointer[liveConn]
	// remote serves the technicians' remote connections (nil: none).
	remote *remote.Manager

	mu      sync.Mutex
	url     string
	changed chan struct{} // a new URL; capacity 1

	// Only run's goroutine uses these.
	failures int
	opened   bool   // a connection has been open before
	warned   string // the last URL checkLiveURL refused, logged once
}

// liveConn is one WebSocket and its reader.
type liveConn struct {
	ws     *websocket.Conn
	opened time.Time
	heard  chan struct{} // a message arrived; capacity 1
	gone   chan struct{} // closed when the reader stops
	err    error         // why it stopped; set before gone is closed
}

// errRefused is a handshake the server answered with 401 or 410.
type errRefused struct{ status int }

func (e *errRefused) Error() string {
	return fmt.Sprintf("the support server refused the live connection (%d %s)", e.status, http.StatusText(e.status))
}

// openLive starts the live connection of an active session. The first attempt is made
// before it returns, so that the first poll, which follows at once, also catches up on
// what happened before the connection was there, and is answered with the long interval
// when the connection is open.
func (a *App) openLive(ctx context.Context, st *State) *liveLink {
	client := *a.cfg.HTTPClient // the same proxy and timeout as the polls
	// A redirect could lead the handshake, and the agent token with it, anywhere; the
	// server never sends one.
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	ctx, cancel := context.WithCancel(ctx)
	l := &liveLink{a: a, token: st.AgentToken, client: &client, timing: a.cfg.Live, url: st.LiveURL,
		events: make(chan liveEvent, 16), changed: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	l.remote = a.newRemote(st, l)
	var c *liveConn
	if url, ok := l.usableURL(); ok {
		c = l.attempt(ctx, url, true)
	}
	go l.run(ctx, c)
	return l
}

// connected reports whether a connection is open now.
func (l *liveLink) connected() bool { return l != nil && l.up.Load() }

// news is where the events arrive; nil (never ready) without a live connection.
func (l *liveLink) news() <-chan liveEvent {
	if l == nil {
		return nil
	}
	return l.events
}

// setURL takes the live URL of a poll answer; the next connection uses it.
func (l *liveLink) setURL(url string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	same := l.url == url
	l.url = url
	l.mu.Unlock()
	if !same {
		select {
		case l.changed <- struct{}{}:
		default:
		}
	}
}

// end closes the live connection without waiting for the close handshake, so that a
// clean-up starts at once.
func (l *liveLink) end() {
	if l != nil {
		l.cancel()
	}
}

// stop ends the remote connections (the service is stopping), then closes the live
// connection and waits until it is closed.
func (l *liveLink) stop() {
	if l != nil {
		l.closeRemote(protocol.RemoteServiceStopped)
		l.cancel()
		<-l.done
	}
}

// run keeps a connection open until ctx ends: it reconnects after a drop and renews the
// connection before its maximum age.
func (l *liveLink) run(ctx context.Context, c *liveConn) {
	defer close(l.done)
	for ctx.Err() == nil {
		if c == nil {
			c = l.reconnect(ctx)
			continue
		}
		c = l.hold(ctx, c)
	}
}

// usableURL returns the live URL, unless there is none or it may not be used; a refused
// URL is logged once.
func (l *liveLink) usableURL() (string, bool) {
	l.mu.Lock()
	url := l.url
	l.mu.Unlock()
	if url == "" {
		return "", false
	}
	if err := checkLiveURL(url, l.a.cfg.Development); err != nil {
		if l.warned != url {
			l.warned = url
			l.a.cfg.OS.Log(LogWarning, "No live connection, polling instead: "+err.Error())
		}
		return "", false
	}
	return url, true
}

// reconnect waits out the back-off and tries again, until a connection opens or ctx ends.
func (l *liveLink) reconnect(ctx context.Context) *liveConn {
	for {
		if l.failures > 0 && !sleepReal(ctx, l.backoff()) {
			return nil
		}
		url, ok := l.usableURL()
		for !ok {
			// No usable URL yet: a poll answer may bring one.
			select {
			case <-l.changed:
			case <-ctx.Done():
				return nil
			}
			url, ok = l.usableURL()
		}
		if c := l.attempt(ctx, url, false); c != nil {
			l.send(ctx, liveEvent{kind: liveUp})
			return c
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// attempt opens a connection, or counts the failure. A refusal is passed on to Serve,
// except at the first attempt, which the first poll follows anyway.
func (l *liveLink) attempt(ctx context.Context, url string, first bool) *liveConn {
	c, err := l.dial(ctx, url)
	if err == nil {
		if l.failures > 0 || !l.opened {
			l.a.cfg.OS.Log(LogInfo, "Live connection to the support server open.")
		}
		l.opened = true
		l.up.Store(true)
		return c
	}
	if ctx.Err() != nil {
		return nil
	}
	l.failures++
	var refused *errRefused
	if errors.As(err, &refused) && !first {
		l.send(ctx, liveEvent{kind: liveRefused})
	}
	if l.failures == 1 || l.failures%20 == 0 {
		l.a.cfg.OS.Log(LogWarning, fmt.Sprintf("Opening the live connection failed (%d in a row), polling meanwhile: %v", l.failures, err))
	}
	return nil
}

// dial runs one handshake, with the agent token as a bearer token, and starts the
// connection's reader.
func (l *liveLink) dial(ctx context.Context, url string) (*liveConn, error) {
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	header := http.Header{}
	header.Set("Authorization", "Bearer "+l.token)
	header.Set("User-Agent", "SupportSession/"+l.a.cfg.Version)
	ws, res, err := websocket.Dial(hctx, url, &websocket.DialOptions{HTTPClient: l.client, HTTPHeader: header})
	if err != nil {
		if res != nil && (res.StatusCode == http.StatusUnauthorized || res.StatusCode == http.StatusGone) {
			return nil, &errRefused{status: res.StatusCode}
		}
		// The error names the URL and the step, never the header.
		return nil, err
	}
	ws.SetReadLimit(protocol.MaxLiveMessage)
	c := &liveConn{ws: ws, opened: time.Now(), heard: make(chan struct{}, 1), gone: make(chan struct{})}
	go l.read(ctx, c)
	return c, nil
}

// read passes the connection's messages on until it closes.
func (l *liveLink) read(ctx context.Context, c *liveConn) {
	defer close(c.gone)
	for {
		// Not ctx: a cancelled read closes the connection, and hold closes it anyway.
		_, data, err := c.ws.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		select {
		case c.heard <- struct{}{}:
		default:
		}
		l.message(ctx, data)
	}
}

// message handles one message of the server.
func (l *liveLink) message(ctx context.Context, data []byte) {
	switch protocol.LiveType(data) {
	case protocol.TypeStatus:
		var m protocol.LiveStatus
		if err := json.Unmarshal(data, &m); err != nil || m.Status == "" {
			l.a.cfg.OS.Log(LogWarning, "Unreadable status message on the live connection.")
			return
		}
		l.send(ctx, liveEvent{kind: liveStatus, status: m})
	case protocol.TypeError:
		var m protocol.LiveError
		_ = json.Unmarshal(data, &m)
		l.a.cfg.OS.Log(LogWarning, "The support server could not take a message on the live connection: "+m.Code)
	case protocol.TypeRemote, protocol.TypeSignal:
		l.remoteMessage(protocol.LiveType(data), data)
	case protocol.TypePong:
		// The answer to a ping: read already counts as heard.
	default:
		// Messages of features this version does not have are not its business.
	}
}

// hold keeps c open: it pings, watches for the answers, and opens the next connection
// before c reaches its maximum age. It returns the connection to hold next: the renewed
// one, or nil once c has dropped or ctx has ended.
func (l *liveLink) hold(ctx context.Context, c *liveConn) *liveConn {
	l.cur.Store(c)
	defer l.cur.CompareAndSwap(c, nil)
	renew := time.NewTimer(l.renewAfter())
	defer renew.Stop()
	ping := time.NewTicker(l.timing.Ping)
	defer ping.Stop()
	// quiet runs from a ping until anything is heard.
	quiet := time.NewTimer(l.timing.PongWait)
	quiet.Stop()
	defer quiet.Stop()
	waiting := false
	for {
		select {
		case <-ctx.Done():
			l.up.Store(false)
			_ = c.ws.Close(websocket.StatusGoingAway, "")
			return nil
		case <-c.gone:
			l.dropped(ctx, c)
			return nil
		case <-c.heard:
			quiet.Stop()
			waiting = false
		case <-quiet.C:
			l.a.cfg.OS.Log(LogWarning, fmt.Sprintf("No answer on the live connection within %v of a ping; reconnecting.", l.timing.PongWait))
			_ = c.ws.CloseNow() // the reader stops, and gone follows
		case <-ping.C:
			if err := c.send(ctx, pingMessage); err != nil {
				_ = c.ws.CloseNow()
				continue
			}
			if !waiting {
				quiet.Reset(l.timing.PongWait)
				waiting = true
			}
		case <-renew.C:
			url, ok := l.usableURL()
			if !ok {
				continue // no URL to renew with: keep this one until it drops
			}
			next := l.attempt(ctx, url, false)
			if next == nil {
				if ctx.Err() == nil {
					renew.Reset(l.backoff()) // the old connection still works meanwhile
				}
				continue
			}
			// The new connection is open: only now may the old one go, so that no push
			// falls into a gap.
			l.failures = 0
			go func() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }()
			l.send(ctx, liveEvent{kind: liveUp})
			return next
		}
	}
}

// dropped records a connection that ended without the app closing it.
func (l *liveLink) dropped(ctx context.Context, c *liveConn) {
	l.up.Store(false)
	if time.Since(c.opened) >= steadyFor {
		l.failures = 0
	}
	l.failures++
	if l.failures == 1 || l.failures%20 == 0 {
		l.a.cfg.OS.Log(LogWarning, fmt.Sprintf("The live connection to the support server dropped (%d in a row): %v; reconnecting, polling meanwhile.", l.failures, c.err))
	}
	l.send(ctx, liveEvent{kind: liveDown})
}

// renewAfter is when to open the next connection: at 90–100 % of the maximum age, so
// that many PCs paired at the same time do not all reconnect at the same moment.
func (l *liveLink) renewAfter() time.Duration {
	d := l.timing.MaxAge
	return d - time.Duration(l.a.cfg.Jitter()*float64(d/10))
}

func (l *liveLink) backoff() time.Duration {
	return backoff(l.timing.RetryMin, l.timing.RetryMax, l.failures, l.a.cfg.Jitter)
}

// send hands an event to Serve; it gives up when the connection is being stopped.
func (l *liveLink) send(ctx context.Context, ev liveEvent) {
	select {
	case l.events <- ev:
	case <-ctx.Done():
	}
}

func (c *liveConn) send(ctx context.Context, msg []byte) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, msg)
}

// sleepReal waits d of real time; false when ctx ended first.
func sleepReal(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
