// Package remotebench measures remote access for benchreport (`make bench`): on loopback
// through the whole local stack, and the app's remote code's memory in a process of its
// own. It is apart from internal/measure/bench so that the CDK app's module, which reads
// bench's scale model, does not pull in pion's WebRTC.
package remotebench

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/agent/remote/remotetest"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Remote access on loopback: the whole local stack (internal/local/devstack: the local
// gateway with its live channel, the same handlers, DynamoDB Local, aws-ses-v2-local and
// the local TURN server), a technician's console played by pion (agent/remote/remotetest)
// on a real live connection, and the app's own remote code (agent/remote's Manager) on a
// fake PC (agent/remote/fakeremote: a fake shell and the real file code on a folder) on
// its real live connection. The console relays only, over TURN/UDP, as the console's
// browser tests force it; the app has no UDP, as under Wine, and relays over TURN/TCP.
// So every figure here crosses the TURN server twice (console → relay → relay → app).
//
// Click to prompt starts when the technician's POST /v1/sessions/{id}/remote is sent (the
// console's Connect sends it first) and has two stops: both data channels open (the
// console's #remote-status turns "connected" and the password can be sent), and the
// shell's prompt in the terminal after the password, sent as soon as the channels are
// open (a person typing it takes longer; the browser test measures with typing).

// RemoteOptions configure RemoteAccess.
type RemoteOptions struct {
	DynamoDBEndpoint, SESEndpoint string
	Table                         string // created if missing
	Connects                      int    // timed connections; default 20
	Warmup                        int    // connections first and not counted; default 2
	Keystrokes                    int    // timed keystroke echoes; default 300
	Transfers                     int    // timed uploads and downloads each; default 10
	TransferBytes                 int    // size of each; default 8 MiB
}

// Throughput is a distribution of transfer rates: the median, and the rate of the p95
// transfer time (the slow tail).
type Throughput struct {
	What    string          `json:"what"`
	N       int             `json:"n"`
	Bytes   int             `json:"bytes"`
	Median  float64         `json:"medianBytesPerSecond"`
	P95     float64         `json:"p95BytesPerSecond"` // bytes ÷ the p95 time
	Samples []time.Duration `json:"timesNs"`
}

// SignalCount is what one remote connection's set-up and end cost on the live channel:
// the messages each end sent (each a WebSocket message in, an invocation of the live
// function) and received (each an @connections push, a message out).
type SignalCount struct {
	ConsoleSent, ConsoleReceived int
	AppSent, AppReceived         int
	// Units are the billed WebSocket messages (32 KB steps) of all of them.
	Units int64
	// The candidate signals among those sent (the end-of-candidates marker included).
	ConsoleCandidates, AppCandidates int
}

// RemoteResult is what RemoteAccess measured.
type RemoteResult struct {
	Connects        int           `json:"connects"`
	Warmup          int           `json:"warmup"`
	ToConnected     bench.Latency `json:"clickToConnected"`
	ToPrompt        bench.Latency `json:"clickToPrompt"`
	Echo            bench.Latency `json:"keystrokeEcho"`
	Upload          Throughput    `json:"upload"`
	Download        Throughput    `json:"download"`
	Signals         SignalCount   `json:"signalsPerConnection"` // the mean over the timed connections, rounded up
	ConsoleCandType string        `json:"consolePair"`
	AppCandType     string        `json:"appPair"`
}

// What RemoteAccess measures.
const (
	RemoteToConnected = "Connect (POST …/remote) → both data channels open"
	RemoteToPrompt    = "Connect (POST …/remote) → the shell's prompt, password sent at once"
	RemoteEcho        = "keystroke → its echo in the terminal"
	RemoteUpload      = "upload to the PC (SHA-256 checked on the PC)"
	RemoteDownload    = "download from the PC"
)

