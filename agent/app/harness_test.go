//go:build !windows

package app_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/app/fakeos"
	"github.com/adhoc-support/adhoc-support/agent/internal/teststack"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// password is the technician's password for the hidden account in these tests.
const password = "Corr3ct-Horse-Battery"

// scriptUI answers prompts from a list and records everything shown.
type scriptUI struct {
	mu      sync.Mutex
	answers []string
	lines   []string
}

func (u *scriptUI) Say(text string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lines = append(u.lines, text)
}

func (u *scriptUI) Ask(prompt string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.lines = append(u.lines, "? "+prompt)
	if len(u.answers) == 0 {
		return "", io.EOF
	}
	a := u.answers[0]
	u.answers = u.answers[1:]
	return a, nil
}

func (u *scriptUI) transcript() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.lines, "\n")
}

// network can cut the PC off: every request then fails as a dead link does. Its
// transport is http.DefaultTransport unless a test routes the PC through a proxy.
type network struct {
	off       atomic.Bool
	transport http.RoundTripper
}

func (n *network) RoundTrip(r *http.Request) (*http.Response, error) {
	if n.off.Load() {
		return nil, errors.New("dial tcp: connect: network is unreachable")
	}
	if n.transport != nil {
		return n.transport.RoundTrip(r)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// harness is one PC, one server and one shared clock.
type harness struct {
	t     *testing.T
	dir   string
	stack *teststack.Stack
	start time.Time // the clock's start, when the session is activated
	clock *fakeos.Clock
	net   *network
	inv   teststack.Invitation
	pc    *fakeos.OS
	ui    *scriptUI
	// live is the app's live timing; release makes the apps release builds.
	live    app.LiveTiming
	release bool
	// remote is the PC's side of remote access (nil: none).
	remote  remote.OS
	desktop remote.Desktop // the user's desktop (nil: none)
	// agentToken is the session's, once set up: it must never reach the event log.
	agentToken string
}

// newHarness starts a server, invites, and puts the download on a fake PC under the
// name the join route gives it.
func newHarness(t *testing.T) *harness {
	t.Helper()
	return newHarnessWith(t, teststack.Options{})
}

// newHarnessWith is newHarness with a server tuned by opts (its clock is the harness's).
func newHarnessWith(t *testing.T, opts teststack.Options) *harness {
	t.Helper()
	// The real stack's storage (DynamoDB Local) deletes items whose TTL has passed in real
	// time, so the shared clock starts now, not at a date in the past.
	start := time.Now().UTC().Truncate(time.Second)
	clock := fakeos.NewClock(start)
	h := &harness{t: t, dir: t.TempDir(), start: start, clock: clock, net: &network{}, ui: &scriptUI{}}
	opts.Clock = clock
	h.stack = teststack.New(t, opts)
	h.inv = h.stack.Invite(t, password)
	h.pc = fakeos.New(h.dir, protocol.AppFileName(h.inv.Token))
	return h
}

// app returns a new App on the harness's PC, as a new process would be.
func (h *harness) app(lang app.Lang, answers ...string) *app.App {
	h.ui.mu.Lock()
	h.ui.answers = answers
	h.ui.mu.Unlock()
	return app.New(app.Config{
		ServerURL:  h.stack.URL,
		Version:    "1.0.0-test",
		HTTPClient: &http.Client{Transport: h.net, Timeout: 10 * time.Second},
		OS:         h.pc,
		UI:         h.ui,
		Store:      app.FileStore{Path: h.pc.StatePath()},
		Clock:      h.clock,
		Lang:       lang,
		ExePath:    h.pc.Self,
		Jitter:     func() float64 { return 0.5 },
		Live:       h.live,
		Remote:     h.remote,
		Desktop:    h.desktop,
		// The test stack listens on plain HTTP on this machine.
		Development: !h.release,
	})
}

// setUp pairs the PC with the right code and checks that it worked.
func (h *harness) setUp() {
	h.t.Helper()
	if err := h.app(app.English, h.inv.Code).Start(context.Background(), app.StartOptions{}); err != nil {
		h.t.Fatalf("Start: %v\n%s", err, h.ui.transcript())
	}
	h.agentToken = h.state().AgentToken
}

func (h *harness) state() *app.State {
	h.t.Helper()
	st, err := app.FileStore{Path: h.pc.StatePath()}.Load()
	if err != nil {
		h.t.Fatal(err)
	}
	return st
}

// assertClean checks that nothing of the session is left on the PC.
func (h *harness) assertClean() {
	h.t.Helper()
	users, hidden, svc, uninstall := h.pc.Snapshot()
	if _, ok := users[h.inv.Username]; ok {
		h.t.Errorf("account %s still exists", h.inv.Username)
	}
	if _, ok := users["Anna"]; !ok {
		h.t.Errorf("the PC's own account Anna was removed")
	}
	if len(hidden) != 0 {
		h.t.Errorf("hiding values left: %v", hidden)
	}
	if svc != nil {
		h.t.Errorf("service left: %+v", svc)
	}
	if uninstall != "" {
		h.t.Errorf("uninstall entry left: %s", uninstall)
	}
	if len(h.pc.Profiles) != 0 {
		h.t.Errorf("profiles left: %v", h.pc.Profiles)
	}
	if h.pc.RemoteSettingsChanged {
		h.t.Errorf("the SoftwareSASGeneration policy value remote access changed was not put back")
	}
	for _, p := range []string{h.pc.Dir, h.pc.Self} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			h.t.Errorf("%s still exists (%v)", p, err)
		}
	}
}

// assertNoPasswordOnDisk scans every file the app could have written.
func (h *harness) assertNoPasswordOnDisk() {
	h.t.Helper()
	err := filepath.WalkDir(h.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if bytes.Contains(data, []byte(password)) {
			h.t.Errorf("%s contains the password", path)
		}
		return nil
	})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, e := range h.pc.Events {
		if strings.Contains(e, password) || strings.Contains(e, h.inv.Token) || h.agentToken != "" && strings.Contains(e, h.agentToken) {
			h.t.Errorf("event log entry leaks a secret: %s", e)
		}
	}
}

// crashAt makes the PC crash at the named step while run runs, and fails the test unless
// run got that far: the crash is the fake's panic, recovered here as a process would die.
func (h *harness) crashAt(step string, run func()) {
	h.t.Helper()
	h.pc.CrashAt(step)
	crashed := func() (c any) {
		defer func() { c = recover() }()
		run()
		return nil
	}()
	if _, ok := crashed.(fakeos.Crash); !ok {
		h.t.Fatalf("no crash at %s (got %v)", step, crashed)
	}
}
