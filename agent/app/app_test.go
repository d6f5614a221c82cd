//go:build !windows

package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/app/fakeos"
	"github.com/adhoc-support/adhoc-support/agent/internal/teststack"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

func TestPairCreatesHiddenAdministrator(t *testing.T) {
	// The code as the person may type it.
	formats := map[string]func(string) string{
		"dashes":      func(c string) string { return c },
		"spaces":      func(c string) string { return strings.ReplaceAll(c, "-", " ") },
		"digits only": func(c string) string { return strings.ReplaceAll(c, "-", "") },
		"padded":      func(c string) string { return "  " + c + " " },
	}
	for name, format := range formats {
		t.Run(name, func(t *testing.T) {
			h := newHarness(t)
			err := h.app(app.English, format(h.inv.Code)).Start(context.Background(), app.StartOptions{})
			if err != nil {
				t.Fatalf("Start: %v\n%s", err, h.ui.transcript())
			}
			users, hidden, svc, uninstall := h.pc.Snapshot()
			u, ok := users[h.inv.Username]
			if !ok {
				t.Fatalf("account %s not created; users %v", h.inv.Username, users)
			}
			if u.Password != password {
				t.Errorf("account password is not the technician's")
			}
			if !slices.Contains(u.Groups, "S-1-5-32-544") {
				t.Errorf("account groups %v lack Administrators (S-1-5-32-544)", u.Groups)
			}
			if u.Comment != app.AccountComment {
				t.Errorf("comment %q", u.Comment)
			}
			if v, ok := hidden[h.inv.Username]; !ok || v != 0 {
				t.Errorf("SpecialAccounts\\UserList value for %s = %v, %v; want 0", h.inv.Username, v, ok)
			}
			if svc == nil || !svc.Running || !strings.HasPrefix(svc.Exe, h.pc.Dir) {
				t.Errorf("service %+v, want running from %s", svc, h.pc.Dir)
			}
			if uninstall != svc.Exe {
				t.Errorf("uninstall entry %q, want %q", uninstall, svc.Exe)
			}
			st := h.state()
			if st.Phase != app.PhaseActive || !st.AccountOwned || st.AgentToken == "" || st.Download != h.pc.Self || st.Exe != svc.Exe {
				t.Errorf("state %+v", st)
			}
			got := h.stack.Session(t, h.inv.SessionID)
			if got.Status != "active" || got.Hostname != "ANNA-PC" || got.MachineHash != teststack.MachineHash(h.pc.Info.MachineID) || got.AgentVersion != "1.0.0-test" {
				t.Errorf("server sees %+v", got)
			}
			if !strings.Contains(h.ui.transcript(), "The support session is active until") {
				t.Errorf("transcript lacks the active message:\n%s", h.ui.transcript())
			}
			h.assertNoPasswordOnDisk()
		})
	}
}

