package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/agent/remote/remotetest"
	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// pcApp is the app's side of remote access on its real live connection: the app's own
// remote.Manager on a fake PC (agent/remote/fakeremote: Wine's LogonUserW accepts any
// password, and this runs on Linux), fed from the live connection as agent/app's live link
// feeds it — the remote message starts a connection, signals go to it, its signals go out
// as {"action":"signal"}, the session's end closes it — and reporting each end through the
// app's protocol client.
type pcApp struct {
	t   *testing.T
	pc  *fakeremote.PC
	m   *remote.Manager
	ws  *liveConn
	mu  sync.Mutex
	log []string
	// errors are the server's error answers on the app's connection.
	errors  []string
	reports chan protocol.RemoteEndedRequest
}

func newPCApp(t *testing.T, e *env, a *app, ws *liveConn, udp bool, options ...func(*remote.Config)) *pcApp {
	t.Helper()
	p := &pcApp{t: t, pc: fakeremote.New(t.TempDir()), ws: ws, reports: make(chan protocol.RemoteEndedRequest, 4)}
	p.pc.AddAccount(session.DefaultUsername, goodPassword)
	client := protocol.NewClient(e.st.URL, &http.Client{Timeout: 10 * time.Second, Transport: checked{t}})
	cfg := remote.Config{
		OS:      p.pc,
		Account: session.DefaultUsername,
		Signal: func(remoteID string, sig protocol.Signal) error {
			raw, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig})
			if err != nil {
				return err
			}
			if err := liveDoc.ValidateClientMessage(raw); err != nil {
				t.Errorf("the app's signal differs from api/asyncapi.yaml: %v: %s", err, raw)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			return ws.ws.Write(ctx, websocket.MessageText, raw)
		},
		Ended: func(r protocol.RemoteEndedRequest) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.RemoteEnded(ctx, a.agent, r); err != nil {
				t.Errorf("reporting the end of %s: %v", r.RemoteID, err)
			}
			p.reports <- r
		},
		Log: func(_ remote.Level, msg string) {
			p.mu.Lock()
			defer p.mu.Unlock()
			p.log = append(p.log, msg)
		},
		UDP: func() bool { return udp },
	}
	for _, o := range options {
		o(&cfg)
	}
	p.m = remote.New(cfg)
	t.Cleanup(func() { p.m.Close(protocol.RemoteServiceStopped) })
	go p.pump()
	return p
}

// pump hands the server's messages on the app's live connection to remote access.
func (p *pcApp) pump() {
	for {
		var m map[string]any
		var raw string
		select {
		case m = <-p.ws.msgs:
			raw = <-p.ws.raw
		case <-p.ws.closed:
			return
		}
		switch m["type"] {
		case protocol.TypeRemote:
			var r protocol.LiveRemote
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				p.t.Errorf("remote message %s: %v", raw, err)
				continue
			}
			p.m.Start(r)
		case protocol.TypeSignal:
			var s protocol.LiveSignal
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				p.t.Errorf("signal %s: %v", raw, err)
				continue
			}
			p.m.Signal(s.RemoteID, s.Signal)
		case protocol.TypeStatus:
			if m["status"] != protocol.StatusActive {
				// As the app does: the session's end ends every remote connection.
				go p.m.Close(protocol.RemoteSessionEnded)
			}
		case protocol.TypeError:
			p.mu.Lock()
			p.errors = append(p.errors, raw)
			p.mu.Unlock()
		}
	}
}

func (p *pcApp) appLog() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.log, "\n")
}

func (p *pcApp) serverErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errors...)
}

// checked is the app's HTTP transport in these tests: every request and answer is checked
// against api/openapi.yaml.
type checked struct{ t *testing.T }

func (c checked) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	raw, _ := io.ReadAll(res.Body)
	_ = res.Body.Close()
	res.Body = io.NopCloser(bytes.NewReader(raw))
	if err := apiDoc.ValidateResponse(req, body, res.StatusCode, res.Header, raw); err != nil {
		c.t.Errorf("the app's %s %s: the answer differs from api/openapi.yaml: %v", req.Method, req.URL.Path, err)
	}
	return res, nil
}

// techConsole is the technician's console tab: its live connection, and the console's
// pion peer connection signalling through it.
type techConsole struct {
	t   *testing.T
	ws  *liveConn
	rtc *remotetest.Console
	mu  sync.Mutex
	// sessions are the remote members of the session messages pushed, in order.
	remotes []map[string]any
	errors  []string
}

