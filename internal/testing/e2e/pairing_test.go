package e2e

import (
	"context"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/events"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

func TestPairingLifecycle(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))

	r := a.hello()
	want(t, r, http.StatusOK, "")
	if r.str("status") != "app_started" || r.num("interval") != 5 {
		t.Fatalf("hello: %s, want app_started with interval 5", r.Raw)
	}
	s := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	if s.str("status") != "app_started" || !strings.Contains(s.Raw, a.hostname) || !strings.Contains(s.Raw, "Windows 11") {
		t.Fatalf("technician's view after hello: %s", s.Raw)
	}

	// Wrong codes count down.
	for left := 4; left >= 1; left-- {
		r := a.pair("000-000-000")
		if code == "000-000-000" {
			t.Skip("the random code happened to be the wrong one used here")
		}
		want(t, r, http.StatusUnauthorized, "invalid_code")
		if r.num("attemptsLeft") != left {
			t.Fatalf("attemptsLeft %d, want %d", r.num("attemptsLeft"), left)
		}
	}
	// The right code, typed with spaces, activates the session.
	before := e.clock.Now()
	r = a.pair(strings.ReplaceAll(code, "-", " "))
	want(t, r, http.StatusOK, "")
	acct := r.JSON["account"].(map[string]any)
	if acct["username"] != "AdHocRemoteUser" || acct["password"] != goodPassword {
		t.Fatalf("pair answer's account: %v", acct)
	}
	if r.str("sessionId") != id || r.num("interval") != 2 || a.agent == "" {
		t.Fatalf("pair answer: %s", r.Raw)
	}
	expires, _ := time.Parse(time.RFC3339Nano, r.str("expiresAt"))
	if got := expires.Sub(before); got != 24*time.Hour {
		t.Fatalf("expiresAt is %s after activation, want 24h", got)
	}

	p := a.poll()
	want(t, p, http.StatusOK, "")
	if p.str("status") != "active" || p.num("interval") != 2 {
		t.Fatalf("poll: %s", p.Raw)
	}
	// Polling again at once is too fast.
	sd := a.poll()
	want(t, sd, http.StatusTooManyRequests, "slow_down")
	if sd.num("interval") != 7 {
		t.Fatalf("slow_down interval %d, want 2+5", sd.num("interval"))
	}

	s = e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	if s.str("status") != "active" || s.str("activatedAt") == "" || s.str("expiresAt") == "" {
		t.Fatalf("technician's view when active: %s", s.Raw)
	}
	comp := e.do(http.MethodGet, "/v1/computers?group=adhoc", tech, nil)
	want(t, comp, http.StatusOK, "")
	list := comp.JSON["computers"].([]any)
	if len(list) != 1 {
		t.Fatalf("computer group lists %d computers, want 1", len(list))
	}
	c := list[0].(map[string]any)
	if c["sessionId"] != id || c["hostname"] != a.hostname || c["online"] != true || c["technician"] != "tina@example.com" {
		t.Fatalf("computer entry: %v", c)
	}
	if comp.str("name") != "Ad-hoc support sessions" {
		t.Fatalf("group name %q", comp.str("name"))
	}

	// After activation only the same nonce gets an answer, and only until the first poll.
	want(t, a.pair(code), http.StatusConflict, "already_paired")
	other := e.app(a.token)
	want(t, other.pair(code), http.StatusConflict, "already_paired")
	want(t, other.hello(), http.StatusConflict, "already_paired")

	// Events: invited, app started, four failures, activated; none carries an address.
	var types []events.DetailType
	for _, ev := range e.st.Bus.Events() {
		if ev.Detail.SessionID == id {
			types = append(types, ev.Type)
		}
	}
	wantTypes := []events.DetailType{events.SessionInvited, events.AppStarted, events.PairingFailed, events.PairingFailed, events.PairingFailed, events.PairingFailed, events.SessionActivated}
	if strings.Join(typeNames(types), ",") != strings.Join(typeNames(wantTypes), ",") {
		t.Fatalf("events %v, want %v", types, wantTypes)
	}
	assertNoSecretsLogged(t, e, goodPassword, code, a.token, a.agent, "user@example.org")
}

func typeNames(ts []events.DetailType) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return out
}

func assertNoSecretsLogged(t *testing.T, e *env, secrets ...string) {
	t.Helper()
	logs := e.logs.String()
	if logs == "" {
		t.Fatal("the stack logged nothing; the check would prove nothing")
	}
	for _, s := range secrets {
		if s == "" {
			continue
		}
		if strings.Contains(logs, s) {
			t.Errorf("a secret appears in the logs")
		}
		if d := strings.ReplaceAll(s, "-", ""); d != s && len(d) == 9 && strings.Contains(logs, d) {
			t.Errorf("the security code's digits appear in the logs")
		}
	}
}

