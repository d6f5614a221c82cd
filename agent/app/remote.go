package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// Remote access (DESIGN.md, "Remote access"): the server announces a technician's remote
// connection on the live connection ({"type":"remote",…}) and relays the signals of the
// console ({"type":"signal",…}); the app answers with {"action":"signal",…} on the same
// connection. agent/remote does the rest; this file only connects it to the live
// connection and to POST /v1/agent/remote/ended.

// remoteReportTimeout bounds reporting one remote connection's end: a service that is
// stopping waits for it.
const remoteReportTimeout = 10 * time.Second

// newRemote returns the remote access of the session, or nil when the app has none.
// Signals go out on l.
func (a *App) newRemote(st *State, l *liveLink) *remote.Manager {
	if a.cfg.Remote == nil || st.Account == "" {
		return nil
	}
	client := a.client(st.ServerURL)
	token := st.AgentToken
	return remote.New(remote.Config{
		OS:      a.cfg.Remote,
		Desktop: a.cfg.Desktop,
		Account: st.Account,
		Signal:  l.signal,
		Proxy:   a.turnProxy(),
		Ended: func(r protocol.RemoteEndedRequest) {
			ctx, cancel := context.WithTimeout(context.Background(), remoteReportTimeout)
			defer cancel()
			if err := client.RemoteEnded(ctx, token, r); err != nil {
				a.cfg.OS.Log(LogWarning, fmt.Sprintf("Could not report the end of remote connection %s to the support server: %v", r.RemoteID, err))
			}
		},
		Log: func(level remote.Level, msg string) {
			kind := LogInfo
			if level == remote.Warning {
				kind = LogWarning
			}
			a.cfg.OS.Log(kind, msg)
		},
	})
}

// turnProxy is the proxy a TURN server over TCP or TLS is reached through: the one the
// app's HTTP client takes for an HTTPS request to it (nil: the client has none).
func (a *App) turnProxy() func(addr string) (*url.URL, error) {
	t, ok := a.cfg.HTTPClient.Transport.(*http.Transport)
	if !ok || t.Proxy == nil {
		return nil
	}
	return func(addr string) (*url.URL, error) {
		return t.Proxy(&http.Request{Method: http.MethodConnect, URL: &url.URL{Scheme: "https", Host: addr}, Header: http.Header{}})
	}
}

// errNotConnected is a signal while the live connection is down: the remote connection
// waits for its signals in vain and ends as failed, as one would over a dead network.
var errNotConnected = errors.New("the live connection is not open")

// signal sends the app's signal of a remote connection on the open live connection.
func (l *liveLink) signal(remoteID string, sig protocol.Signal) error {
	c := l.cur.Load()
	if c == nil {
		return errNotConnected
	}
	data, err := json.Marshal(protocol.SignalAction{Action: protocol.ActionSignal, RemoteID: remoteID, Signal: sig})
	if err != nil {
		return fmt.Errorf("encode signal: %w", err)
	}
	return c.send(l.ctx, data)
}

// remoteMessage hands the server's remote and signal messages to remote access.
func (l *liveLink) remoteMessage(kind string, data []byte) {
	if l.remote == nil {
		if kind == protocol.TypeRemote {
			l.a.cfg.OS.Log(LogWarning, "A technician asked for a remote connection, which this app cannot serve.")
		}
		return
	}
	switch kind {
	case protocol.TypeRemote:
		var m protocol.LiveRemote
		if err := json.Unmarshal(data, &m); err != nil {
			l.a.cfg.OS.Log(LogWarning, "Unreadable remote message on the live connection.")
			return
		}
		l.remote.Start(m)
	case protocol.TypeSignal:
		var m protocol.LiveSignal
		if err := json.Unmarshal(data, &m); err != nil {
			l.a.cfg.OS.Log(LogWarning, "Unreadable signal on the live connection.")
			return
		}
		l.remote.Signal(m.RemoteID, m.Signal)
	}
}

// closeRemote ends every remote connection with the reason and waits until each has been
// reported.
func (l *liveLink) closeRemote(reason string) {
	if l != nil {
		l.remote.Close(reason)
	}
}
