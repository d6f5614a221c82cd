//go:build !windows

// Package teststack runs the real product for the app's tests: the local stack of
// internal/devstack (the same handlers the Lambda functions run, DynamoDB Local,
// aws-ses-v2-local, the in-process scheduler) on loopback, with helpers to play the
// technician. Packages that use it call testenv.Main from their TestMain.
package teststack

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/devstack"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testenv"
)

// Options tune the stack; zero values mean DESIGN.md's defaults.
type Options struct {
	// Now is the server's clock; tests that fake the app's clock share it.
	Now func() time.Time
	// InviteInterval and PollInterval are the polling intervals handed out before and
	// after activation (seconds).
	InviteInterval, PollInterval int
	// SessionTTL is how long a session lasts after activation.
	SessionTTL time.Duration
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
	URL  string
	st   *devstack.Stack
	tech support.Technician
	n    atomic.Int64

	mu       sync.Mutex
	requests map[string]int // per path
	polls    map[string]int // per session id (from the agent token's prefix)
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
	_, table := testenv.Table(t)
	s := &Stack{requests: map[string]int{}, polls: map[string]int{},
		tech: support.Technician{ID: "tech-1", Email: "tina@example.com", Name: "Tina", Account: "acme"}}
	st, err := devstack.Start(context.Background(), devstack.Options{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		Config:           cfg,
		Now:              opts.Now,
		SweepEvery:       -1,
		AppDir:           t.TempDir(),
		Log:              slog.New(slog.NewTextHandler(io.Discard, nil)),
		Wrap:             s.count,
	})
	if err != nil {
		t.Fatalf("teststack: %v", err)
	}
	t.Cleanup(st.Close)
	if err := st.Service.SetLimits(context.Background(), s.tech.Account, support.Limits{Slots: 100, AdhocCap: 100}); err != nil {
		t.Fatalf("teststack: %v", err)
	}
	s.st, s.URL = st, st.URL
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
		next.ServeHTTP(w, r)
	})
}

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
	out := Session{Status: v.Status, EndReason: v.EndReason, MachineHash: stored.Computer.MachineHash,
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
