//go:build !windows

package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/desktop/fakedesktop"
	"github.com/adhoc-support/adhoc-support/agent/internal/testconsole"
	"github.com/adhoc-support/adhoc-support/agent/internal/teststack"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// liveFront stands between the app and the real stack's live channel: it passes every
// message on both ways, except that it plays the server's part of remote access, which is
// being built alongside (it pushes the remote message and the console's signals to the
// app, and takes the app's signal actions for the console). Everything else — the
// handshake with the agent token, the status pushes, the pings — is the real stack's.
type liveFront struct {
	t      *testing.T
	srv    *httptest.Server
	target string // the gateway's live URL

	mu       sync.Mutex
	app      *websocket.Conn
	up       chan struct{} // closed when the app's connection is through
	upOnce   sync.Once
	toServer [][]byte // what the app sent the server besides its signals
	console  *testconsole.Console
	signals  []protocol.SignalAction
}

func newLiveFront(t *testing.T) *liveFront {
	t.Helper()
	f := &liveFront{t: t, up: make(chan struct{})}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *liveFront) url() string { return "ws" + strings.TrimPrefix(f.srv.URL, "http") + "/live" }

func (f *liveFront) serve(w http.ResponseWriter, r *http.Request) {
	ctx := context.Background()
	server, res, err := websocket.Dial(ctx, f.target, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": r.Header["Authorization"]}})
	if err != nil {
		status := http.StatusBadGateway
		if res != nil {
			status = res.StatusCode
		}
		http.Error(w, err.Error(), status)
		return
	}
	app, err := websocket.Accept(w, r, nil)
	if err != nil {
		server.CloseNow()
		return
	}
	f.mu.Lock()
	f.app = app
	f.mu.Unlock()
	f.upOnce.Do(func() { close(f.up) })
	go func() { // server → app
		defer app.CloseNow()
		for {
			typ, data, err := server.Read(ctx)
			if err != nil {
				return
			}
			if err := app.Write(ctx, typ, data); err != nil {
				return
			}
		}
	}()
	defer server.CloseNow()
	for { // app → server
		typ, data, err := app.Read(ctx)
		if err != nil {
			return
		}
		var a protocol.SignalAction
		if json.Unmarshal(data, &a) == nil && a.Action == protocol.ActionSignal {
			f.mu.Lock()
			f.signals = append(f.signals, a)
			c := f.console
			f.mu.Unlock()
			if c != nil {
				c.FromApp(a.Signal)
			}
			continue
		}
		f.mu.Lock()
		f.toServer = append(f.toServer, data)
		f.mu.Unlock()
		if err := server.Write(ctx, typ, data); err != nil {
			return
		}
	}
}

// push sends the app a message as the server would.
func (f *liveFront) push(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		f.t.Error(err)
		return
	}
	f.mu.Lock()
	app := f.app
	f.mu.Unlock()
	if err := app.Write(context.Background(), websocket.MessageText, data); err != nil {
		f.t.Errorf("push to the app: %v", err)
	}
}

// recorder keeps the bodies of the app's requests to one path.
type recorder struct {
	path string
	mu   sync.Mutex
	got  [][]byte
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Path == r.path && req.Body != nil {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.mu.Lock()
		r.got = append(r.got, body)
		r.mu.Unlock()
	}
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) reports() []protocol.RemoteEndedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []protocol.RemoteEndedRequest
	for _, b := range r.got {
		var rep protocol.RemoteEndedRequest
		if json.Unmarshal(b, &rep) == nil {
			out = append(out, rep)
		}
	}
	return out
}

