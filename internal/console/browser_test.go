package console_test

// Browser tests: Debian's chromium, headless, drives the console served by the real local
// stack (DynamoDB Local, aws-ses-v2-local, the local gateway and the same handlers as the
// Lambda functions). The protocol client plays the Support Session app. Every step leaves
// a screenshot under $TEST_OUTPUT_DIR/console/.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/testing/apidoc"
	"github.com/adhoc-support/adhoc-support/internal/testing/chromium"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var (
	shotsOnce sync.Once
	shotsDir  string
	shotsErr  error
)

// screenshotDir is $TEST_OUTPUT_DIR/console, or a fresh temporary folder.
func screenshotDir(t *testing.T) string {
	t.Helper()
	shotsOnce.Do(func() {
		base := os.Getenv("TEST_OUTPUT_DIR")
		if base == "" {
			base, shotsErr = os.MkdirTemp("", "adhoc-console-")
			if shotsErr != nil {
				return
			}
		}
		shotsDir = filepath.Join(base, "console")
		shotsErr = os.MkdirAll(shotsDir, 0o755)
	})
	if shotsErr != nil {
		t.Fatalf("screenshot folder: %v", shotsErr)
	}
	return shotsDir
}

// stackOptions are what a test changes about the local stack.
type stackOptions struct {
	noLive bool                            // a deployment without a live channel
	wrap   func(http.Handler) http.Handler // sees every request to the gateway
}

// startStack runs the local product on a fresh table, with the console in the mode and
// the stack's live URL in cfg, as cmd/adhoc-local sets it.
func startStack(t *testing.T, mode console.Mode, cfg console.Config, so ...stackOptions) *devstack.Stack {
	t.Helper()
	var o stackOptions
	if len(so) > 0 {
		o = so[0]
	}
	_, table := testenv.Table(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The live URL names the gateway's port, known once the stack listens: the console is
	// made then, before any browser asks for it.
	late := &lateHandler{}
	st, err := devstack.Start(ctx, devstack.Options{
		Console:          late,
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		NoLive:           o.noLive,
		Wrap:             o.wrap,
	})
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(st.Close)
	cfg.LiveURL = st.LiveURL
	h := console.Handler(mode, cfg)
	late.h.Store(&h)
	return st
}

// lateHandler serves the handler stored in it.
type lateHandler struct{ h atomic.Pointer[http.Handler] }

func (l *lateHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := l.h.Load()
	if h == nil {
		http.Error(w, "The console is not there yet.", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}

// browser is one headless chromium with a fresh profile and one tab.
type browser struct {
	t     *testing.T
	ctx   context.Context
	shots string

	mu       sync.Mutex
	problems []string // uncaught exceptions and console errors (CSP violations among them)
	received [][]byte // the live channel's messages to the page, as they arrived
	sent     [][]byte // the page's messages on the live channel
}

type browserOptions struct {
	// acceptLanguage makes navigator.languages start with it, like a browser set to
	// that language.
	acceptLanguage string
}

func newBrowser(t *testing.T, o browserOptions) *browser {
	t.Helper()
	profile := t.TempDir()
	opts, err := chromium.Options(profile)
	if err != nil {
		t.Fatal(err)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTime := context.WithTimeout(ctx, 3*time.Minute)
	// Registered after TempDir, so the browser has exited before its profile is removed.
	t.Cleanup(func() {
		cancelTime()
		cancelTab()
		cancelAlloc()
	})
	b := &browser{t: t, ctx: ctx, shots: screenshotDir(t)}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start chromium: %v (run make chromium)", err)
	}
	if o.acceptLanguage != "" {
		ua, err := chromedp.Run(ctx, chromedp.Evaluate[string]("navigator.userAgent"))
		if err != nil {
			t.Fatal(err)
		}
		if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: o.acceptLanguage})
			return err
		})); err != nil {
			t.Fatalf("emulate the browser language: %v", err)
		}
	}
	exceptions := chromedp.Events(ctx, runtime.ExceptionThrown)
	entries := chromedp.Events(ctx, cdplog.EntryAdded)
	framesSent := chromedp.Events(ctx, network.WebSocketFrameSent)
	framesReceived := chromedp.Events(ctx, network.WebSocketFrameReceived)
	// Every message on the live channel, either way, has the shape api/asyncapi.yaml gives.
	doc, err := liveDoc()
	if err != nil {
		t.Fatalf("load api/asyncapi.yaml: %v", err)
	}
	go func() {
		for ev, err := range framesSent {
			if err != nil {
				return
			}
			if err := doc.ValidateClientMessage(ev.Response.PayloadData); err != nil {
				b.problem(fmt.Sprintf("the page sent a message that differs from api/asyncapi.yaml: %v: %s", err, ev.Response.PayloadData))
			}
			b.mu.Lock()
			b.sent = append(b.sent, ev.Response.PayloadData)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range framesReceived {
			if err != nil {
				return
			}
			if err := doc.ValidateServerMessage(ev.Response.PayloadData); err != nil {
				b.problem(fmt.Sprintf("the page received a message that differs from api/asyncapi.yaml: %v: %s", err, ev.Response.PayloadData))
			}
			b.mu.Lock()
			b.received = append(b.received, ev.Response.PayloadData)
			b.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range exceptions {
			if err != nil {
				return
			}
			d := ev.ExceptionDetails
			msg := d.Text
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			b.problem("exception: " + msg)
		}
	}()
	go func() {
		for ev, err := range entries {
			if err != nil {
				return
			}
			// Refusals are part of the tests, so a 4xx answer in the network log is expected.
			if e := ev.Entry; e != nil && e.Level == cdplog.EntryLevelError && e.Source != cdplog.EntrySourceNetwork {
				b.problem(fmt.Sprintf("console %s: %s", e.Source, e.Text))
			}
		}
	}()
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, p := range b.problems {
			t.Errorf("browser reported: %s", p)
		}
	})
	return b
}

// takeProblems returns the problems reported so far and forgets them, for a test that
// causes some on purpose.
func (b *browser) takeProblems() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := b.problems
	b.problems = nil
	return p
}

// receivedOf counts the live channel's messages of a type the page has received.
func (b *browser) receivedOf(typ string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, m := range b.received {
		if protocol.LiveType(m) == typ {
			n++
		}
	}
	return n
}

// liveDoc is api/asyncapi.yaml, ready to validate messages.
var liveDoc = sync.OnceValues(apidoc.LoadLive)

func (b *browser) problem(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.problems = append(b.problems, s)
}

func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v\npage text:\n%s", what, err, b.pageText())
	}
}

func (b *browser) eval(expr string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return s
}

func (b *browser) pageText() string {
	s, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	return s
}

// text is the rendered text of the first element matching the CSS selector, "" if none.
func (b *browser) text(sel string) string {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	return b.eval(fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText`, q))
}

// waitFor polls a JavaScript condition. (chromedp.Poll builds its predicate with new
// Function, which the console's CSP forbids; DevTools evaluations are exempt.)
func (b *browser) waitFor(what, cond string) {
	b.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf("Boolean(%s)", cond)))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waiting for %s: %s did not hold within 20 s (last error: %v)\npage text:\n%s", what, cond, err, b.pageText())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *browser) waitText(what, sel, want string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	w, _ := json.Marshal(want)
	b.waitFor(what, fmt.Sprintf(`(document.querySelector(%s) || {innerText: ""}).innerText.includes(%s)`, q, w))
}

// shot saves a full-page PNG of the current state.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	path := filepath.Join(b.shots, name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	b.t.Logf("screenshot %s", path)
}

// typeInto empties the field the way select-all and delete would (chromedp.Clear only
// resets the value attribute) and types text key by key.
func (b *browser) typeInto(sel, text string) {
	b.t.Helper()
	q, _ := json.Marshal(sel)
	b.do("type into "+sel,
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => { const el = document.querySelector(%s); el.value = ""; el.dispatchEvent(new Event("input", {bubbles: true})); })()`, q)),
		chromedp.SendKeys(chromedp.CSS(sel), text))
}

