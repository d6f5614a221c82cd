//go:build adhocdev

package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/winos"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// remoteDevArg runs remote access alone, a test hook compiled only with the tag adhocdev
// (and run only in a development version): the Wine test of the terminal and the files
// (agent/winetest) uses it to drive the real Windows layer through a real peer connection
// without the rest of the service.
const remoteDevArg = "remote-dev"

// remoteDevHook returns runRemoteDev for its argument.
func remoteDevHook(arg string) (func() int, bool) {
	if arg != remoteDevArg || !development() {
		return nil, false
	}
	return runRemoteDev, true
}

// devClose is the line that ends the run: {"type":"close","reason":"…"}.
type devClose struct {
	Type   string `json:"type"` // "close"
	Reason string `json:"reason"`
}

// devEnded is the end report as a line: {"type":"ended", …RemoteEndedRequest}.
type devEnded struct {
	Type string `json:"type"` // "ended"
	protocol.RemoteEndedRequest
}

// runRemoteDev stands in for the live connection: the server's remote and signal messages
// arrive as JSON lines on stdin, the app's signal actions and end reports leave as JSON
// lines on stdout, the log goes to stderr. The account is ADHOC_TEST_REMOTE_ACCOUNT. The
// screen, input and clipboard go through the real helper (a child process under Wine),
// whose notice speaks ADHOC_LANG when set; {"type":"session"} is a session change.
func runRemoteDev() int {
	logf := func(msg string) { fmt.Fprintln(os.Stderr, msg) }
	osys, err := winos.NewRemote(logf)
	if err != nil {
		logf(err.Error())
		return 1
	}
	var mu sync.Mutex
	enc := json.NewEncoder(os.Stdout)
	emit := func(v any) error {
		mu.Lock()
		defer mu.Unlock()
		return enc.Encode(v)
	}
	launcher := &winos.HelperLauncher{Exe: osys.Exe, Log: logf}
	if lang := os.Getenv("ADHOC_LANG"); lang != "" {
		launcher.Lang = lang
	}
	host := desktop.NewHost(desktop.HostConfig{Launcher: launcher, Log: func(_ remote.Level, msg string) { logf(msg) }})
	defer host.Close()
	m := remote.New(remote.Config{
		OS:      osys,
		Desktop: host,
		Account: os.Getenv("ADHOC_TEST_REMOTE_ACCOUNT"),
		Signal: func(id string, sig protocol.Signal) error {
			return emit(protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: id, Signal: sig})
		},
		Ended: func(r protocol.RemoteEndedRequest) { _ = emit(devEnded{Type: "ended", RemoteEndedRequest: r}) },
		Log:   func(_ remote.Level, msg string) { logf(msg) },
	})
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), protocol.MaxLiveMessage)
	for in.Scan() {
		line := in.Bytes()
		switch protocol.LiveType(line) {
		case protocol.TypeRemote:
			var r protocol.LiveRemote
			if err := json.Unmarshal(line, &r); err != nil {
				logf("remote: " + err.Error())
				continue
			}
			m.Start(r)
		case protocol.TypeSignal:
			var s protocol.LiveSignal
			if err := json.Unmarshal(line, &s); err != nil {
				logf("signal: " + err.Error())
				continue
			}
			m.Signal(s.RemoteID, s.Signal)
		case "session":
			host.SessionChanged()
		case "close":
			var c devClose
			_ = json.Unmarshal(line, &c)
			m.Close(c.Reason)
			return 0
		}
	}
	m.Close(protocol.RemoteServiceStopped)
	return 0
}
