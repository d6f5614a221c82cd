package remotebench

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/remote/remotetest"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The app's memory while a terminal is open, measured on the app's remote code alone
// (internal/measure/remoteapp: agent/remote's Manager on the fake PC, natively on Linux,
// TURN over TCP as under Wine) in a process of its own, so that the figure holds nothing
// of the console, the TURN server or the stack. It reads the process's resident set
// (VmRSS) and its peak (VmHWM) from /proc. The Windows app adds its tray, service and
// live-channel code and Windows' own libraries; the shell it starts (PowerShell in a
// ConPTY) is a process of its own there, and the fake shell here is a few goroutines.

// AppMemoryOptions configure MeasureAppMemory.
type AppMemoryOptions struct {
	// Root is the module's folder (the build runs there); Dir takes the build.
	Root, Dir string
	// TransferBytes is the size of the download and the upload done with the terminal
	// open; default 8 MiB.
	TransferBytes int
}

// AppMemory is what MeasureAppMemory measured, in bytes.
type AppMemory struct {
	BinaryBytes  int64 `json:"binaryBytes"`   // the Linux build of remoteapp, stripped
	Idle         int64 `json:"idleRss"`       // ready, no remote connection yet
	TerminalOpen int64 `json:"terminalRss"`   // signed in, the shell's prompt shown
	Transferred  int64 `json:"afterFilesRss"` // after a download and an upload, the terminal still open
	Ended        int64 `json:"endedRss"`      // after Disconnect
	Peak         int64 `json:"peakRss"`       // VmHWM at the end
	Transfer     int   `json:"transferBytes"`
}

// MeasureAppMemory builds remoteapp, plays the console against it over a TURN server on
// loopback and reads its memory at each step.
func MeasureAppMemory(ctx context.Context, o AppMemoryOptions) (AppMemory, error) {
	o.TransferBytes = cmpOr(o.TransferBytes, 8<<20)
	res := AppMemory{Transfer: o.TransferBytes}
	bin := filepath.Join(o.Dir, "remoteapp")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./internal/measure/remoteapp")
	cmd.Dir = o.Root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return res, fmt.Errorf("app memory: build remoteapp: %w\n%s", err, msg)
	}
	if fi, err := os.Stat(bin); err == nil {
		res.BinaryBytes = fi.Size()
	}
	srv, err := turn.Start(turn.Options{})
	if err != nil {
		return res, fmt.Errorf("app memory: %w", err)
	}
	defer srv.Close()
	drive, err := os.MkdirTemp(o.Dir, "pc-*")
	if err != nil {
		return res, fmt.Errorf("app memory: %w", err)
	}
	err = runTB(func(t testing.TB) { measureAppMemory(ctx, t, bin, drive, srv, &res) })
	if err != nil {
		return res, fmt.Errorf("app memory: %w", err)
	}
	return res, nil
}

func measureAppMemory(ctx context.Context, t testing.TB, bin, drive string, srv *turn.Server, res *AppMemory) {
	app := exec.CommandContext(ctx, bin, drive)
	app.Env = append(os.Environ(), "REMOTEAPP_PASSWORD="+bench.SessionPassword)
	app.Stderr = io.Discard
	stdin, err := app.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := app.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- app.Wait() }()
	t.Cleanup(func() {
		_ = stdin.Close()
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = app.Process.Kill()
			<-exited
		}
	})
	type line struct {
		Signal *protocol.SignalAction       `json:"signal"`
		Ended  *protocol.RemoteEndedRequest `json:"ended"`
		Ready  bool                         `json:"ready"`
	}
	ready, ended := make(chan struct{}, 1), make(chan struct{}, 1)
	var console *remotetest.Console
	consoleSet := make(chan struct{})
	go func() {
		in := bufio.NewScanner(stdout)
		in.Buffer(make([]byte, 64<<10), protocol.MaxLiveMessage)
		for in.Scan() {
			var l line
			if err := json.Unmarshal(in.Bytes(), &l); err != nil {
				t.Errorf("remoteapp wrote %q", in.Text())
				continue
			}
			switch {
			case l.Ready:
				ready <- struct{}{}
			case l.Ended != nil:
				ended <- struct{}{}
			case l.Signal != nil:
				<-consoleSet
				console.FromApp(l.Signal.Signal)
			}
		}
	}()
	send := func(v any) {
		raw, err := json.Marshal(v)
		if err != nil {
			t.Error(err)
			return
		}
		if _, err := stdin.Write(append(raw, '\n')); err != nil {
			t.Errorf("to remoteapp: %v", err)
		}
	}
	wait := func(what string, ch chan struct{}) {
		select {
		case <-ch:
		case <-time.After(remotetestWait):
			t.Fatalf("remoteapp: no %s within %s", what, remotetestWait)
		}
	}
	pid := app.Process.Pid
	wait("ready", ready)
	settle()
	res.Idle = procStatus(t, pid, "VmRSS")

	const remoteID = "r-memory"
	servers, expires, err := srv.ICEServers(remoteID)
	if err != nil {
		t.Fatal(err)
	}
	console = remotetest.New(t, remotetest.Options{RemoteID: remoteID, ICEServers: servers, RelayOnly: true,
		Send: func(sig protocol.Signal) {
			send(map[string]any{"signal": protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig}})
		}})
	close(consoleSet)
	send(map[string]any{"remote": protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: remoteID, ICEServers: servers, Technician: "Tina Example", ExpiresAt: expires}})
	console.Offer()
	console.WaitOpen()
	if m := console.Login(bench.SessionPassword); m["ok"] != true {
		t.Fatalf("login: %v", m)
	}
	console.WaitOutput(`PS C:\Users\`)
	console.TypeLine("echo memory")
	console.WaitOutput("memory\r\n")
	settle()
	res.TerminalOpen = procStatus(t, pid, "VmRSS")

	data := make([]byte, res.Transfer)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	path := filepath.Join(drive, "memory.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	console.SendFile(map[string]any{"type": "get", "id": "d1", "path": path})
	if m := console.NextFileOf("meta", "error"); m["type"] != "meta" {
		t.Fatalf("download: %v", m)
	}
	if m := console.NextFileOf("end", "error"); m["type"] != "end" {
		t.Fatalf("download: %v", m)
	}
	console.Upload("u1", "memory-up.bin", "", data, hex.EncodeToString(sum[:]))
	if m := console.NextFileOf("done", "error"); m["type"] != "done" {
		t.Fatalf("upload: %v", m)
	}
	settle()
	res.Transferred = procStatus(t, pid, "VmRSS")
	console.Bye()
	wait("end report", ended)
	settle()
	res.Ended = procStatus(t, pid, "VmRSS")
	res.Peak = procStatus(t, pid, "VmHWM")
}

// settle gives the process's goroutines a moment to finish what the last step started
// before its memory is read; it is part of a measurement, not a wait for a condition.
func settle() { time.Sleep(300 * time.Millisecond) }

// procStatus reads one "kB" line of /proc/<pid>/status, in bytes.
func procStatus(t testing.TB, pid int, field string) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("%s: %q", field, v)
			}
			return kb << 10
		}
	}
	t.Fatalf("/proc/%d/status has no %s", pid, field)
	return 0
}