func TestFiveWrongCodesLock(t *testing.T) {
	e := start(t)
	e.setLimits("acme", 1, 1)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	wrong := "999-999-999"
	if code == wrong {
		wrong = "999-999-998"
	}
	for i := 0; i < 4; i++ {
		want(t, a.pair(wrong), http.StatusUnauthorized, "invalid_code")
	}
	want(t, a.pair(wrong), http.StatusLocked, "locked")
	want(t, a.pair(code), http.StatusLocked, "locked") // even the right code
	want(t, a.hello(), http.StatusLocked, "locked")
	s := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil)
	if s.str("status") != "locked" || s.str("endReason") != "locked" {
		t.Fatalf("after five wrong codes: %s", s.Raw)
	}
	// The slot and the technician's lock are free again.
	e.invite(tech, "user2@example.org")
}

func TestMalformedAgentRequests(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, code := e.invite(tech, "user@example.org")
	token := e.inviteToken("user@example.org")
	a := e.app(token)

	cases := []struct {
		name   string
		path   string
		body   any
		status int
		code   string
	}{
		{"hello bad json", "/v1/agent/hello", `{`, 400, "invalid_request"},
		{"hello no token", "/v1/agent/hello", map[string]any{"platform": "windows", "hostname": "x", "machineId": "m"}, 400, "invalid_request"},
		{"hello short token", "/v1/agent/hello", map[string]any{"inviteToken": token[:20], "platform": "windows", "hostname": "x", "machineId": "m"}, 400, "invalid_request"},
		{"hello unknown token", "/v1/agent/hello", map[string]any{"inviteToken": strings.Repeat("A", 43), "platform": "windows", "hostname": "x", "machineId": "m"}, 404, "not_found"},
		{"hello linux", "/v1/agent/hello", map[string]any{"inviteToken": token, "platform": "linux", "hostname": "x", "machineId": "m"}, 422, "unsupported_platform"},
		{"hello no hostname", "/v1/agent/hello", map[string]any{"inviteToken": token, "platform": "windows", "machineId": "m"}, 400, "invalid_request"},
		{"hello control chars", "/v1/agent/hello", map[string]any{"inviteToken": token, "platform": "windows", "hostname": "a\x1b[31m", "machineId": "m"}, 400, "invalid_request"},
		{"pair letters", "/v1/agent/pair", map[string]any{"inviteToken": token, "securityCode": "abc-def-ghi", "platform": "windows", "hostname": "x", "machineId": "m", "nonce": "8f14e45fceea167a5a36dedd4bea2543"}, 400, "invalid_request"},
		{"pair no nonce", "/v1/agent/pair", map[string]any{"inviteToken": token, "securityCode": code, "platform": "windows", "hostname": "x", "machineId": "m"}, 400, "invalid_request"},
		// The nonce gets a retried pairing its answer without the code: a short one could be guessed.
		{"pair guessable nonce", "/v1/agent/pair", map[string]any{"inviteToken": token, "securityCode": code, "platform": "windows", "hostname": "x", "machineId": "m", "nonce": "n-1"}, 400, "invalid_request"},
		{"pair mac", "/v1/agent/pair", map[string]any{"inviteToken": token, "securityCode": code, "platform": "darwin", "hostname": "x", "machineId": "m", "nonce": "8f14e45fceea167a5a36dedd4bea2543"}, 422, "unsupported_platform"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want(t, e.do(http.MethodPost, tc.path, "", tc.body), tc.status, tc.code)
		})
	}
	// None of that cost an attempt: the right code still works.
	want(t, a.pair(code), http.StatusOK, "")
}

func TestForgedAgentTokens(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	want(t, a.pair(code), http.StatusOK, "")
	real := a.agent
	sessionID, secret, _ := strings.Cut(real, ".")
	forged := []string{
		"",            // missing
		"not-a-token", // malformed
		sessionID + "." + strings.Repeat("A", len(secret)), // right session, wrong secret
		strings.Repeat("b", 26) + "." + secret,             // right secret, other session
		real[:len(real)-1],                                 // truncated
	}
	for _, f := range forged {
		for _, path := range []string{"/v1/agent/poll", "/v1/agent/end", "/v1/agent/removed"} {
			want(t, e.do(http.MethodPost, path, f, nil), http.StatusUnauthorized, "invalid_token")
		}
	}
	want(t, a.poll(), http.StatusOK, "")
}

