//go:build !windows

package app_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/app/fakeos"
	"github.com/adhoc-support/adhoc-support/agent/internal/teststack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The server's poll interval while the app's live connection is open (the product's).
const liveInterval = 15 * time.Minute

// serve runs the service in the background, as the service manager would; stop ends it.
func (h *harness) serve() (done <-chan error, stop context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		ch <- h.app(app.English).Serve(ctx)
	}()
	h.t.Cleanup(func() {
		cancel()
		<-finished
	})
	return ch, cancel
}

// waitAsleep waits until the service sleeps for want: for the live interval it has polled
// with its live connection open.
func (h *harness) waitAsleep(asleep <-chan time.Duration, want time.Duration) {
	h.t.Helper()
	timeout := time.After(15 * time.Second)
	var seen []time.Duration
	for {
		select {
		case d := <-asleep:
			if d == want {
				return
			}
			seen = append(seen, d)
		case <-timeout:
			h.t.Fatalf("the service never slept %v (slept %v); live connections %v", want, seen, h.stack.LiveConnections())
		}
	}
}

func waitServed(t *testing.T, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the service did not finish")
	}
}

// assertEndedByTechnician checks the server's view after the clean-up.
func (h *harness) assertEndedByTechnician() {
	h.t.Helper()
	h.assertClean()
	if got := h.stack.Session(h.t, h.inv.SessionID); got.Status != "removed" || got.EndReason != "ended_by_technician" {
		h.t.Errorf("server sees %+v, want removed after ended_by_technician", got)
	}
	if n := h.stack.Requests(protocol.PathRemoved); n != 1 {
		h.t.Errorf("removed reported %d times, want 1", n)
	}
	h.assertNoPasswordOnDisk()
}

// TestLivePushStartsCleanup: with the live connection open the service polls only every
// 15 minutes, and the technician's end reaches it as a push: the clean-up starts without
// a poll. The clock is held, so the service would wait for its next poll forever.
func TestLivePushStartsCleanup(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	asleep := h.clock.Hold()
	done, _ := h.serve()
	h.waitAsleep(asleep, liveInterval)
	if n := h.stack.LiveOpen(); n != 1 {
		t.Fatalf("%d live connections open, want 1", n)
	}
	polls := h.stack.Session(t, h.inv.SessionID).Polls

	start := time.Now()
	h.stack.End(t, h.inv.SessionID)
	ended := time.Since(start)
	for {
		if users, _, _, _ := h.pc.Snapshot(); !hasUser(users, h.inv.Username) {
			break
		}
		if time.Since(start) > 10*time.Second {
			t.Fatalf("the account is still there 10 s after the technician's end; events %q; live %v refused %v", h.pc.Events, h.stack.LiveConnections(), h.stack.LiveRefusals())
		}
		time.Sleep(time.Millisecond)
	}
	deleted := time.Since(start)
	waitServed(t, done)
	t.Logf("technician's end %v (push included) → account deleted %v → everything removed and reported %v",
		ended.Round(time.Millisecond), deleted.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	h.assertEndedByTechnician()
	if got := h.stack.Session(t, h.inv.SessionID).Polls; got != polls {
		t.Errorf("%d polls after the end, want none: the push starts the clean-up", got-polls)
	}
	if !slices.ContainsFunc(h.pc.Events, func(e string) bool { return strings.Contains(e, "is over ("+app.ReasonEnded+")") }) {
		t.Errorf("event log lacks the clean-up for %s: %v", app.ReasonEnded, h.pc.Events)
	}
}

// TestLiveDrop: the connection drops (Gateway.Live.CloseAll). If the session ends during
// the drop, the push is lost: the reconnect is refused, the poll that follows says ended.
// Otherwise the app reconnects, catches up with a poll, and the next push arrives.
func TestLiveDrop(t *testing.T) {
	tests := []struct {
		name string
		// during runs while the connection is down: the network is cut as well, so that
		// the app cannot reconnect before the session has ended.
		during bool
	}{
		{"session ended during the drop", true},
		{"reconnected, then ended", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.live = app.LiveTiming{RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond}
			h.setUp()
			asleep := h.clock.Hold()
			done, _ := h.serve()
			h.waitAsleep(asleep, liveInterval)

			h.net.off.Store(tt.during)
			h.stack.DropLive()
			// Without the connection the service waits the active interval at most.
			h.waitAsleep(asleep, 30*time.Second)
			polls := h.stack.Session(t, h.inv.SessionID).Polls
			if tt.during {
				h.stack.End(t, h.inv.SessionID)
				h.net.off.Store(false)
			} else {
				// Reconnected: the catch-up poll answered, back to the long interval.
				h.waitAsleep(asleep, liveInterval)
				if got := h.stack.Session(t, h.inv.SessionID).Polls; got != polls+1 {
					t.Errorf("%d polls after the reconnect, want the one catch-up", got-polls)
				}
				polls = h.stack.Session(t, h.inv.SessionID).Polls
				h.stack.End(t, h.inv.SessionID)
			}
			waitServed(t, done)
			h.assertEndedByTechnician()
			got := h.stack.Session(t, h.inv.SessionID).Polls
			conns := h.stack.LiveConnections()
			if tt.during {
				// The reconnect is refused (401) and a poll decides.
				if refused := h.stack.LiveRefusals(); !slices.Contains(refused, http.StatusUnauthorized) {
					t.Errorf("live refusals %v, want the reconnect refused with 401", refused)
				}
				if got != polls+1 {
					t.Errorf("%d polls after the end, want the one after the refused reconnect", got-polls)
				}
				if len(conns) != 1 {
					t.Errorf("%d live connections, want only the first", len(conns))
				}
			} else {
				if got != polls {
					t.Errorf("%d polls after the end, want none: the push starts the clean-up", got-polls)
				}
				if len(conns) != 2 {
					t.Errorf("%d live connections, want the first and the reconnected one", len(conns))
				}
			}
		})
	}
}

