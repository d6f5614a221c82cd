// Package testconsole plays the technician's console for the tests of remote access: a
// pion PeerConnection as the offering side with the `terminal` and `files` data channels,
// speaking their protocol as remote-protocol.md writes it (JSON text messages, binary
// chunks), and the signals as JSON, as they cross the live connections. The remote
// package's tests (against the fake PC) and the Wine test (against the real exe) use it.
package testconsole

import (
	"bytes"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// WaitLimit bounds every wait for the app; the real waits are milliseconds.
var WaitLimit = 15 * time.Second

// Back-pressure as remote-protocol.md fixes it, and the chunk size.
const (
	HighWater = 1 << 20
	LowWater  = 256 << 10
	ChunkSize = 16 << 10
)

// Options configure a Console.
type Options struct {
	RemoteID   string
	ICEServers []protocol.ICEServer
	// RelayOnly makes the console relay only, over TURN/UDP (iceTransportPolicy "relay",
	// as the console's tests force it); else it uses host candidates only.
	RelayOnly bool
	// Send carries a signal to the app (through the test's stand-in for the live
	// connections and the server).
	Send func(protocol.Signal)
	// AppLog returns the app's log, shown when a wait fails.
	AppLog func() string
	// Desktop opens the screen, input and clipboard channels too (desktop.go).
	Desktop bool
}

// Console is the technician's console.
type Console struct {
	t     testing.TB
	o     Options
	PC    *webrtc.PeerConnection
	Term  *webrtc.DataChannel
	Files *webrtc.DataChannel
	// With Options.Desktop: the screen, input and clipboard channels.
	Screen, Input, Clipboard *webrtc.DataChannel
	view                     *view

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
	slow      bool // the files channel's receiver dawdles at first, as a slow line would
}

// New makes the console's peer connection and its two channels; Offer starts it.
func New(t testing.TB, o Options) *Console {
	t.Helper()
	if o.AppLog == nil {
		o.AppLog = func() string { return "" }
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	// pion's controlling agent waits 2 s before it nominates a relayed pair, in case a
	// direct one turns up; Chromium, the real console, does not.
	se.SetRelayAcceptanceMinWait(0)
	cfg := webrtc.Configuration{}
	if o.RelayOnly {
		for _, s := range o.ICEServers {
			var udp []string
			for _, u := range s.URLs {
				if strings.Contains(u, "transport=udp") {
					udp = append(udp, u)
				}
			}
			if len(udp) > 0 {
				cfg.ICEServers = append(cfg.ICEServers, webrtc.ICEServer{URLs: udp, Username: s.Username, Credential: s.Credential})
			}
		}
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	c := &Console{t: t, o: o, PC: pc, opened: make(chan string, 8), closed: make(chan string, 8),
		termText: make(chan map[string]any, 64), fileText: make(chan map[string]any, 1024), bye: make(chan string, 2)}
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		sig := protocol.Signal{Kind: protocol.SignalCandidate}
		if cand != nil {
			j := cand.ToJSON()
			sig.Candidate = &protocol.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}
		}
		c.send(sig)
	})
	if c.Term, err = pc.CreateDataChannel(protocol.ChannelTerminal, nil); err != nil {
		t.Fatal(err)
	}
	if c.Files, err = pc.CreateDataChannel(protocol.ChannelFiles, nil); err != nil {
		t.Fatal(err)
	}
	if o.Desktop {
		c.openDesktop()
	}
	for _, dc := range c.channels() {
		dc.OnOpen(func() { c.opened <- dc.Label() })
		dc.OnClose(func() { c.closed <- dc.Label() })
	}
	c.Term.OnMessage(func(m webrtc.DataChannelMessage) {
		if !m.IsString {
			c.mu.Lock()
			c.output.Write(m.Data)
			c.mu.Unlock()
			return
		}
		c.termText <- c.decode(m.Data)
	})
	c.Files.OnMessage(func(m webrtc.DataChannelMessage) {
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
		c.fileText <- c.decode(m.Data)
	})
	return c
}

func (c *Console) decode(data []byte) map[string]any {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		c.t.Errorf("a text message is not JSON: %q", data)
	}
	return m
}

// send is the console's signal through its live connection and the server, as JSON.
func (c *Console) send(sig protocol.Signal) {
	data, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, SessionID: "s-1", RemoteID: c.o.RemoteID, Signal: sig})
	if err != nil {
		c.t.Error(err)
		return
	}
	var got protocol.LiveSignal
	if err := json.Unmarshal(data, &got); err != nil {
		c.t.Error(err)
		return
	}
	c.o.Send(got.Signal)
}

// Bye sends the technician's Disconnect.
func (c *Console) Bye() {
	c.send(protocol.Signal{Kind: protocol.SignalBye, Reason: protocol.RemoteDisconnectedByTechnician})
}

// Offer creates the offer and sends it.
func (c *Console) Offer() {
	c.t.Helper()
	offer, err := c.PC.CreateOffer(nil)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.PC.SetLocalDescription(offer); err != nil {
		c.t.Fatal(err)
	}
	c.send(protocol.Signal{Kind: protocol.SignalOffer, SDP: offer.SDP})
}