func TestTwoAppsPairAtOnce(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	token := e.inviteToken("user@example.org")
	const n = 8
	apps := make([]*app, n)
	for i := range apps {
		apps[i] = e.app(token)
	}
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			statuses[i] = apps[i].pair(code).Status
		}(i)
	}
	wg.Wait()
	won, lost := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusOK:
			won++
		case http.StatusConflict:
			lost++
		default:
			t.Fatalf("unexpected status %d among %v", s, statuses)
		}
	}
	if won != 1 || lost != n-1 {
		t.Fatalf("%d apps won and %d lost, want exactly one winner: %v", won, lost, statuses)
	}
	audit := e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil)
	if strings.Count(audit.Raw, `"to":"active"`) != 1 {
		t.Fatalf("the audit trail shows other than one activation: %s", audit.Raw)
	}
}

func TestPasswordLeavesStorageAfterFirstPoll(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	want(t, a.pair(code), http.StatusOK, "")
	if !tableHas(t, e, id, "sealedPassword") {
		t.Fatal("the sealed password should be kept until the app confirms (else the check below proves nothing)")
	}
	// A retry with the same nonce gets the same answer until the first poll.
	again := a.pair(code)
	want(t, again, http.StatusOK, "")
	if again.str("agentToken") != a.agent {
		t.Fatal("a retried pairing got another token")
	}
	want(t, a.poll(), http.StatusOK, "")
	for _, attr := range []string{"sealedPassword", "sealedAgentToken"} {
		if tableHas(t, e, id, attr) {
			t.Fatalf("%s is still stored after the first poll", attr)
		}
	}
	want(t, a.pair(code), http.StatusConflict, "already_paired")
}

// tableHas scans the whole table for an attribute on the session's items.
func tableHas(t *testing.T, e *env, id, attr string) bool {
	t.Helper()
	out, err := e.st.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{TableName: &e.st.Table})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Items) == 0 {
		t.Fatal("the table is empty")
	}
	for _, item := range out.Items {
		if _, ok := item[attr]; ok {
			return true
		}
	}
	return false
}

func TestAlreadySupportedPC(t *testing.T) {
	e := start(t)
	t1 := e.technician("one@example.com", "acme", false)
	t2 := e.technician("two@example.com", "acme", false)
	_, code1 := e.invite(t1, "u1@example.org")
	_, code2 := e.invite(t2, "u2@example.org")
	a1 := e.app(e.inviteToken("u1@example.org"))
	a2 := e.app(e.inviteToken("u2@example.org"))
	a2.machine = a1.machine // the same PC
	want(t, a1.pair(code1), http.StatusOK, "")
	want(t, a2.hello(), http.StatusConflict, "already_supported")
	want(t, a2.pair(code2), http.StatusConflict, "already_supported")
	// Once the first session ends, the PC can be supported again.
	want(t, a1.end(), http.StatusOK, "")
	want(t, a2.pair(code2), http.StatusOK, "")
}

func TestForeignAccountNeverSeesTheComputer(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	_, code := e.invite(tech, "user@example.org")
	a := e.app(e.inviteToken("user@example.org"))
	want(t, a.pair(code), http.StatusOK, "")
	for _, tok := range []string{e.technician("eve@example.com", "evil", true), e.technician("colleague@example.com", "acme", false)} {
		r := e.do(http.MethodGet, "/v1/computers?group=adhoc", tok, nil)
		want(t, r, http.StatusOK, "")
		if n := len(r.JSON["computers"].([]any)); n != 0 {
			t.Fatalf("another technician sees %d computers", n)
		}
	}
	admin := e.do(http.MethodGet, "/v1/computers?group=adhoc", e.technician("boss@example.com", "acme", true), nil)
	if n := len(admin.JSON["computers"].([]any)); n != 1 {
		t.Fatalf("the account's admin sees %d computers, want 1", n)
	}
	want(t, e.do(http.MethodGet, "/v1/computers?group=managed", tech, nil), http.StatusBadRequest, "invalid_request")
}

func TestJoinPage(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	r := e.do(http.MethodPost, "/v1/sessions", tech, map[string]any{"email": "de@example.org", "password": goodPassword, "locale": "de"})
	want(t, r, http.StatusCreated, "")
	token := e.inviteToken("de@example.org")
	page := e.do(http.MethodGet, "/join/"+token, "", nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Raw, "Sicherheitscode") || !strings.Contains(page.Raw, "SmartScreen") {
		t.Fatalf("German join page: %d %s", page.Status, page.Raw)
	}
	if !strings.Contains(page.Raw, `id="no-build"`) {
		t.Fatal("without an app build the page must say so")
	}
	if csp := page.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("join page CSP %q", csp)
	}
	unknown := e.do(http.MethodGet, "/join/"+strings.Repeat("A", 43), "", nil)
	if unknown.Status != http.StatusNotFound || !strings.Contains(unknown.Raw, `id="unknown"`) {
		t.Fatalf("unknown link: %d", unknown.Status)
	}
	want(t, e.do(http.MethodDelete, "/v1/sessions/"+r.str("id"), tech, nil), http.StatusOK, "")
	closed := e.do(http.MethodGet, "/join/"+token, "", nil)
	if closed.Status != http.StatusGone || !strings.Contains(closed.Raw, `id="closed"`) {
		t.Fatalf("cancelled invitation's page: %d", closed.Status)
	}
	want(t, e.do(http.MethodGet, "/join/"+token+"/app", "", nil), http.StatusGone, "expired")
}

