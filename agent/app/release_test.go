//go:build !windows

package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/internal/teststack"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// TestSessionCappedOnThePC: a server that answers a session end a month away (a fault, or
// someone who can write its table) gets at most 24 hours and the slack on the PC: the
// state keeps the capped end, the event log says so, and the service ends the session
// there, though every poll still says active.
func TestSessionCappedOnThePC(t *testing.T) {
	h := newHarnessWith(t, teststack.Options{SessionTTL: 30 * 24 * time.Hour})
	h.setUp()
	limit := h.start.Add(app.DefaultMaxSession + app.ExpirySlack)
	st := h.state()
	if st.ExpiresAt.After(limit) || st.ExpiresAt.Before(limit.Add(-time.Minute)) {
		t.Fatalf("the PC keeps the session until %v, want %v (the server said a month)", st.ExpiresAt, limit)
	}
	if !slices.ContainsFunc(h.pc.Events, func(e string) bool { return strings.Contains(e, "more than 24h0m0s away") }) {
		t.Errorf("no event log entry about the capped end: %v", h.pc.Events)
	}
	if err := h.app(app.English).Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.assertClean()
	if now := h.clock.Now(); now.Before(st.ExpiresAt) || now.After(st.ExpiresAt.Add(time.Second)) {
		t.Errorf("cleaned up at %v, want at the capped end %v", now, st.ExpiresAt)
	}
	// The server's session was still active: the app's report of its removal ends it.
	if got := h.stack.Session(t, h.inv.SessionID).Status; got != "removed" {
		t.Errorf("server status %s, want removed", got)
	}
}

// TestMaxSessionFollowsTheBuild: a build for longer sessions (AGENT_MAX_SESSION_HOURS)
// keeps what the server says within its own cap.
func TestMaxSessionFollowsTheBuild(t *testing.T) {
	h := newHarnessWith(t, teststack.Options{SessionTTL: 48 * time.Hour})
	a := app.New(app.Config{ServerURL: h.stack.URL, Development: true, OS: h.pc, UI: h.ui, Clock: h.clock,
		Store: app.FileStore{Path: h.pc.StatePath()}, ExePath: h.pc.Self, MaxSession: 72 * time.Hour})
	h.ui.answers = []string{h.inv.Code}
	if err := a.Start(context.Background(), app.StartOptions{}); err != nil {
		t.Fatalf("Start: %v\n%s", err, h.ui.transcript())
	}
	if got, want := h.state().ExpiresAt, h.start.Add(48*time.Hour); got.Sub(want).Abs() > time.Minute {
		t.Errorf("the PC keeps the session until %v, want the server's %v", got, want)
	}
}

// codeUI answers the security code, then runs after (the moment the person has typed it).
type codeUI struct {
	scriptUI
	code  string
	after func()
}

func (u *codeUI) Ask(prompt string) (string, error) {
	u.Say("? " + prompt)
	if u.code == "" {
		return "", errors.New("no more answers")
	}
	code := u.code
	u.code = ""
	if u.after != nil {
		u.after()
	}
	return code, nil
}

// TestReleaseChecksItsSigner: a release build pairs and installs itself only when its
// download and then its installed copy (what the service runs as SYSTEM) carry a valid
// signature by the certificate it was built for; a development build checks nothing.
func TestReleaseChecksItsSigner(t *testing.T) {
	const signer = "5d41402abc4b2a76b9719d911017c592ae0f8d2cbd1f0e1d2c3b4a5968778695"
	const other = "0000000000000000000000000000000000000000000000000000000000000000"
	tests := []struct {
		name        string
		development bool
		buildSigner string // the certificate the build names
		signedBy    string // the certificate the download is signed with, "" = unsigned
		// swap makes the installed copy's check fail, as a file changed after the first
		// check would.
		swap bool
		// want: nil pairs and installs; ErrRefused refuses before the server hears of it;
		// ErrSetupFailed undoes the setup after pairing.
		want   error
		checks int // the VerifySigner calls
	}{
		{name: "signed by its certificate", buildSigner: signer, signedBy: signer, want: nil, checks: 2},
		{name: "unsigned", buildSigner: signer, want: app.ErrRefused, checks: 1},
		{name: "signed by another certificate", buildSigner: signer, signedBy: other, want: app.ErrRefused, checks: 1},
		{name: "a release that names no signer", signedBy: signer, want: app.ErrRefused, checks: 0},
		{name: "the installed copy fails", buildSigner: signer, signedBy: signer, swap: true, want: app.ErrSetupFailed, checks: 2},
		{name: "development build", development: true, want: nil, checks: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			front := newTLSFront(t)
			h := newHarness(t)
			front.target.Store(mustParse(t, h.stack.URL))
			if tt.signedBy != "" {
				h.pc.Sign(h.pc.Self, tt.signedBy)
			}
			ui := &codeUI{code: h.inv.Code}
			if tt.swap {
				ui.after = func() { h.pc.FailAt("VerifySigner", errors.New("TRUST_E_BAD_DIGEST")) }
			}
			client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: front.roots()}}}
			a := app.New(app.Config{ServerURL: "https://" + front.host(), Development: tt.development, Signer: tt.buildSigner,
				HTTPClient: client, OS: h.pc, UI: ui, Clock: h.clock, Store: app.FileStore{Path: h.pc.StatePath()}, ExePath: h.pc.Self})
			err := a.Start(context.Background(), app.StartOptions{})
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Fatalf("Start = %v, want %v\n%s", err, tt.want, ui.transcript())
			}
			if len(h.pc.Checked) != tt.checks {
				t.Errorf("checked %v, want %d checks", h.pc.Checked, tt.checks)
			}
			_, _, svc, _ := h.pc.Snapshot()
			if tt.want == nil {
				if svc == nil || !svc.Running {
					t.Fatalf("no service after a good setup: %+v", svc)
				}
				if len(h.pc.Checked) == 2 && (h.pc.Checked[0] != h.pc.Self || h.pc.Checked[1] != svc.Exe) {
					t.Errorf("checked %v, want the download, then the installed %s", h.pc.Checked, svc.Exe)
				}
				return
			}
			if svc != nil {
				t.Errorf("a service was registered: %+v", svc)
			}
			if users, _, _, _ := h.pc.Snapshot(); hasUser(users, h.inv.Username) {
				t.Errorf("the account %s was created", h.inv.Username)
			}
			switch tt.want {
			case app.ErrRefused:
				if n := h.stack.Requests(protocol.PathHello); n != 0 {
					t.Errorf("the server heard from a copy that is not the publisher's (%d hellos)", n)
				}
				if !strings.Contains(ui.transcript(), "not signed as its publisher signed it") {
					t.Errorf("the person is not told why:\n%s", ui.transcript())
				}
			case app.ErrSetupFailed:
				if got := h.stack.Session(t, h.inv.SessionID).Status; got != "removed" {
					t.Errorf("server status %s after an undone setup, want removed", got)
				}
				h.assertClean()
			}
		})
	}
}
