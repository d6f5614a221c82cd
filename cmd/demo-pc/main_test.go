package main

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/winepc"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// wait bounds every wait: Wine on a loaded 2-core machine takes seconds.
const wait = 90 * time.Second

var joinLink = regexp.MustCompile(`http://[^\s"<>]+/join/[A-Za-z0-9_-]{43}`)

// TestDemoPC runs `make demo-pc`'s program as a person would, against the local stack: with
// the link and code of an invitation it pairs the real signed exe under Wine and Xvfb, and
// stops by itself once the technician has ended the session and the app has removed
// itself. A second run in the same folder pairs again and stops on Ctrl-C (SIGINT), leaving
// no process of the Wine PC and no X server behind, and the session active.
func TestDemoPC(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Wine runs on Linux")
	}
	exe := os.Getenv("ADHOC_AGENT_EXE")
	if exe == "" {
		t.Skip("ADHOC_AGENT_EXE names no exe: `make agent` builds it, `make test` passes it")
	}
	bin := filepath.Join(t.TempDir(), "demo-pc")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build demo-pc: %v\n%s", err, out)
	}
	_, table := testenv.Table(t)
	st, err := devstack.Start(t.Context(), devstack.Options{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		Config:           support.Defaults(),
		AppDir:           t.TempDir(),
	})
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(st.Close)
	dir := t.TempDir()
	pc := &winepc.PC{Prefix: filepath.Join(dir, "prefix")}
	tech := support.Technician{ID: "tech-demo", Email: "dana@example.com", Name: "Dana", Account: "demo"}

	// 1. The technician ends the session: demo-pc stops by itself.
	id, link, code := invite(t, st, tech, "first@example.org")
	run := startDemoPC(t, bin, "-link", link, "-code", code, "-dir", dir, "-exe", exe)
	run.waitFor(t, "The session's service runs under Wine")
	waitUntil(t, "the service's live connection", func() bool {
		ss, err := st.Service.Store.GetSession(t.Context(), id)
		return err == nil && ss.LiveConnection != ""
	})
	if _, err := st.Service.Cancel(t.Context(), tech, id); err != nil {
		t.Fatal(err)
	}
	if err := run.exit(t); err != nil {
		t.Errorf("demo-pc after the session's end: %v\n%s", err, run.output())
	}
	if !strings.Contains(run.output(), "The session is over: the app has removed the account and itself.") {
		t.Errorf("demo-pc did not say the session is over:\n%s", run.output())
	}
	if _, err := os.Stat(filepath.Join(pc.DriveC(), "Program Files", "AdHocSupport")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the app's folder is still on the PC (%v)", err)
	}
	run.assertStopped(t, pc)
	waitUntil(t, "the server to hear removed", func() bool {
		ss, err := st.Service.Store.GetSession(t.Context(), id)
		return err == nil && ss.Status == "removed"
	})

	// 2. The same PC pairs again; Ctrl-C stops it, and the session stays active.
	id, link, code = invite(t, st, tech, "second@example.org")
	run = startDemoPC(t, bin, "-link", link, "-code", code, "-dir", dir, "-exe", exe)
	run.waitFor(t, "The session's service runs under Wine")
	if strings.Contains(run.output(), "earlier run") {
		t.Errorf("the PC still held the first session:\n%s", run.output())
	}
	if err := run.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := run.exit(t); err != nil {
		t.Errorf("demo-pc after Ctrl-C: %v\n%s", err, run.output())
	}
	run.assertStopped(t, pc)
	if ss, err := st.Service.Store.GetSession(t.Context(), id); err != nil || ss.Status != "active" {
		t.Errorf("after Ctrl-C the session is %v (%v), want still active", ss.Status, err)
	}
	t.Logf("second run:\n%s", run.output())
}

func invite(t *testing.T, st *devstack.Stack, tech support.Technician, to string) (id, link, code string) {
	t.Helper()
	since := time.Now()
	inv, err := st.Service.Invite(t.Context(), tech, support.InviteRequest{Email: to, Password: "Demo-PC-Passw0rd!", Locale: "en"})
	if err != nil {
		t.Fatalf("invite: %v", err)
	}
	m := testenv.WaitMail(t, st.SESURL, to, since)
	link = joinLink.FindString(m.Text)
	if link == "" {
		t.Fatalf("no join link in the mail to %s", to)
	}
	return inv.ID, link, inv.SecurityCode
}

// demoRun is one run of demo-pc; its output goes to a file, not a pipe, as Wine's
// processes inherit it.
type demoRun struct {
	cmd  *exec.Cmd
	out  string
	done chan error
}

func startDemoPC(t *testing.T, bin string, args ...string) *demoRun {
	t.Helper()
	out, err := os.Create(filepath.Join(t.TempDir(), "demo-pc.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &demoRun{cmd: cmd, out: out.Name(), done: make(chan error, 1)}
	go func() { r.done <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGINT)
			select {
			case <-r.done:
			case <-time.After(wait):
				_ = cmd.Process.Kill()
			}
		}
	})
	return r
}

func (r *demoRun) output() string {
	data, _ := os.ReadFile(r.out)
	return string(data)
}

func (r *demoRun) waitFor(t *testing.T, text string) {
	t.Helper()
	waitUntil(t, "demo-pc to print "+text, func() bool {
		select {
		case err := <-r.done:
			r.done <- err
			t.Fatalf("demo-pc ended (%v) before it printed %q:\n%s", err, text, r.output())
		default:
		}
		return strings.Contains(r.output(), text)
	})
}

func (r *demoRun) exit(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(wait):
		t.Fatalf("demo-pc still runs after %v:\n%s", wait, r.output())
		return nil
	}
}

var display = regexp.MustCompile(`Virtual screen (:\d+) `)

// assertStopped checks that nothing demo-pc started runs any more: no process of the Wine
// prefix, and not its X server.
func (r *demoRun) assertStopped(t *testing.T, pc *winepc.PC) {
	t.Helper()
	if left := pc.Processes(); len(left) > 0 {
		t.Errorf("processes of the Wine PC still run: %v", left)
	}
	m := display.FindStringSubmatch(r.output())
	if m == nil {
		t.Fatalf("demo-pc named no virtual screen:\n%s", r.output())
	}
	if _, err := os.Stat("/tmp/.X" + strings.TrimPrefix(m[1], ":") + "-lock"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the X server of %s still runs (%v)", m[1], err)
	}
}

func waitUntil(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", wait, what)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