// TestTechnicianEndRemovesEverything: without a live connection the polls carry the
// technician's end, at the active interval: the deployment has no live channel, a proxy
// blocks WebSockets, or a release build refuses a plain ws:// URL. (With one, see
// live_test.go.)
func TestTechnicianEndRemovesEverything(t *testing.T) {
	tests := []struct {
		name string
		opts teststack.Options
		// prepare readies the PC before it pairs and returns the case's own checks.
		prepare func(h *harness) (check func())
		// release: the service is a release build (the pairing was a development build's,
		// as the stack talks plain HTTP).
		release bool
	}{
		{"no live channel", teststack.Options{NoLive: true}, func(h *harness) func() {
			return func() {
				if n := h.stack.Requests("/live"); n != 0 {
					h.t.Errorf("%d live handshakes without a live URL", n)
				}
			}
		}, false},
		{"a proxy that blocks WebSockets", teststack.Options{}, func(h *harness) func() {
			proxy := newProxy(h.t)
			h.net.transport = proxy.transport(nil)
			return func() {
				if proxy.refusedUpgrades() == 0 {
					h.t.Errorf("the app never tried a live connection through the proxy")
				}
				if c := h.stack.LiveConnections(); len(c) != 0 {
					h.t.Errorf("live connections past a proxy that blocks them: %v", c)
				}
				if proxy.forwarded() == 0 {
					h.t.Errorf("the polls did not go through the proxy")
				}
			}
		}, false},
		{"a release build and a ws:// URL", teststack.Options{}, func(h *harness) func() {
			return func() {
				if n := h.stack.Requests("/live"); n != 0 {
					h.t.Errorf("a release build opened %d plain-text live connections", n)
				}
				if !slices.ContainsFunc(h.pc.Events, func(e string) bool {
					return strings.Contains(e, "No live connection, polling instead") && strings.Contains(e, "is not WSS")
				}) {
					h.t.Errorf("event log lacks the refused live URL: %v", h.pc.Events)
				}
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWith(t, tt.opts)
			check := tt.prepare(h)
			h.setUp()
			h.release = tt.release
			polls := 0
			h.clock.OnSleep = func(time.Time) {
				// Three quiet polls, then the technician ends the session.
				if polls++; polls == 3 {
					h.stack.End(t, h.inv.SessionID)
				}
			}
			if err := h.app(app.English).Serve(context.Background()); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			h.assertClean()
			got := h.stack.Session(t, h.inv.SessionID)
			if got.Status != "removed" || got.EndReason != "ended_by_technician" || !got.PasswordErased {
				t.Errorf("server sees %+v, want removed after ended_by_technician", got)
			}
			if n := h.stack.Requests(protocol.PathRemoved); n != 1 {
				t.Errorf("removed reported %d times, want 1", n)
			}
			if len(h.clock.Slept) != 3 {
				t.Errorf("slept %v, want three waits between four polls", h.clock.Slept)
			}
			for _, d := range h.clock.Slept {
				if d != 30*time.Second {
					t.Errorf("slept %v between polls, want the server's 30 s", d)
				}
			}
			check()
			h.assertNoPasswordOnDisk()
		})
	}
}

func TestSessionExpiresOnServer(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	if err := h.app(app.English).Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.assertClean()
	if got := h.stack.Session(t, h.inv.SessionID); got.Status != "removed" || got.EndReason != "expired" {
		t.Errorf("server sees %+v", got)
	}
	if got, want := h.clock.Now(), h.state0ExpiresAt(t); got.Before(want) || got.After(want.Add(31*time.Second)) {
		t.Errorf("clean-up at %v, session expired at %v", got, want)
	}
}

// state0ExpiresAt is the expiry the pairing handed out: 24 h after activation, which
// happened at the harness's start (its clock stands still until a test moves it).
func (h *harness) state0ExpiresAt(t *testing.T) time.Time {
	return h.start.Add(24 * time.Hour)
}

func TestUserEndsSession(t *testing.T) {
	for _, lang := range []app.Lang{app.English, app.German} {
		t.Run(string(lang), func(t *testing.T) {
			h := newHarness(t)
			word := map[app.Lang]string{app.English: "END", app.German: "ende"}[lang]
			// Interactive: the person types the code, then END in the same window.
			err := h.app(lang, h.inv.Code, word).Start(context.Background(), app.StartOptions{Interactive: true})
			if err != nil {
				t.Fatalf("Start: %v\n%s", err, h.ui.transcript())
			}
			h.assertClean()
			got := h.stack.Session(t, h.inv.SessionID)
			if got.Status != "removed" || got.EndReason != "ended_by_user" {
				t.Errorf("server sees %+v", got)
			}
			want := map[app.Lang]string{
				app.English: "The support account and the app have been removed from this PC.",
				app.German:  "Das Support-Konto und die App wurden von diesem PC entfernt.",
			}[lang]
			if !strings.Contains(h.ui.transcript(), want) {
				t.Errorf("transcript lacks %q:\n%s", want, h.ui.transcript())
			}
		})
	}
}

func TestEndFromUninstallEntry(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	// The person's end cleans up for a service that died while a technician was
	// connected, too.
	h.pc.RemoteSettingsChanged = true
	// Settings → Apps → Uninstall runs the app's copy with "end"; the person confirms.
	if err := h.app(app.English, "y").EndByUser(context.Background(), true); err != nil {
		t.Fatalf("EndByUser: %v", err)
	}
	h.assertClean()
	if n := h.stack.Requests(protocol.PathEnd); n != 1 {
		t.Errorf("end sent %d times", n)
	}
}

func TestEndDeclinedKeepsSession(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	if err := h.app(app.English, "n").EndByUser(context.Background(), true); err != nil {
		t.Fatalf("EndByUser: %v", err)
	}
	if users, _, svc, _ := h.pc.Snapshot(); svc == nil || users[h.inv.Username].Password == "" {
		t.Errorf("declining removed the session")
	}
	if h.stack.Session(t, h.inv.SessionID).Status != "active" {
		t.Errorf("declining ended the session")
	}
}

func TestOfflineUntilExpiryStillCleansUp(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	h.net.off.Store(true)
	expiresAt := h.state().ExpiresAt
	if err := h.app(app.English).Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.assertClean()
	if now := h.clock.Now(); now.Before(expiresAt) || now.After(expiresAt.Add(time.Second)) {
		t.Errorf("cleaned up at %v, want at expiresAt %v", now, expiresAt)
	}
	if n := h.stack.Requests(protocol.PathRemoved); n != 0 {
		t.Errorf("removed reached the server %d times while offline", n)
	}
	// Back-off: growing waits, never beyond 5 minutes (jitter fixed at the middle).
	var longest time.Duration
	for _, d := range h.clock.Slept {
		longest = max(longest, d)
		if d > 5*time.Minute {
			t.Errorf("waited %v while offline", d)
		}
	}
	if longest < 3*time.Minute {
		t.Errorf("longest wait %v: no back-off while offline", longest)
	}
	// The server's view: expired by time, never told.
	if got := h.stack.Session(t, h.inv.SessionID); got.Status != "expired" {
		t.Errorf("server sees %+v", got)
	}
}

func TestOfflineThenBackBeforeEnd(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	h.net.off.Store(true)
	sleeps := 0
	h.clock.OnSleep = func(time.Time) {
		switch sleeps++; sleeps {
		case 6:
			h.net.off.Store(false)
		case 8:
			h.stack.End(t, h.inv.SessionID)
		}
	}
	if err := h.app(app.English).Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.assertClean()
	if got := h.stack.Session(t, h.inv.SessionID); got.Status != "removed" {
		t.Errorf("server sees %+v", got)
	}
}

func TestCrashDuringCleanupResumes(t *testing.T) {
	for _, step := range []string{"DeleteUser", "UnhideUser", "RemoveUninstall", "RestoreRemoteSettings", "RemoveService", "RemoveProgram"} {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t)
			h.setUp()
			// A service that died while a technician was connected left the policy
			// value for Ctrl+Alt+Del changed.
			h.pc.RemoteSettingsChanged = true
			h.stack.End(t, h.inv.SessionID)
			h.crashAt(step, func() { h.app(app.English).Serve(context.Background()) })
			if st := h.state(); st == nil || st.Phase != app.PhaseCleanup || st.EndReason != app.ReasonEnded {
				t.Fatalf("state after crash %+v, want clean-up phase", st)
			}
			// The service starts again after the reboot.
			if err := h.app(app.English).Serve(context.Background()); err != nil {
				t.Fatalf("Serve after crash: %v", err)
			}
			h.assertClean()
			if n := h.stack.Requests(protocol.PathRemoved); n != 1 {
				t.Errorf("removed reported %d times, want 1", n)
			}
		})
	}
}

