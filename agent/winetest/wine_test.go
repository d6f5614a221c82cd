//go:build linux

// Package winetest runs the real Support Session app (the Windows exe) under Wine against
// a server on loopback: it pairs, the hidden account's registry value, the service and the
// app's files appear, the service holds the live connection, the technician ends the
// session, and all of it is gone again within seconds, by the push.
//
// Wine 8 keeps the accounts NetUserAdd creates in the calling process's memory, so no
// other process (not the service, not a checker) can see them. The test therefore reads
// the account calls from Wine's own netapi32 trace: NetUserGetInfo/NetUserAdd/
// NetLocalGroupAddMembers("Administrators") in the app, NetUserDel in the service. The
// registry, the service and the files are real and are checked directly.
package winetest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/adhoc-support/adhoc-support/agent/internal/teststack"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// sizeTags are the build tags `make agent` builds every version with (AGENT_SIZE_TAGS):
// without net/http's HTTP/2, so the tests run the HTTP/1.1-only client that ships.
const sizeTags = "nethttpomithttp2"

const (
	password    = "Wine-Test-Passw0rd!"
	hiddenKey   = `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts\UserList`
	serviceKey  = `HKLM\System\CurrentControlSet\Services\AdHocSupportSession`
	uninstall   = `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\AdHocSupportSession`
	programDir  = "drive_c/Program Files/AdHocSupport"
	depsMessage = "run `make agent-test-deps` (installs Debian's wine64 and gcc-mingw-w64-x86-64-win32)"
)

// wine is a Wine installation with a fresh prefix.
type wine struct {
	t          *testing.T
	bin        string // wine64
	server     string // wineserver
	prefix     string
	extraDebug string
}

func findWine(t *testing.T) (wine64, wineserver string) {
	t.Helper()
	candidates := []string{"/usr/lib/wine/wine64", "/usr/lib/x86_64-linux-gnu/wine/wine64", "/opt/wine-stable/bin/wine64"}
	if p, err := exec.LookPath("wine64"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			for _, s := range []string{filepath.Join(filepath.Dir(c), "wineserver"), "/usr/lib/wine/wineserver", "/usr/bin/wineserver"} {
				if _, err := os.Stat(s); err == nil {
					return c, s
				}
			}
		}
	}
	t.Fatalf("wine64 not found: %s", depsMessage)
	return "", ""
}

func (w *wine) env(extra ...string) []string {
	env := append(os.Environ(), "WINEPREFIX="+w.prefix, "WINEDEBUG=-all"+w.extraDebug, "WINEDLLOVERRIDES=mscoree,mshtml=")
	return append(env, extra...)
}

// run runs a Windows command to its end and returns its output. The output goes through a
// file, not a pipe: Wine's system processes, which outlive the command, inherit it.
func (w *wine) run(ctx context.Context, args ...string) (string, error) {
	out, err := os.CreateTemp(w.t.TempDir(), "out-*.txt")
	if err != nil {
		w.t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, w.bin, args...)
	cmd.Env = w.env()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	data, _ := os.ReadFile(out.Name())
	return string(data), err
}

func (w *wine) regQuery(key string, value string) (string, bool) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"reg", "query", key}
	if value != "" {
		args = append(args, "/v", value)
	}
	out, err := w.run(ctx, args...)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		w.t.Fatalf("reg query: %v", err)
	}
	return out, err == nil
}

// buildDLL builds the bcryptprimitives.dll Go programs need under Wine (FACTS.md).
func buildDLL(t testing.TB, dir string) string {
	t.Helper()
	if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
		t.Fatalf("x86_64-w64-mingw32-gcc not found: %s", depsMessage)
	}
	dll := filepath.Join(dir, "bcryptprimitives.dll")
	out, err := exec.Command("x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", dll,
		"testdata/bcryptprimitives.c", "testdata/bcryptprimitives.def", "-ladvapi32").CombinedOutput()
	if err != nil {
		t.Fatalf("build bcryptprimitives.dll: %v\n%s", err, out)
	}
	return dll
}