// RemoteAccess sets up one active session on the local stack and runs remote connections
// to its app, one after another, then times keystrokes and transfers on the last one.
func RemoteAccess(ctx context.Context, o RemoteOptions) (RemoteResult, error) {
	o.Connects = cmpOr(o.Connects, 20)
	o.Warmup = cmpOr(o.Warmup, 2)
	o.Keystrokes = cmpOr(o.Keystrokes, 300)
	o.Transfers = cmpOr(o.Transfers, 10)
	o.TransferBytes = cmpOr(o.TransferBytes, 8<<20)
	res := RemoteResult{Connects: o.Connects, Warmup: o.Warmup}
	st, err := devstack.Start(ctx, devstack.Options{
		DynamoDBEndpoint: o.DynamoDBEndpoint, SESEndpoint: o.SESEndpoint, Table: o.Table,
		SweepEvery: -1, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
	})
	if err != nil {
		return res, fmt.Errorf("remote access: %w", err)
	}
	defer st.Close()
	err = runTB(func(t testing.TB) {
		b := &remoteBench{t: t, ctx: ctx, st: st, o: o, http: bench.NewStackClient(st)}
		b.run(&res)
	})
	if err != nil {
		return res, fmt.Errorf("remote access: %w", err)
	}
	return res, nil
}

func cmpOr(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// remoteBench is one run of RemoteAccess.
type remoteBench struct {
	t    testing.TB
	ctx  context.Context
	st   *devstack.Stack
	o    RemoteOptions
	http *bench.StackClient

	sessionID, tech, agent string
	pc                     *fakeremote.PC
	m                      *remote.Manager
	app, console           *liveEnd
	ended                  chan protocol.RemoteEndedRequest

	mu  sync.Mutex
	rtc *remotetest.Console // the console's current peer connection
	log []string
	// Candidate signals sent so far by each end.
	consoleCands, appCands int
}

// countCandidate counts a signal an end sends if it is a candidate.
func (b *remoteBench) countCandidate(n *int, sig protocol.Signal) {
	if sig.Kind != protocol.SignalCandidate {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	*n++
}

func (b *remoteBench) fatal(what string, err error) {
	b.t.Helper()
	b.t.Fatalf("%s: %v", what, err)
}

func (b *remoteBench) run(res *RemoteResult) {
	ctx := b.ctx
	tech, err := b.st.Issuer.Issue(gateway.DevUser{Email: "remote-bench@example.com", Account: "remote-bench"})
	if err != nil {
		b.fatal("technician", err)
	}
	b.tech = tech
	if b.sessionID, b.agent, err = b.http.ActiveSession(ctx, tech, "remote-bench"); err != nil {
		b.fatal("a session", err)
	}

	b.pc = fakeremote.New(b.t.TempDir())
	b.pc.AddAccount(session.DefaultUsername, bench.SessionPassword)
	b.ended = make(chan protocol.RemoteEndedRequest, 4)
	client := protocol.NewClient(b.st.URL, &http.Client{Timeout: 10 * time.Second})
	b.m = remote.New(remote.Config{
		OS: b.pc, Account: session.DefaultUsername,
		Signal: func(remoteID string, sig protocol.Signal) error {
			b.countCandidate(&b.appCands, sig)
			return b.app.send(protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig})
		},
		Ended: func(r protocol.RemoteEndedRequest) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.RemoteEnded(ctx, b.agent, r); err != nil {
				b.t.Errorf("reporting the end of a remote connection: %v", err)
			}
			b.ended <- r
		},
		Log: func(_ remote.Level, msg string) {
			b.mu.Lock()
			defer b.mu.Unlock()
			b.log = append(b.log, msg)
		},
		UDP: func() bool { return false }, // as under Wine: TURN over TCP
	})
	defer b.m.Close(protocol.RemoteServiceStopped)

	if b.app, err = dialEnd(ctx, b.st.LiveURL, http.Header{"Authorization": {"Bearer " + b.agent}}, b.fromServerToApp); err != nil {
		b.fatal("the app's live connection", err)
	}
	defer b.app.close()
	var ticket struct {
		URL string `json:"url"`
	}
	if err := b.http.Call(ctx, http.MethodPost, "/v1/live/tickets", tech, nil, http.StatusCreated, &ticket); err != nil {
		b.fatal("a live ticket", err)
	}
	if b.console, err = dialEnd(ctx, ticket.URL, nil, b.fromServerToConsole); err != nil {
		b.fatal("the console's live connection", err)
	}
	defer b.console.close()

	var toConnected, toPrompt []time.Duration
	var signals SignalCount
	var last *remotetest.Console
	for i := range b.o.Warmup + b.o.Connects {
		c, connected, prompt, count := b.connect(i)
		if i >= b.o.Warmup {
			toConnected, toPrompt = append(toConnected, connected), append(toPrompt, prompt)
			signals.ConsoleSent += count.ConsoleSent
			signals.ConsoleReceived += count.ConsoleReceived
			signals.AppSent += count.AppSent
			signals.AppReceived += count.AppReceived
			signals.Units += count.Units
			signals.ConsoleCandidates += count.ConsoleCandidates
			signals.AppCandidates += count.AppCandidates
		}
		if i < b.o.Warmup+b.o.Connects-1 {
			b.disconnect(c)
		} else {
			last = c
		}
	}
	n := b.o.Connects
	res.Signals = SignalCount{ConsoleSent: ceilDiv(signals.ConsoleSent, n), ConsoleReceived: ceilDiv(signals.ConsoleReceived, n),
		AppSent: ceilDiv(signals.AppSent, n), AppReceived: ceilDiv(signals.AppReceived, n), Units: int64(ceilDiv(int(signals.Units), n)),
		ConsoleCandidates: ceilDiv(signals.ConsoleCandidates, n), AppCandidates: ceilDiv(signals.AppCandidates, n)}
	res.ToConnected = bench.Distribution(RemoteToConnected, toConnected)
	res.ToPrompt = bench.Distribution(RemoteToPrompt, toPrompt)
	if p := last.Pair(); p != nil {
		res.ConsoleCandType = p.Local.Typ.String() + "/" + p.Local.Protocol.String()
		res.AppCandType = p.Remote.Typ.String() + "/" + p.Remote.Protocol.String()
	}
	res.Echo = b.echo(last)
	res.Upload = b.upload(last)
	res.Download = b.download(last)
	b.disconnect(last)
}