func TestCrashDuringSetupIsUndone(t *testing.T) {
	for _, step := range []string{"UserSID", "AddToGroup", "HideUser", "InstallExe", "RegisterUninstall", "InstallService"} {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t)
			h.crashAt(step, func() { h.app(app.English, h.inv.Code).Start(context.Background(), app.StartOptions{}) })
			// The person runs the download again; the app finishes what was left.
			err := h.app(app.English).Start(context.Background(), app.StartOptions{})
			if err != nil {
				t.Fatalf("Start after crash: %v\n%s", err, h.ui.transcript())
			}
			h.assertClean()
			if !strings.Contains(h.ui.transcript(), "A previous support session is over") {
				t.Errorf("transcript:\n%s", h.ui.transcript())
			}
			h.assertNoPasswordOnDisk()
		})
	}
}

// TestCrashAfterAccountIsUndoneAtBoot: the PC crashes or loses power while setting up,
// after the administrator account exists, and the person never runs the download again.
// The service registered before the account was made runs at the next boot, finds the
// setup unfinished and removes everything: no live administrator account is left behind.
func TestCrashAfterAccountIsUndoneAtBoot(t *testing.T) {
	for _, step := range []string{"UserSID", "HideUser", "AddToGroup"} {
		t.Run(step, func(t *testing.T) {
			h := newHarness(t)
			h.crashAt(step, func() { h.app(app.English, h.inv.Code).Start(context.Background(), app.StartOptions{}) })
			users, _, svc, _ := h.pc.Snapshot()
			if _, made := users[h.inv.Username]; !made || svc == nil {
				t.Fatalf("at the crash: users %v, service %+v; want the account made and the service registered", users, svc)
			}
			// Boot: the service manager starts the registered service.
			if err := h.app(app.English).Serve(context.Background()); err != nil {
				t.Fatalf("Serve at boot: %v", err)
			}
			h.assertClean()
			h.assertNoPasswordOnDisk()
		})
	}
}