func (b *browser) click(sel string) {
	b.t.Helper()
	b.do("click "+sel, chromedp.WaitVisible(chromedp.CSS(sel)), chromedp.Click(chromedp.CSS(sel)))
}

func (b *browser) signInLocal(email, account string) {
	b.t.Helper()
	b.waitFor("the sign-in form", `document.querySelector("#signin-form")`)
	b.typeInto("#signin-email", email)
	b.typeInto("#signin-account", account)
	b.click("#signin-submit")
	b.waitFor("the Ad-hoc support page", `document.querySelector("#adhoc-form")`)
}

// storageHolds reports whether the URL, the history, sessionStorage or localStorage
// contain s anywhere.
func (b *browser) storageHolds(s string) bool {
	b.t.Helper()
	q, _ := json.Marshal(s)
	return b.eval(fmt.Sprintf(`String([location.href, JSON.stringify(sessionStorage), JSON.stringify(localStorage)].join("\n").includes(%s))`, q)) == "true"
}

var joinLink = regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})`)

// inviteToken reads the invitation mail back from aws-ses-v2-local.
func inviteToken(t *testing.T, st *devstack.Stack, to string, since time.Time) string {
	t.Helper()
	m := testenv.WaitMail(t, st.SESURL, to, since)
	match := joinLink.FindStringSubmatch(m.Text + m.HTML)
	if match == nil {
		t.Fatalf("no join link in the mail to %s (subject %q)", to, m.Subject)
	}
	return match[1]
}

var codeShape = regexp.MustCompile(`^\d{3}-\d{3}-\d{3}$`)

func TestConsoleSessionLifecycle(t *testing.T) {
	st := startStack(t, console.Local, console.Config{})
	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	app := protocol.NewClient(st.URL, nil)
	tech := "tina.tech@example.com"
	user := "anna.user@example.com"
	const hostname = "PC-ANNA-4711"
	const windows = "Windows 11 Pro 23H2 (10.0.22631.3447)"

	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.waitFor("the sign-in form", `document.querySelector("#signin-form")`)
	if got := b.text("#mode-banner"); !strings.Contains(got, "Local mode") {
		t.Errorf("the local-mode banner says %q", got)
	}
	b.shot("01-signin")
	b.signInLocal(tech, "acme")
	if got := b.text("#who"); !strings.Contains(got, tech) {
		t.Errorf("header shows %q, want the technician", got)
	}
	if got := b.text(".intro"); !strings.Contains(got, "you reach the PC for 24 hours") {
		t.Errorf("the introduction says %q, want the product's 24 hours", got)
	}
	if got := b.text("#mode-banner"); !strings.Contains(got, "Local mode") {
		t.Errorf("the banner is gone after sign-in: %q", got)
	}

	// The policy is shown while typing; a weak password is refused on the page.
	b.typeInto("#email", user)
	b.typeInto("#password", "adhocremoteuser1A")
	b.waitFor("the policy marks the user name", `document.querySelector('#policy li[data-rule="name"][data-ok="false"]') && document.querySelector('#policy li[data-rule="length"][data-ok="true"]')`)
	b.typeInto("#password", "short")
	b.waitFor("the policy marks the length", `document.querySelector('#policy li[data-rule="length"][data-ok="false"]')`)
	b.click("#create")
	b.waitText("the inline password error", "#password-error", "does not meet the rules")
	if got := b.eval(`document.querySelector("#password").getAttribute("aria-invalid") + " " + (document.activeElement && document.activeElement.id)`); got != "true password" {
		t.Errorf("after the refusal: aria-invalid and focus are %q, want \"true password\"", got)
	}
	b.shot("02-weak-password")

	// Generate a password: it must pass the server's own rule.
	b.click("#generate")
	b.waitFor("all rules met", `document.querySelectorAll('#policy li[data-ok="true"]').length === 3`)
	password := b.eval(`document.querySelector("#password").value`)
	if p := session.PasswordProblem(password, session.DefaultUsername); p != "" {
		t.Fatalf("generated password %q fails the server's policy: %s", password, p)
	}
	if got := b.eval(`document.querySelector("#password").type`); got != "text" {
		t.Errorf("a generated password is not shown (type %q)", got)
	}
	b.shot("03-form-ready")

	since := time.Now()
	b.click("#create")
	b.waitFor("the security code", `document.querySelector("#security-code")`)
	code := b.text("#security-code")
	if !codeShape.MatchString(code) {
		t.Fatalf("security code on the page is %q, want 123-456-789", code)
	}
	if got := b.text("#secret-password"); got != password {
		t.Errorf("the page shows the password %q, want %q", got, password)
	}
	b.waitFor("step mail sent", `document.querySelector('#steps li[data-step="mail"][data-state="done"]')`)
	if got := b.text(`#steps li[data-step="mail"]`); !strings.Contains(got, user) {
		t.Errorf("mail step says %q", got)
	}
	if !strings.Contains(b.pageText(), "not shown again") {
		t.Errorf("no warning that the secrets are shown once")
	}
	for name, secret := range map[string]string{"password": password, "code": code, "code digits": strings.ReplaceAll(code, "-", "")} {
		if b.storageHolds(secret) {
			t.Errorf("the %s is in the URL or in browser storage", name)
		}
	}
	b.shot("04-invited")

	token := inviteToken(t, st, user, since)
	ctx := t.Context()
	if _, err := app.Hello(ctx, protocol.HelloRequest{
		InviteToken: token, Platform: protocol.PlatformWindows, OSVersion: windows, Hostname: hostname,
		AgentVersion: "1.0.0", MachineID: "machine-" + hostname,
	}); err != nil {
		t.Fatalf("hello: %v", err)
	}
	b.waitFor("app started", `document.querySelector('#steps li[data-step="app"][data-state="done"]')`)
	if got := b.text(`#steps li[data-step="app"]`); !strings.Contains(got, "App started on "+hostname) {
		t.Errorf("app step says %q", got)
	}
	b.waitFor("waiting for the code", `document.querySelector('#steps li[data-step="active"][data-state="current"]')`)
	b.shot("05-app-started")

	paired, err := app.Pair(ctx, protocol.PairRequest{
		InviteToken: token, SecurityCode: code, Platform: protocol.PlatformWindows, OSVersion: windows,
		Hostname: hostname, AgentVersion: "1.0.0", MachineID: "machine-" + hostname, Nonce: "nonce-00000000000000000000000001",
	})
	if err != nil {
		t.Fatalf("pair with the code read from the page: %v", err)
	}
	if string(paired.Account.Password) != password {
		t.Errorf("the app received another password than the page showed")
	}
	b.waitFor("active", `document.querySelector('#steps li[data-step="active"][data-state="done"]')`)
	if got := b.text(`#steps li[data-step="active"]`); !strings.Contains(got, "Active until") {
		t.Errorf("active step says %q", got)
	}
	b.waitFor("the End session button", `document.querySelector("#prepared-end")`)
	b.shot("06-active")

	// The computer group lists the PC, with the time left counting down.
	b.click("#nav-computers")
	row := fmt.Sprintf(`#computers-table tr[data-session=%q]`, paired.SessionID)
	b.waitFor("the computer in the group", fmt.Sprintf(`document.querySelector(%q)`, row))
	rowText := b.text(row)
	for _, want := range []string{hostname, windows, tech, "Online"} {
		if !strings.Contains(rowText, want) {
			t.Errorf("computer row %q lacks %q", rowText, want)
		}
	}
	if got := b.text("#group-title"); got != "Ad-hoc support sessions" {
		t.Errorf("group heading %q", got)
	}
	left := fmt.Sprintf(`document.querySelector('%s [data-left]').textContent`, row)
	first := b.eval(left)
	if !regexp.MustCompile(`^2[34]:\d\d:\d\d$`).MatchString(first) {
		t.Errorf("time left %q, want about 24 h", first)
	}
	b.waitFor("the countdown to tick", fmt.Sprintf(`%s !== %q`, left, first))
	if got := b.text("#invites"); !strings.Contains(got, "no open invitation") {
		t.Errorf("an active session is listed as an open invitation: %q", got)
	}
	b.shot("07-computers")

	b.click(fmt.Sprintf(`button[data-end=%q]`, paired.SessionID))
	b.waitFor("the confirmation", `document.querySelector("dialog.confirm[open]")`)
	if got := b.eval(`document.activeElement.id`); got != "confirm-no" {
		t.Errorf("the confirmation focuses %q, want the safe answer", got)
	}
	b.shot("08-confirm-end")
	b.click("#confirm-yes")
	b.waitFor("the computer to go", fmt.Sprintf(`!document.querySelector(%q) && document.querySelector("#no-computers")`, row))
	b.shot("09-ended")
	poll, err := app.Poll(ctx, paired.AgentToken)
	if err != nil || poll.Status != protocol.StatusEnded {
		t.Errorf("after End session the app's poll answers %+v, %v; want ended", poll, err)
	}

	// The audit view tells the whole story.
	b.do("open the session", chromedp.Navigate(st.URL+"/#/sessions/"+paired.SessionID))
	b.waitFor("the audit log", `document.querySelector("#audit-table")`)
	b.waitFor("the end in the audit log", `document.querySelector('#audit-table tr[data-action="ended"]')`)
	actions := b.eval(`[...document.querySelectorAll("#audit-table tbody tr")].map(r => r.dataset.action).join(" ")`)
	for _, want := range []string{"invited", "app_started", "active", "ended"} {
		if !slices.Contains(strings.Fields(actions), want) {
			t.Errorf("audit actions %q lack %q", actions, want)
		}
	}
	if got := b.text("#session-status"); got != "Ended" {
		t.Errorf("session status %q", got)
	}
	b.shot("10-audit")

	// The slot is back.
	b.click("#nav-account")
	b.waitText("the account", "#account-slots", "0 of 5 in use (5 free)")
	if got := b.text("#account-cap"); !strings.Contains(got, "0 of at most 5") {
		t.Errorf("cap shows %q", got)
	}
	b.shot("11-account")

	// A narrow window: no horizontal scrolling, tables become cards.
	b.do("narrow window", chromedp.EmulateViewport(390, 844), chromedp.Navigate(st.URL+"/#/sessions/"+paired.SessionID))
	b.waitFor("the audit log", `document.querySelector("#audit-table")`)
	if got := b.eval(`String(document.documentElement.scrollWidth <= window.innerWidth)`); got != "true" {
		t.Errorf("the narrow page scrolls sideways: scrollWidth %s, width %s", b.eval(`String(document.documentElement.scrollWidth)`), b.eval(`String(window.innerWidth)`))
	}
	b.shot("12-narrow-session")

	// Keyboard: the skip link is the first stop and leads to the content.
	b.do("keyboard", chromedp.EmulateViewport(1280, 800), chromedp.Navigate(st.URL+"/#/adhoc"), chromedp.Reload())
	b.waitFor("the form", `document.querySelector("#adhoc-form")`)
	b.do("tab", chromedp.KeyEvent("\t"))
	if got := b.eval(`document.activeElement.className`); got != "skip" {
		t.Errorf("first Tab stop is %q, want the skip link", got)
	}
	b.do("enter", chromedp.KeyEvent("\r"))
	if got := b.eval(`document.activeElement.id`); got != "main" {
		t.Errorf("the skip link moved the focus to %q", got)
	}
	// Moving to another page puts the focus on its heading, so a screen reader reads it.
	b.click("#nav-account")
	b.waitFor("the account page", `document.querySelector("#account-facts")`)
	if got := b.eval(`document.activeElement.tagName + " " + document.activeElement.textContent`); got != "H1 Account" {
		t.Errorf("after navigation the focus is on %q, want the page heading", got)
	}
}

