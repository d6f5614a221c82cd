// Package remote is the app's side of remote access (DESIGN.md, "Remote access"): for the
// server's `remote` message it answers the technician's console's WebRTC offer with pion,
// trickles ICE candidates both ways through the live connection, and serves the console's
// data channels — `terminal` (the hidden account's password, then a shell in a pseudo
// console), `files` (uploads and downloads as that account), and `screen`, `input` and
// `clipboard`, relayed to the user's desktop (Desktop) — as remote-protocol says.
// It ends the connection, and every process it started, when told to; each end is reported
// once through Config.Ended. It is free of Windows: the PC is behind OS.
package remote

import (
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// Level is the severity of a log line.
type Level int

// Log levels.
const (
	Info Level = iota
	Warning
)

// Config wires a Manager.
type Config struct {
	OS OS
	// Account is the hidden account's name: the terminal's password is checked for it,
	// and the shell and the files run as it.
	Account string
	// Signal sends a signal to the console, over the live connection. It may block for as
	// long as a write on that connection does; signals of one connection are sent in order.
	Signal func(remoteID string, sig protocol.Signal) error
	// Ended is called once per remote connection, after it has ended (the caller turns it
	// into POST /v1/agent/remote/ended).
	Ended func(protocol.RemoteEndedRequest)
	// Log writes to the event log. It is never given a secret.
	Log func(level Level, msg string)
	// Proxy returns the proxy to reach a TURN server over TCP or TLS through (addr is
	// host:port), nil for none: the app's own, as its API calls use. Nil: never a proxy.
	Proxy func(addr string) (*url.URL, error)
	// UDP reports whether this process can use UDP sockets; nil opens one to find out.
	UDP func() bool
	// Desktop reaches the user's desktop for the screen, input and clipboard channels and
	// shows the notice; nil: those channels are answered with an error.
	Desktop Desktop
	// ConnectTimeout bounds the time from the remote message to an open connection; zero
	// means 30 s, as long as the server waits for the app's answer.
	ConnectTimeout time.Duration
}

// maxAttempts is how many wrong passwords end a remote connection.
const maxAttempts = 5

// defaultConnectTimeout is the server's wait for an answer too.
const defaultConnectTimeout = 30 * time.Second

// Manager holds the PC's remote connections: one at a time (a new one supersedes the
// older), plus those still ending. Its methods are safe for concurrent use, and on a nil
// *Manager, which stands for "no remote access".
type Manager struct {
	cfg  Config
	udp  func() bool
	peak peak

	mu     sync.Mutex
	conns  map[string]*conn
	closed bool
}

// New returns a Manager.
func New(cfg Config) *Manager {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.Log == nil {
		cfg.Log = func(Level, string) {}
	}
	if cfg.Ended == nil {
		cfg.Ended = func(protocol.RemoteEndedRequest) {}
	}
	m := &Manager{cfg: cfg, conns: map[string]*conn{}}
	// Whether UDP works does not change while the process runs: ask once.
	probe := cfg.UDP
	if probe == nil {
		probe = udpWorks
	}
	m.udp = sync.OnceValue(probe)
	return m
}

// Start begins the remote connection the server announced. A connection of an earlier
// remote message ends as superseded: the server lets one technician connect at a time.
func (m *Manager) Start(r protocol.LiveRemote) {
	if m == nil {
		return
	}
	if r.RemoteID == "" {
		m.cfg.Log(Warning, "A remote message without a remoteId was ignored.")
		return
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		m.cfg.Log(Warning, fmt.Sprintf("Remote connection %s refused: the support session is ending.", r.RemoteID))
		return
	}
	if _, dup := m.conns[r.RemoteID]; dup {
		m.mu.Unlock()
		return // the same message again: it is already being served
	}
	var older []*conn
	for _, c := range m.conns {
		older = append(older, c)
	}
	c := newConn(m, r)
	m.conns[r.RemoteID] = c
	m.mu.Unlock()
	for _, o := range older {
		o.end(protocol.RemoteSuperseded)
	}
	m.cfg.Log(Info, fmt.Sprintf("Remote connection %s requested by %s.", r.RemoteID, r.Technician))
	go c.run()
}

// Signal passes on a signal of the console.
func (m *Manager) Signal(remoteID string, sig protocol.Signal) {
	if m == nil {
		return
	}
	m.mu.Lock()
	c := m.conns[remoteID]
	m.mu.Unlock()
	if c == nil {
		// Late candidates of a connection that has ended, most likely.
		return
	}
	c.signal(sig)
}

// Close ends every remote connection with the reason (session_ended, service_stopped),
// refuses new ones, and returns once each has ended and been reported.
func (m *Manager) Close(reason string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.closed = true
	var all []*conn
	for _, c := range m.conns {
		all = append(all, c)
	}
	m.mu.Unlock()
	for _, c := range all {
		c.end(reason)
	}
	for _, c := range all {
		<-c.done
	}
}

// finished forgets an ended connection and reports it.
func (m *Manager) finished(c *conn, report protocol.RemoteEndedRequest) {
	m.mu.Lock()
	if m.conns[c.id] == c {
		delete(m.conns, c.id)
	}
	m.mu.Unlock()
	m.cfg.Ended(report)
}

func (m *Manager) notePeak(n uint64) { m.peak.note(n) }