func TestCrashBeforeServiceStartIsResumed(t *testing.T) {
	h := newHarness(t)
	h.crashAt("StartService", func() { h.app(app.English, h.inv.Code).Start(context.Background(), app.StartOptions{}) })
	// The session was active: running the app again starts the service it needs.
	if err := h.app(app.English).Start(context.Background(), app.StartOptions{}); err != nil {
		t.Fatalf("Start after crash: %v", err)
	}
	if _, _, svc, _ := h.pc.Snapshot(); svc == nil || !svc.Running {
		t.Errorf("service %+v, want running", svc)
	}
}

func TestCleanupFailureIsRetried(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	h.stack.End(t, h.inv.SessionID)
	// The account cannot be deleted for a while (say, the disk is busy).
	h.pc.FailAt("DeleteUser", errors.New("access denied"))
	tries := 0
	h.clock.OnSleep = func(time.Time) {
		if tries++; tries == 3 {
			h.pc.FailAt("DeleteUser", nil)
		}
	}
	if err := h.app(app.English).Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	h.assertClean()
	if tries != 3 {
		t.Errorf("%d waits before the clean-up succeeded, want 3", tries)
	}
}

func TestWrongCodeShowsAttemptsLeft(t *testing.T) {
	tests := []struct {
		lang app.Lang
		want []string
	}{
		{app.English, []string{"4 attempts left", "3 attempts left", "The security code has 9 digits"}},
		{app.German, []string{"Noch 4 Versuche", "Noch 3 Versuche", "Der Sicherheitscode hat 9 Ziffern"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.lang), func(t *testing.T) {
			h := newHarness(t)
			err := h.app(tt.lang, "111-111-111", "222 222 222", "12345", h.inv.Code).Start(context.Background(), app.StartOptions{})
			if err != nil {
				t.Fatalf("Start: %v\n%s", err, h.ui.transcript())
			}
			tr := h.ui.transcript()
			for _, w := range tt.want {
				if !strings.Contains(tr, w) {
					t.Errorf("transcript lacks %q:\n%s", w, tr)
				}
			}
			if got := h.stack.Session(t, h.inv.SessionID).Status; got != "active" {
				t.Errorf("status %s after the right code", got)
			}
		})
	}
}