func build(t testing.TB, dir string) (exe, dll string) {
	t.Helper()
	dll = buildDLL(t, dir)
	// The signed build from `make agent`, when the caller names it; else a fresh build of
	// the same package (its .syso carries the manifest, version and icon).
	if prebuilt := os.Getenv("ADHOC_AGENT_EXE"); prebuilt != "" {
		return prebuilt, dll
	}
	exe = filepath.Join(dir, "SupportSession.exe")
	// A development version: only that may talk plain HTTP to the stack on loopback; and
	// the tag adhocdev, which compiles in the test hook ADHOC_TEST_SECURITY_CODE; and the
	// tags every build of the app has (sizeTags).
	cmd := exec.Command("go", "build", "-trimpath", "-tags", sizeTags+",adhocdev", "-ldflags=-s -w -X main.version=0.0.0-winetest-dev", "-o", exe, "..")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the app: %v\n%s", err, out)
	}
	return exe, dll
}

func newPrefix(t *testing.T, dll string) *wine {
	t.Helper()
	bin, server := findWine(t)
	w := &wine{t: t, bin: bin, server: server, prefix: filepath.Join(t.TempDir(), "prefix")}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	start := time.Now()
	// End every process of this prefix (the service included) before its folder goes.
	t.Cleanup(w.stop)
	if out, err := w.run(ctx, "wineboot", "--init"); err != nil {
		t.Fatalf("wineboot: %v\n%s", err, out)
	}
	// Let the set-up's wineserver finish, then start one that never times out: by default
	// it shuts the "machine" down (the service manager and its services) a few seconds
	// after the last program exits, which a real PC does not do.
	wait := exec.CommandContext(ctx, w.server, "-w")
	wait.Env = w.env()
	if err := wait.Run(); err != nil {
		t.Fatalf("wineserver -w: %v", err)
	}
	daemon := exec.CommandContext(ctx, w.server, "-p")
	daemon.Env = w.env()
	if err := daemon.Run(); err != nil {
		t.Fatalf("wineserver -p: %v", err)
	}
	t.Logf("wine prefix ready in %v", time.Since(start).Round(time.Second))
	sys32 := filepath.Join(w.prefix, "drive_c", "windows", "system32")
	data, err := os.ReadFile(dll)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return w
}

// stop ends the prefix's wineserver and every process in it, and waits for that.
func (w *wine) stop() {
	for _, arg := range []string{"-k", "-w"} {
		cmd := exec.Command(w.server, arg)
		cmd.Env = w.env()
		cmd.Run()
	}
}

// servicePID finds the app's service process in this prefix and returns its pid.
func (w *wine) servicePID() (int, bool) {
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		s := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		if !strings.Contains(s, "SupportSession.exe") || !strings.Contains(s, " service") {
			continue
		}
		// Another test's Wine prefix may run the app too.
		if env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ")); err == nil && !bytes.Contains(env, []byte("WINEPREFIX="+w.prefix+"\x00")) {
			continue
		}
		return pid, true
	}
	return 0, false
}

