//go:build !windows

// Package teststack runs the real product for the app's tests: the local stack of
// internal/local/devstack (the same handlers the Lambda functions run, DynamoDB Local,
// aws-ses-v2-local, the in-process scheduler) on loopback, with helpers to play the
// technician. Packages that use it call testenv.Main from their TestMain.
package teststack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// Options tune the stack; zero values mean DESIGN.md's defaults.
type Options struct {
	// Clock is the server's clock (nil: the real one); tests that fake the app's clock
	// share it.
	Clock clock.Clock
	// InviteInterval and PollInterval are the polling intervals handed out before and
	// after activation (seconds).
	InviteInterval, PollInterval int
	// SessionTTL is how long a session lasts after activation.
	SessionTTL time.Duration
	// LiveInterval is the polling interval handed out while the app's live connection is
	// open (seconds); zero is the product's 15 minutes.
	LiveInterval int
	// LiveLimits are the live channel's limits (zero: AWS's).
	LiveLimits gateway.LiveLimits
	// NoLive runs without a live channel: the server hands out no live URL, and the app
	// must do with polls.
	NoLive bool
	// LiveURL is the live URL the server hands out instead of the gateway's own (a TLS
	// front in the proxy test).
	LiveURL string
}

// LiveConnection is one live connection the gateway accepted, in real time.
type LiveConnection struct {
	Accepted time.Time // the handshake was done (after the authorizer and $connect)
	Ended    time.Time // zero while it is open
}

// Invitation is what the technician gets and gives: the link's token, the code read
// out, and the password typed into the console.
type Invitation struct {
	SessionID string
	Token     string
	Code      string
	Username  string
	Password  string
}

// Session is the technician's view of a session, plus what only storage knows.
type Session struct {
	Status       string // invited, app_started, active, locked, cancelled, expired, ended, removed
	EndReason    string
	Hostname     string
	OSVersion    string
	AgentVersion string
	// MachineHash is what the server keeps of the machine id (see MachineHash).
	MachineHash string
	// Polls counts the app's polls of this session's token, refused ones included.
	Polls int
	// PasswordErased is true once the app's first poll confirmed the pairing.
	PasswordErased bool
}

// MachineHash is what the server stores of a machine id.
func MachineHash(machineID string) string { return support.MachineHash(machineID) }

// Stack is the running product.
type Stack struct {
	URL string
	// LiveURL is the live URL the server hands out ("" with NoLive).
	LiveURL string
	st      *devstack.Stack
	tech    support.Technician
	n       atomic.Int64

	mu       sync.Mutex
	requests map[string]int // per path
	polls    map[string]int // per session id (from the agent token's prefix)
	live     []*LiveConnection
	refused  []int // the statuses of refused live handshakes
}

// New starts the product for the test's lifetime.
func New(t testing.TB, opts Options) *Stack {
	t.Helper()
	cfg := support.Defaults()
	if opts.InviteInterval > 0 {
		cfg.PendingInterval = time.Duration(opts.InviteInterval) * time.Second
	}
	if opts.PollInterval > 0 {
		cfg.ActiveInterval = time.Duration(opts.PollInterval) * time.Second
	}
	if opts.SessionTTL > 0 {
		cfg.SessionTTL = opts.SessionTTL
	}
	if opts.LiveInterval > 0 {
		cfg.LiveInterval = time.Duration(opts.LiveInterval) * time.Second
	}
	cfg.LiveURL = opts.LiveURL
	_, table := testenv.Table(t)
	s := &Stack{requests: map[string]int{}, polls: map[string]int{},
		tech: support.Technician{ID: "tech-1", Email: "tina@example.com", Name: "Tina", Account: "acme"}}
	st, err := devstack.Start(context.Background(), devstack.Options{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		Config:           cfg,
		Clock:            opts.Clock,
		SweepEvery:       -1,
		AppDir:           t.TempDir(),
		Log:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		Wrap:             s.count,
		LiveLimits:       opts.LiveLimits,
		NoLive:           opts.NoLive,
	})
	if err != nil {
		t.Fatalf("teststack: %v", err)
	}
	t.Cleanup(st.Close)
	if err := st.Service.SetLimits(context.Background(), s.tech.Account, support.Limits{Slots: 100, AdhocCap: 100}); err != nil {
		t.Fatalf("teststack: %v", err)
	}
	s.st, s.URL = st, st.URL
	if !opts.NoLive {
		s.LiveURL = st.Service.Config.LiveURL
	}
	return s
}