func TestConsoleRefusals(t *testing.T) {
	st := startStack(t, console.Local, console.Config{})
	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal("rita.tech@example.com", "refusals")

	// The server's own e-mail rule: the browser accepts a@localhost, the server does not.
	b.typeInto("#email", "anna@localhost")
	b.typeInto("#password", "Correct-Horse-42")
	b.click("#create")
	b.waitText("the server's invalid_email", "#email-error", "not valid")

	b.typeInto("#email", "first.user@example.com")
	b.click("#create")
	b.waitFor("the first session", `document.querySelector("#security-code")`)
	firstID := b.eval(`document.querySelector("#prepared-details").getAttribute("href").split("/").pop()`)

	// A reload keeps the local sign-in (sessionStorage) but not the secrets.
	b.do("reload", chromedp.Reload())
	b.waitFor("the form again", `document.querySelector("#adhoc-form")`)
	if b.eval(`String(!!document.querySelector("#security-code"))`) != "false" {
		t.Errorf("the security code is shown again after a reload")
	}
	b.waitFor("the open-session hint", `document.querySelector("#open-session-note a")`)
	b.typeInto("#email", "second.user@example.com")
	b.typeInto("#password", "Correct-Horse-42")
	b.click("#create")
	b.waitFor("session_exists", `document.querySelector('#form-error[data-code="session_exists"]')`)
	if got := b.text("#form-error"); !strings.Contains(got, "You already have an open ad-hoc session") {
		t.Errorf("session_exists says %q", got)
	}
	if href := b.eval(`document.querySelector("#form-error-link").getAttribute("href")`); href != "#/sessions/"+firstID {
		t.Errorf("session_exists links to %q, want the open session %s", href, firstID)
	}
	b.shot("13-session-exists")
	b.click("#form-error-link")
	b.waitText("the open session", "#session-facts", "first.user@example.com")

	// The open invitation is on the Computers page, with Cancel.
	b.click("#nav-computers")
	invite := fmt.Sprintf(`#invites-list li[data-session=%q]`, firstID)
	b.waitFor("the open invitation", fmt.Sprintf(`document.querySelector(%q)`, invite))
	if got := b.text(invite); !strings.Contains(got, "Invitation for first.user@example.com") {
		t.Errorf("open invitation says %q", got)
	}
	b.shot("14-open-invitation")
	b.click(fmt.Sprintf(`button[data-cancel=%q]`, firstID))
	b.waitFor("the confirmation", `document.querySelector("dialog.confirm[open]")`)
	b.click("#confirm-yes")
	b.waitFor("the invitation to go", `document.querySelector("#no-invites")`)
	b.shot("15-invitation-cancelled")

	// A second technician of the same account, after the slots were set to 0 on the Account
	// page (the local dev route).
	b.click("#sign-out")
	b.signInLocal("sam.tech@example.com", "refusals")
	b.click("#nav-account")
	b.waitFor("the limits form", `document.querySelector("#limits-form")`)
	b.typeInto("#limits-slots", "0")
	b.click("#limits-save")
	b.waitText("the new limits", "#account-slots", "of 0 in use")
	b.shot("16-account-no-slots")
	b.click("#nav-adhoc")
	b.waitFor("the form", `document.querySelector("#adhoc-form")`)
	b.typeInto("#email", "third.user@example.com")
	b.typeInto("#password", "Correct-Horse-42")
	b.click("#create")
	b.waitFor("no_free_slot", `document.querySelector('#form-error[data-code="no_free_slot"]')`)
	if got := b.text("#form-error"); !strings.Contains(got, "All licensed slots of your account are in use") {
		t.Errorf("no_free_slot says %q", got)
	}
	if href := b.eval(`document.querySelector("#form-error-link").getAttribute("href")`); href != "#/computers" {
		t.Errorf("no_free_slot links to %q", href)
	}
	b.shot("17-no-free-slot")

	// The same refusal in German, after switching the language: the typed values stay.
	b.do("switch to German", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#lang"); s.value = "de"; s.dispatchEvent(new Event("change")); })()`))
	b.waitText("German heading", "h1", "Ad-hoc-Support")
	if got := b.eval(`document.querySelector("#email").value`); got != "third.user@example.com" {
		t.Errorf("the language switch lost the e-mail address: %q", got)
	}
	b.click("#create")
	b.waitText("German no_free_slot", "#form-error", "Alle lizenzierten Plätze Ihres Kontos sind belegt")
	b.shot("18-no-free-slot-de")
}

func TestConsoleGerman(t *testing.T) {
	// A deployment with 2-hour sessions: the page says so, not "24 hours".
	st := startStack(t, console.Local, console.Config{SessionTTL: 2 * time.Hour})
	b := newBrowser(t, browserOptions{acceptLanguage: "de-DE,de;q=0.9"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.waitFor("the sign-in form", `document.querySelector("#signin-form")`)
	texts := []struct{ sel, want string }{
		{"h1", "Anmelden"},
		{"#mode-banner", "Lokaler Modus"},
		{"#signin-submit", "Anmelden"},
	}
	for _, tc := range texts {
		if got := b.text(tc.sel); !strings.Contains(got, tc.want) {
			t.Errorf("%s says %q, want %q (browser language German)", tc.sel, got, tc.want)
		}
	}
	if got := b.eval(`document.documentElement.lang`); got != "de" {
		t.Errorf("html lang %q", got)
	}
	b.signInLocal("greta.tech@example.com", "german")
	for _, tc := range []struct{ sel, want string }{
		{"h1", "Ad-hoc-Support"},
		{"#create", "E-Mail senden und Sitzung vorbereiten"},
		{"#generate", "Erzeugen"},
		{"#nav-computers", "Computer"},
		{"#nav-account", "Konto"},
		{".intro", "erreichen Sie den PC 2 Stunden lang"},
		{`label[for="email"]`, "E-Mail-Adresse des Benutzers"},
		{`#policy li[data-rule="length"]`, "Mindestens 12 Zeichen"},
	} {
		if got := b.text(tc.sel); !strings.Contains(got, tc.want) {
			t.Errorf("%s says %q, want %q", tc.sel, got, tc.want)
		}
	}
	if got := b.eval(`document.querySelector("input[name=locale]:checked").value`); got != "de" {
		t.Errorf("the mail language defaults to %q, want de", got)
	}
	b.typeInto("#email", "kurt.user@example.com")
	b.click("#generate")
	since := time.Now()
	b.click("#create")
	b.waitFor("the security code", `document.querySelector("#security-code")`)
	for _, want := range []string{"Sicherheitscode", "Notieren Sie ihn jetzt: Er wird nicht noch einmal angezeigt.", "E-Mail an kurt.user@example.com gesendet"} {
		if !strings.Contains(b.pageText(), want) {
			t.Errorf("the German page lacks %q", want)
		}
	}
	b.shot("19-invited-de")
	// The mail went out in German, as chosen by default.
	if m := testenv.WaitMail(t, st.SESURL, "kurt.user@example.com", since); !strings.Contains(m.Subject, "Fernwartungssitzung") {
		t.Errorf("the mail subject %q is not German", m.Subject)
	}

	// The switch back to English.
	b.do("switch to English", chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector("#lang"); s.value = "en"; s.dispatchEvent(new Event("change")); })()`))
	b.waitText("English heading", "h1", "Ad-hoc support")
	if got := b.text("#prepared-title"); !strings.Contains(got, "Session prepared for kurt.user@example.com") {
		t.Errorf("after switching back: %q", got)
	}
	if got := b.eval(`document.activeElement.id`); got != "lang" {
		t.Errorf("the language switch lost the focus to %q", got)
	}
}

// TestPasswordPolicyMatchesServer runs the console's live policy and the server's rule
// on the same passwords.
func TestPasswordPolicyMatchesServer(t *testing.T) {
	h := console.Handler(console.Local, console.Config{})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	b := newBrowser(t, browserOptions{})
	b.do("open", chromedp.Navigate(srv.URL+"/"))
	b.waitFor("the module", `document.querySelector("#app")`)
	cases := []string{
		"", "short1A!", "elevenChar1", "twelveChars1", "Twelve chars", "alllowercase12", "ALLUPPER1234",
		"lower-and-1234", "NoDigitsHere!", "Abcdefghijk1", "abc123!@#xyz", "Ab1" + strings.Repeat("x", 124),
		"Ab1" + strings.Repeat("x", 125), "Ab1-" + strings.Repeat("ü", 62), "ÄÖÜäöü123456", "Пароль12345!",
		"xxAdHocRemoteUser1!", "xxadhocremoteuser1!", "Tab\there12345", "Ctrl\u0085char123A", "密码密码密码密码12Ab",
		"  spaces 12A ", "1234567890ab", "1234567890AB", "1234567890a!",
	}
	in, _ := json.Marshal(cases)
	got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`(async () => {
		const m = await import("/console/password.js");
		const generated = Array.from({length: 40}, () => m.generatePassword("AdHocRemoteUser"));
		return JSON.stringify({ok: %s.map(p => m.checkPassword(p, "AdHocRemoteUser").ok), generated});
	})()`, in), chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("run the console's password module: %v", err)
	}
	var res struct {
		OK        []bool
		Generated []string
	}
	if err := json.Unmarshal([]byte(got), &res); err != nil {
		t.Fatalf("decode %s: %v", got, err)
	}
	for i, pw := range cases {
		server := session.PasswordProblem(pw, session.DefaultUsername)
		if res.OK[i] != (server == "") {
			t.Errorf("%q: console says ok=%v, server says %q", pw, res.OK[i], server)
		}
	}
	seen := map[string]bool{}
	for _, pw := range res.Generated {
		if p := session.PasswordProblem(pw, session.DefaultUsername); p != "" {
			t.Errorf("generated %q fails the server's policy: %s", pw, p)
		}
		if len(pw) != 16 || strings.ContainsAny(pw, "0O1lIyYzZ\"' ") {
			t.Errorf("generated %q: want 16 unambiguous characters", pw)
		}
		seen[pw] = true
	}
	if len(seen) != len(res.Generated) {
		t.Errorf("generated passwords repeat: %d distinct of %d", len(seen), len(res.Generated))
	}
}

// TestContentSecurityPolicyEnforced checks in the browser that the console's policy
// holds: no connection to another origin, no inline script, and that the test harness
// notices such violations.
func TestContentSecurityPolicyEnforced(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write([]byte("reachable"))
	}))
	t.Cleanup(other.Close)
	// A live channel on another port, named in the config as cmd/adhoc-local does.
	liveSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		_ = ws.Close(websocket.StatusNormalClosure, "")
	}))
	t.Cleanup(liveSrv.Close)
	livePort := liveSrv.Listener.Addr().(*net.TCPAddr).Port
	srv := httptest.NewServer(console.Handler(console.Local, console.Config{LiveURL: fmt.Sprintf("ws://localhost:%d/live", livePort)}))
	t.Cleanup(srv.Close)
	b := newBrowser(t, browserOptions{})
	b.do("open", chromedp.Navigate(srv.URL+"/"))
	b.waitFor("the sign-in form", `document.querySelector("#signin-form")`)

	fetched, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(
		`fetch(%q).then(r => r.text(), () => "blocked")`, other.URL), chromedp.EvalAwaitPromise))
	if err != nil || fetched != "blocked" {
		t.Errorf("fetch to another origin: %q, %v; want blocked", fetched, err)
	}
	// WebSockets: to the live channel's origin only. The same server under another name
	// (127.0.0.1 is not localhost to the CSP) is refused.
	for _, tc := range []struct{ url, want string }{
		{fmt.Sprintf("ws://localhost:%d/live", livePort), "open"},
		{fmt.Sprintf("ws://127.0.0.1:%d/live", livePort), "blocked"},
	} {
		got, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](fmt.Sprintf(`new Promise((resolve) => {
			try {
				const ws = new WebSocket(%q);
				ws.onopen = () => { ws.close(); resolve("open"); };
				ws.onerror = () => resolve("blocked");
			} catch (e) { resolve("blocked"); }
		})`, tc.url), chromedp.EvalAwaitPromise))
		if err != nil || got != tc.want {
			t.Errorf("WebSocket to %s: %q, %v; want %s", tc.url, got, err, tc.want)
		}
	}
	// Trusted Types refuse the assignment; the CSP would refuse the inline script anyway.
	injected := b.eval(`(() => {
		try {
			const s = document.createElement("script");
			s.textContent = "window.injected = true";
			document.body.append(s);
		} catch (e) { return "refused: " + e.name; }
		return window.injected ? "ran" : "did not run";
	})()`)
	if !strings.HasPrefix(injected, "refused") {
		t.Errorf("inline script: %s; want it refused by Trusted Types", injected)
	}
	deadline := time.Now().Add(5 * time.Second)
	var reported []string
	for time.Now().Before(deadline) && !slices.ContainsFunc(reported, func(p string) bool { return strings.Contains(p, "connect-src") }) {
		time.Sleep(100 * time.Millisecond)
		reported = append(reported, b.takeProblems()...)
	}
	if !slices.ContainsFunc(reported, func(p string) bool { return strings.Contains(p, "connect-src") }) {
		t.Errorf("the browser reported no connect-src violation; got %q", reported)
	}
}

// cognitoStub is the part of the Cognito hosted UI the console uses: /oauth2/authorize
// (answers at once with a code), /oauth2/token (checks PKCE, hands out an ID token from
// the local issuer, which the local gateway accepts) and /logout.
type cognitoStub struct {
	t        *testing.T
	clientID string
	issue    func() (string, error)

	mu          sync.Mutex
	challenges  map[string]string // code → challenge
	redirectURI string
	exchanged   int
	loggedOut   int
}

func (c *cognitoStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := r.URL.Query()
	switch r.URL.Path {
	case "/oauth2/authorize":
		if q.Get("response_type") != "code" || q.Get("client_id") != c.clientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || !strings.Contains(q.Get("scope"), "openid") || q.Get("redirect_uri") != c.redirectURI {
			c.t.Errorf("authorize request %v", q)
			http.Error(w, "bad authorize request", http.StatusBadRequest)
			return
		}
		code := fmt.Sprintf("code-%d", len(c.challenges)+1)
		c.challenges[code] = q.Get("code_challenge")
		http.Redirect(w, r, c.redirectURI+"?"+url.Values{"code": {code}, "state": {q.Get("state")}}.Encode(), http.StatusFound)
	case "/oauth2/token":
		origin := strings.TrimSuffix(c.redirectURI, "/")
		w.Header().Set("Access-Control-Allow-Origin", origin)
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad token request", http.StatusBadRequest)
			return
		}
		f := r.PostForm
		challenge, ok := c.challenges[f.Get("code")]
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		if !ok || f.Get("grant_type") != "authorization_code" || f.Get("client_id") != c.clientID ||
			f.Get("redirect_uri") != c.redirectURI || base64.RawURLEncoding.EncodeToString(sum[:]) != challenge {
			c.t.Errorf("token request does not prove the code: %v", f)
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		delete(c.challenges, f.Get("code")) // single use
		tok, err := c.issue()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c.exchanged++
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"id_token": tok, "access_token": "unused", "token_type": "Bearer", "expires_in": 3600})
	case "/logout":
		if q.Get("client_id") != c.clientID || q.Get("logout_uri") != c.redirectURI {
			c.t.Errorf("logout request %v", q)
		}
		c.loggedOut++
		http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

// TestConsoleAWSSignIn goes through the hosted UI sign-in (authorization code + PKCE)
// against a stand-in for Cognito, with the console in AWS mode in front of the real API.
func TestConsoleAWSSignIn(t *testing.T) {
	stub := &cognitoStub{t: t, clientID: "console-client", challenges: map[string]string{}}
	cognito := httptest.NewServer(stub)
	t.Cleanup(cognito.Close)
	st := startStack(t, console.AWS, console.Config{CognitoDomain: cognito.URL, ClientID: stub.clientID})
	stub.mu.Lock()
	stub.redirectURI = st.URL + "/"
	stub.issue = func() (string, error) {
		return st.Issuer.Issue(gateway.DevUser{Email: "carla.cloud@example.com", Account: "cloud", Name: "Carla"})
	}
	stub.mu.Unlock()

	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/#/computers"))
	b.waitFor("the hosted sign-in button", `document.querySelector("#signin-hosted")`)
	if b.eval(`String(!!document.querySelector("#mode-banner"))`) != "false" {
		t.Errorf("AWS mode shows the local-mode banner")
	}
	b.shot("20-aws-signin")
	b.click("#signin-hosted")
	// Back from the hosted UI on the page asked for, signed in, the code gone from the URL.
	b.waitFor("signed in", `document.querySelector("#who") && document.querySelector("#group-title")`)
	if got := b.text("#who"); !strings.Contains(got, "carla.cloud@example.com") {
		t.Errorf("signed in as %q", got)
	}
	b.waitFor("the API answered", `document.querySelector("#no-computers")`)
	if href := b.eval(`location.href`); href != st.URL+"/#/computers" {
		t.Errorf("after sign-in the address is %q", href)
	}
	if keys := b.eval(`JSON.stringify(Object.keys(sessionStorage).concat(Object.keys(localStorage)))`); keys != "[]" {
		t.Errorf("AWS mode keeps something in browser storage: %s", keys)
	}
	stub.mu.Lock()
	if stub.exchanged != 1 {
		t.Errorf("token exchanges: %d, want 1", stub.exchanged)
	}
	stub.mu.Unlock()

	// Tokens are in memory only: a reload asks to sign in again.
	b.do("reload", chromedp.Reload())
	b.waitFor("the hosted sign-in button again", `document.querySelector("#signin-hosted")`)

	b.click("#signin-hosted")
	b.waitFor("signed in again", `document.querySelector("#sign-out")`)
	b.click("#sign-out")
	b.waitFor("signed out", `document.querySelector("#signin-hosted")`)
	stub.mu.Lock()
	if stub.loggedOut != 1 {
		t.Errorf("hosted UI logouts: %d, want 1", stub.loggedOut)
	}
	stub.mu.Unlock()
}

// --- live channel -------------------------------------------------------------------------

// The console's polling intervals (page.js): the live tests watch longer than these to show
// that no timer fired.
const (
	setUpPoll = 2500 * time.Millisecond
	listPoll  = 5000 * time.Millisecond
)

// gatewayLog sees every request that reaches the gateway (devstack.Options.Wrap), so that
// the tests can count the console's polls. It can hold ticket requests back, as a slow
// network would, and refuse WebSocket handshakes, as some proxies do.
type gatewayLog struct {
	mu         sync.Mutex
	seen       []seenRequest
	hold       chan struct{} // while set, POST /v1/live/tickets waits for it to close
	refuseLive bool
}

type seenRequest struct {
	method, path string
	at           time.Time
}

func (g *gatewayLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.seen = append(g.seen, seenRequest{r.Method, r.URL.Path, time.Now()})
		hold, refuse := g.hold, g.refuseLive
		g.mu.Unlock()
		if refuse && r.URL.Path == gateway.PathLive {
			http.Error(w, "WebSockets are blocked here.", http.StatusForbidden)
			return
		}
		if hold != nil && r.Method == http.MethodPost && r.URL.Path == "/v1/live/tickets" {
			select {
			case <-hold:
			case <-r.Context().Done():
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// since lists the requests of method to path that arrived at or after from.
func (g *gatewayLog) since(method, path string, from time.Time) []time.Time {
	g.mu.Lock()
	defer g.mu.Unlock()
	var at []time.Time
	for _, r := range g.seen {
		if r.method == method && r.path == path && !r.at.Before(from) {
			at = append(at, r.at)
		}
	}
	return at
}

func (g *gatewayLog) count(method, path string, from time.Time) int {
	return len(g.since(method, path, from))
}

// waitFirst waits for the first request of method to path at or after from and returns
// when it arrived.
func (g *gatewayLog) waitFirst(t *testing.T, method, path string, from time.Time) time.Time {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if at := g.since(method, path, from); len(at) > 0 {
			return at[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s %s reached the gateway within 10 s", method, path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdTickets makes ticket requests wait until release is called.
func (g *gatewayLog) holdTickets() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.hold = ch
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.hold = nil
		g.mu.Unlock()
		close(ch)
	}
}

// stamp notes in the page the moment cond first holds (Date.now()), checking after every
// change of the DOM, so that a test can tell how fast a change showed without polling the
// page itself.
func (b *browser) stamp(name, cond string) {
	b.t.Helper()
	n, _ := json.Marshal(name)
	b.do("watch for "+name, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
		const stamps = window.testStamps = window.testStamps || {};
		const check = () => { if (!(%[1]s in stamps) && (%[2]s)) stamps[%[1]s] = Date.now(); };
		new MutationObserver(check).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
		check();
	})()`, n, cond)))
}