func TestRefusalsAreExplained(t *testing.T) {
	tests := []struct {
		name    string
		lang    app.Lang
		prepare func(h *harness) []string // returns the answers the person gives
		want    string
		wantErr error
	}{
		{
			name: "locked after five wrong codes", lang: app.English,
			prepare: func(h *harness) []string {
				return []string{"000000001", "000000002", "000000003", "000000004", "000000005", h.inv.Code}
			},
			want: "this invitation is locked. Ask your technician to send you a new invitation", wantErr: app.ErrRefused,
		},
		{
			name: "cancelled invitation", lang: app.English,
			prepare: func(h *harness) []string { h.stack.End(h.t, h.inv.SessionID); return []string{h.inv.Code} },
			want:    "This invitation has expired or was withdrawn. Ask your technician for a new invitation.", wantErr: app.ErrRefused,
		},
		{
			name: "cancelled invitation in German", lang: app.German,
			prepare: func(h *harness) []string { h.stack.End(h.t, h.inv.SessionID); return []string{h.inv.Code} },
			want:    "Diese Einladung ist abgelaufen oder wurde zurückgezogen.", wantErr: app.ErrRefused,
		},
		{
			name: "PC already supported", lang: app.English,
			prepare: func(h *harness) []string {
				// Another invitation is already active on this machine.
				other := h.stack.Invite(h.t, password)
				otherPC := fakeos.New(h.t.TempDir(), protocol.AppFileName(other.Token))
				a := app.New(app.Config{ServerURL: h.stack.URL, Development: true, OS: otherPC, UI: &scriptUI{answers: []string{other.Code}},
					Store: app.FileStore{Path: otherPC.StatePath()}, Clock: h.clock, ExePath: otherPC.Self})
				if err := a.Start(context.Background(), app.StartOptions{}); err != nil {
					h.t.Fatalf("first session: %v", err)
				}
				return []string{h.inv.Code}
			},
			want: "This PC already has an active support session.", wantErr: app.ErrRefused,
		},
		{
			name: "no connection", lang: app.English,
			prepare: func(h *harness) []string { h.net.off.Store(true); return []string{""} },
			want:    "The support server cannot be reached. Check that this PC is connected to the internet", wantErr: app.ErrNoAnswer,
		},
		{
			name: "unknown invitation", lang: app.English,
			prepare: func(h *harness) []string {
				h.inv.Token = strings.Repeat("A", 42) + "E" // well-formed, never issued
				return []string{h.inv.Code}
			},
			want: "The support server does not know this invitation.", wantErr: app.ErrRefused,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			answers := tt.prepare(h)
			err := h.app(tt.lang, answers...).Start(context.Background(), app.StartOptions{InviteToken: h.inv.Token})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Start = %v, want %v\n%s", err, tt.wantErr, h.ui.transcript())
			}
			if !strings.Contains(h.ui.transcript(), tt.want) {
				t.Errorf("transcript lacks %q:\n%s", tt.want, h.ui.transcript())
			}
			// A refusal leaves nothing behind.
			if users, _, svc, _ := h.pc.Snapshot(); svc != nil || len(users) != 1 {
				t.Errorf("refusal left users %v service %+v", users, svc)
			}
			if h.state() != nil {
				t.Errorf("refusal left a state file")
			}
		})
	}
}

func TestAskForLinkWhenFileRenamed(t *testing.T) {
	h := newHarness(t)
	renamed := h.pc.Self[:strings.LastIndex(h.pc.Self, "SupportSession_")] + "SupportSession.exe"
	if err := os.Rename(h.pc.Self, renamed); err != nil {
		t.Fatal(err)
	}
	h.pc.Self = renamed
	a := h.app(app.English, "I have no link", h.stack.URL+"/join/"+h.inv.Token, h.inv.Code)
	if err := a.Start(context.Background(), app.StartOptions{}); err != nil {
		t.Fatalf("Start: %v\n%s", err, h.ui.transcript())
	}
	tr := h.ui.transcript()
	for _, w := range []string{"Paste the link from the invitation e-mail", "That is not the invitation link"} {
		if !strings.Contains(tr, w) {
			t.Errorf("transcript lacks %q:\n%s", w, tr)
		}
	}
	// A renamed file is not the app's to delete.
	if st := h.state(); st.Download != "" {
		t.Errorf("state keeps %q for deletion", st.Download)
	}
}