// FromApp takes a signal of the app.
func (c *Console) FromApp(sig protocol.Signal) {
	switch sig.Kind {
	case protocol.SignalAnswer:
		if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
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

// ByeReason waits up to limit for the app's bye and returns its reason ("" for none).
func (c *Console) ByeReason(limit time.Duration) string {
	select {
	case r := <-c.bye:
		return r
	case <-time.After(limit):
		return ""
	}
}

func (c *Console) add(init webrtc.ICECandidateInit) {
	if err := c.PC.AddICECandidate(init); err != nil {
		c.t.Errorf("add the app's candidate: %v", err)
	}
}

// channels are the data channels the console made.
func (c *Console) channels() []*webrtc.DataChannel {
	all := []*webrtc.DataChannel{c.Term, c.Files}
	if c.o.Desktop {
		all = append(all, c.Screen, c.Input, c.Clipboard)
	}
	return all
}

// labels are the labels of the channels the console made.
func (c *Console) labels() map[string]bool {
	want := map[string]bool{}
	for _, dc := range c.channels() {
		want[dc.Label()] = true
	}
	return want
}

// WaitOpen waits until every channel is open.
func (c *Console) WaitOpen() {
	c.t.Helper()
	want := c.labels()
	deadline := time.After(WaitLimit)
	for len(want) > 0 {
		select {
		case l := <-c.opened:
			delete(want, l)
		case <-deadline:
			c.t.Fatalf("channels %v not open within %v; app log:\n%s", want, WaitLimit, c.o.AppLog())
		}
	}
}

// Pair is the selected candidate pair.
func (c *Console) Pair() *webrtc.ICECandidatePair {
	c.t.Helper()
	p, err := c.PC.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || p == nil {
		c.t.Fatalf("no selected candidate pair: %v", err)
	}
	return p
}

// SendTerm sends a text message on the terminal.
func (c *Console) SendTerm(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.Term.SendText(string(data)); err != nil {
		c.t.Fatal(err)
	}
}

// Login sends the password and returns the app's answer.
func (c *Console) Login(pw string) map[string]any {
	c.t.Helper()
	c.SendTerm(map[string]any{"type": "login", "password": pw, "cols": 120, "rows": 32})
	m := c.NextTerm()
	if m["type"] != "login" {
		c.t.Fatalf("answer to the login: %v", m)
	}
	return m
}

// NextTerm waits for the terminal's next text message.
func (c *Console) NextTerm() map[string]any {
	c.t.Helper()
	select {
	case m := <-c.termText:
		return m
	case <-time.After(WaitLimit):
		c.t.Fatalf("no message on the terminal within %v; app log:\n%s", WaitLimit, c.o.AppLog())
		return nil
	}
}

// NextFile waits for the files channel's next text message.
func (c *Console) NextFile() map[string]any {
	c.t.Helper()
	select {
	case m := <-c.fileText:
		return m
	case <-time.After(WaitLimit):
		c.t.Fatalf("no message on files within %v; app log:\n%s", WaitLimit, c.o.AppLog())
		return nil
	}
}

// NextFileOf is NextFile skipping progress messages.
func (c *Console) NextFileOf(types ...string) map[string]any {
	c.t.Helper()
	for {
		m := c.NextFile()
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

// TypeLine types a line and Enter, as xterm.js sends them.
func (c *Console) TypeLine(s string) {
	c.t.Helper()
	if err := c.Term.Send([]byte(s + "\r")); err != nil {
		c.t.Fatal(err)
	}
}

// Output is the terminal's output so far.
func (c *Console) Output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.output.String()
}

// WaitOutput waits until the terminal's output contains s.
func (c *Console) WaitOutput(s string) {
	c.t.Helper()
	deadline := time.Now().Add(WaitLimit)
	for !strings.Contains(c.Output(), s) {
		if time.Now().After(deadline) {
			c.t.Fatalf("terminal output lacks %q within %v:\n%q\napp log:\n%s", s, WaitLimit, c.Output(), c.o.AppLog())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// SendFile sends a text message on files.
func (c *Console) SendFile(v any) {
	c.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := c.Files.SendText(string(data)); err != nil {
		c.t.Fatal(err)
	}
}

// Upload sends data in chunks of at most ChunkSize with the console's back-pressure, then
// the end with sum.
func (c *Console) Upload(id, name, path string, data []byte, sum string) {
	c.t.Helper()
	c.SendFile(map[string]any{"type": "put", "id": id, "name": name, "size": len(data), "path": path})
	c.Files.SetBufferedAmountLowThreshold(LowWater)
	low := make(chan struct{}, 1)
	c.Files.OnBufferedAmountLow(func() {
		select {
		case low <- struct{}{}:
		default:
		}
	})
	for off := 0; off < len(data); off += ChunkSize {
		for c.Files.BufferedAmount() > HighWater {
			select {
			case <-low:
			case <-time.After(50 * time.Millisecond):
			}
		}
		if err := c.Files.Send(data[off:min(off+ChunkSize, len(data))]); err != nil {
			c.t.Fatal(err)
		}
	}
	c.SendFile(map[string]any{"type": "end", "id": id, "sha256": sum})
}

// SetSlow makes the files channel's receiver dawdle over its first chunks.
func (c *Console) SetSlow(slow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slow = slow
}

// Downloaded is what arrived on files as binary so far, in how many chunks, and the
// largest chunk.
func (c *Console) Downloaded() ([]byte, int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.download.Bytes()), c.chunks, c.maxChunk
}

// ResetDownload forgets what arrived on files so far.
func (c *Console) ResetDownload() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.download.Reset()
	c.chunks, c.maxChunk = 0, 0
}

// WaitClosed waits until every channel has closed and returns how long that took from
// since.
func (c *Console) WaitClosed(since time.Time) time.Duration {
	c.t.Helper()
	want := c.labels()
	deadline := time.After(WaitLimit)
	for len(want) > 0 {
		select {
		case l := <-c.closed:
			delete(want, l)
		case <-deadline:
			c.t.Fatalf("channels %v still open %v after the end", want, WaitLimit)
		}
	}
	return time.Since(since)
}