// TestLiveRenewedBeforeMaxAge: the gateway closes a connection after 3 s here (2 hours in
// AWS); the app opens the next one after its own, shorter cap of 1 s, and closes the old
// one only then: there is never a moment without a connection, and every new connection
// is followed by a catch-up poll.
func TestLiveRenewedBeforeMaxAge(t *testing.T) {
	const gatewayMaxAge, appMaxAge = 3 * time.Second, time.Second
	h := newHarnessWith(t, teststack.Options{LiveLimits: gateway.LiveLimits{MaxAge: gatewayMaxAge}})
	h.live = app.LiveTiming{MaxAge: appMaxAge}
	h.setUp()
	asleep := h.clock.Hold()
	done, stop := h.serve()
	h.waitAsleep(asleep, liveInterval)
	deadline := time.Now().Add(20 * time.Second)
	for len(h.stack.LiveConnections()) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("live connections %v, want four (three renewals)", h.stack.LiveConnections())
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop() // the service stops; the session goes on
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Serve = %v, want context.Canceled", err)
	}
	// The gateway ends its side once $disconnect has run.
	for h.stack.LiveOpen() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("live connections %v still open after the service stopped", h.stack.LiveConnections())
		}
		time.Sleep(10 * time.Millisecond)
	}
	conns := h.stack.LiveConnections()
	for i, c := range conns {
		if i == 0 {
			continue
		}
		prev := conns[i-1]
		if !c.Accepted.Before(prev.Ended) {
			t.Errorf("connection %d opened %v after connection %d ended: a gap", i, c.Accepted.Sub(prev.Ended), i-1)
		}
		// The app's renewal comes at 90–100 % of its cap, long before the gateway's.
		if lived := prev.Ended.Sub(prev.Accepted); lived < appMaxAge*9/10 || lived >= gatewayMaxAge {
			t.Errorf("connection %d lived %v, want at least %v and less than the gateway's %v", i-1, lived, appMaxAge*9/10, gatewayMaxAge)
		}
	}
	// One poll per connection: the first at the start, then a catch-up after each
	// renewal (the last one's may have been cut short by the stop).
	if polls := h.stack.Session(t, h.inv.SessionID).Polls; polls < len(conns)-1 || polls > len(conns) {
		t.Errorf("%d polls for %d connections, want one per connection", polls, len(conns))
	}
	if got := h.stack.Session(t, h.inv.SessionID).Status; got != "active" {
		t.Errorf("status %s after the service stopped, want active", got)
	}
}