// TestRemoteOverTheLiveConnection: the service takes a technician's remote connection from
// its live connection — the remote message and the console's signals in, its own signals
// out as {"action":"signal",…} — serves the terminal and the screen through the helper
// (which shows the user the notice), and ends it when the session ends (the technician's
// end, pushed) or when the service stops: the helper is gone and the policy value that
// Ctrl+Alt+Del needed is back as it was; each end is reported to
// POST /v1/agent/remote/ended.
func TestRemoteOverTheLiveConnection(t *testing.T) {
	tests := []struct {
		name   string
		end    func(h *harness, stop context.CancelFunc)
		reason string
	}{
		{"session ended", func(h *harness, _ context.CancelFunc) { h.stack.End(h.t, h.inv.SessionID) }, protocol.RemoteSessionEnded},
		{"service stopped", func(_ *harness, stop context.CancelFunc) { stop() }, protocol.RemoteServiceStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			front := newLiveFront(t)
			h := newHarnessWith(t, teststack.Options{LiveURL: front.url()})
			// The gateway's own live endpoint (the server hands out the front's).
			front.target = "ws" + strings.TrimPrefix(h.stack.URL, "http") + gateway.PathLive
			pc := fakeremote.New(t.TempDir())
			pc.AddAccount(h.inv.Username, password)
			h.remote = pc
			user := fakedesktop.New(1280, 800)
			launcher := fakedesktop.NewLauncher(user)
			host := desktop.NewHost(desktop.HostConfig{Launcher: launcher})
			defer host.Close()
			h.desktop = host
			rec := &recorder{path: protocol.PathRemoteEnded}
			h.net.transport = rec
			h.setUp()
			h.clock.Hold()
			done, stop := h.serve()
			select {
			case <-front.up:
			case <-time.After(15 * time.Second):
				t.Fatalf("the service did not open its live connection through the front; events %q", h.pc.Events)
			}

			srv, err := turn.Start(turn.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			const remoteID = "r-0123456789abcdefghijklmnop"
			servers, expires, err := srv.ICEServers(remoteID)
			if err != nil {
				t.Fatal(err)
			}
			c := testconsole.New(t, testconsole.Options{RemoteID: remoteID, ICEServers: servers, RelayOnly: true, Desktop: true,
				Send: func(sig protocol.Signal) {
					front.push(protocol.LiveSignal{Type: protocol.TypeSignal, RemoteID: remoteID, Signal: sig})
				}, AppLog: func() string { return strings.Join(h.pc.Events, "\n") }})
			front.mu.Lock()
			front.console = c
			front.mu.Unlock()
			front.push(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: remoteID, ICEServers: servers, Technician: "Tina Example", ExpiresAt: expires})
			c.Offer()
			c.WaitOpen()
			if m := c.Login(password); m["ok"] != true {
				t.Fatalf("login: %v", m)
			}
			c.TypeLine("whoami")
			c.WaitOutput(strings.ToLower(h.inv.Username))
			if n, ok := user.Notice(); !ok || n.Text != "Tina Example is connected" {
				t.Errorf("notice %+v (%v)", n, ok)
			}
			c.SendScreen(map[string]any{"type": "start"})
			if f := c.WaitFrame(); !f.Full || f.Width != 1280 {
				t.Errorf("first frame %+v", f)
			}
			c.SendInput(map[string]any{"type": "sas"})
			waitFor(t, "Ctrl+Alt+Del", func() bool { _, n := launcher.SASPolicy(); return n == 1 })

			start := time.Now()
			tt.end(h, stop)
			closed := c.WaitClosed(start)
			t.Logf("%s → the console's channels closed %v", tt.name, closed.Round(time.Millisecond))
			if closed > time.Second {
				t.Errorf("closed %v after the end, want within 1 s", closed)
			}
			if tt.reason == protocol.RemoteSessionEnded {
				waitServed(t, done)
			} else if err := <-done; err == nil {
				t.Errorf("Serve returned nil after the stop, want ctx's error")
			}
			if s := pc.Shells(); len(s) != 1 || s[0].Running() {
				t.Errorf("the shell still runs")
			}
			if launcher.Running() != 0 {
				t.Errorf("the helper still runs")
			}
			if _, ok := user.Notice(); ok {
				t.Errorf("the notice still shows")
			}
			if v, _ := launcher.SASPolicy(); v != nil {
				t.Errorf("the SoftwareSASGeneration policy value is %d, want absent again", *v)
			}
			reps := rec.reports()
			if len(reps) != 1 || reps[0].RemoteID != remoteID || reps[0].Reason != tt.reason ||
				!slices.Equal(reps[0].Channels, []string{"terminal", "files", "screen", "input", "clipboard"}) || reps[0].BytesToPC == 0 || reps[0].BytesFromPC == 0 {
				t.Errorf("reports %+v, want one for %s with reason %s", reps, remoteID, tt.reason)
			}
			if n := h.stack.Requests(protocol.PathRemoteEnded); n != 1 {
				t.Errorf("%d requests to %s, want 1", n, protocol.PathRemoteEnded)
			}
			front.mu.Lock()
			signals := slices.Clone(front.signals)
			front.mu.Unlock()
			kinds := map[string]int{}
			for _, s := range signals {
				if s.RemoteID != remoteID || s.SessionID != "" {
					t.Errorf("signal action %+v", s)
				}
				kinds[s.Signal.Kind]++
			}
			if kinds[protocol.SignalAnswer] != 1 || kinds[protocol.SignalCandidate] == 0 {
				t.Errorf("the app's signals: %v", kinds)
			}
			for _, e := range h.pc.Events {
				if strings.Contains(e, password) || strings.Contains(e, servers[0].Credential) {
					t.Errorf("event log entry leaks a secret: %s", e)
				}
			}
		})
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