// stamped waits up to limit after start for the stamp and returns how long after start it
// was taken.
func (b *browser) stamped(name string, start time.Time, limit time.Duration) time.Duration {
	b.t.Helper()
	n, _ := json.Marshal(name)
	for {
		ms, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](fmt.Sprintf(`(window.testStamps || {})[%s] || 0`, n)))
		if err != nil {
			b.t.Fatalf("read the stamp %s: %v", name, err)
		}
		if ms > 0 {
			d := time.UnixMilli(int64(ms)).Sub(start)
			if d > limit {
				b.t.Errorf("%s showed %s after the change, want within %s", name, d.Round(time.Millisecond), limit)
			}
			return d
		}
		if time.Since(start) > limit+time.Second {
			b.t.Fatalf("%s did not show within %s\npage text:\n%s", name, limit, b.pageText())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// techAPI calls the technician API with a token, as another console or a script would.
func techAPI(t *testing.T, st *devstack.Stack, token, method, path string, body any) map[string]any {
	t.Helper()
	var in io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		in = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, st.URL+path, in)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	out := map[string]any{}
	_ = json.NewDecoder(res.Body).Decode(&out)
	if res.StatusCode > 299 {
		t.Fatalf("%s %s: %s %v", method, path, res.Status, out)
	}
	return out
}

