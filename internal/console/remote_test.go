package console_test

// Browser tests of remote access: headless Chromium runs the console against the real local
// stack (its TURN server too), and the PC is the app's own remote access — agent/remote's
// Manager on a fake PC (agent/remote/fakeremote) — fed from the app's live connection as
// the service feeds it (agent/app/remote.go). The same flow against the real exe under Wine
// is internal/testing/e2e's TestConsoleToWinePC.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// The PC's hidden account, as the fake shell's prompt names it.
const (
	hiddenUser = session.DefaultUsername
	prompt     = `PS C:\Users\` + session.DefaultUsername + `>`
)

// remotePC is the Windows PC of a remote test: the app's live connection with its agent
// token, and the app's remote access behind it.
type remotePC struct {
	t  *testing.T
	pc *fakeremote.PC
	m  *remote.Manager
	// answer is what answers the remote connections: m, or a test's own PC (screen_test.go).
	answer answerer
	ws     atomic.Pointer[websocket.Conn] // the live connection; replaced by goLive
	token  string
	// deaf: remote and signal messages are heard and dropped, as from an app that never
	// answers.
	deaf bool
	// late: the session's end is not passed on to remote access, as from an app that hears
	// of it after the console does.
	late atomic.Bool

	writeMu sync.Mutex
	mu      sync.Mutex
	logs    []string
	remotes []string // the remote messages heard, by remoteId
	reports chan protocol.RemoteEndedRequest
	closed  atomic.Bool
}

// answerer is the PC's remote access as the live connection feeds it: remote.Manager, or
// a test's stand-in for a part of the app not on this branch.
type answerer interface {
	Start(r protocol.LiveRemote)
	Signal(remoteID string, sig protocol.Signal)
	Close(reason string)
}

// activePC makes an active session of the technician with a PC that holds its live
// connection, and returns its id, the hidden account's password and the PC.
func activePC(t *testing.T, st *devstack.Stack, tech gateway.DevUser, user string, deaf bool) (string, string, *remotePC) {
	t.Helper()
	return activePCWith(t, st, tech, user, deaf, nil)
}

// activePCWith is activePC whose remote connections another answerer answers, made with
// the function that sends the app's signals; nil: the app's remote.Manager.
func activePCWith(t *testing.T, st *devstack.Stack, tech gateway.DevUser, user string, deaf bool,
	answer func(signal func(remoteID string, sig protocol.Signal) error) answerer) (string, string, *remotePC) {
	t.Helper()
	tok := techToken(t, st, tech)
	const password = "Correct-Horse-42"
	since := time.Now()
	inv := techAPI(t, st, tok, http.MethodPost, "/v1/sessions", map[string]string{"email": user, "password": password, "locale": "en"})
	invite := inviteToken(t, st, user, since)
	paired, err := protocol.NewClient(st.URL, nil).Pair(t.Context(), protocol.PairRequest{InviteToken: invite, SecurityCode: inv["securityCode"].(string),
		Platform: protocol.PlatformWindows, OSVersion: "Windows 11 Pro 24H2", Hostname: "PC-ANNA-4711", AgentVersion: "1.0.0",
		MachineID: "machine-" + user, Nonce: "nonce-remote-000000000000000000001"})
	if err != nil {
		t.Fatalf("pair: %v", err)
	}
	p := &remotePC{t: t, pc: fakeremote.New(t.TempDir()), token: paired.AgentToken, deaf: deaf, reports: make(chan protocol.RemoteEndedRequest, 8)}
	p.pc.AddAccount(paired.Account.Username, string(paired.Account.Password))
	client := protocol.NewClient(st.URL, nil)
	p.m = remote.New(remote.Config{
		OS:      p.pc,
		Account: paired.Account.Username,
		Signal:  p.signal,
		Ended: func(r protocol.RemoteEndedRequest) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := client.RemoteEnded(ctx, p.token, r); err != nil {
				p.log("report: " + err.Error())
			}
			p.reports <- r
		},
		Log: func(_ remote.Level, msg string) { p.log(msg) },
	})
	p.answer = p.m
	if answer != nil {
		p.answer = answer(p.signal)
	}
	p.goLive(st)
	t.Cleanup(func() {
		p.closed.Store(true)
		p.answer.Close(protocol.RemoteServiceStopped)
		if p.answer != answerer(p.m) {
			p.m.Close(protocol.RemoteServiceStopped)
		}
		_ = p.ws.Load().Close(websocket.StatusNormalClosure, "")
	})
	return paired.SessionID, password, p
}

// goLive opens the app's live connection, as its service does after pairing and after a drop.
func (p *remotePC) goLive(st *devstack.Stack) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.t.Context(), 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, st.LiveURL, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + p.token}}})
	if err != nil {
		p.t.Fatalf("the app's live connection: %v", err)
	}
	ws.SetReadLimit(1 << 20)
	p.ws.Store(ws)
	go p.read(ws)
}

// goOffline closes the app's live connection, as a service that has not opened it yet.
func (p *remotePC) goOffline() {
	_ = p.ws.Load().Close(websocket.StatusNormalClosure, "")
}

func (p *remotePC) log(s string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logs = append(p.logs, s)
}

func (p *remotePC) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.logs, "\n")
}

// read hands the server's messages to remote access, as agent/app does.
func (p *remotePC) read(ws *websocket.Conn) {
	for {
		_, data, err := ws.Read(context.Background())
		if err != nil {
			if !p.closed.Load() && p.ws.Load() == ws {
				p.log("live connection: " + err.Error())
			}
			return
		}
		switch protocol.LiveType(data) {
		case protocol.TypeRemote:
			var m protocol.LiveRemote
			if err := json.Unmarshal(data, &m); err != nil {
				p.log("unreadable remote message")
				continue
			}
			p.mu.Lock()
			p.remotes = append(p.remotes, m.RemoteID)
			p.mu.Unlock()
			if !p.deaf {
				p.answer.Start(m)
			}
		case protocol.TypeSignal:
			var m protocol.LiveSignal
			if err := json.Unmarshal(data, &m); err != nil {
				p.log("unreadable signal")
				continue
			}
			if !p.deaf {
				p.answer.Signal(m.RemoteID, m.Signal)
			}
		case protocol.TypeStatus:
			var m protocol.LiveStatus
			if json.Unmarshal(data, &m) == nil && m.Status != protocol.StatusActive && !p.late.Load() {
				// The session is over: the service ends every remote connection.
				go p.answer.Close(protocol.RemoteSessionEnded)
			}
		case protocol.TypeError:
			p.log("server error: " + string(data))
		}
	}
}

// signal sends a signal of the app on its live connection.
func (p *remotePC) signal(remoteID string, sig protocol.Signal) error {
	data, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig})
	if err != nil {
		return err
	}
	p.writeMu.Lock()
	defer p.writeMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return p.ws.Load().Write(ctx, websocket.MessageText, data)
}

// report waits for the end report of a remote connection.
func (p *remotePC) report(limit time.Duration) protocol.RemoteEndedRequest {
	p.t.Helper()
	select {
	case r := <-p.reports:
		return r
	case <-time.After(limit):
		p.t.Fatalf("no end report within %v; the app's log:\n%s", limit, p.logText())
		return protocol.RemoteEndedRequest{}
	}
}

// lastShell is the shell the latest sign-in started.
func (p *remotePC) lastShell() *fakeremote.Shell {
	p.t.Helper()
	shells := p.pc.Shells()
	if len(shells) == 0 {
		p.t.Fatalf("no shell was started; the app's log:\n%s", p.logText())
	}
	return shells[len(shells)-1]
}

// termJS is what the terminal shows (xterm.js's DOM renderer: its rows are text), with
// its no-break spaces as spaces.
const termJS = `(document.querySelector("#terminal .xterm-rows") || {textContent: ""}).textContent.replace(/\u00a0/g, " ")`

// termHas is a condition: the terminal shows s at least n times.
func termHas(s string, n int) string {
	q, _ := json.Marshal(s)
	return fmt.Sprintf(`%s.split(%s).length > %d`, termJS, q, n)
}

func (b *browser) terminalText() string {
	return b.eval(termJS)
}

// typeTerminal types into the terminal (xterm.js's textarea) as a keyboard does: a key
// down that carries its text, then the key up. (chromedp.KeyEvent adds a separate char
// event, which xterm.js takes as a second keystroke.)
func (b *browser) typeTerminal(keys string) {
	b.t.Helper()
	b.do("type into the terminal", chromedp.Focus(chromedp.CSS("#terminal .xterm-helper-textarea")),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, r := range keys {
				var down, up input.DispatchKeyEventParams
				for _, k := range kb.Encode(r) {
					switch k.Type {
					case input.DispatchKeyEventTypeKeyDown:
						down = *k
					case input.DispatchKeyEventTypeChar:
						down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
					case input.DispatchKeyEventTypeKeyUp:
						up = *k
					}
				}
				if down.Text == "" {
					down.Type = input.DispatchKeyEventTypeRawKeyDown
				}
				for _, k := range []input.DispatchKeyEventParams{down, up} {
					if _, err := cdp.Call(ctx, tg, input.DispatchKeyEvent, k); err != nil {
						return err
					}
				}
			}
			return nil
		}))
}

// tune sets remote.js's tuning (a test's shorter wait, relay only).
func (b *browser) tune(field string, value any) {
	b.t.Helper()
	v, _ := json.Marshal(value)
	if _, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](fmt.Sprintf(`import("/console/remote.js").then((m) => { m.tuning[%q] = %s; return true; })`, field, v), chromedp.EvalAwaitPromise)); err != nil {
		b.t.Fatalf("tune %s: %v", field, err)
	}
}

// sentCandidates are the ICE candidates the page sent.
func (b *browser) sentCandidates() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, raw := range b.sent {
		var m protocol.SignalAction
		if json.Unmarshal(raw, &m) == nil && m.Action == protocol.ActionSignal && m.Signal.Kind == protocol.SignalCandidate && m.Signal.Candidate != nil {
			out = append(out, m.Signal.Candidate.Candidate)
		}
	}
	return out
}

// sentHolds reports whether a message the page sent on the live channel contains s.
func (b *browser) sentHolds(s string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, raw := range b.sent {
		if bytes.Contains(raw, []byte(s)) {
			return true
		}
	}
	return false
}

// cspViolations are the problems that are reports of the Content-Security-Policy.
func (b *browser) cspViolations() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, p := range b.problems {
		if strings.Contains(p, "Content Security Policy") || strings.Contains(p, "Trusted Type") {
			out = append(out, p)
		}
	}
	return out
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func randomFile(t *testing.T, dir, name string, n int) (string, []byte) {
	t.Helper()
	data := make([]byte, n)
	_, _ = rand.Read(data)
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, data
}

// connectFromComputers opens the Computers page and presses Connect on the session's row;
// it returns when it pressed it.
func connectFromComputers(b *browser, id string) time.Time {
	b.t.Helper()
	b.click("#nav-computers")
	b.waitFor("the Connect button", fmt.Sprintf(`document.querySelector("#connect-%s")`, id))
	at := time.Now()
	b.click("#connect-" + id)
	return at
}

// login types the password and submits it.
func (b *browser) login(password string) {
	b.t.Helper()
	b.do("type the password", chromedp.WaitVisible(chromedp.CSS("#remote-password")),
		chromedp.SendKeys(chromedp.CSS("#remote-password"), password+"\r"))
}

// TestConsoleRemote: Connect on the Computers page, the password, a command's output in
// the terminal, an upload (back-pressure, the PC checks the SHA-256, refusals), a
// download (the page checks it), Disconnect; the password reaches neither the URL, storage,
// the live channel nor the page, and the browser reports no CSP violation.
func TestConsoleRemote(t *testing.T) {
	st := startStack(t, console.Local, console.Config{})
	tech := gateway.DevUser{Email: "tina.tech@example.com", Account: "acme"}
	id, password, pc := activePC(t, st, tech, "anna.user@example.com", false)

	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	downloads := t.TempDir()
	b.do("allow downloads", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads})
		return err
	}))
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal(tech.Email, tech.Account)
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)

	b.stamp("connected", `document.querySelector('#remote-status[data-state="connected"]')`)
	b.stamp("prompt", termHas(prompt, 1))
	clicked := connectFromComputers(b, id)
	b.waitFor("the remote page", `location.hash.endsWith("/remote") && document.querySelector("#remote-password")`)
	if got := b.eval(`document.querySelector('#remote-status').dataset.state`); got != "connecting" && got != "connected" {
		t.Errorf("right after Connect the state is %q", got)
	}
	b.login(password)
	toConnected := b.stamped("connected", clicked, 5*time.Second)
	toPrompt := b.stamped("prompt", clicked, 5*time.Second)
	types := map[string]int{}
	for _, c := range b.sentCandidates() {
		if m := candidateType.FindStringSubmatch(c); m != nil {
			types[m[1]]++
		}
	}
	t.Logf("click to connected %s, click to prompt %s (the password typed in between); the page offered candidates %v",
		toConnected.Round(time.Millisecond), toPrompt.Round(time.Millisecond), types)
	b.waitText("the signed-in sentence", "#remote-status", "the terminal runs powershell.exe as "+hiddenUser)
	// This PC's remote access does not serve the screen: the page says so, and the
	// terminal and files go on.
	b.waitFor("no screen", `document.querySelector('#screen-status[data-state="unavailable"]') && document.querySelector("#screen-view").hidden`)
	b.shot("31-remote-prompt")

	// The password went only through the terminal channel, and nowhere stays.
	if got := b.eval(`document.querySelector("#remote-password").value`); got != "" {
		t.Errorf("the password field still holds %q", got)
	}
	if b.storageHolds(password) || b.sentHolds(password) || strings.Contains(b.pageText(), password) {
		t.Errorf("the password is in the URL, storage, a live message or the page")
	}
	if strings.Contains(pc.logText(), password) {
		t.Errorf("the password is in the app's log")
	}
	for i, h := range pc.pc.Handed() {
		if !bytes.Equal(h, make([]byte, len(h))) {
			t.Errorf("the password buffer of sign-in %d was not wiped", i+1)
		}
	}

	// A command and its output; the pseudo console has the terminal's size.
	b.typeTerminal("echo hello from the console\r")
	b.waitFor("the echo's output", termHas("hello from the console", 2))
	b.typeTerminal("whoami\r")
	b.waitFor("whoami", termHas(`anna-pc\`+strings.ToLower(hiddenUser), 1))
	cols, rows := pc.lastShell().Size()
	if tc := b.eval(`String(document.querySelector("#terminal .xterm-rows").children.length)`); fmt.Sprint(rows) != tc || cols < 40 {
		t.Errorf("the pseudo console is %dx%d, the terminal shows %s rows", cols, rows, tc)
	}
	// xterm.js's own styles apply (bridged, cssom.js): the theme's foreground on the rows,
	// a 24-bit colour on a cell.
	b.typeTerminal("echo " + "\x1b" + "[38;2;255;0;0mRED-TEXT" + "\x1b" + "[0m\r")
	b.waitFor("the coloured cell", `[...document.querySelectorAll("#terminal .xterm-rows span")].some((s) => s.textContent.includes("RED-TEXT"))`)
	if got := b.eval(`getComputedStyle(document.querySelector("#terminal .xterm-rows")).color`); got != "rgb(255, 255, 255)" {
		t.Errorf("the terminal's rows have the colour %s, want the theme's white: its stylesheet did not apply", got)
	}
	if got := b.eval(`getComputedStyle([...document.querySelectorAll("#terminal .xterm-rows span")].find((s) => s.textContent.includes("RED-TEXT"))).color`); got != "rgb(255, 0, 0)" {
		t.Errorf("the 24-bit red cell is %s", got)
	}
	b.shot("32-remote-commands")

	// Upload into the account's Downloads: 3 MiB, so that back-pressure holds the sender.
	local := t.TempDir()
	upPath, upData := randomFile(t, local, "setup-tool.bin", 3<<20)
	b.do("choose the file", chromedp.SetUploadFiles(chromedp.CSS("#upload"), []string{upPath}))
	upAt := time.Now()
	b.click("#upload-send")
	b.waitFor("the upload's progress", `document.querySelector("#upload-status").dataset.state === "sending" || document.querySelector("#upload-status").dataset.state === "done"`)
	b.waitFor("the upload", `document.querySelector('#upload-status[data-state="done"]')`)
	upTook := time.Since(upAt)
	want := filepath.Join(pc.pc.Root, "Users", hiddenUser, "Downloads", "setup-tool.bin")
	got, err := os.ReadFile(want)
	if err != nil || sha256Hex(got) != sha256Hex(upData) {
		t.Fatalf("the upload on the PC: %v, SHA-256 %s, want %s", err, sha256Hex(got), sha256Hex(upData))
	}
	if s := b.text("#upload-status"); !strings.Contains(s, want) || !strings.Contains(s, "SHA-256 checked") {
		t.Errorf("the upload's sentence: %q", s)
	}
	peak, err := chromedp.Run(b.ctx, chromedp.Evaluate[float64](`import("/console/transfer.js").then((m) => m.stats.peakBuffered)`, chromedp.EvalAwaitPromise))
	if err != nil || peak <= 0 || peak > (1<<20)+(16<<10) {
		t.Errorf("the upload left up to %v bytes in the channel (%v), want back-pressure to hold it at 1 MiB and a chunk", peak, err)
	}
	t.Logf("upload of 3 MiB through the page: %s, peak bufferedAmount %.0f bytes", upTook.Round(time.Millisecond), peak)

	// The same name again is refused, and so is a folder the account may not write.
	b.click("#upload-send")
	b.waitText("exists", "#upload-status", "exists already")
	denied := filepath.Join(pc.pc.Root, "Windows")
	pc.pc.Deny(denied)
	b.typeInto("#upload-path", filepath.Join(denied, "evil.bin"))
	b.click("#upload-send")
	b.waitText("denied", "#upload-status", "may not access")
	if _, err := os.Stat(filepath.Join(denied, "evil.bin")); err == nil {
		t.Errorf("the refused upload is on the PC")
	}
	b.shot("33-remote-upload")

	// Download a file of the PC; the page checks its SHA-256 and hands it to the browser.
	downPath, downData := randomFile(t, filepath.Join(pc.pc.Root, "Users", "Public"), "report.log", 2<<20+12345)
	b.typeInto("#download-path", downPath)
	b.click("#download-send")
	b.waitFor("the download", `document.querySelector('#download-status[data-state="done"]')`)
	if s := b.text("#download-status"); !strings.Contains(s, "report.log") || !strings.Contains(s, "arrived intact") {
		t.Errorf("the download's sentence: %q", s)
	}
	saved := filepath.Join(downloads, "report.log")
	deadline := time.Now().Add(10 * time.Second)
	var savedData []byte
	for time.Now().Before(deadline) {
		if savedData, err = os.ReadFile(saved); err == nil && len(savedData) == len(downData) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sha256Hex(savedData) != sha256Hex(downData) {
		t.Errorf("the browser saved %d bytes with SHA-256 %s, want %d with %s", len(savedData), sha256Hex(savedData), len(downData), sha256Hex(downData))
	}
	b.typeInto("#download-path", filepath.Join(pc.pc.Root, "nothing-here.txt"))
	b.click("#download-send")
	b.waitText("not found", "#download-status", "does not exist")
	b.shot("34-remote-download")

	// Disconnect: the PC ends the connection, the shell and the sign-in within a second.
	shell := pc.lastShell()
	b.stamp("ended", `document.querySelector('#remote-status[data-state="ended"]')`)
	discAt := time.Now()
	b.click("#remote-disconnect")
	tookEnded := b.stamped("ended", discAt, time.Second)
	rep := pc.report(5 * time.Second)
	tookPC := time.Since(discAt)
	t.Logf("Disconnect: page ended %s, the PC reported the end after %s", tookEnded.Round(time.Millisecond), tookPC.Round(time.Millisecond))
	if tookPC > time.Second+500*time.Millisecond {
		t.Errorf("the PC ended the connection %s after Disconnect, want within 1 s", tookPC)
	}
	// The page opens the screen's channels too; an app that serves them (issue 14) counts
	// them as used, this one closes them unused.
	if used := strings.Join(rep.Channels, ","); rep.Reason != protocol.RemoteDisconnectedByTechnician || (used != "terminal,files" && used != "terminal,files,screen,input,clipboard") ||
		rep.BytesToPC < int64(len(upData)) || rep.BytesFromPC < int64(len(downData)) {
		t.Errorf("the end report %+v", rep)
	}
	if shell.Running() || pc.pc.SignedIn() != 0 {
		t.Errorf("after Disconnect the shell runs %v, %d sign-ins open", shell.Running(), pc.pc.SignedIn())
	}
	if s := b.text("#remote-status"); !strings.Contains(s, "You disconnected") {
		t.Errorf("the status says %q", s)
	}
	if b.eval(`String(document.querySelector("#remote-retry").hidden)`) != "false" {
		t.Errorf("no Connect again after Disconnect")
	}
	b.shot("35-remote-disconnected")

	// The audit trail has the start and the end.
	tok := techToken(t, st, tech)
	deadline = time.Now().Add(5 * time.Second)
	var actions string
	for time.Now().Before(deadline) {
		trail := techAPI(t, st, tok, http.MethodGet, "/v1/sessions/"+id+"/audit", nil)
		raw, _ := json.Marshal(trail["entries"])
		actions = string(raw)
		if strings.Contains(actions, "remote_ended") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(actions, "remote_started") || !strings.Contains(actions, "remote_ended") {
		t.Errorf("the audit trail lacks the remote connection: %s", actions)
	}

	// The session ended through the API: its push alone closes the page's connection
	// within a second (this PC hears of the end too late to close it first).
	pc.late.Store(true)
	b.click("#remote-retry")
	b.waitFor("connected again", `document.querySelector('#remote-status[data-state="connected"]')`)
	b.login(password)
	b.waitFor("the prompt", termHas(prompt, 1))
	b.stamp("session ended", `document.querySelector('#remote-status[data-state="ended"]')`)
	endAt := time.Now()
	techAPI(t, st, tok, http.MethodDelete, "/v1/sessions/"+id, nil)
	tookPage := b.stamped("session ended", endAt, time.Second)
	rep = pc.report(5 * time.Second)
	tookPC = time.Since(endAt)
	t.Logf("session ended through the API, pushed to the page: page closed its connection after %s, the PC saw it closed and reported after %s (%s)",
		tookPage.Round(time.Millisecond), tookPC.Round(time.Millisecond), rep.Reason)
	if tookPC > time.Second+500*time.Millisecond {
		t.Errorf("the PC noticed the closed connection %s after the session's end, want within 1 s", tookPC)
	}
	if s := b.text("#remote-status"); !strings.Contains(s, "The session has ended") {
		t.Errorf("the status says %q", s)
	}

	// The session's audit log names the remote connections in words: why each ended, how
	// long it lasted, what it moved.
	b.do("open the session", chromedp.Navigate(st.URL+"/#/sessions/"+id))
	b.waitFor("the remote connection in the audit log",
		`document.querySelectorAll('#audit-table tr[data-action="remote_ended"]').length >= 2`)
	auditRows := b.eval(`[...document.querySelectorAll('#audit-table tr[data-action^="remote_"]')].map(r => r.innerText.replace(/\s+/g, " ")).join(" | ")`)
	for _, want := range []string{"Remote access started", "Remote access ended", "disconnected by the technician", "channels: terminal, files", "to the PC"} {
		if !strings.Contains(auditRows, want) {
			t.Errorf("the audit log's remote rows lack %q: %s", want, auditRows)
		}
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

var (
	relayCandidate = regexp.MustCompile(` typ relay( |$)`)
	candidateType  = regexp.MustCompile(` typ (\w+)`)
)

// TestConsoleRemoteRelay: relay only (through the local stack's TURN server), wrong
// passwords and the attempts left, a language switch that keeps the connection, five wrong
// passwords end a connection, and the session ended through the API closes the page's.
func TestConsoleRemoteRelay(t *testing.T) {
	st := startStack(t, console.Local, console.Config{})
	tech := gateway.DevUser{Email: "rolf.relay@example.com", Account: "relay"}
	id, password, pc := activePC(t, st, tech, "rita.user@example.com", false)

	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal(tech.Email, tech.Account)
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	b.tune("iceTransportPolicy", "relay")

	connectFromComputers(b, id)
	b.waitFor("connected", `document.querySelector('#remote-status[data-state="connected"]')`)
	cands := b.sentCandidates()
	if len(cands) == 0 {
		t.Fatalf("the page sent no candidate")
	}
	for _, c := range cands {
		if !relayCandidate.MatchString(c) {
			t.Errorf("relay only, yet the page offered %q", c)
		}
	}
	t.Logf("%d relayed candidates offered; connected through the TURN server at %s:%d", len(cands), st.TURN.Host, st.TURN.Port)

	b.login("wrong-password-1")
	b.waitFor("the attempts left", `document.querySelector('#remote-login-error[data-attempts-left="4"]')`)
	if s := b.text("#remote-login-error"); !strings.Contains(s, "Wrong password for "+hiddenUser+": 4 attempts left") {
		t.Errorf("after a wrong password: %q", s)
	}
	b.login("wrong-password-2")
	b.waitText("3 left", "#remote-login-error", "3 attempts left")
	b.shot("36-remote-wrong-password")
	b.login(password)
	b.waitFor("the prompt", termHas(prompt, 1))
	b.typeTerminal("echo over the relay\r")
	b.waitFor("the echo", termHas("over the relay", 2))

	// A language switch draws the page again; the connection and the terminal stay.
	b.do("switch to German", chromedp.SetValue(chromedp.CSS("#lang"), "de"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#lang").dispatchEvent(new Event("change"))`))
	b.waitText("German", "#remote-status", "Mit PC-ANNA-4711 verbunden: Das Terminal führt powershell.exe als "+hiddenUser+" aus.")
	time.Sleep(1500 * time.Millisecond) // longer than a left connection waits for its page
	if got := b.eval(`document.querySelector("#remote-status").dataset.state`); got != "connected" {
		t.Fatalf("after the language switch the state is %q", got)
	}
	if !strings.Contains(b.terminalText(), "over the relay") {
		t.Errorf("the terminal lost its text in the redraw: %q", b.terminalText())
	}
	b.typeTerminal("echo noch da\r")
	b.waitFor("typing after the switch", termHas("noch da", 2))
	b.shot("37-remote-german")
	b.do("switch back", chromedp.SetValue(chromedp.CSS("#lang"), "en"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#lang").dispatchEvent(new Event("change"))`))
	b.waitText("English", "#remote-status", "Connected to PC-ANNA-4711")

	// Leaving the page ends the connection as Disconnect does.
	leftAt := time.Now()
	b.click("#remote-back")
	if rep := pc.report(5 * time.Second); rep.Reason != protocol.RemoteDisconnectedByTechnician {
		t.Errorf("the first connection ended as %q", rep.Reason)
	}
	t.Logf("leaving the page: the PC reported the end after %s", time.Since(leftAt).Round(time.Millisecond))

	// Five wrong passwords end a connection.
	connectFromComputers(b, id)
	b.waitFor("connected again", `document.querySelector('#remote-status[data-state="connected"]')`)
	for i := 1; i <= 5; i++ {
		b.login(fmt.Sprintf("wrong-password-%d", i))
		if i < 5 {
			b.waitFor("the attempts left", fmt.Sprintf(`document.querySelector('#remote-login-error[data-attempts-left="%d"]')`, 5-i))
		}
	}
	b.waitFor("the end", `document.querySelector('#remote-status[data-state="ended"]')`)
	b.waitText("why", "#remote-status", "The password was wrong 5 times")
	if rep := pc.report(5 * time.Second); rep.Reason != protocol.RemotePasswordAttempts {
		t.Errorf("five wrong passwords ended the connection as %q", rep.Reason)
	}
	b.shot("38-remote-five-wrong")
	// A redraw of an ended connection's page shows it ended; it does not connect again.
	b.do("switch to German", chromedp.SetValue(chromedp.CSS("#lang"), "de"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#lang").dispatchEvent(new Event("change"))`))
	b.waitText("German", "#remote-status", "Das Passwort war fünfmal falsch")
	b.do("switch back", chromedp.SetValue(chromedp.CSS("#lang"), "en"), chromedp.Evaluate[chromedp.Void](`document.querySelector("#lang").dispatchEvent(new Event("change"))`))
	b.waitText("English", "#remote-status", "The password was wrong 5 times")
	pc.mu.Lock()
	heard := len(pc.remotes)
	pc.mu.Unlock()
	if heard != 2 {
		t.Errorf("the PC heard %d remote connections, want the two started", heard)
	}

	// The session ended through the API closes the page's connection within a second.
	b.click("#remote-retry")
	b.waitFor("connected again", `document.querySelector('#remote-status[data-state="connected"]')`)
	b.login(password)
	b.waitFor("the prompt", termHas(prompt, 1))
	shell := pc.lastShell()
	b.stamp("session ended", `document.querySelector('#remote-status[data-state="ended"]')`)
	endAt := time.Now()
	techAPI(t, st, techToken(t, st, tech), http.MethodDelete, "/v1/sessions/"+id, nil)
	took := b.stamped("session ended", endAt, time.Second)
	rep := pc.report(5 * time.Second)
	t.Logf("session ended through the API: the page closed its connection after %s, the PC reported after %s", took.Round(time.Millisecond), time.Since(endAt).Round(time.Millisecond))
	if rep.Reason != protocol.RemoteSessionEnded || shell.Running() {
		t.Errorf("the session's end: report %q, shell running %v", rep.Reason, shell.Running())
	}
	if s := b.text("#remote-status"); !strings.Contains(s, "The session has ended") {
		t.Errorf("the status says %q", s)
	}
	if state := b.eval(`String(document.querySelector("#remote-disconnect").hidden)`); state != "true" {
		t.Errorf("Disconnect is still offered after the end")
	}
	b.shot("39-remote-session-ended")
	// One terminal on the page: the styles of the terminals before it are gone with them.
	sheets, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`import("/console/cssom.js").then((m) => m.bridgedSheets())`, chromedp.EvalAwaitPromise))
	if err != nil || sheets != 3 {
		t.Errorf("%d bridged stylesheets after three terminals (%v), want one terminal's 3", sheets, err)
	}
	if v := b.cspViolations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// TestConsoleRemoteWaitsForThePC: a PC whose service has not opened its live connection yet
// (as in the seconds after pairing) is waited for; one that stays away gets a plain sentence.
func TestConsoleRemoteWaitsForThePC(t *testing.T) {
	st := startStack(t, console.Local, console.Config{})
	tech := gateway.DevUser{Email: "willa.wait@example.com", Account: "patient"}
	id, password, pc := activePC(t, st, tech, "wim.user@example.com", false)
	offline := func() {
		t.Helper()
		pc.goOffline()
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			ss, err := st.Service.Store.GetSession(t.Context(), id)
			if err == nil && ss.LiveConnection == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the server still holds the app's live connection (%v)", err)
			}
		}
	}
	offline()

	b := newBrowser(t, browserOptions{acceptLanguage: "en-US"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal(tech.Email, tech.Account)
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	b.tune("offlineWaitMs", 60_000)
	connectFromComputers(b, id)
	b.waitText("waiting", "#remote-status", "Waiting for PC-ANNA-4711 to be reachable")
	pc.goLive(st)
	b.waitFor("connected once the PC is live", `document.querySelector('#remote-status[data-state="connected"]')`)
	b.login(password)
	b.waitFor("the prompt", termHas(prompt, 1))
	b.click("#remote-disconnect")
	b.waitFor("disconnected", `document.querySelector('#remote-status[data-state="ended"]')`)

	// A PC that stays away: the page gives up after its wait with a sentence that says what to do.
	offline()
	b.tune("offlineWaitMs", 1500)
	b.click("#remote-retry")
	b.waitFor("given up", `document.querySelector('#remote-status[data-state="failed"]')`)
	if s := b.text("#remote-status"); !strings.Contains(s, "PC-ANNA-4711 is not reachable: the Support Session app is not connected to the server.") {
		t.Errorf("the sentence: %q", s)
	}
}

// TestConsoleRemoteNoAnswer: a PC that never answers ends the attempt after the wait
// (shortened here), with a clear sentence — in German, as a German browser shows it.
func TestConsoleRemoteNoAnswer(t *testing.T) {
	st := startStack(t, console.Local, console.Config{})
	tech := gateway.DevUser{Email: "nora.noanswer@example.com", Account: "deaf"}
	id, _, pc := activePC(t, st, tech, "nils.user@example.com", true)

	b := newBrowser(t, browserOptions{acceptLanguage: "de-DE"})
	b.do("open the console", chromedp.Navigate(st.URL+"/"))
	b.signInLocal(tech.Email, tech.Account)
	b.waitFor("the live channel", `document.querySelector('#live-state[data-state="live"]')`)
	const wait = 2 * time.Second
	b.tune("answerMs", wait.Milliseconds())
	b.stamp("failed", `document.querySelector('#remote-status[data-state="failed"]')`)
	clicked := connectFromComputers(b, id)
	b.waitText("connecting", "#remote-status", "Verbindung zu PC-ANNA-4711 wird aufgebaut")
	took := b.stamped("failed", clicked, wait+2*time.Second)
	if took < wait {
		t.Errorf("the attempt failed after %s, before its wait of %s", took, wait)
	}
	if s := b.text("#remote-status"); s != "PC-ANNA-4711 hat nicht innerhalb von 2 Sekunden geantwortet. Die App dort hat vielleicht ihre Netzwerkverbindung verloren oder ist beschäftigt; versuchen Sie es gleich noch einmal." {
		t.Errorf("the sentence: %q", s)
	}
	pc.mu.Lock()
	heard := len(pc.remotes)
	pc.mu.Unlock()
	if heard != 1 {
		t.Errorf("the PC heard %d remote messages, want the one it did not answer", heard)
	}
	if got := b.text("#remote-retry"); got != "Erneut verbinden" {
		t.Errorf("the retry button says %q", got)
	}
	b.shot("40-remote-no-answer-de")
}
