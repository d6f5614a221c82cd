package remote_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The hidden account and its password in these tests.
const (
	account  = "AdHocRemoteUser"
	password = "Corr3ct-Horse-Battery"
)

// waitLimit bounds every wait for the other side in these tests; the real waits are
// milliseconds.
const waitLimit = 15 * time.Second

// route is how the test's console and the app reach each other.
type route int

const (
	// p2p: host candidates over UDP, no relay.
	p2p route = iota
	// turnUDP: the console relays only, over TURN/UDP; the app as on a PC with UDP.
	turnUDP
	// turnTCP: the app has no UDP (as under Wine) and relays over TURN/TCP; the console
	// relays only, over TURN/UDP.
	turnTCP
)

func (r route) String() string { return [...]string{"p2p", "turn-udp", "turn-tcp"}[r] }

// rig is one fake PC with its remote Manager, a real TURN server on loopback (the local
// stack's), and a recorder of everything the Manager says.
type rig struct {
	t     *testing.T
	pc    *fakeremote.PC
	turn  *turn.Server
	route route
	m     *remote.Manager

	mu       sync.Mutex
	consoles map[string]*console // by remoteId
	logs     []string
	wire     []string // every signal the app sent, as JSON
	reports  chan protocol.RemoteEndedRequest
}

type rigOptions struct {
	route          route
	connectTimeout time.Duration
}

func newRig(t *testing.T, o rigOptions) *rig {
	t.Helper()
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := &rig{t: t, pc: fakeremote.New(t.TempDir()), turn: srv, route: o.route,
		consoles: map[string]*console{}, reports: make(chan protocol.RemoteEndedRequest, 8)}
	r.pc.AddAccount(account, password)
	udp := o.route != turnTCP
	r.m = remote.New(remote.Config{
		OS:      r.pc,
		Account: account,
		Signal:  r.fromApp,
		Ended:   func(rep protocol.RemoteEndedRequest) { r.reports <- rep },
		Log: func(_ remote.Level, msg string) {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.logs = append(r.logs, msg)
		},
		UDP:            func() bool { return udp },
		ConnectTimeout: o.connectTimeout,
	})
	t.Cleanup(func() { r.m.Close(protocol.RemoteServiceStopped) })
	return r
}

// fromApp is the live connection, the server and the console's live connection in one:
// the signal travels as JSON, as it does through them.
func (r *rig) fromApp(remoteID string, sig protocol.Signal) error {
	data, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig})
	if err != nil {
		return err
	}
	r.mu.Lock()
	r.wire = append(r.wire, string(data))
	c := r.consoles[remoteID]
	r.mu.Unlock()
	var got protocol.SignalAction
	if err := json.Unmarshal(data, &got); err != nil {
		return err
	}
	if c != nil {
		c.fromApp(got.Signal)
	}
	return nil
}

// report waits for the next end report.
func (r *rig) report() protocol.RemoteEndedRequest {
	r.t.Helper()
	select {
	case rep := <-r.reports:
		return rep
	case <-time.After(waitLimit):
		r.t.Fatalf("no end report within %v; log:\n%s", waitLimit, r.log())
		return protocol.RemoteEndedRequest{}
	}
}

func (r *rig) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.logs, "\n")
}

// assertNoSecret checks that the password reached neither the event log nor a signal.
func (r *rig) assertNoSecret(secrets ...string) {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	all := strings.Join(r.logs, "\n") + strings.Join(r.wire, "\n")
	for _, s := range secrets {
		if strings.Contains(all, s) {
			r.t.Errorf("the password %q is in the log or a signal", s)
		}
	}
}

// console is the technician's console, played by pion: the offering side, with the
// terminal and files channels.
type console struct {
	t        *testing.T
	r        *rig
	remoteID string
	pc       *webrtc.PeerConnection
	term     *webrtc.DataChannel
	files    *webrtc.DataChannel
	opened   chan string // labels of the channels as they open
	closed   chan string // labels of the channels as they close
	termText chan map[string]any
	fileText chan map[string]any
	bye      chan string

	mu        sync.Mutex
	described bool
	early     []webrtc.ICECandidateInit
	output    bytes.Buffer // the terminal's binary output
	download  bytes.Buffer
	chunks    int  // binary messages received on files
	maxChunk  int  // the largest of them
	slow      bool // the files channel's receiver dawdles, as a slow line would
}

