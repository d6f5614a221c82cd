package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/local/winepc"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/logbuf"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// Where the app keeps what a PC sees of it (agent/winos), and the registry value that hides
// the support account from the sign-in screen.
const (
	wineProgramDir = "Program Files/AdHocSupport"
	wineHiddenKey  = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts\UserList`
	// wineWait bounds every wait of this test: Wine on a loaded 2-core machine takes
	// seconds where Windows takes milliseconds.
	wineWait = 90 * time.Second
)

// TestConsoleToWinePC is the product end to end with nothing played: headless chromium
// runs the console of the local stack (the same handlers as the Lambda functions, DynamoDB
// Local, aws-ses-v2-local, the local TURN server), and the PC is the real signed exe
// (`make agent`, ADHOC_AGENT_EXE) under Wine. The technician signs in and invites; the exe
// pairs with the code from the page and runs as the session's service; Connect on the
// Computers page, the password, `echo` and `whoami` in the terminal (cmd.exe: Wine has no
// PowerShell), an upload that lands in the Wine prefix with its SHA-256, a download that
// the browser saves with its SHA-256. The technician ends the session: the page's
// connection ends, the app reports remote_ended, the shell, the service and the account
// are gone. Between, the screen (wine_screen_test.go): the canvas shows the Wine desktop
// as the X display holds it, Notepad started from the terminal appears on it, keys typed on
// the canvas end up in the file Notepad saves, and the user's Disconnect on the helper's
// notice ends the connection; the technician connects again.
//
// Under Wine the exe has no UDP (FACTS.md), so its end of the connection is TURN over TCP.
// What Wine cannot show: its LogonUserW takes any password (agent/remote proves the
// password rule), and it runs everything as one user, so the shell runs as the service's
// user, not as the support account; and Wine keeps the accounts NetUserAdd makes in the
// memory of the process that made them, so the account's creation and deletion are read
// from Wine's own netapi32 trace.
func TestConsoleToWinePC(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Wine runs on Linux")
	}
	exe := os.Getenv("ADHOC_AGENT_EXE")
	if exe == "" {
		t.Skip("ADHOC_AGENT_EXE names no exe: `make agent` builds it, `make test` passes it (make test-go PKG=./internal/testing/e2e ADHOC_AGENT_EXE=$PWD/dist/agent/windows-amd64/SupportSession.exe)")
	}
	appData, err := os.ReadFile(exe)
	if err != nil {
		t.Fatalf("ADHOC_AGENT_EXE: %v", err)
	}
	st, logs := startWithConsole(t)
	tech := gateway.DevUser{Email: "wendy.wine@example.com", Account: "winery"}
	techToken, err := st.Issuer.Issue(tech)
	if err != nil {
		t.Fatal(err)
	}

	// The Windows PC: a fresh Wine prefix, whose users' folders are its own (winepc), so the
	// upload stays in it.
	prepared := time.Now()
	pc, err := winepc.Prepare(t.Context(), t.TempDir())
	if err != nil {
		t.Fatalf("the Wine PC: %v", err)
	}
	t.Cleanup(pc.Stop)
	// The PC's screen, before the first program: the service manager, which Wine starts
	// with it, passes the display on to the service and so to the helper and the shell.
	if err := pc.StartDisplay(t.Context(), wineDisplayW, wineDisplayH); err != nil {
		t.Fatalf("the Wine PC's display: %v", err)
	}
	t.Logf("Wine prefix ready in %v", time.Since(prepared).Round(100*time.Millisecond))
	// Wine's trace of the account calls and of the app's event log. The service inherits
	// the app's stderr (the service manager starts with the app), so it lands there too.
	pc.Debug = ",fixme+netapi32,trace+netapi32,trace+eventlog,warn+eventlog,err+eventlog"
	trace, err := os.Create(filepath.Join(t.TempDir(), "wine-trace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer trace.Close()

	// The technician signs in and invites.
	b := newBrowser(t, wineWait)
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.waitFor("the sign-in form", `document.querySelector("#signin-form")`)
	b.typeInto("#signin-email", tech.Email)
	b.typeInto("#signin-account", tech.Account)
	b.click("#signin-submit")
	b.waitFor("the Ad-hoc support page", `document.querySelector("#adhoc-form")`)
	const invitee = "walter.wine@example.org"
	b.typeInto("#email", invitee)
	b.click("#generate")
	password := b.eval(`document.querySelector("#password").value`)
	since := time.Now()
	b.click("#create")
	b.waitFor("the security code", `document.querySelector("#security-code")`)
	code := b.text("#security-code")
	id := b.eval(`document.querySelector("#prepared-details").getAttribute("href").split("/").pop()`)
	mail := testenv.WaitMail(t, st.SESURL, invitee, since)
	link := joinLink.FindStringSubmatch(mail.Text)
	if link == nil {
		t.Fatalf("no join link in the mail (subject %q)", mail.Subject)
	}
	b.shot("wine-01-invited")

	// The person runs the download, as the join page names it, and types the code.
	name := protocol.AppFileName(link[1])
	download := filepath.Join(pc.DriveC(), "Downloads", name)
	if err := os.MkdirAll(filepath.Dir(download), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(download, appData, 0o755); err != nil {
		t.Fatal(err)
	}
	stdout := runWineApp(t, pc, trace, `C:\Downloads\`+name, "ADHOC_SERVER_URL="+st.URL,
		"ADHOC_TEST_SECURITY_CODE="+strings.ReplaceAll(code, "-", " "), "ADHOC_LANG=en")
	if !strings.Contains(stdout, "The support session is active until") {
		t.Fatalf("the app did not report an active session:\n%s", stdout)
	}
	if out, err := pc.Run(t.Context(), "reg", "query", wineHiddenKey, "/v", session.DefaultUsername); err != nil || !strings.Contains(out, "REG_DWORD") {
		t.Errorf("the support account is not hidden (%v):\n%s", err, out)
	}
	tr := readText(trace.Name())
	for _, want := range []string{"NetUserAdd ((null), 1,", `NetLocalGroupAddMembers ((null) L"Administrators"`} {
		if !strings.Contains(tr, want) {
			t.Errorf("Wine's trace of the app lacks %q:\n%s", want, grepLines(tr, "netapi32"))
		}
	}
	// The service holds its live connection. (The list shows the PC online from the pairing
	// on, a few seconds before the service under Wine has opened it, and Connect needs it.)
	waitFor(t, wineWait, "the Wine PC's service to hold its live connection", func() bool {
		ss, err := st.Service.Store.GetSession(t.Context(), id)
		return err == nil && ss.LiveConnection != "" && computerOnline(t, st, techToken, id)
	})

	// Connect on the Computers page, the password, the prompt. The page's peer connections
	// are kept where the test can look at them (a DevTools evaluation: the CSP allows no
	// script of the test's own).
	b.do("watch the page's peer connections", chromedp.Evaluate[chromedp.Void](`(() => {
		const Native = window.RTCPeerConnection;
		window.testPeers = [];
		window.RTCPeerConnection = class extends Native {
			constructor(...args) { super(...args); window.testPeers.push(this); }
		};
	})()`))
	b.click("#nav-computers")
	b.waitFor("the Connect button", fmt.Sprintf(`document.querySelector("#connect-%s")`, id))
	clicked := time.Now()
	b.click("#connect-" + id)
	b.waitFor("connected", `document.querySelector('#remote-status[data-state="connected"]')`)
	connected := time.Since(clicked)
	// The pair the page's connection uses: the app's end is relayed (TURN over TCP, the
	// only way out of a Go program under Wine).
	pair, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(async () => {
		const stats = await window.testPeers[window.testPeers.length - 1].getStats();
		let pair;
		stats.forEach((r) => { if (r.type === "transport" && r.selectedCandidatePairId) pair = stats.get(r.selectedCandidatePairId); });
		if (!pair) return "no selected pair";
		return stats.get(pair.localCandidateId).candidateType + " to " + stats.get(pair.remoteCandidateId).candidateType;
	})()`, chromedp.EvalAwaitPromise))
	if err != nil || !strings.HasSuffix(pair, " to relay") {
		t.Errorf("the page's candidate pair is %q (%v), want the app's end relayed", pair, err)
	}
	b.do("type the password", chromedp.WaitVisible(chromedp.CSS("#remote-password")),
		chromedp.SendKeys(chromedp.CSS("#remote-password"), password+"\r"))
	b.waitText("the signed-in sentence", "#remote-status", "the terminal runs cmd.exe as "+session.DefaultUsername)
	b.waitFor("the prompt", termHas(">", 1))
	prompt := time.Since(clicked)
	t.Logf("under Wine: Connect to connected %v, Connect to the prompt %v (the password typed in between); pair %s",
		connected.Round(10*time.Millisecond), prompt.Round(10*time.Millisecond), pair)
	if got := b.eval(`document.querySelector("#remote-password").value`); got != "" {
		t.Errorf("the password field still holds text after the sign-in")
	}
	shells := pc.Processes("cmd.exe")
	if len(shells) == 0 || len(pc.Processes("conpty-shim")) == 0 {
		t.Errorf("no shell (%v) or pseudo-console shim in the prefix", shells)
	}

	// Commands and their output.
	b.typeTerminal("echo hello-from-%PROCESSOR_ARCHITECTURE%\r")
	b.waitFor("the echo's output", termHas("hello-from-AMD64", 1))
	b.typeTerminal("whoami\r")
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	// Wine runs everything as the Unix user that runs it (see above).
	b.waitFor("whoami's answer", fmt.Sprintf(`%s.toLowerCase().includes("\\" + %q)`, termJS, strings.ToLower(me.Username)))
	b.shot("wine-02-terminal")
	t.Logf("the terminal shows:\n%s", b.eval(`[...document.querySelectorAll("#terminal .xterm-rows > div")].map((r) => r.textContent.replace(/\u00a0/g, " ").trimEnd()).filter(Boolean).join("\n")`))

	// Upload: it lands in the prefix, with the SHA-256 the page sent.
	upLocal := filepath.Join(t.TempDir(), "from-the-technician.bin")
	upData := randomBytes(t, 1<<20+321)
	if err := os.WriteFile(upLocal, upData, 0o644); err != nil {
		t.Fatal(err)
	}
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{upLocal}))
	upAt := time.Now()
	b.click("#upload-send")
	b.waitFor("the upload", `document.querySelector('#upload-status[data-state="done"]')`)
	upTook := time.Since(upAt)
	upSentence := b.text("#upload-status")
	saidPath := savedAs.FindStringSubmatch(upSentence)
	if saidPath == nil || !strings.Contains(upSentence, "SHA-256 checked") {
		t.Fatalf("the upload's sentence: %q", upSentence)
	}
	// Where the page says it went, in the prefix, and nowhere else.
	onPC := filepath.Join(pc.DriveC(), filepath.FromSlash(strings.ReplaceAll(saidPath[1], `\`, "/")))
	if found := findInPrefix(t, pc, filepath.Base(upLocal)); found != onPC {
		t.Errorf("the page says the upload went to %s, it is at %s", saidPath[1], found)
	}
	if got, err := os.ReadFile(onPC); err != nil || sha256Hex(got) != sha256Hex(upData) {
		t.Errorf("the upload in the prefix (%s): %v, SHA-256 %s, want %s", onPC, err, sha256Hex(got), sha256Hex(upData))
	}

	// Download: the browser saves it, with the SHA-256 of the file on the PC.
	downData := randomBytes(t, 2<<20+4567)
	if err := os.WriteFile(filepath.Join(pc.DriveC(), "wine-report.bin"), downData, 0o644); err != nil {
		t.Fatal(err)
	}
	b.typeInto("#download-path", `C:\wine-report.bin`)
	downAt := time.Now()
	b.click("#download-send")
	b.waitFor("the download", `document.querySelector('#download-status[data-state="done"]')`)
	downTook := time.Since(downAt)
	if s := b.text("#download-status"); !strings.Contains(s, "arrived intact") {
		t.Errorf("the download's sentence: %q", s)
	}
	var saved []byte
	waitFor(t, wineWait, "the browser to save the download", func() bool {
		saved, err = os.ReadFile(filepath.Join(b.downloads, "wine-report.bin"))
		return err == nil && len(saved) == len(downData)
	})
	if sha256Hex(saved) != sha256Hex(downData) {
		t.Errorf("the browser saved SHA-256 %s, want %s", sha256Hex(saved), sha256Hex(downData))
	}
	t.Logf("under Wine through TURN/TCP: upload of %d bytes %v, download of %d bytes %v", len(upData),
		upTook.Round(10*time.Millisecond), len(downData), downTook.Round(10*time.Millisecond))
	b.shot("wine-03-files")

	// The screen, Notepad through the terminal, typing, and the user's Disconnect.
	wineScreen(t, b, pc, trace.Name(), func(action, want string) bool {
		return strings.Contains(auditEntry(t, st, techToken, id, action), want)
	})

	// The technician connects again, as often as the session lasts.
	b.click("#nav-computers")
	b.click("#connect-" + id)
	b.waitFor("connected again", `document.querySelector('#remote-status[data-state="connected"]')`)
	b.do("type the password again", chromedp.WaitVisible(chromedp.CSS("#remote-password")),
		chromedp.SendKeys(chromedp.CSS("#remote-password"), password+"\r"))
	b.waitFor("the prompt again", termHas(">", 1))
	b.waitFor("the screen again", `document.querySelector('#screen-status[data-state="showing"]')`)

	// The technician ends the session while connected.
	deleted := `NetUserDel ((null), L"` + session.DefaultUsername + `")`
	endAt := time.Now()
	techCall(t, st, techToken, http.MethodDelete, "/v1/sessions/"+id)
	b.waitFor("the page's connection to end", `document.querySelector('#remote-status[data-state="ended"]')`)
	pageEnded := time.Since(endAt)
	b.waitFor("the page's peer connection to close", `window.testPeers.length > 0 && window.testPeers.every((p) => p.connectionState === "closed")`)
	if s := b.text("#remote-status"); !strings.Contains(s, "The session has ended") {
		t.Errorf("the status says %q", s)
	}
	waitFor(t, wineWait, "the shell and its shim to end", func() bool {
		return len(pc.Processes("cmd.exe")) == 0 && len(pc.Processes("conpty-shim")) == 0
	})
	shellGone := time.Since(endAt)
	waitFor(t, wineWait, "the app's remote_ended in the audit", func() bool {
		return strings.Contains(auditEntry(t, st, techToken, id, "remote_ended"), "reason=session_ended")
	})
	waitFor(t, wineWait, "the service to delete the account", func() bool { return strings.Contains(readText(trace.Name()), deleted) })
	waitFor(t, wineWait, "the service to end", func() bool { return len(pc.Processes("SupportSession.exe", " service")) == 0 })
	waitFor(t, wineWait, "the program folder to go", func() bool {
		_, err := os.Stat(filepath.Join(pc.DriveC(), wineProgramDir))
		return errors.Is(err, fs.ErrNotExist)
	})
	waitFor(t, wineWait, "the server to hear removed", func() bool { return sessionStatus(t, st, techToken, id) == "removed" })
	allGone := time.Since(endAt)
	t.Logf("the session's end → page ended %v, shell gone %v, account, service and app gone %v",
		pageEnded.Round(10*time.Millisecond), shellGone.Round(10*time.Millisecond), allGone.Round(10*time.Millisecond))
	if out, err := pc.Run(t.Context(), "reg", "query", wineHiddenKey, "/v", session.DefaultUsername); err == nil {
		t.Errorf("the account's hiding value is still there:\n%s", out)
	}
	if started := auditEntry(t, st, techToken, id, "remote_started"); started == "" {
		t.Errorf("the audit has no remote_started")
	}
	if ended := auditEntry(t, st, techToken, id, "remote_ended"); !strings.Contains(ended, "reason=session_ended") || !strings.Contains(ended, "channels=terminal,files,screen") {
		t.Errorf("the audit's remote_ended: %q", ended)
	}
	b.shot("wine-04-ended")
	// The app's own account of it, in its event log.
	events := wineEventLog(trace.Name())
	t.Logf("the app's event log under Wine:\n%s", events)
	for _, want := range []string{"cmd.exe started as " + session.DefaultUsername, "ended (session_ended)",
		"the support account and the app have been removed"} {
		if !strings.Contains(events, want) {
			t.Errorf("the app's event log lacks %q", want)
		}
	}

	// No secret in the server's log, nor in what the app and Wine wrote.
	wineOut := readText(trace.Name()) + stdout
	for what, secret := range map[string]string{"password": password, "security code": code, "invite token": link[1]} {
		if strings.Contains(logs.String(), secret) || strings.Contains(wineOut, secret) {
			t.Errorf("the %s is in a log", what)
		}
	}
}

// savedAs finds the path on the PC in the upload's sentence ("… saved on the PC as C:\…\name
// (1 MB, SHA-256 checked).").
var savedAs = regexp.MustCompile(`on the PC as C:\\(.+) \(`)

// startWithConsole runs the local product as `make run` does (real clock, the console in
// local mode) on a fresh table, and returns it with its log.
func startWithConsole(t *testing.T) (*devstack.Stack, *logbuf.Buffer) {
	t.Helper()
	_, table := testenv.Table(t)
	logs := &logbuf.Buffer{}
	cfg := support.Defaults()
	// The console is made once the stack listens: its CSP names the live channel's port.
	var h atomic.Pointer[http.Handler]
	late := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c := h.Load(); c != nil {
			(*c).ServeHTTP(w, r)
			return
		}
		http.Error(w, "The console is not there yet.", http.StatusServiceUnavailable)
	})
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	st, err := devstack.Start(ctx, devstack.Options{
		Console:          late,
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		Config:           cfg,
		AppDir:           t.TempDir(),
		Log:              slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(st.Close)
	c := console.Handler(console.Local, console.Config{HiddenUsername: cfg.Username, SessionTTL: cfg.SessionTTL, LiveURL: st.LiveURL})
	h.Store(&c)
	return st, logs
}

// runWineApp runs a program of the prefix to its end, its stderr (Wine's trace) into
// trace, and returns what it printed.
func runWineApp(t *testing.T, pc *winepc.PC, trace *os.File, path string, env ...string) string {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "stdout.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := pc.Command(ctx, path)
	cmd.Env = append(cmd.Env, env...)
	// A file, not a pipe: Wine's system processes, which outlive the app, inherit it.
	cmd.Stdout, cmd.Stderr = out, trace
	err = cmd.Run()
	text := readText(out.Name())
	t.Logf("%s:\n%s", path, text)
	if err != nil {
		t.Fatalf("the app under Wine: %v\nits event log:\n%s", err, wineEventLog(trace.Name()))
	}
	return text
}

// findInPrefix finds the file of the name in the prefix's users' folders.
func findInPrefix(t *testing.T, pc *winepc.PC, name string) string {
	t.Helper()
	var found string
	_ = filepath.WalkDir(filepath.Join(pc.DriveC(), "users"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			found = path
			return fs.SkipAll
		}
		return nil
	})
	if found == "" {
		t.Fatalf("%s is nowhere in the prefix's users' folders", name)
	}
	return found
}

// computerOnline reports whether the Computers list shows the session's PC online.
func computerOnline(t *testing.T, st *devstack.Stack, token, id string) bool {
	var list struct {
		Computers []struct {
			SessionID string `json:"sessionId"`
			Online    bool   `json:"online"`
		} `json:"computers"`
	}
	_ = json.Unmarshal(techCall(t, st, token, http.MethodGet, "/v1/computers?group=adhoc"), &list)
	for _, c := range list.Computers {
		if c.SessionID == id {
			return c.Online
		}
	}
	return false
}

func sessionStatus(t *testing.T, st *devstack.Stack, token, id string) string {
	var s struct{ Status string }
	_ = json.Unmarshal(techCall(t, st, token, http.MethodGet, "/v1/sessions/"+id), &s)
	return s.Status
}

// auditEntry is the detail of the session's latest audit entry of the action, "" if none.
func auditEntry(t *testing.T, st *devstack.Stack, token, id, action string) string {
	var trail struct {
		Entries []struct{ Action, Detail string }
	}
	_ = json.Unmarshal(techCall(t, st, token, http.MethodGet, "/v1/sessions/"+id+"/audit"), &trail)
	detail := ""
	for _, e := range trail.Entries {
		if e.Action == action {
			detail = e.Detail
			if detail == "" {
				detail = action
			}
		}
	}
	return detail
}

// techCall is the technician's API call; it fails the test unless the answer is 2xx.
func techCall(t *testing.T, st *devstack.Stack, token, method, path string) []byte {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, st.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	var body bytes.Buffer
	_, _ = body.ReadFrom(res.Body)
	if res.StatusCode > 299 {
		t.Fatalf("%s %s: %s %s", method, path, res.Status, body.String())
	}
	return body.Bytes()
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readText(path string) string {
	data, _ := os.ReadFile(path)
	return string(data)
}

// wineEventLog is what the app wrote to the event log, from Wine's trace.
func wineEventLog(path string) string { return grepLines(readText(path), "ReportEventW") }

// grepLines are the lines of text that contain word.
func grepLines(text, word string) string {
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