func rssKiB(pid int) int {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return n
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, timeout time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", timeout, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// containsSecret looks for s in UTF-8 and UTF-16LE, the two ways Windows code writes text.
func containsSecret(data []byte, s string) bool {
	if bytes.Contains(data, []byte(s)) {
		return true
	}
	var u16 []byte
	for _, r := range utf16.Encode([]rune(s)) {
		u16 = append(u16, byte(r), byte(r>>8))
	}
	return bytes.Contains(data, u16)
}

func TestAppUnderWine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Wine test runs on Linux")
	}
	exe, dll := build(t, t.TempDir())
	w := newPrefix(t, dll)
	// Wine's own trace of the account calls, and the app's event log entries.
	w.extraDebug = ",fixme+netapi32,trace+netapi32,trace+eventlog,warn+eventlog,err+eventlog"
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("app size: %d bytes (%.1f MiB)", len(data), float64(len(data))/(1<<20))
	// Wine's debug output of the app and of the service (which the service manager
	// started from the app's invocation, so it inherits the file) goes to one file.
	trace, err := os.Create(filepath.Join(t.TempDir(), "wine-trace.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer trace.Close()
	s := &scenario{t: t, w: w, app: data, trace: trace,
		stack: teststack.New(t, teststack.Options{InviteInterval: 1, PollInterval: 1})}

	// 1. The technician ends the session.
	inv := s.stack.Invite(t, password)
	download := s.install(inv, " (1)")
	for _, want := range []string{
		`NetUserGetInfo ((null), L"AdHocRemoteUser", 0,`,
		"NetUserAdd ((null), 1,",
		`NetLocalGroupAddMembers ((null) L"Administrators"`,
	} {
		if !strings.Contains(readFile(t, trace.Name()), want) {
			t.Errorf("Wine's trace of the app lacks %q", want)
		}
	}
	pid, ok := w.servicePID()
	if !ok {
		t.Fatalf("service process not found")
	}
	// Idle memory of the service while it holds the live connection.
	time.Sleep(3 * time.Second)
	var samples []int
	for range 5 {
		samples = append(samples, rssKiB(pid))
		time.Sleep(time.Second)
	}
	t.Logf("service RSS while holding the live connection (KiB): %v", samples)
	// With the connection open the server asks for a poll every 15 minutes, so whatever
	// ends the session now is the push.
	polls := s.stack.Session(t, inv.SessionID).Polls
	deleted := `NetUserDel ((null), L"AdHocRemoteUser")`
	before := strings.Count(readFile(t, trace.Name()), deleted)
	start := time.Now()
	s.stack.End(t, inv.SessionID)
	// Looked at every 25 ms, so the figures are that precise.
	var accountGone, appGone time.Duration
	for appGone == 0 {
		if accountGone == 0 && strings.Count(readFile(t, trace.Name()), deleted) > before {
			accountGone = time.Since(start)
		}
		if accountGone != 0 && s.appGone(inv, download) {
			appGone = time.Since(start)
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("the account or the app still there 30 s after the technician's end; the event log:\n%s", eventLog(trace.Name()))
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Logf("technician's end → account deleted %v → account and app gone %v", accountGone.Round(10*time.Millisecond), appGone.Round(10*time.Millisecond))
	report(t, fmt.Sprintf("exe_bytes=%d\nservice_rss_kib=%v\nend_to_account_deleted_ms=%d\nend_to_gone_ms=%d\n",
		len(data), samples, accountGone.Milliseconds(), appGone.Milliseconds()))
	// The goal of the live channel (a poll every 30 s took up to 30 s); generous for a
	// loaded machine, as the last 3 s are the wait of the clean-up's cmd.exe for the
	// service to exit.
	if appGone > 5*time.Second {
		t.Errorf("the account and the app were gone %v after the technician's end, want within 5 s", appGone)
	}
	if got := s.stack.Session(t, inv.SessionID).Polls; got != polls {
		t.Errorf("%d polls after the end: the push, not a poll, should have ended it", got-polls)
	}
	s.assertGone(inv, download, "ended_by_technician")

	// 2. The person ends it: Settings → Apps → Uninstall runs the UninstallString.
	inv = s.stack.Invite(t, password)
	download = s.install(inv, "")
	out, ok := w.regQuery(uninstall, "QuietUninstallString")
	if !ok || !strings.Contains(out, `"C:\Program Files\AdHocSupport\SupportSession.exe" end /quiet`) {
		t.Fatalf("QuietUninstallString:\n%s", out)
	}
	stdout := s.runApp(`C:\Program Files\AdHocSupport\SupportSession.exe`, "end", "/quiet")
	if !strings.Contains(stdout, "The support session has ended. The support account and the app have been removed") {
		t.Errorf("end did not confirm the removal:\n%s", stdout)
	}
	s.assertGone(inv, download, "ended_by_user")

	// 3. The signature check of a release build, in Wine's wintrust.dll. Last: the first
	// program run in a prefix starts Wine's system processes with its own output, and the
	// scenarios above read the service's trace from there.
	t.Run("WinVerifyTrust", func(t *testing.T) { verifySignerUnderWine(t, w, exe) })

	// The password is nowhere on the disk: not in the state, not in the registry files,
	// which wineserver writes out when it stops; no secret in any output.
	w.stop()
	err = filepath.WalkDir(w.prefix, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		if data, err := os.ReadFile(path); err == nil && containsSecret(data, password) {
			t.Errorf("%s contains the password", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if logs := readFile(t, trace.Name()) + s.stdout.String(); containsSecret([]byte(logs), password) || strings.Contains(logs, inv.Token) {
		t.Errorf("the app's output or log shows a secret")
	}
}

// scenario is one server and one Wine PC.
type scenario struct {
	t      *testing.T
	w      *wine
	stack  *teststack.Stack
	app    []byte
	trace  *os.File
	stdout strings.Builder // everything the app printed
	code   string          // the security code the app is given
}

// runApp runs the app in test mode and returns what it printed.
func (s *scenario) runApp(path string, args ...string) string {
	s.t.Helper()
	out, err := os.CreateTemp(s.t.TempDir(), "stdout-*.txt")
	if err != nil {
		s.t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, s.w.bin, append([]string{path}, args...)...)
	cmd.Env = s.w.env("ADHOC_TEST_SECURITY_CODE="+s.code, "ADHOC_SERVER_URL="+s.stack.URL, "ADHOC_LANG=en")
	cmd.Stdout, cmd.Stderr = out, s.trace
	err = cmd.Run()
	text := readFile(s.t, out.Name())
	s.stdout.WriteString(text)
	s.t.Logf("%s %s:\n%s", filepath.Base(strings.ReplaceAll(path, `\`, "/")), strings.Join(args, " "), text)
	if err != nil {
		s.t.Fatalf("app: %v\ntrace:\n%s", err, tail(s.trace.Name()))
	}
	return text
}

// install puts the download where a browser would (with the suffix a second download
// gets), runs it, and checks that the PC is set up.
func (s *scenario) install(inv teststack.Invitation, suffix string) string {
	t, w := s.t, s.w
	t.Helper()
	name := strings.TrimSuffix(protocol.AppFileName(inv.Token), ".exe") + suffix + ".exe"
	download := filepath.Join(w.prefix, "drive_c", "Downloads", name)
	if err := os.MkdirAll(filepath.Dir(download), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(download, s.app, 0o755); err != nil {
		t.Fatal(err)
	}
	// The code as a person may type it, with spaces.
	s.code = strings.ReplaceAll(inv.Code, "-", " ")
	connsBefore := len(s.stack.LiveConnections())
	stdout := s.runApp(`C:\Downloads\` + name)
	if !strings.Contains(stdout, "The support session is active until") {
		t.Fatalf("app did not report an active session")
	}
	if got := s.stack.Session(t, inv.SessionID); got.Status != "active" || got.Hostname == "" || !strings.Contains(got.OSVersion, "Windows") || got.MachineHash == "" {
		t.Errorf("server sees %+v", got)
	}
	if out, ok := w.regQuery(hiddenKey, inv.Username); !ok || !strings.Contains(out, "REG_DWORD") || !strings.Contains(out, "0x0") {
		t.Errorf("hiding value missing:\n%s", out)
	}
	if out, ok := w.regQuery(serviceKey, "ImagePath"); !ok || !strings.Contains(out, `AdHocSupport\SupportSession.exe`) || !strings.Contains(out, "service") {
		t.Errorf("service not registered:\n%s", out)
	}
	if out, ok := w.regQuery(uninstall, "UninstallString"); !ok || !strings.Contains(out, " end") {
		t.Errorf("uninstall entry missing:\n%s", out)
	}
	for _, f := range []string{"SupportSession.exe", "state.json"} {
		if _, err := os.Stat(filepath.Join(w.prefix, programDir, f)); err != nil {
			t.Errorf("program folder: %v", err)
		}
	}
	// The service opens its live connection, then polls once (the server erases the
	// password at the first poll).
	deadline := time.Now().Add(30 * time.Second)
	for {
		conns := s.stack.LiveConnections()
		if len(conns) > connsBefore && conns[len(conns)-1].Ended.IsZero() && s.stack.Session(t, inv.SessionID).Polls >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service holds no live connection or has not polled: connections %v, refused %v, %d polls; the event log:\n%s",
				conns, s.stack.LiveRefusals(), s.stack.Session(t, inv.SessionID).Polls, eventLog(s.trace.Name()))
		}
		time.Sleep(250 * time.Millisecond)
	}
	if !s.stack.Session(t, inv.SessionID).PasswordErased {
		t.Errorf("password not erased after the first poll")
	}
	return download
}

// appGone reports whether nothing of the app is left: the server heard "removed", the
// service process has ended, and the program folder and the download are gone.
func (s *scenario) appGone(inv teststack.Invitation, download string) bool {
	if _, running := s.w.servicePID(); running {
		return false
	}
	for _, p := range []string{filepath.Join(s.w.prefix, programDir), download} {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return s.stack.Session(s.t, inv.SessionID).Status == "removed"
}

// assertGone waits until nothing of the session is left on the PC.
func (s *scenario) assertGone(inv teststack.Invitation, download, reason string) {
	t, w := s.t, s.w
	t.Helper()
	waitFor(t, "the server hears removed", 30*time.Second, func() bool { return s.stack.Session(t, inv.SessionID).Status == "removed" })
	waitFor(t, "the service process ends", 30*time.Second, func() bool { _, ok := w.servicePID(); return !ok })
	waitFor(t, "the program folder is gone", 30*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(w.prefix, programDir))
		return errors.Is(err, fs.ErrNotExist)
	})
	waitFor(t, "the download is gone", 30*time.Second, func() bool {
		_, err := os.Stat(download)
		return errors.Is(err, fs.ErrNotExist)
	})
	if out, ok := w.regQuery(hiddenKey, inv.Username); ok {
		t.Errorf("hiding value still there:\n%s", out)
	}
	if out, ok := w.regQuery(serviceKey, ""); ok {
		t.Errorf("service still registered:\n%s", out)
	}
	if out, ok := w.regQuery(uninstall, ""); ok {
		t.Errorf("uninstall entry still there:\n%s", out)
	}
	if got := s.stack.Session(t, inv.SessionID); got.EndReason != reason {
		t.Errorf("server sees %+v, want end reason %s", got, reason)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// eventLog is what the app wrote to the event log, from Wine's trace.
func eventLog(path string) string {
	data, _ := os.ReadFile(path)
	var lines []string
	for _, l := range strings.Split(string(data), "\n") {
		if strings.Contains(l, "ReportEventW") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n")
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 8000 {
		data = data[len(data)-8000:]
	}
	return string(data)
}

// report keeps the measurements with the test output of `make test`.
func report(t *testing.T, text string) {
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, "agent-wine.txt"), []byte(text), 0o644); err != nil {
		t.Logf("write report: %v", err)
	}
}

// TestProxySettingsUnderWine runs agent/winos's proxy test (TestProxyFromInternetSettings)
// in a Wine prefix of its own: the account's Internet Options as WinHTTP reads them (a
// proxy per scheme with a bypass list, a PAC file on loopback run by WinHTTP), and the
// Internet Settings registry values when those name no proxy.
func TestProxySettingsUnderWine(t *testing.T) {
	dir := t.TempDir()
	exe := filepath.Join(dir, "winos.test.exe")
	cmd := exec.Command("go", "test", "-c", "-tags", sizeTags, "-o", exe, "../winos")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build agent/winos's tests: %v\n%s", err, out)
	}
	w := newPrefix(t, buildDLL(t, dir))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := os.CreateTemp(dir, "out-*.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	run := exec.CommandContext(ctx, w.bin, exe, "-test.run", "^TestZZDebugPAC$|^TestProxyFromInternetSettings$", "-test.v")
	run.Env = w.env("ADHOC_WINE_PROXY_TEST=1")
	run.Stdout, run.Stderr = out, out
	err = run.Run()
	log, _ := os.ReadFile(out.Name())
	if err != nil {
		t.Fatalf("agent/winos's proxy test under Wine: %v\n%s", err, log)
	}
	if !strings.Contains(string(log), "--- PASS: TestProxyFromInternetSettings") {
		t.Fatalf("agent/winos's proxy test did not pass (skipped?):\n%s", log)
	}
	t.Logf("%s", log)
}