// TestAppDownload: with builds in the app folder (as `make agent` leaves them; make test
// passes the signed exe as ADHOC_AGENT_EXE), the join page offers the download, and the
// download carries the invite token in its file name, which is how the app finds its
// invitation.
func TestAppDownload(t *testing.T) {
	dir := t.TempDir()
	builds := map[string][]byte{"amd64": []byte("MZ amd64 placeholder"), "arm64": []byte("MZ arm64 placeholder")}
	if exe := os.Getenv("ADHOC_AGENT_EXE"); exe != "" {
		b, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		builds["amd64"] = b
	}
	for arch, b := range builds {
		if err := os.MkdirAll(filepath.Join(dir, "windows-"+arch), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "windows-"+arch, "SupportSession.exe"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e := start(t, func(o *devstack.Options) { o.AppDir = dir })
	tech := e.technician("tina@example.com", "acme", false)
	e.invite(tech, "user@example.org")
	token := e.inviteToken("user@example.org")

	page := e.do(http.MethodGet, "/join/"+token, "", nil)
	if page.Status != http.StatusOK || strings.Contains(page.Raw, `id="no-build"`) || !strings.Contains(page.Raw, "/join/"+token+"/app") {
		t.Fatalf("join page with a build: %d, offers no download:\n%s", page.Status, page.Raw)
	}
	for _, tc := range []struct{ query, arch string }{{"", "amd64"}, {"?arch=x64", "amd64"}, {"?arch=arm64", "arm64"}} {
		r := e.do(http.MethodGet, "/join/"+token+"/app"+tc.query, "", nil)
		want(t, r, http.StatusOK, "")
		if r.Raw != string(builds[tc.arch]) {
			t.Fatalf("download%s: %d bytes, want the %s build (%d bytes)", tc.query, len(r.Raw), tc.arch, len(builds[tc.arch]))
		}
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition"))
		if err != nil {
			t.Fatalf("Content-Disposition %q: %v", r.Header.Get("Content-Disposition"), err)
		}
		// A second download gets a browser suffix; the app still finds its token.
		for _, saved := range []string{params["filename"], strings.Replace(params["filename"], ".exe", " (1).exe", 1)} {
			if got, ok := protocol.InviteTokenFromFileName(`C:\Users\anna\Downloads\` + saved); !ok || got != token {
				t.Fatalf("the app reads %q (ok %v) from the download saved as %q, want the invite token", got, ok, saved)
			}
		}
	}
	want(t, e.do(http.MethodGet, "/join/"+token+"/app?arch=x86", "", nil), http.StatusBadRequest, "invalid_request")
}

// TestHelloFromAnotherPCIsRecorded: anyone holding the link can start the app on another
// PC before pairing; the technician, about to read out the code, must see which PC it is,
// in the session, in the audit trail and as an event, not just a silently changed name.
func TestHelloFromAnotherPCIsRecorded(t *testing.T) {
	e := start(t)
	tech := e.technician("tina@example.com", "acme", false)
	id, _ := e.invite(tech, "user@example.org")
	token := e.inviteToken("user@example.org")
	first, other := e.app(token), e.app(token)
	want(t, first.hello(), http.StatusOK, "")
	want(t, first.hello(), http.StatusOK, "") // the same PC again: nothing new to record
	want(t, other.hello(), http.StatusOK, "")

	if s := e.do(http.MethodGet, "/v1/sessions/"+id, tech, nil); !strings.Contains(s.Raw, other.hostname) {
		t.Fatalf("the session shows %s, want the other PC %s", s.Raw, other.hostname)
	}
	var details []string
	for _, x := range e.do(http.MethodGet, "/v1/sessions/"+id+"/audit", tech, nil).JSON["entries"].([]any) {
		if m := x.(map[string]any); m["action"] == "app_started" {
			details = append(details, m["detail"].(string))
		}
	}
	if len(details) != 2 || !strings.Contains(details[1], other.hostname) || !strings.Contains(details[1], first.hostname) {
		t.Fatalf("app_started audit entries %q: want the first PC's, then one naming %s instead of %s", details, other.hostname, first.hostname)
	}
	started := 0
	for _, ev := range e.st.Bus.Events() {
		if ev.Detail.SessionID == id && ev.Type == events.AppStarted {
			started++
		}
	}
	if started != 2 {
		t.Fatalf("%d AppStarted events, want one per PC", started)
	}
}