// count records every request by path, and polls by session.
func (s *Stack) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests[r.URL.Path]++
		if r.URL.Path == "/v1/agent/poll" {
			token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			if id, _, ok := strings.Cut(token, "."); ok {
				s.polls[id]++
			}
		}
		s.mu.Unlock()
		if r.URL.Path == gateway.PathLive && strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			s.watchLive(next, w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// watchLive serves a live handshake and records the connection's life: the gateway hijacks
// the request once the authorizer and $connect have let it in, and returns when the
// connection has ended and $disconnect has run.
func (s *Stack) watchLive(next http.Handler, w http.ResponseWriter, r *http.Request) {
	c := &LiveConnection{}
	hw := &hijackWatch{ResponseWriter: w, hijacked: func() {
		s.mu.Lock()
		c.Accepted = time.Now()
		s.live = append(s.live, c)
		s.mu.Unlock()
	}}
	next.ServeHTTP(hw, r)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.Accepted.IsZero() {
		s.refused = append(s.refused, hw.status)
		return
	}
	c.Ended = time.Now()
}

// hijackWatch tells when the gateway takes the connection over, and what it answered if
// it never does.
type hijackWatch struct {
	http.ResponseWriter
	hijacked func()
	status   int
}

func (h *hijackWatch) WriteHeader(status int) {
	h.status = status
	h.ResponseWriter.WriteHeader(status)
}

func (h *hijackWatch) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := h.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("teststack: the response cannot be hijacked")
	}
	conn, rw, err := hj.Hijack()
	if err == nil {
		h.hijacked()
	}
	return conn, rw, err
}

func (h *hijackWatch) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// LiveConnections returns the live connections accepted so far, in order.
func (s *Stack) LiveConnections() []LiveConnection {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]LiveConnection, len(s.live))
	for i, c := range s.live {
		out[i] = *c
	}
	return out
}

// LiveOpen is the number of live connections open now.
func (s *Stack) LiveOpen() int {
	n := 0
	for _, c := range s.LiveConnections() {
		if c.Ended.IsZero() {
			n++
		}
	}
	return n
}

// LiveRefusals returns the statuses of the refused live handshakes, in order.
func (s *Stack) LiveRefusals() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int(nil), s.refused...)
}

// DropLive drops every live connection as a network failure would: no close handshake,
// and the gateway runs $disconnect.
func (s *Stack) DropLive() { s.st.Gateway.Live.CloseAll() }

var joinLink = regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})`)

// Invite creates an invitation as the technician would (each by another technician of
// the account, so several can be open at once) and reads its link from the mail.
func (s *Stack) Invite(t testing.TB, password string) Invitation {
	t.Helper()
	n := s.n.Add(1)
	tech := s.tech
	tech.ID = fmt.Sprintf("tech-%d", n)
	to := fmt.Sprintf("user-%d-%d@example.org", time.Now().UnixNano(), n)
	inv, err := s.st.Service.Invite(context.Background(), tech, support.InviteRequest{Email: to, Password: password, Locale: "en"})
	if err != nil {
		t.Fatalf("teststack: invite: %v", err)
	}
	mail := testenv.WaitMail(t, s.st.SESURL, to, time.Time{})
	m := joinLink.FindStringSubmatch(mail.Text)
	if m == nil {
		t.Fatal("teststack: no join link in the invitation mail")
	}
	return Invitation{SessionID: inv.ID, Token: m[1], Code: inv.SecurityCode, Username: inv.Username, Password: password}
}

// admin sees every session of the account.
func (s *Stack) admin() support.Technician {
	a := s.tech
	a.Admin = true
	return a
}

// End is the technician's DELETE /v1/sessions/{id}: it cancels an invitation or ends an
// active session.
func (s *Stack) End(t testing.TB, sessionID string) {
	t.Helper()
	if _, err := s.st.Service.Cancel(context.Background(), s.admin(), sessionID); err != nil {
		t.Fatalf("teststack: end %s: %v", sessionID, err)
	}
}

// Session returns the technician's view of a session (time-authoritative, like every
// reader's) with what storage keeps of it.
func (s *Stack) Session(t testing.TB, sessionID string) Session {
	t.Helper()
	v, err := s.st.Service.Get(context.Background(), s.admin(), sessionID)
	if err != nil {
		t.Fatalf("teststack: session %s: %v", sessionID, err)
	}
	stored, err := s.st.Service.Store.GetSession(context.Background(), sessionID)
	if err != nil {
		t.Fatalf("teststack: session %s: %v", sessionID, err)
	}
	out := Session{Status: string(v.Status), EndReason: string(v.EndReason), MachineHash: stored.Computer.MachineHash,
		PasswordErased: stored.SealedPassword == nil}
	if c := v.Computer; c != nil {
		out.Hostname, out.OSVersion, out.AgentVersion = c.Hostname, c.OSVersion, c.AgentVersion
	}
	s.mu.Lock()
	out.Polls = s.polls[sessionID]
	s.mu.Unlock()
	return out
}

// Requests returns how often a path was called.
func (s *Stack) Requests(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[path]
}