func (c *techConsole) pump() {
	for {
		var m map[string]any
		var raw string
		select {
		case m = <-c.ws.msgs:
			raw = <-c.ws.raw
		case <-c.ws.closed:
			return
		}
		switch m["type"] {
		case protocol.TypeSignal:
			var s protocol.LiveSignal
			if err := json.Unmarshal([]byte(raw), &s); err != nil {
				c.t.Errorf("signal %s: %v", raw, err)
				continue
			}
			c.mu.Lock()
			rtc := c.rtc
			c.mu.Unlock()
			if rtc != nil {
				rtc.FromApp(s.Signal)
			}
		case protocol.TypeSession:
			rm, _ := m["remote"].(map[string]any)
			c.mu.Lock()
			c.remotes = append(c.remotes, rm)
			c.mu.Unlock()
		case protocol.TypeError:
			c.mu.Lock()
			c.errors = append(c.errors, raw)
			c.mu.Unlock()
		}
	}
}

// signal sends a signal of the console as the console page does.
func (c *techConsole) signal(sessionID, remoteID string, sig protocol.Signal) {
	raw, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, SessionID: sessionID, RemoteID: remoteID, Signal: sig})
	if err != nil {
		c.t.Error(err)
		return
	}
	if err := liveDoc.ValidateClientMessage(raw); err != nil {
		c.t.Errorf("the console's signal differs from api/asyncapi.yaml: %v: %s", err, raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.ws.ws.Write(ctx, websocket.MessageText, raw); err != nil {
		c.t.Errorf("the console's signal: %v", err)
	}
}

func (c *techConsole) lastRemote() map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.remotes) == 0 {
		return nil
	}
	return c.remotes[len(c.remotes)-1]
}

func (c *techConsole) serverErrors() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.errors...)
}

