// Command remoteapp is the app's remote code alone, for benchreport's memory figure: the
// app's remote.Manager (agent/remote) on a fake PC (agent/remote/fakeremote: a fake
// shell and the real file code on a folder), natively on Linux, without UDP (TURN over
// TCP, as under Wine). Its live connection is stdin and stdout: one JSON message a line,
// {"remote": …} and {"signal": …} in, {"signal": …} and {"ended": …} out. benchreport
// plays the technician's console and reads this process's memory from /proc.
//
// Usage: remoteapp <folder of the fake PC's drive>; the hidden account's password is in
// REMOTEAPP_PASSWORD. It ends when stdin closes.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"sync"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/remote/fakeremote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// Message is one line either way.
type Message struct {
	Remote *protocol.LiveRemote         `json:"remote,omitempty"`
	Signal *protocol.SignalAction       `json:"signal,omitempty"`
	Ended  *protocol.RemoteEndedRequest `json:"ended,omitempty"`
	// Ready is the first line out: the Manager is made and stdin is read.
	Ready bool `json:"ready,omitempty"`
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: remoteapp <folder>")
		os.Exit(2)
	}
	pc := fakeremote.New(os.Args[1])
	pc.AddAccount(session.DefaultUsername, os.Getenv("REMOTEAPP_PASSWORD"))
	var mu sync.Mutex
	out := json.NewEncoder(os.Stdout)
	write := func(m Message) error {
		mu.Lock()
		defer mu.Unlock()
		return out.Encode(m)
	}
	m := remote.New(remote.Config{
		OS: pc, Account: session.DefaultUsername,
		Signal: func(remoteID string, sig protocol.Signal) error {
			return write(Message{Signal: &protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig}})
		},
		Ended: func(r protocol.RemoteEndedRequest) {
			if err := write(Message{Ended: &r}); err != nil {
				fmt.Fprintln(os.Stderr, "remoteapp:", err)
			}
		},
		Log: func(_ remote.Level, msg string) { fmt.Fprintln(os.Stderr, "remoteapp:", msg) },
		UDP: func() bool { return false },
	})
	if err := write(Message{Ready: true}); err != nil {
		fmt.Fprintln(os.Stderr, "remoteapp:", err)
		os.Exit(1)
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 64<<10), protocol.MaxLiveMessage)
	for in.Scan() {
		var msg Message
		if err := json.Unmarshal(in.Bytes(), &msg); err != nil {
			fmt.Fprintln(os.Stderr, "remoteapp: a line is not a message:", err)
			continue
		}
		switch {
		case msg.Remote != nil:
			m.Start(*msg.Remote)
		case msg.Signal != nil:
			m.Signal(msg.Signal.RemoteID, msg.Signal.Signal)
		}
	}
	m.Close(protocol.RemoteServiceStopped)
}
