//go:build linux

package winetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/internal/testconsole"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// TestRemoteUnderWine: the real exe's remote access under Wine, through the local TURN
// server over TCP (Go programs cannot use UDP under Wine), with pion playing the console:
// the terminal's shell (cmd.exe: Wine has no PowerShell) runs in a pseudo console through
// the exe's shim and answers, an upload lands in the account's Downloads folder with its
// SHA-256, a download comes back with it, and the end kills the shell.
//
// What Wine cannot prove: its LogonUserW accepts any password (the password rule is
// proven against the fake PC in agent/remote), and it has one user, so the shell and the
// files run as the service's own user (see winos: CreateProcessAsUser's fallback).
func TestRemoteUnderWine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Wine test runs on Linux")
	}
	exe, dll := build(t, t.TempDir())
	w := newPrefix(t, dll)
	// Wine links the user's Downloads folder to $HOME on this machine; the prefix gets a
	// folder of its own, so that the test writes nothing outside it.
	for _, user := range []string{os.Getenv("USER"), "root"} {
		dl := filepath.Join(w.prefix, "drive_c", "users", user, "Downloads")
		if fi, err := os.Lstat(dl); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			if err := os.Remove(dl); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(dl, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	// Where the service runs from on a PC: the shim is this file too.
	installed := filepath.Join(w.prefix, programDir, "SupportSession.exe")
	if err := os.MkdirAll(filepath.Dir(installed), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(installed, data, 0o755); err != nil {
		t.Fatal(err)
	}
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })

	app := startRemoteDev(t, w)
	const remoteID = "r-wine"
	servers, _, err := srv.ICEServers(remoteID)
	if err != nil {
		t.Fatal(err)
	}
	c := testconsole.New(t, testconsole.Options{RemoteID: remoteID, ICEServers: servers, RelayOnly: true,
		Send: func(sig protocol.Signal) {
			app.send(protocol.LiveSignal{Type: protocol.TypeSignal, RemoteID: remoteID, Signal: sig})
		}, AppLog: app.log})
	app.console = c
	start := time.Now()
	app.send(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: remoteID, ICEServers: servers, Technician: "Tina Example",
		ExpiresAt: time.Now().Add(5 * time.Minute)})
	c.Offer()
	c.WaitOpen()
	opened := time.Since(start)
	pair := c.Pair()
	t.Logf("remote message to both channels open under Wine: %v; pair: console %s, app %s", opened.Round(time.Millisecond), pair.Local, pair.Remote)
	if pair.Remote.Typ.String() != "relay" {
		t.Errorf("the app's candidate is %s, want relay (TURN over TCP)", pair.Remote)
	}

	// The terminal: Wine's LogonUserW takes any password.
	start = time.Now()
	m := c.Login("any password works under Wine")
	if m["ok"] != true || m["shell"] != "cmd.exe" {
		t.Fatalf("login: %v\napp log:\n%s", m, app.log())
	}
	c.TypeLine("set /a 6*7")
	c.WaitOutput("42")
	t.Logf("password to the shell's first answer: %v", time.Since(start).Round(time.Millisecond))
	c.TypeLine("echo hello-%PROCESSOR_ARCHITECTURE%")
	c.WaitOutput("hello-AMD64")
	// Wine 8's ResizePseudoConsole is not implemented: resizing is proven against the
	// fake PC only (agent/remote), here it must merely not break the shell.
	c.SendTerm(map[string]any{"type": "resize", "cols": 100, "rows": 40})
	c.TypeLine("echo still-%COMSPEC%")
	c.WaitOutput(`still-C:\windows\system32\cmd.exe`)
	shells := w.processes("cmd.exe")
	shims := w.processes("conpty-shim")
	if len(shells) == 0 || len(shims) == 0 {
		t.Errorf("no shell (%v) or shim (%v) process in the prefix", shells, shims)
	}

	// Files: an upload into Downloads, a download back.
	up := make([]byte, 300_000)
	rand.Read(up)
	c.Upload("u1", "from-technician.bin", "", up, hexSum(up))
	done := c.NextFileOf("done", "error")
	if done["type"] != "done" || done["sha256"] != hexSum(up) {
		t.Fatalf("upload: %v\napp log:\n%s", done, app.log())
	}
	onPC := w.unixPath(done["path"].(string))
	if got, err := os.ReadFile(onPC); err != nil || hexSum(got) != hexSum(up) {
		t.Errorf("%s in the prefix: %v, SHA-256 %s", done["path"], err, hexSum(got))
	}
	if !strings.HasPrefix(onPC, w.prefix) {
		t.Errorf("the upload went to %s, outside the prefix", onPC)
	}
	t.Logf("uploaded to %s", done["path"])
	down := make([]byte, 2<<20+7)
	rand.Read(down)
	if err := os.WriteFile(filepath.Join(w.prefix, "drive_c", "report.bin"), down, 0o644); err != nil {
		t.Fatal(err)
	}
	c.SendFile(map[string]any{"type": "get", "id": "d1", "path": `C:\report.bin`})
	if m := c.NextFile(); m["type"] != "meta" || m["size"] != float64(len(down)) {
		t.Fatalf("download: %v\napp log:\n%s", m, app.log())
	}
	if m := c.NextFile(); m["type"] != "end" || m["sha256"] != hexSum(down) {
		t.Errorf("download end: %v", m)
	}
	if got, _, _ := c.Downloaded(); !bytes.Equal(got, down) {
		t.Errorf("downloaded %d bytes, not the file", len(got))
	}

	// The end: the session ends; the peer connection closes and the shell is gone.
	start = time.Now()
	app.send(map[string]string{"type": "close", "reason": protocol.RemoteSessionEnded})
	rep := app.ended(t)
	reported := time.Since(start)
	closed := c.WaitClosed(start)
	waitFor(t, "the shell and the shim are gone", 10*time.Second, func() bool {
		return len(w.processes("cmd.exe")) == 0 && len(w.processes("conpty-shim")) == 0
	})
	gone := time.Since(start)
	t.Logf("session end → reported %v, console's channels closed %v, shell gone %v", reported.Round(time.Millisecond),
		closed.Round(time.Millisecond), gone.Round(time.Millisecond))
	if rep.Reason != protocol.RemoteSessionEnded || rep.BytesToPC < int64(len(up)) || rep.BytesFromPC < int64(len(down)) {
		t.Errorf("report %+v", rep)
	}
	if reported > time.Second || closed > time.Second {
		t.Errorf("ended %v / %v after being told, want within 1 s", reported, closed)
	}
	t.Logf("app log:\n%s", app.log())
	if strings.Contains(app.log(), servers[0].Credential) {
		t.Errorf("the app's log shows the TURN credential")
	}
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// devApp is the exe in its remote-dev mode: the server's messages go in as lines, its
// signals and end report come out as lines.
type devApp struct {
	t       testing.TB
	stdin   io.WriteCloser
	console *testconsole.Console
	ends    chan protocol.RemoteEndedRequest
	logPath string

	mu sync.Mutex
}