// TestLiveThroughProxy: the live URL is wss:// (TLS in front of the stack, as API
// Gateway serves it), and the handshake goes through the proxy the app is configured
// with, as a CONNECT tunnel; the push then ends the session without a poll.
func TestLiveThroughProxy(t *testing.T) {
	front := newTLSFront(t)
	h := newHarnessWith(t, teststack.Options{LiveURL: front.liveURL()})
	front.target.Store(mustParse(t, h.stack.URL))
	proxy := newProxy(t)
	h.net.transport = proxy.transport(front.roots())
	h.setUp()
	asleep := h.clock.Hold()
	done, _ := h.serve()
	h.waitAsleep(asleep, liveInterval)
	if tunnels := proxy.tunnels(); !slices.Contains(tunnels, front.host()) {
		t.Fatalf("proxy tunnels %v, want one to the live endpoint %s", tunnels, front.host())
	}
	if n := h.stack.LiveOpen(); n != 1 {
		t.Fatalf("%d live connections open, want 1", n)
	}
	if proxy.forwarded() == 0 {
		t.Errorf("the polls did not go through the proxy")
	}
	polls := h.stack.Session(t, h.inv.SessionID).Polls
	h.stack.End(t, h.inv.SessionID)
	waitServed(t, done)
	h.assertEndedByTechnician()
	if got := h.stack.Session(t, h.inv.SessionID).Polls; got != polls {
		t.Errorf("%d polls after the end, want none: the push starts the clean-up", got-polls)
	}
}

// TestLivePingsKeepItOpen: the gateway closes a connection that is idle for 1 s here (10
// minutes in AWS); the app's pings keep its one connection open well past that.
func TestLivePingsKeepItOpen(t *testing.T) {
	const idle = time.Second
	h := newHarnessWith(t, teststack.Options{LiveLimits: gateway.LiveLimits{IdleTimeout: idle}})
	h.live = app.LiveTiming{Ping: idle / 4}
	h.setUp()
	asleep := h.clock.Hold()
	done, _ := h.serve()
	h.waitAsleep(asleep, liveInterval)
	time.Sleep(3 * idle)
	if conns := h.stack.LiveConnections(); len(conns) != 1 || !conns[0].Ended.IsZero() {
		t.Fatalf("live connections %v, want the first one still open", conns)
	}
	polls := h.stack.Session(t, h.inv.SessionID).Polls
	h.stack.End(t, h.inv.SessionID)
	waitServed(t, done)
	h.assertEndedByTechnician()
	if got := h.stack.Session(t, h.inv.SessionID).Polls; got != polls {
		t.Errorf("%d polls after the end, want none", got-polls)
	}
}

// TestLiveQuietConnectionIsReplaced: the network path of the connection goes silent
// without closing (the proxy swallows its bytes), as a dead NAT entry does; no pong comes
// back, so the app drops it, connects anew, and the next push arrives on the new one.
func TestLiveQuietConnectionIsReplaced(t *testing.T) {
	front := newTLSFront(t)
	h := newHarnessWith(t, teststack.Options{LiveURL: front.liveURL()})
	front.target.Store(mustParse(t, h.stack.URL))
	proxy := newProxy(t)
	h.net.transport = proxy.transport(front.roots())
	h.live = app.LiveTiming{Ping: 200 * time.Millisecond, PongWait: time.Second, RetryMin: 20 * time.Millisecond}
	h.setUp()
	asleep := h.clock.Hold()
	done, _ := h.serve()
	h.waitAsleep(asleep, liveInterval)
	proxy.silenceTunnels()
	// The drop, then the new connection and its catch-up poll.
	h.waitAsleep(asleep, 30*time.Second)
	h.waitAsleep(asleep, liveInterval)
	if len(h.stack.LiveConnections()) < 2 {
		// The 30 s wait ran out before the replacement's handshake: that poll was answered
		// while the server still counted the silenced connection as open. The replacement
		// then wakes the service for its catch-up poll and another long sleep.
		h.waitAsleep(asleep, liveInterval)
	}
	if n := len(h.stack.LiveConnections()); n != 2 {
		t.Fatalf("%d live connections, want the silenced one and its replacement", n)
	}
	polls := h.stack.Session(t, h.inv.SessionID).Polls
	h.stack.End(t, h.inv.SessionID)
	waitServed(t, done)
	h.assertEndedByTechnician()
	if got := h.stack.Session(t, h.inv.SessionID).Polls; got != polls {
		t.Errorf("%d polls after the end, want none", got-polls)
	}
	if !slices.ContainsFunc(h.pc.Events, func(e string) bool { return strings.Contains(e, "No answer on the live connection") }) {
		t.Errorf("event log lacks the silent connection: %v", h.pc.Events)
	}
}