func TestExistingAccountIsNeverTouched(t *testing.T) {
	h := newHarness(t)
	h.pc.Users["adhocremoteuser"] = &fakeos.User{Password: "theirs", SID: "S-1-5-21-9-9-9-1500"}
	err := h.app(app.English, h.inv.Code).Start(context.Background(), app.StartOptions{})
	if !errors.Is(err, app.ErrSetupFailed) {
		t.Fatalf("Start = %v, want ErrSetupFailed", err)
	}
	users, hidden, svc, _ := h.pc.Snapshot()
	if u, ok := users["adhocremoteuser"]; !ok || u.Password != "theirs" {
		t.Errorf("the existing account was changed: %+v", users)
	}
	if len(hidden) != 0 || svc != nil || h.state() != nil {
		t.Errorf("left behind: hidden %v service %+v", hidden, svc)
	}
	if !strings.Contains(h.ui.transcript(), `An account named "AdHocRemoteUser" already exists`) {
		t.Errorf("transcript:\n%s", h.ui.transcript())
	}
	// The session cannot be used, so the server is told it is over.
	if got := h.stack.Session(t, h.inv.SessionID).Status; got != "removed" {
		t.Errorf("server status %s, want removed", got)
	}
}

func TestRefusesPlainHTTPServer(t *testing.T) {
	for _, tc := range []struct {
		name        string
		url         string
		development bool
	}{
		{"remote server, development build", "http://support.example.com", true},
		{"remote server, release build", "http://support.example.com", false},
		// A release build must not let a program on a local port play the server.
		{"this machine, release build", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			url := tc.url
			if url == "" {
				url = h.stack.URL // plain HTTP on 127.0.0.1
			}
			a := app.New(app.Config{ServerURL: url, OS: h.pc, UI: h.ui, Development: tc.development,
				Store: app.FileStore{Path: h.pc.StatePath()}, ExePath: h.pc.Self})
			if err := a.Start(context.Background(), app.StartOptions{}); !errors.Is(err, app.ErrRefused) {
				t.Fatalf("Start = %v, want ErrRefused", err)
			}
			if h.stack.Requests(protocol.PathHello) != 0 {
				t.Errorf("contacted a server")
			}
		})
	}
}

func TestRestartWhileActiveShowsStatus(t *testing.T) {
	h := newHarness(t)
	h.setUp()
	if err := h.app(app.English).Start(context.Background(), app.StartOptions{}); err != nil {
		t.Fatalf("second Start: %v", err)
	}
	if n := h.stack.Requests(protocol.PathHello); n != 1 {
		t.Errorf("hello sent %d times; a running session must not pair again", n)
	}
	if users, _, _, _ := h.pc.Snapshot(); users[h.inv.Username].Password != password {
		t.Errorf("the account changed")
	}
}

// pollScript is a server that answers polls from a list, for answers the stand-in only
// gives in corner cases.
func pollScript(t *testing.T, answers ...func(w http.ResponseWriter)) (*httptest.Server, *int) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == protocol.PathRemoved {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		if r.URL.Path != protocol.PathPoll || r.Header.Get("Authorization") != "Bearer agent-token" {
			t.Errorf("unexpected %s %s", r.URL.Path, r.Header.Get("Authorization"))
		}
		answers[min(n, len(answers)-1)](w)
		n++
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func status(s string, interval int) func(w http.ResponseWriter) {
	return statusUntil(s, interval, time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC))
}

func statusUntil(s string, interval int, expiresAt time.Time) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(protocol.PollResponse{Status: s, Interval: interval, ExpiresAt: expiresAt})
	}
}

func prob(httpStatus int, code string, interval int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(httpStatus)
		json.NewEncoder(w).Encode(protocol.Problem{Status: httpStatus, Code: code, Interval: interval})
	}
}