func startRemoteDev(t *testing.T, w *wine) *devApp {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, w.bin, `C:\Program Files\AdHocSupport\SupportSession.exe`, "remote-dev")
	cmd.Env = w.env("ADHOC_TEST_REMOTE_ACCOUNT=AdHocRemoteUser")
	return runRemoteDev(t, cmd, cancel)
}

// runRemoteDev starts cmd, the exe in its remote-dev mode, and reads its lines.
func runRemoteDev(t testing.TB, cmd *exec.Cmd, cancel context.CancelFunc) *devApp {
	t.Helper()
	logFile, err := os.Create(filepath.Join(t.TempDir(), "remote-dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = logFile
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &devApp{t: t, stdin: stdin, ends: make(chan protocol.RemoteEndedRequest, 2), logPath: logFile.Name()}
	t.Cleanup(func() {
		stdin.Close()
		cancel()
		_ = cmd.Wait()
		logFile.Close()
	})
	go func() {
		lines := bufio.NewScanner(stdout)
		lines.Buffer(make([]byte, 64<<10), 1<<20)
		for lines.Scan() {
			line := lines.Bytes()
			var m struct {
				Type   string `json:"type"`
				Action string `json:"action"`
			}
			if json.Unmarshal(line, &m) != nil {
				continue // Wine's own chatter
			}
			switch {
			case m.Action == protocol.ActionSignal:
				var s protocol.SignalAction
				if err := json.Unmarshal(line, &s); err == nil && a.console != nil {
					a.console.FromApp(s.Signal)
				}
			case m.Type == "ended":
				var r protocol.RemoteEndedRequest
				if err := json.Unmarshal(line, &r); err == nil {
					a.ends <- r
				}
			}
		}
	}()
	return a
}

func (a *devApp) send(v any) {
	data, err := json.Marshal(v)
	if err != nil {
		a.t.Error(err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, err := a.stdin.Write(append(data, '\n')); err != nil {
		a.t.Errorf("to the app: %v", err)
	}
}

func (a *devApp) log() string {
	data, _ := os.ReadFile(a.logPath)
	return string(data)
}

func (a *devApp) ended(t testing.TB) protocol.RemoteEndedRequest {
	t.Helper()
	select {
	case r := <-a.ends:
		return r
	case <-time.After(15 * time.Second):
		t.Fatalf("no end report; app log:\n%s", a.log())
		return protocol.RemoteEndedRequest{}
	}
}

// processes lists the pids of this prefix's processes whose command line contains word.
func (w *wine) processes(word string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil || !bytes.Contains(bytes.ToLower(cmdline), []byte(strings.ToLower(word))) {
			continue
		}
		if env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ")); err != nil || !bytes.Contains(env, []byte("WINEPREFIX="+w.prefix+"\x00")) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// unixPath is where a C:\ path of the prefix lies on this machine.
func (w *wine) unixPath(win string) string {
	rest, ok := strings.CutPrefix(win, `C:\`)
	if !ok {
		rest, _ = strings.CutPrefix(win, `c:\`)
	}
	return filepath.Join(w.prefix, "drive_c", filepath.FromSlash(strings.ReplaceAll(rest, `\`, "/")))
}