// connect starts a remote connection as the server would (the remote message), plays the
// console's side of it and waits until both channels are open. It returns the time from
// the remote message to both channels open.
func (r *rig) connect(remoteID string) (*console, time.Duration) {
	r.t.Helper()
	servers, _, err := r.turn.ICEServers(remoteID)
	if err != nil {
		r.t.Fatal(err)
	}
	c := newConsole(r, remoteID, servers)
	start := time.Now()
	r.m.Start(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: remoteID, ICEServers: servers,
		Technician: "Tina Example", ExpiresAt: time.Now().Add(5 * time.Minute)})
	c.offer()
	c.waitOpen(protocol.ChannelTerminal, protocol.ChannelFiles)
	took := time.Since(start)
	r.mu.Lock()
	wire := strings.Join(r.wire, "\n")
	r.mu.Unlock()
	if strings.Contains(wire, servers[0].Credential) || strings.Contains(r.log(), servers[0].Credential) {
		r.t.Errorf("the TURN credential is in a signal or the log")
	}
	return c, took
}

func newConsole(r *rig, remoteID string, servers []protocol.ICEServer) *console {
	r.t.Helper()
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// pion's controlling agent waits 2 s before it nominates a relayed pair, in case a
	// direct one turns up; Chromium, the real console, does not.
	se.SetRelayAcceptanceMinWait(0)
	cfg := webrtc.Configuration{}
	if r.route != p2p {
		// As the console's tests force iceTransportPolicy "relay": only TURN/UDP.
		var udp []string
		for _, u := range servers[0].URLs {
			if strings.Contains(u, "transport=udp") {
				udp = append(udp, u)
			}
		}
		cfg.ICEServers = []webrtc.ICEServer{{URLs: udp, Username: servers[0].Username, Credential: servers[0].Credential}}
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.t.Cleanup(func() { pc.Close() })
	c := &console{t: r.t, r: r, remoteID: remoteID, pc: pc, opened: make(chan string, 4), closed: make(chan string, 4),
		termText: make(chan map[string]any, 64), fileText: make(chan map[string]any, 1024), bye: make(chan string, 2)}
	r.mu.Lock()
	r.consoles[remoteID] = c
	r.mu.Unlock()
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		sig := protocol.Signal{Kind: protocol.SignalCandidate}
		if cand != nil {
			j := cand.ToJSON()
			sig.Candidate = &protocol.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}
		}
		c.toApp(sig)
	})
	if c.term, err = pc.CreateDataChannel(protocol.ChannelTerminal, nil); err != nil {
		r.t.Fatal(err)
	}
	if c.files, err = pc.CreateDataChannel(protocol.ChannelFiles, nil); err != nil {
		r.t.Fatal(err)
	}
	for _, dc := range []*webrtc.DataChannel{c.term, c.files} {
		dc.OnOpen(func() { c.opened <- dc.Label() })
		dc.OnClose(func() { c.closed <- dc.Label() })
	}
	c.term.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString {
			c.mu.Lock()
			c.output.Write(m.Data)
			c.mu.Unlock()
			return
		}
		c.termText <- decode(r.t, m.Data)
	})
	c.files.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString {
			c.mu.Lock()
			c.download.Write(m.Data)
			c.chunks++
			c.maxChunk = max(c.maxChunk, len(m.Data))
			slow := c.slow && c.chunks < 200
			c.mu.Unlock()
			if slow {
				time.Sleep(2 * time.Millisecond)
			}
			return
		}
		c.fileText <- decode(r.t, m.Data)
	})
	return c
}

func decode(t *testing.T, data []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Errorf("a text message is not JSON: %q", data)
	}
	return m
}

// toApp is the console's signal through its live connection and the server, as JSON.
func (c *console) toApp(sig protocol.Signal) {
	data, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, SessionID: "s-1", RemoteID: c.remoteID, Signal: sig})
	if err != nil {
		c.t.Error(err)
		return
	}
	var got protocol.LiveSignal
	if err := json.Unmarshal(data, &got); err != nil {
		c.t.Error(err)
		return
	}
	c.r.m.Signal(got.RemoteID, got.Signal)
}

func (c *console) offer() {
	c.t.Helper()
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.pc.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	c.toApp(protocol.Signal{Kind: protocol.SignalOffer, SDP: offer.SDP})
}