// proxyServer is a small HTTP proxy: CONNECT tunnels (what https:// and wss:// go
// through) and forwarded plain requests. Like many proxies that predate WebSockets, it
// refuses the upgrade of a plain request.
type proxyServer struct {
	url *url.URL

	mu       sync.Mutex
	connects []string // CONNECT targets
	plain    int      // plain requests forwarded
	upgrades int      // plain WebSocket upgrades refused
	conns    []net.Conn
	silent   []*atomic.Bool // per tunnel: swallow its bytes
}

// silenceTunnels makes the open tunnels swallow every byte from now on, without closing.
func (p *proxyServer) silenceTunnels() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.silent {
		s.Store(true)
	}
}

func newProxy(t *testing.T) *proxyServer {
	t.Helper()
	p := &proxyServer{}
	srv := httptest.NewServer(p)
	t.Cleanup(func() {
		srv.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.conns {
			c.Close()
		}
	})
	p.url = mustParse(t, srv.URL)
	return p
}

// transport goes through the proxy for every request, trusting roots for TLS.
func (p *proxyServer) transport(roots *x509.CertPool) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = http.ProxyURL(p.url)
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	return tr
}

func (p *proxyServer) tunnels() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.connects)
}

func (p *proxyServer) forwarded() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.plain
}

func (p *proxyServer) refusedUpgrades() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.upgrades
}

func (p *proxyServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		p.mu.Lock()
		p.upgrades++
		p.mu.Unlock()
		http.Error(w, "WebSockets are not allowed through this proxy", http.StatusForbidden)
		return
	}
	p.mu.Lock()
	p.plain++
	p.mu.Unlock()
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Connection")
	res, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer res.Body.Close()
	for k, vs := range res.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(res.StatusCode)
	_, _ = io.Copy(w, res.Body)
}

func (p *proxyServer) tunnel(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.connects = append(p.connects, r.Host)
	p.mu.Unlock()
	dst, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	src, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		dst.Close()
		return
	}
	silent := &atomic.Bool{}
	p.mu.Lock()
	p.conns = append(p.conns, src, dst)
	p.silent = append(p.silent, silent)
	p.mu.Unlock()
	_, _ = src.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	go pipe(dst, rw.Reader, src, silent)
	go pipe(src, dst, dst, silent)
}

// pipe copies until either side ends, then closes both; while silent it drops the bytes.
func pipe(dst net.Conn, src io.Reader, srcConn net.Conn, silent *atomic.Bool) {
	defer dst.Close()
	defer srcConn.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// tlsFront serves the stack over TLS, as API Gateway serves the WebSocket API at wss://.
type tlsFront struct {
	srv    *httptest.Server
	target atomic.Pointer[url.URL]
}

func newTLSFront(t *testing.T) *tlsFront {
	t.Helper()
	f := &tlsFront{}
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(f.target.Load()) }}
	f.srv = httptest.NewUnstartedServer(rp)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *tlsFront) host() string    { return f.srv.Listener.Addr().String() }
func (f *tlsFront) liveURL() string { return "wss://" + f.host() + "/live" }

func (f *tlsFront) roots() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(f.srv.Certificate())
	return pool
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func hasUser(users map[string]fakeos.User, name string) bool {
	_, ok := users[name]
	return ok
}