func ceilDiv(a, n int) int { return (a + n - 1) / n }

// connect is one press of Connect: the technician's POST, the console's offer, the
// channels, the password. It returns the console and the two times from the POST.
func (b *remoteBench) connect(i int) (*remotetest.Console, time.Duration, time.Duration, SignalCount) {
	b.t.Helper()
	before := b.counts()
	began := time.Now()
	var started struct {
		RemoteID   string               `json:"remoteId"`
		ICEServers []protocol.ICEServer `json:"iceServers"`
	}
	if err := b.http.Call(b.ctx, http.MethodPost, "/v1/sessions/"+b.sessionID+"/remote", b.tech, nil, http.StatusCreated, &started); err != nil {
		b.fatal("POST remote "+strconv.Itoa(i), err)
	}
	remoteID := started.RemoteID
	c := remotetest.New(b.t, remotetest.Options{RemoteID: remoteID, ICEServers: started.ICEServers, RelayOnly: true,
		Send: func(sig protocol.Signal) {
			b.countCandidate(&b.consoleCands, sig)
			if err := b.console.send(protocol.SignalAction{Action: protocol.ActionSignal, SessionID: b.sessionID, RemoteID: remoteID, Signal: sig}); err != nil {
				b.t.Errorf("the console's signal: %v", err)
			}
		},
		AppLog: b.appLog})
	b.mu.Lock()
	b.rtc = c
	b.mu.Unlock()
	c.Offer()
	c.WaitOpen()
	connected := time.Since(began)
	if m := c.Login(bench.SessionPassword); m["ok"] != true {
		b.t.Fatalf("login: %v", m)
	}
	c.WaitOutput(`PS C:\Users\`)
	prompt := time.Since(began)
	after := b.counts()
	return c, connected, prompt, SignalCount{
		ConsoleSent: after.ConsoleSent - before.ConsoleSent, ConsoleReceived: after.ConsoleReceived - before.ConsoleReceived,
		AppSent: after.AppSent - before.AppSent, AppReceived: after.AppReceived - before.AppReceived, Units: after.Units - before.Units,
		ConsoleCandidates: after.ConsoleCandidates - before.ConsoleCandidates, AppCandidates: after.AppCandidates - before.AppCandidates,
	}
}

// disconnect is the technician's Disconnect; it returns once the app has reported the end.
func (b *remoteBench) disconnect(c *remotetest.Console) {
	b.t.Helper()
	c.Bye()
	select {
	case <-b.ended:
	case <-time.After(remotetestWait):
		b.t.Fatalf("no end report after Disconnect; app log:\n%s", b.appLog())
	}
	_ = c.PC.Close()
}

// remotetestWait bounds each wait for the other end; the real waits are milliseconds.
const remotetestWait = 15 * time.Second

func (b *remoteBench) counts() SignalCount {
	cs, cu := b.console.counted()
	cr, cru := b.console.receivedCount()
	as, au := b.app.counted()
	ar, aru := b.app.receivedCount()
	b.mu.Lock()
	defer b.mu.Unlock()
	return SignalCount{ConsoleSent: cs, ConsoleReceived: cr, AppSent: as, AppReceived: ar, Units: cu + cru + au + aru,
		ConsoleCandidates: b.consoleCands, AppCandidates: b.appCands}
}

// echo types single characters and times each until the fake shell's echo is in the
// console's terminal output.
func (b *remoteBench) echo(c *remotetest.Console) bench.Latency {
	b.t.Helper()
	samples := make([]time.Duration, 0, b.o.Keystrokes)
	for i := range b.o.Keystrokes + 20 {
		n := len(c.Output())
		at := time.Now()
		if err := c.Term.Send([]byte{'x'}); err != nil {
			b.fatal("a keystroke", err)
		}
		deadline := at.Add(remotetestWait)
		for len(c.Output()) == n {
			if time.Now().After(deadline) {
				b.t.Fatalf("no echo within %s", remotetestWait)
			}
			time.Sleep(50 * time.Microsecond)
		}
		if i >= 20 { // the first keystrokes warm the path up
			samples = append(samples, time.Since(at))
		}
	}
	// Clear the line for the shell.
	_ = c.Term.Send([]byte("\r"))
	return bench.Distribution(RemoteEcho, samples)
}

func (b *remoteBench) upload(c *remotetest.Console) Throughput {
	b.t.Helper()
	data := make([]byte, b.o.TransferBytes)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	hexSum := hex.EncodeToString(sum[:])
	var samples []time.Duration
	for i := range b.o.Transfers + 1 {
		at := time.Now()
		c.Upload("u"+strconv.Itoa(i), "bench-"+strconv.Itoa(i)+".bin", "", data, hexSum)
		if m := c.NextFileOf("done", "error"); m["type"] != "done" || m["sha256"] != hexSum {
			b.t.Fatalf("upload: %v", m)
		}
		if i > 0 {
			samples = append(samples, time.Since(at))
		}
	}
	return throughput(RemoteUpload, len(data), samples)
}

func (b *remoteBench) download(c *remotetest.Console) Throughput {
	b.t.Helper()
	data := make([]byte, b.o.TransferBytes)
	_, _ = rand.Read(data)
	path := filepath.Join(b.pc.Root, "bench-download.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		b.fatal("the file to download", err)
	}
	var samples []time.Duration
	for i := range b.o.Transfers + 1 {
		c.ResetDownload()
		at := time.Now()
		c.SendFile(map[string]any{"type": "get", "id": "d" + strconv.Itoa(i), "path": path})
		if m := c.NextFileOf("meta", "error"); m["type"] != "meta" {
			b.t.Fatalf("download: %v", m)
		}
		if m := c.NextFileOf("end", "error"); m["type"] != "end" {
			b.t.Fatalf("download: %v", m)
		}
		took := time.Since(at)
		if got, _, _ := c.Downloaded(); len(got) != len(data) {
			b.t.Fatalf("downloaded %d bytes of %d", len(got), len(data))
		}
		if i > 0 {
			samples = append(samples, took)
		}
	}
	return throughput(RemoteDownload, len(data), samples)
}

func throughput(what string, bytes int, samples []time.Duration) Throughput {
	d := bench.Distribution(what, samples)
	t := Throughput{What: what, N: d.N, Bytes: bytes, Samples: samples}
	if d.Median > 0 {
		t.Median = float64(bytes) / d.Median.Seconds()
	}
	if d.P95 > 0 {
		t.P95 = float64(bytes) / d.P95.Seconds()
	}
	return t
}

func (b *remoteBench) appLog() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.log, "\n")
}

// fromServerToApp is the app's live link for remote access, as agent/app feeds it.
func (b *remoteBench) fromServerToApp(raw []byte) {
	var m struct{ Type string }
	_ = json.Unmarshal(raw, &m)
	switch m.Type {
	case protocol.TypeRemote:
		var r protocol.LiveRemote
		if err := json.Unmarshal(raw, &r); err != nil {
			b.t.Errorf("remote message: %v", err)
			return
		}
		b.m.Start(r)
	case protocol.TypeSignal:
		var s protocol.LiveSignal
		if err := json.Unmarshal(raw, &s); err != nil {
			b.t.Errorf("signal: %v", err)
			return
		}
		b.m.Signal(s.RemoteID, s.Signal)
	case protocol.TypeError:
		b.t.Errorf("the server refused a signal of the app: %s", raw)
	}
}

// fromServerToConsole is the console page's live link for remote access.
func (b *remoteBench) fromServerToConsole(raw []byte) {
	var m struct{ Type string }
	_ = json.Unmarshal(raw, &m)
	switch m.Type {
	case protocol.TypeSignal:
		var s protocol.LiveSignal
		if err := json.Unmarshal(raw, &s); err != nil {
			b.t.Errorf("signal: %v", err)
			return
		}
		b.mu.Lock()
		c := b.rtc
		b.mu.Unlock()
		if c != nil && s.Signal.Kind != protocol.SignalBye {
			c.FromApp(s.Signal)
		}
	case protocol.TypeError:
		b.t.Errorf("the server refused a signal of the console: %s", raw)
	}
}

// liveEnd is one end's live connection: a real WebSocket client of the local gateway's
// /live that hands every message to a handler, in order, and counts what it sends and
// receives.
type liveEnd struct {
	ws   *websocket.Conn
	done chan struct{}

	mu                   sync.Mutex
	sent, received       int
	sentUnits, recvUnits int64
}

func dialEnd(ctx context.Context, url string, header http.Header, handle func([]byte)) (*liveEnd, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(protocol.MaxLiveMessage)
	e := &liveEnd{ws: ws, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				return
			}
			e.mu.Lock()
			e.received++
			e.recvUnits += bench.MessageUnits(len(data))
			e.mu.Unlock()
			handle(data)
		}
	}()
	return e, nil
}

func (e *liveEnd) send(v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.ws.Write(ctx, websocket.MessageText, raw); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.sent++
	e.sentUnits += bench.MessageUnits(len(raw))
	return nil
}

func (e *liveEnd) counted() (int, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.sent, e.sentUnits
}

func (e *liveEnd) receivedCount() (int, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.received, e.recvUnits
}

func (e *liveEnd) close() {
	_ = e.ws.Close(websocket.StatusNormalClosure, "")
	select {
	case <-e.done:
	case <-time.After(5 * time.Second):
		_ = e.ws.CloseNow()
	}
}
