package remote_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/internal/testconsole"
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
var waitLimit = testconsole.WaitLimit

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
	t       testing.TB
	pc      *fakeremote.PC
	turn    *turn.Server
	route   route
	servers []protocol.ICEServer
	m       *remote.Manager

	mu       sync.Mutex
	consoles map[string]*console // by remoteId
	logs     []string
	wire     []string // every signal the app sent, as JSON
	reports  chan protocol.RemoteEndedRequest

	consoleDesktop bool
}

type rigOptions struct {
	route          route
	connectTimeout time.Duration
	// proxy is the app's proxy for TURN over TCP and TLS (nil: none).
	proxy *url.URL
	// servers replaces the local TURN server's ICE servers (nil: those).
	servers []protocol.ICEServer
	// desktop is the user's desktop (nil: none).
	desktop remote.Desktop
	// consoleDesktop makes the console open the screen, input and clipboard channels.
	consoleDesktop bool
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	r := &rig{t: t, pc: fakeremote.New(t.TempDir()), turn: srv, route: o.route, servers: o.servers, consoleDesktop: o.consoleDesktop,
		consoles: map[string]*console{}, reports: make(chan protocol.RemoteEndedRequest, 8)}
	r.pc.AddAccount(account, password)
	udp := o.route != turnTCP
	var proxy func(string) (*url.URL, error)
	if o.proxy != nil {
		proxy = func(string) (*url.URL, error) { return o.proxy, nil }
	}
	r.m = remote.New(remote.Config{
		Proxy:   proxy,
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
		Desktop:        o.desktop,
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
		c.FromApp(got.Signal)
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

// console is the technician's console (testconsole), played by pion.
type console = testconsole.Console

// connect starts a remote connection as the server would (the remote message), plays the
// console's side of it and waits until both channels are open. It returns the time from
// the remote message to both channels open.
func (r *rig) connect(remoteID string) (*console, time.Duration) {
	r.t.Helper()
	servers, _, err := r.turn.ICEServers(remoteID)
	if err != nil {
		r.t.Fatal(err)
	}
	if r.servers != nil {
		servers = r.servers
	}
	c := testconsole.New(r.t, testconsole.Options{RemoteID: remoteID, ICEServers: servers, RelayOnly: r.route != p2p, Desktop: r.consoleDesktop,
		Send: func(sig protocol.Signal) { r.m.Signal(remoteID, sig) }, AppLog: r.log})
	r.mu.Lock()
	r.consoles[remoteID] = c
	r.mu.Unlock()
	start := time.Now()
	r.m.Start(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: remoteID, ICEServers: servers,
		Technician: "Tina Example", ExpiresAt: time.Now().Add(5 * time.Minute)})
	c.Offer()
	c.WaitOpen()
	took := time.Since(start)
	r.mu.Lock()
	wire := strings.Join(r.wire, "\n")
	r.mu.Unlock()
	if strings.Contains(wire, servers[0].Credential) || strings.Contains(r.log(), servers[0].Credential) {
		r.t.Errorf("the TURN credential is in a signal or the log")
	}
	return c, took
}