// TestRemoteAccess: the technician presses Connect; the console (pion, offering
// `terminal` and `files`) and the app's real remote.Manager on a fake PC set up the
// connection through the local gateway's live channel and the devstack's TURN server, the
// console relaying only over TURN/UDP and the app over TURN/TCP (as under Wine) or with
// UDP; a terminal signs in, runs commands and shows their output, a file goes up with its
// SHA-256. Then the technician ends the session: the remote connection ends within a
// second and the app's report lands in the audit as remote_ended with its figures.
func TestRemoteAccess(t *testing.T) {
	for _, tc := range []struct {
		name   string
		appUDP bool
	}{{"turn-tcp", false}, {"turn-udp", true}} {
		t.Run(tc.name, func(t *testing.T) {
			e := start(t)
			tech := e.technician("tina@example.com", "acme", false)
			id, a := activeSession(t, e, tech, "remote-"+tc.name+"@example.org")
			pc := newPCApp(t, e, a, a.live(), tc.appUDP)
			tab := &techConsole{t: t, ws: e.consoleLive(tech)}
			go tab.pump()
			e.waitLive(2)

			r := e.do(http.MethodPost, "/v1/sessions/"+id+"/remote", tech, nil)
			want(t, r, http.StatusCreated, "")
			remoteID := r.str("remoteId")
			var started struct {
				ICEServers []protocol.ICEServer `json:"iceServers"`
			}
			if err := json.Unmarshal([]byte(r.Raw), &started); err != nil || len(started.ICEServers) != 1 {
				t.Fatalf("ICE servers of %s: %v", r.Raw, err)
			}
			turnAddr := e.st.TURN.Host + ":" + strconv.Itoa(e.st.TURN.Port)
			for _, u := range started.ICEServers[0].URLs {
				if !strings.Contains(u, turnAddr) {
					t.Errorf("ICE server %s is not the devstack's TURN server %s", u, turnAddr)
				}
			}
			waitFor(t, 5*time.Second, "the console to see the pending remote connection", func() bool {
				rm := tab.lastRemote()
				return rm != nil && rm["remoteId"] == remoteID && rm["state"] == "pending"
			})

			rtc := remotetest.New(t, remotetest.Options{RemoteID: remoteID, ICEServers: started.ICEServers, RelayOnly: true,
				Send: func(sig protocol.Signal) { tab.signal(id, remoteID, sig) }, AppLog: pc.appLog})
			tab.mu.Lock()
			tab.rtc = rtc
			tab.mu.Unlock()
			began := time.Now()
			rtc.Offer()
			rtc.WaitOpen()
			t.Logf("offer to both data channels open: %v", time.Since(began).Round(time.Millisecond))
			if p := rtc.Pair(); p.Local.Typ != webrtc.ICECandidateTypeRelay || p.Local.Protocol != webrtc.ICEProtocolUDP {
				t.Errorf("the console's end of the pair is %s, want a relayed candidate (TURN/UDP)", p.Local)
			} else if !tc.appUDP && p.Remote.Typ != webrtc.ICECandidateTypeRelay {
				t.Errorf("the app without UDP is at %s, want relayed (TURN/TCP)", p.Remote)
			}
			waitFor(t, 5*time.Second, "the console to see the remote connection connected", func() bool {
				rm := tab.lastRemote()
				return rm != nil && rm["state"] == "connected"
			})

			// Another technician's console gets nothing for the same remote connection.
			other := &techConsole{t: t, ws: e.consoleLive(e.technician("tom@example.com", "acme", false))}
			other.signal(id, remoteID, protocol.Signal{Kind: protocol.SignalOffer, SDP: "v=0\r\n"})
			if m := other.ws.next(protocol.TypeError, 5*time.Second); m["code"] != protocol.LiveCodeNoRemote {
				t.Errorf("another technician's signal: %v, want no_remote", m)
			}

			if m := rtc.Login(goodPassword); m["ok"] != true || m["shell"] != "powershell.exe" {
				t.Fatalf("login: %v", m)
			}
			rtc.TypeLine("echo hello from " + tc.name)
			rtc.WaitOutput("hello from " + tc.name + "\r\n")
			rtc.TypeLine("whoami")
			rtc.WaitOutput(`\` + strings.ToLower(session.DefaultUsername) + "\r\n")

			data := make([]byte, 300<<10)
			_, _ = rand.Read(data)
			sum := sha256.Sum256(data)
			rtc.Upload("u1", "notes.bin", "", data, hex.EncodeToString(sum[:]))
			done := rtc.NextFileOf("done", "error")
			if done["type"] != "done" || done["sha256"] != hex.EncodeToString(sum[:]) {
				t.Fatalf("upload: %v", done)
			}
			got, err := os.ReadFile(filepath.Join(pc.pc.Root, "Users", session.DefaultUsername, "Downloads", "notes.bin"))
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("the uploaded file on the PC: %d bytes (%v), want the %d sent", len(got), err, len(data))
			}

			if errs := append(pc.serverErrors(), tab.serverErrors()...); len(errs) > 0 {
				t.Errorf("the server refused signals of the two ends: %v", errs)
			}

			// The technician ends the session: the remote connection is over within a second.
			// (The app's bye after it is refused: the session's end has ended the remote
			// connection on the server, and the console is told by the session's push.)
			ended := time.Now()
			want(t, e.do(http.MethodDelete, "/v1/sessions/"+id, tech, nil), http.StatusOK, "")
			waitFor(t, 5*time.Second, "the remote connection to end", func() bool {
				switch rtc.PC.ConnectionState() {
				case webrtc.PeerConnectionStateClosed, webrtc.PeerConnectionStateFailed, webrtc.PeerConnectionStateDisconnected:
					return true
				}
				return rtc.Term.ReadyState() != webrtc.DataChannelStateOpen
			})
			took := time.Since(ended)
			t.Logf("the session's end to the remote connection's end: %v", took.Round(time.Millisecond))
			if took > time.Second {
				t.Errorf("the remote connection ended %v after the session's end, want within 1 s", took)
			}
			var rep protocol.RemoteEndedRequest
			select {
			case rep = <-pc.reports:
			case <-time.After(10 * time.Second):
				t.Fatalf("no end report; app log:\n%s", pc.appLog())
			}
			if rep.RemoteID != remoteID || rep.Reason != protocol.RemoteSessionEnded {
				t.Errorf("report %+v", rep)
			}
			audit := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
			want(t, audit, http.StatusOK, "")
			var trail struct {
				Entries []struct{ Action, Detail, Actor, By, To string }
			}
			_ = json.Unmarshal([]byte(audit.Raw), &trail)
			var endEntry string
			var actions []string
			for _, en := range trail.Entries {
				actions = append(actions, en.Action)
				if en.Action == "remote_ended" {
					endEntry = en.Detail
					if en.Actor != "app" || en.To != "ended" {
						t.Errorf("remote_ended by %s/%s in %s", en.Actor, en.By, en.To)
					}
				}
			}
			figures := "remoteId=" + remoteID + " technician="
			if !strings.HasPrefix(endEntry, figures) || !strings.Contains(endEntry, "reason=session_ended channels=terminal,files durationMs=") ||
				!strings.Contains(endEntry, " bytesToPc="+strconv.FormatInt(rep.BytesToPC, 10)+" bytesFromPc="+strconv.FormatInt(rep.BytesFromPC, 10)) || rep.BytesToPC < int64(len(data)) ||
				rep.BytesFromPC == 0 || rep.DurationMs <= 0 {
				t.Errorf("the audit's remote_ended %q (actions %v) for the report %+v", endEntry, actions, rep)
			}
			if n := countEvents(e, id, events.RemoteAccessStarted); n != 1 {
				t.Errorf("%d RemoteAccessStarted events", n)
			}
			if n := countEvents(e, id, events.RemoteAccessEnded); n != 1 {
				t.Errorf("%d RemoteAccessEnded events", n)
			}
			if errs := tab.serverErrors(); len(errs) > 0 {
				t.Errorf("the server refused signals of the console: %v", errs)
			}
			// Neither the terminal's password nor the TURN credential is in the server's logs.
			logs := e.logs.String()
			for _, secret := range []string{goodPassword, started.ICEServers[0].Credential} {
				if strings.Contains(logs, secret) {
					t.Errorf("the server logged a secret")
				}
			}
		})
	}
}