func (c *console) fromApp(sig protocol.Signal) {
	switch sig.Kind {
	case protocol.SignalAnswer:
		if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
			c.t.Errorf("set answer: %v", err)
			return
		}
		c.mu.Lock()
		c.described = true
		early := c.early
		c.early = nil
		c.mu.Unlock()
		for _, e := range early {
			c.add(e)
		}
	case protocol.SignalCandidate:
		if sig.Candidate == nil {
			return
		}
		init := webrtc.ICECandidateInit{Candidate: sig.Candidate.Candidate, SDPMid: sig.Candidate.SDPMid,
			SDPMLineIndex: sig.Candidate.SDPMLineIndex, UsernameFragment: sig.Candidate.UsernameFragment}
		c.mu.Lock()
		if !c.described {
			c.t.Errorf("a candidate of the app came before its answer")
			c.early = append(c.early, init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.add(init)
	case protocol.SignalBye:
		c.bye <- sig.Reason
	}
}

func (c *console) add(init webrtc.ICECandidateInit) {
	if err := c.pc.AddICECandidate(init); err != nil {
		c.t.Errorf("add the app's candidate: %v", err)
	}
}

func (c *console) waitOpen(labels ...string) {
	c.t.Helper()
	want := map[string]bool{}
	for _, l := range labels {
		want[l] = true
	}
	deadline := time.After(waitLimit)
	for len(want) > 0 {
		select {
		case l := <-c.opened:
			delete(want, l)
		case <-deadline:
			c.t.Fatalf("channels %v not open within %v; app log:\n%s", want, waitLimit, c.r.log())
		}
	}
}

// pair is the console's selected candidate pair.
func (c *console) pair() *webrtc.ICECandidatePair {
	c.t.Helper()
	p, err := c.pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil {
		c.t.Fatalf("no selected candidate pair: %v", err)
	}
	return p
}

func (c *console) sendTerm(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.term.SendText(string(data)); err != nil {
		c.t.Fatal(err)
	}
}

// login sends the password and returns the app's answer.
func (c *console) login(pw string) map[string]any {
	c.t.Helper()
	c.sendTerm(map[string]any{"type": "login", "password": pw, "cols": 120, "rows": 32})
	m := c.nextTerm()
	if m["type"] != "login" {
		c.t.Fatalf("answer to the login: %v", m)
	}
	return m
}

func (c *console) nextTerm() map[string]any {
	c.t.Helper()
	select {
	case m := <-c.termText:
		return m
	case <-time.After(waitLimit):
		c.t.Fatalf("no message on the terminal within %v; app log:\n%s", waitLimit, c.r.log())
		return nil
	}
}

func (c *console) nextFile() map[string]any {
	c.t.Helper()
	select {
	case m := <-c.fileText:
		return m
	case <-time.After(waitLimit):
		c.t.Fatalf("no message on files within %v; app log:\n%s", waitLimit, c.r.log())
		return nil
	}
}

// nextFileOf skips progress messages.
func (c *console) nextFileOf(types ...string) map[string]any {
	c.t.Helper()
	for {
		m := c.nextFile()
		for _, t := range types {
			if m["type"] == t {
				return m
			}
		}
		if m["type"] != "progress" {
			c.t.Fatalf("files: %v, want one of %v", m, types)
		}
	}
}

// typeLine types a line and Enter, as xterm.js sends them.
func (c *console) typeLine(s string) {
	c.t.Helper()
	if err := c.term.Send([]byte(s + "\r")); err != nil {
		c.t.Fatal(err)
	}
}

// waitOutput waits until the terminal's output contains s.
func (c *console) waitOutput(s string) {
	c.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		c.mu.Lock()
		ok := strings.Contains(c.output.String(), s)
		out := c.output.String()
		c.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("terminal output lacks %q within %v:\n%s", s, waitLimit, out)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *console) sendFile(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.files.SendText(string(data)); err != nil {
		c.t.Fatal(err)
	}
}

// upload sends data in chunks of at most 16 KiB with the console's back-pressure, then
// the end with sum.
func (c *console) upload(id, name, path string, data []byte, sum string) {
	c.t.Helper()
	c.sendFile(map[string]any{"type": "put", "id": id, "name": name, "size": len(data), "path": path})
	c.files.SetBufferedAmountLowThreshold(remote.LowWater)
	low := make(chan struct{}, 1)
	c.files.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	for off := 0; off < len(data); off += remote.ChunkSize {
		for c.files.BufferedAmount() > remote.HighWater {
			select {
			case <-low:
			case <-time.After(50 * time.Millisecond):
			}
		}
		if err := c.files.Send(data[off:min(off+remote.ChunkSize, len(data))]); err != nil {
			c.t.Fatal(err)
		}
	}
	c.sendFile(map[string]any{"type": "end", "id": id, "sha256": sum})
}

func (c *console) downloaded() ([]byte, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.download.Bytes()), c.chunks, c.maxChunk
}

// waitClosed waits until the channel of that label has closed, and returns how long that
// took from since.
func (c *console) waitClosed(since time.Time, labels ...string) time.Duration {
	c.t.Helper()
	want := map[string]bool{}
	for _, l := range labels {
		want[l] = true
	}
	deadline := time.After(waitLimit)
	for len(want) > 0 {
		select {
		case l := <-c.closed:
			delete(want, l)
		case <-deadline:
			c.t.Fatalf("channels %v still open %v after the end", want, waitLimit)
		}
	}
	return time.Since(since)
}

func (c *console) String() string { return fmt.Sprintf("console of %s", c.remoteID) }