func TestPollAnswers(t *testing.T) {
	tests := []struct {
		name       string
		answers    []func(w http.ResponseWriter)
		wantSleeps []time.Duration
		wantReason string
	}{
		{"slow_down adds 5 s", []func(http.ResponseWriter){status("active", 30), prob(429, "slow_down", 0), status("active", 0), status("ended", 0)},
			[]time.Duration{30 * time.Second, 35 * time.Second, 35 * time.Second}, app.ReasonEnded},
		{"slow_down with the server's interval", []func(http.ResponseWriter){prob(429, "slow_down", 60), status("expired", 0)},
			[]time.Duration{60 * time.Second}, app.ReasonExpired},
		{"unknown token", []func(http.ResponseWriter){status("active", 30), prob(401, "invalid_token", 0)},
			[]time.Duration{30 * time.Second}, app.ReasonUnknown},
		{"session gone", []func(http.ResponseWriter){prob(410, "expired", 0)},
			nil, app.ReasonUnknown},
		{"the server shortens the session", []func(http.ResponseWriter){statusUntil("active", 30, time.Date(2026, 3, 2, 9, 1, 0, 0, time.UTC))},
			[]time.Duration{30 * time.Second, 30 * time.Second}, app.ReasonLocalExpiry},
		{"server errors back off", []func(http.ResponseWriter){prob(502, "", 0), prob(503, "", 0), prob(500, "", 0), status("ended", 0)},
			[]time.Duration{22500 * time.Millisecond, 45 * time.Second, 90 * time.Second}, app.ReasonEnded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := pollScript(t, tt.answers...)
			pc := fakeos.New(t.TempDir(), "SupportSession.exe")
			if err := pc.PrepareProgramDir(); err != nil {
				t.Fatal(err)
			}
			store := app.FileStore{Path: pc.StatePath()}
			clock := fakeos.NewClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			err := store.Save(&app.State{Phase: app.PhaseActive, ServerURL: srv.URL, SessionID: "s1", AgentToken: "agent-token",
				ExpiresAt: time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC), Interval: 30, Account: "AdHocRemoteUser"})
			if err != nil {
				t.Fatal(err)
			}
			a := app.New(app.Config{OS: pc, UI: &scriptUI{}, Store: store, Clock: clock, Jitter: func() float64 { return 0.5 }})
			if err := a.Serve(context.Background()); err != nil {
				t.Fatalf("Serve: %v", err)
			}
			// The reason is in the event log entry that starts the clean-up.
			var reason string
			for _, e := range pc.Events {
				if strings.Contains(e, "is over (") {
					reason = e[strings.Index(e, "is over (")+9 : strings.Index(e, ");")]
				}
			}
			if reason != tt.wantReason {
				t.Errorf("clean-up reason %q, want %q", reason, tt.wantReason)
			}
			if !slices.Equal(clock.Slept, tt.wantSleeps) {
				t.Errorf("slept %v, want %v", clock.Slept, tt.wantSleeps)
			}
		})
	}
}

// gatedUI answers the code at once, then holds every further question until released.
type gatedUI struct {
	scriptUI
	code    string
	asked   chan struct{}
	release chan string
}

func (u *gatedUI) Ask(prompt string) (string, error) {
	u.Say("? " + prompt)
	u.mu.Lock()
	code := u.code
	u.code = ""
	u.mu.Unlock()
	if code != "" {
		return code, nil
	}
	u.asked <- struct{}{}
	return <-u.release, nil
}

func TestWindowNoticesServiceEnded(t *testing.T) {
	h := newHarness(t)
	ui := &gatedUI{code: h.inv.Code, asked: make(chan struct{}, 10), release: make(chan string)}
	window := app.New(app.Config{ServerURL: h.stack.URL, Development: true, HTTPClient: &http.Client{Transport: h.net}, OS: h.pc, UI: ui,
		Store: app.FileStore{Path: h.pc.StatePath()}, Clock: fakeos.NewClock(h.clock.Now()), ExePath: h.pc.Self})
	done := make(chan error, 1)
	go func() { done <- window.Start(context.Background(), app.StartOptions{Interactive: true}) }()
	<-ui.asked // the window waits for END

	// Meanwhile the technician ends the session and the service cleans up.
	h.stack.End(t, h.inv.SessionID)
	if err := h.app(app.English).Serve(context.Background()); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	// The window notices, says so, and closes with the next Enter (the read already
	// waiting), without asking again.
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(ui.transcript(), "Press Enter to close this window.") {
		if time.Now().After(deadline) {
			t.Fatalf("the window did not notice the end:\n%s", ui.transcript())
		}
		time.Sleep(5 * time.Millisecond)
	}
	ui.release <- ""
	if err := <-done; err != nil {
		t.Fatalf("Start: %v", err)
	}
	tr := ui.transcript()
	if !strings.Contains(tr, "The support account and the app have been removed from this PC.") || !strings.HasSuffix(tr, "Press Enter to close this window.") {
		t.Errorf("transcript:\n%s", tr)
	}
	h.assertClean()
}