func techToken(t *testing.T, st *devstack.Stack, u gateway.DevUser) string {
	t.Helper()
	tok, err := st.Issuer.Issue(u)
	if err != nil {
		t.Fatalf("token for %s: %v", u.Email, err)
	}
	return tok
}

// prepareOnPage makes an invitation through the Ad-hoc support page and returns its id,
// the security code shown and the invite token from the mail.
func prepareOnPage(t *testing.T, b *browser, st *devstack.Stack, user string) (id, code, invite string) {
	t.Helper()
	b.typeInto("#email", user)
	b.click("#generate")
	since := time.Now()
	b.click("#create")
	b.waitFor("the security code", `document.querySelector("#security-code")`)
	id = b.eval(`document.querySelector("#prepared-details").getAttribute("href").split("/").pop()`)
	return id, b.text("#security-code"), inviteToken(t, st, user, since)
}

// wrongCode is a security code of the right shape that is not code.
func wrongCode(code string) string {
	last := code[len(code)-1]
	return code[:len(code)-1] + string(rune('0'+(last-'0'+1)%10))
}

// setUpSteps plays the app through hello, a wrong code and pairing, and returns how long
// after each call began the set-up page showed it, failing if that took longer than limit.
func setUpSteps(t *testing.T, b *browser, st *devstack.Stack, invite, code string, limit time.Duration) map[string]time.Duration {
	t.Helper()
	app := protocol.NewClient(st.URL, nil)
	const host = "PC-LIVE-1"
	hello := protocol.HelloRequest{InviteToken: invite, Platform: protocol.PlatformWindows, OSVersion: "Windows 11 Pro 24H2",
		Hostname: host, AgentVersion: "1.0.0", MachineID: "machine-live-1"}
	pair := func(code, nonce string) error {
		_, err := app.Pair(t.Context(), protocol.PairRequest{InviteToken: invite, SecurityCode: code, Platform: hello.Platform,
			OSVersion: hello.OSVersion, Hostname: host, AgentVersion: hello.AgentVersion, MachineID: hello.MachineID, Nonce: nonce})
		return err
	}
	steps := []struct {
		name, cond string
		act        func() error
	}{
		{"app started", `document.querySelector('#steps li[data-step="app"][data-state="done"]')`, func() error {
			_, err := app.Hello(t.Context(), hello)
			return err
		}},
		{"wrong code", `(document.querySelector("#prepared-warn") || {textContent: ""}).textContent.includes("4 tries left")`, func() error {
			if err := pair(wrongCode(code), "nonce-wrong-000000000000000000001"); protocol.ProblemCode(err) != protocol.CodeInvalidCode {
				return fmt.Errorf("a wrong code answered %v, want %s", err, protocol.CodeInvalidCode)
			}
			return nil
		}},
		{"active", `document.querySelector('#steps li[data-step="active"][data-state="done"]')`, func() error {
			return pair(code, "nonce-right-000000000000000000001")
		}},
	}
	took := map[string]time.Duration{}
	for _, s := range steps {
		b.stamp(s.name, s.cond)
		start := time.Now()
		if err := s.act(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		took[s.name] = b.stamped(s.name, start, limit)
	}
	return took
}

func fmtTook(took map[string]time.Duration) string {
	var parts []string
	for _, k := range []string{"app started", "wrong code", "active"} {
		parts = append(parts, fmt.Sprintf("%s %s", k, took[k].Round(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// TestConsoleLiveSetUp follows a set-up on the page through pushes alone: no request for
// the session reaches the gateway after the page's first load, for longer than the
// page's polling interval.
func TestConsoleLiveSetUp(t *testing.T) {
	reqs := &gatewayLog{}
	st := startStack(t, console.Local, console.Config{}, stackOptions{wrap: reqs.wrap})
	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal("lena.live@example.com", "live")
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	if got := b.eval(`document.querySelector("#live-state").getAttribute("aria-label")`); !strings.Contains(got, "Live updates") {
		t.Errorf("the live badge is named %q", got)
	}
	b.shot("21-live")

	start := time.Now()
	id, code, invite := prepareOnPage(t, b, st, "ulla.user@example.com")
	sessionPath := "/v1/sessions/" + id
	firstLoad := reqs.waitFirst(t, http.MethodGet, sessionPath, start)
	took := setUpSteps(t, b, st, invite, code, time.Second)
	t.Logf("set-up page, push to DOM (from the app's call): %s", fmtTook(took))
	b.shot("22-live-active")

	// Watch for longer than the polling interval: a timer still running would have asked.
	time.Sleep(time.Until(firstLoad.Add(setUpPoll + 500*time.Millisecond)))
	if n := reqs.count(http.MethodGet, sessionPath, firstLoad); n != 1 {
		t.Errorf("%d requests for the session reached the gateway, want only the page's first load: %v", n, reqs.since(http.MethodGet, sessionPath, firstLoad))
	}
	if got := b.eval(`document.querySelector("#live-state").dataset.state`); got != "live" {
		t.Errorf("the live badge says %q after the set-up", got)
	}
	if n := b.receivedOf(protocol.TypeSession); n < 3 {
		t.Errorf("the page received %d session messages, want one per step at least", n)
	}
	// The keep-alive: a ping goes out and its pong comes back (both checked against
	// api/asyncapi.yaml as every frame is).
	sent, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`import("/console/live.js").then((m) => m.ping())`, chromedp.EvalAwaitPromise))
	if err != nil || !sent {
		t.Errorf("ping() = %v, %v with the connection open", sent, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.receivedOf(protocol.TypePong) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if b.receivedOf(protocol.TypePong) == 0 {
		t.Errorf("no pong came back to the page's ping")
	}

	// The session page follows too: ended through the API, it shows so; only the audit log
	// is read again.
	b.click("#prepared-details")
	pageStart := time.Now()
	b.waitText("the session page", "#session-status", "Active")
	sessionLoad := reqs.waitFirst(t, http.MethodGet, sessionPath, pageStart)
	// While the session is active a running timer would poll it (it stops once it is over).
	time.Sleep(time.Until(sessionLoad.Add(setUpPoll + 500*time.Millisecond)))
	b.stamp("ended", `document.querySelector('#session-status[data-status="ended"]') && document.querySelector('#audit-table tr[data-action="ended"]')`)
	tok := techToken(t, st, gateway.DevUser{Email: "lena.live@example.com", Account: "live"})
	endAt := time.Now()
	techAPI(t, st, tok, http.MethodDelete, sessionPath, nil)
	t.Logf("session page, push to DOM (from DELETE): ended %s", b.stamped("ended", endAt, time.Second).Round(time.Millisecond))
	if n := reqs.count(http.MethodGet, sessionPath, sessionLoad); n != 1 {
		t.Errorf("%d requests for the session reached the gateway from the session page, want only its first load", n)
	}
	if n := reqs.count(http.MethodGet, sessionPath+"/audit", sessionLoad); n < 2 {
		t.Errorf("the audit log was read %d times, want the first load and once after the push", n)
	}
	b.shot("23-live-session-ended")
}

// TestConsolePollsWithoutLive: without a live channel the same set-up completes by polling.
func TestConsolePollsWithoutLive(t *testing.T) {
	tests := []struct {
		name    string
		noLive  bool // the deployment has none: the ticket route answers 404
		refuse  bool // a proxy refuses the WebSocket handshake
		tickets func(n int) bool
	}{
		{"no live channel", true, false, func(n int) bool { return n == 1 }},    // asked once, never again
		{"WebSockets refused", false, true, func(n int) bool { return n >= 2 }}, // tried again later
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reqs := &gatewayLog{refuseLive: tc.refuse}
			st := startStack(t, console.Local, console.Config{}, stackOptions{wrap: reqs.wrap, noLive: tc.noLive})
			b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
			start := time.Now()
			b.do("open the console", chromedp.Navigate(st.URL+"/"))
			b.signInLocal("paul.poll@example.com", "polling")
			b.waitFor("the polling badge", `document.querySelector('#live-state[data-state="polling"]')`)
			if got := b.text("#live-state"); got != "Updates every few seconds" {
				t.Errorf("the badge says %q", got)
			}
			id, code, invite := prepareOnPage(t, b, st, "pia.user@example.com")
			sessionPath := "/v1/sessions/" + id
			firstLoad := reqs.waitFirst(t, http.MethodGet, sessionPath, start)
			took := setUpSteps(t, b, st, invite, code, 2*setUpPoll)
			t.Logf("set-up page by polling (from the app's call): %s", fmtTook(took))
			if n := reqs.count(http.MethodGet, sessionPath, firstLoad); n < 4 {
				t.Errorf("%d requests for the session, want the first load and a poll for each step", n)
			}
			if n := reqs.count(http.MethodPost, "/v1/live/tickets", start); !tc.tickets(n) {
				t.Errorf("%d ticket requests", n)
			}
			// Chromium reports the refused handshakes on its console; they are the point here.
			for _, p := range b.takeProblems() {
				if !(tc.refuse && strings.Contains(p, "WebSocket connection to")) {
					b.problem(p)
				}
			}
		})
	}
}

// TestConsoleLiveComputers: the Computers page changes on pushes, its 5 s timer stopped.
func TestConsoleLiveComputers(t *testing.T) {
	reqs := &gatewayLog{}
	st := startStack(t, console.Local, console.Config{}, stackOptions{wrap: reqs.wrap})
	ctx := t.Context()

	// A colleague's active session, which the administrator sees.
	tom := techToken(t, st, gateway.DevUser{Email: "tom.tech@example.com", Account: "fleet"})
	since := time.Now()
	inv := techAPI(t, st, tom, http.MethodPost, "/v1/sessions", map[string]string{"email": "otto.user@example.com", "password": "Correct-Horse-42", "locale": "en"})
	tomID, _ := inv["id"].(string)
	invite := inviteToken(t, st, "otto.user@example.com", since)
	app := protocol.NewClient(st.URL, nil)
	if _, err := app.Pair(ctx, protocol.PairRequest{InviteToken: invite, SecurityCode: inv["securityCode"].(string), Platform: protocol.PlatformWindows,
		OSVersion: "Windows 10 Pro 22H2", Hostname: "PC-OTTO", AgentVersion: "1.0.0", MachineID: "machine-otto", Nonce: "nonce-otto-0000000000000000000001"}); err != nil {
		t.Fatalf("pair: %v", err)
	}

	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.waitFor("the sign-in form", `document.querySelector("#signin-form")`)
	b.click("#signin-admin")
	b.signInLocal("ada.admin@example.com", "fleet")
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	pageStart := time.Now()
	b.click("#nav-computers")
	row := fmt.Sprintf(`#computers-table tr[data-session=%q]`, tomID)
	b.waitFor("the colleague's computer", fmt.Sprintf(`document.querySelector(%q)`, row))
	firstLoad := reqs.waitFirst(t, http.MethodGet, "/v1/computers", pageStart)

	// Longer than the list's polling interval, and nothing changes: no request.
	time.Sleep(time.Until(firstLoad.Add(listPoll + 500*time.Millisecond)))
	if n := reqs.count(http.MethodGet, "/v1/computers", firstLoad); n != 1 {
		t.Errorf("the Computers page asked %d times while nothing changed, want only its first load", n)
	}

	// The administrator's own invitation, made elsewhere, shows up.
	ada := techToken(t, st, gateway.DevUser{Email: "ada.admin@example.com", Account: "fleet", Admin: true})
	b.stamp("invited", `document.querySelector("#invites-list li")`)
	inviteAt := time.Now()
	adaInv := techAPI(t, st, ada, http.MethodPost, "/v1/sessions", map[string]string{"email": "ida.user@example.com", "password": "Correct-Horse-42", "locale": "en"})
	tookInvite := b.stamped("invited", inviteAt, time.Second)
	if got := b.eval(`document.querySelector("#invites-list li").dataset.session`); got != adaInv["id"] {
		t.Errorf("the invitation listed is %q, want %v", got, adaInv["id"])
	}

	// The colleague's session, ended through the API, leaves the group.
	b.stamp("gone", fmt.Sprintf(`!document.querySelector(%q) && document.querySelector("#no-computers")`, row))
	endAt := time.Now()
	techAPI(t, st, tom, http.MethodDelete, "/v1/sessions/"+tomID, nil)
	tookEnd := b.stamped("gone", endAt, time.Second)
	t.Logf("Computers page, push to DOM: invitation %s, ended %s", tookInvite.Round(time.Millisecond), tookEnd.Round(time.Millisecond))
	b.shot("24-live-computers")
	if got := b.eval(`document.querySelector("#live-state").dataset.state`); got != "live" {
		t.Errorf("the live badge says %q", got)
	}
}

// TestConsoleLiveReconnect: a dropped connection comes back with a new ticket, and what
// changed while it was down shows without a poll.
func TestConsoleLiveReconnect(t *testing.T) {
	reqs := &gatewayLog{}
	st := startStack(t, console.Local, console.Config{}, stackOptions{wrap: reqs.wrap})
	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	start := time.Now()
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal("rudi.reconnect@example.com", "drops")
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	id, code, invite := prepareOnPage(t, b, st, "rosa.user@example.com")
	sessionPath := "/v1/sessions/" + id
	reqs.waitFirst(t, http.MethodGet, sessionPath, start)
	app := protocol.NewClient(st.URL, nil)
	hello := protocol.HelloRequest{InviteToken: invite, Platform: protocol.PlatformWindows, OSVersion: "Windows 11 Pro 24H2",
		Hostname: "PC-ROSA", AgentVersion: "1.0.0", MachineID: "machine-rosa"}
	if _, err := app.Hello(t.Context(), hello); err != nil {
		t.Fatalf("hello: %v", err)
	}
	b.waitFor("app started", `document.querySelector('#steps li[data-step="app"][data-state="done"]')`)

	// The network drops every connection; the page's new ticket is held up for a while.
	tickets := reqs.count(http.MethodPost, "/v1/live/tickets", start)
	release := reqs.holdTickets()
	defer func() {
		if release != nil {
			release()
		}
	}()
	st.Gateway.Live.CloseAll()
	b.waitFor("the page to notice", `document.querySelector('#live-state[data-state="connecting"]')`)
	if got := b.text("#live-state"); got != "Connecting…" {
		t.Errorf("the badge says %q while reconnecting", got)
	}
	deadline := time.Now().Add(5 * time.Second)
	for st.Gateway.Live.Open() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := st.Gateway.Live.Open(); n != 0 {
		t.Fatalf("%d live connections still open after the drop", n)
	}

	// Paired while the console is not connected: no push can reach it.
	dropAt := time.Now()
	if _, err := app.Pair(t.Context(), protocol.PairRequest{InviteToken: invite, SecurityCode: code, Platform: hello.Platform, OSVersion: hello.OSVersion,
		Hostname: hello.Hostname, AgentVersion: hello.AgentVersion, MachineID: hello.MachineID, Nonce: "nonce-rosa-0000000000000000000001"}); err != nil {
		t.Fatalf("pair: %v", err)
	}
	time.Sleep(setUpPoll + 500*time.Millisecond)
	if n := reqs.count(http.MethodPost, "/v1/live/tickets", start); n != tickets+1 {
		t.Errorf("%d ticket requests after the drop, want one waiting (a new ticket for the new connection)", n-tickets)
	}
	if b.eval(`String(!!document.querySelector('#steps li[data-step="active"][data-state="done"]'))`) != "false" {
		t.Fatalf("the page shows the pairing before it reconnected: a poll or a push reached it")
	}
	if n := reqs.count(http.MethodGet, sessionPath, dropAt); n != 0 {
		t.Errorf("the page asked for the session %d times while reconnecting, want none", n)
	}

	// The ticket gets through: the page reconnects and reloads once.
	b.stamp("caught up", `document.querySelector('#steps li[data-step="active"][data-state="done"]')`)
	releaseAt := time.Now()
	release()
	release = nil
	took := b.stamped("caught up", releaseAt, time.Second)
	t.Logf("reconnect and catch-up after the ticket got through: %s", took.Round(time.Millisecond))
	b.waitFor("live again", `document.querySelector('#live-state[data-state="live"]')`)
	if n := st.Gateway.Live.Open(); n != 1 {
		t.Errorf("%d live connections after the reconnect, want 1", n)
	}
	time.Sleep(200 * time.Millisecond)
	if n := reqs.count(http.MethodGet, sessionPath, dropAt); n != 1 {
		t.Errorf("the page read the session %d times after the reconnect, want once", n)
	}
	b.shot("25-live-reconnected")
}
