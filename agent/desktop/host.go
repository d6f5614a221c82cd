package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/screen"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// Launcher is what the service needs from Windows for the helper.
type Launcher interface {
	// Launch starts the helper (this exe with HelperArg) in the active console session
	// on winsta0\default, its pipes inherited; it ends at the latest with the service.
	Launch() (Process, error)
	// ActiveSession is the session attached to the physical console now; false while
	// there is none (during a switch).
	ActiveSession() (uint32, bool)
	// Language is the display language ("de", "en") of the user of the session, or of
	// Windows when nobody is signed in.
	Language(session uint32) string
	// SendSAS is Ctrl+Alt+Del (sas.dll's SendSAS), allowed for services by the
	// SoftwareSASGeneration policy value while remote access needs it.
	SendSAS() error
	// RestoreSAS puts that policy value back as it was before SendSAS changed it.
	RestoreSAS() error
}

// Process is a running helper.
type Process interface {
	// Read reads the helper's frames (its standard output).
	io.Reader
	// Write writes frames to it (its standard input).
	io.Writer
	// Session is the session it runs in.
	Session() uint32
	// Wait returns once it has exited.
	Wait() error
	// Kill ends it and closes the pipes; it may be called more than once.
	Kill() error
}

// HostConfig wires a Host.
type HostConfig struct {
	Launcher Launcher
	// Log writes to the event log.
	Log func(level remote.Level, msg string)
	// StopWait bounds how long a helper told to stop may take before it is killed; zero
	// means 2 s.
	StopWait time.Duration
	// RetryAfter is the pause before starting a helper again after it failed to start
	// or exited by itself; zero means 1 s. Restarts after a session change are at once.
	RetryAfter time.Duration
}

// maxRestarts bounds the restarts of a helper that keeps dying, per restartWindow.
const (
	maxRestarts   = 5
	restartWindow = time.Minute
)

// Host is the service's side of the helper: remote.Desktop. One technician is attached
// at a time (a second attachment replaces the first, as a superseding connection does).
type Host struct {
	cfg HostConfig

	mu       sync.Mutex
	att      *attachment
	cur      *helper // nil while none runs
	restarts []time.Time
	retry    *time.Timer
	closed   bool
	sasUsed  bool // SendSAS changed the policy value since the last restore
}

var _ remote.Desktop = (*Host)(nil)

// NewHost returns a Host. A policy value a crashed service left changed is put back at
// once.
func NewHost(cfg HostConfig) *Host {
	if cfg.Log == nil {
		cfg.Log = func(remote.Level, string) {}
	}
	if cfg.StopWait <= 0 {
		cfg.StopWait = 2 * time.Second
	}
	if cfg.RetryAfter <= 0 {
		cfg.RetryAfter = time.Second
	}
	h := &Host{cfg: cfg}
	if err := cfg.Launcher.RestoreSAS(); err != nil {
		cfg.Log(remote.Warning, "Restoring the SoftwareSASGeneration policy value: "+err.Error())
	}
	return h
}

// attachment is one remote connection's use of the desktop.
type attachment struct {
	h          *Host
	technician string
	peer       remote.DesktopPeer

	// The screen's state, under h.mu, to start a new helper where the old one was.
	screenOn  bool
	screenIn  screen.In // the start, updated by quality and display
	nextFrame int64     // after the highest frame number the console has seen announced
}

// helper is one running helper process.
type helper struct {
	p       Process
	pipe    *pipe
	session uint32
	exited  chan struct{}
	// stopping: the Host ended it on purpose (no restart unless restart is set).
	stopping, restart bool
}

// Attach implements remote.Desktop: the helper starts (or goes on) and shows the notice.
func (h *Host) Attach(technician string, peer remote.DesktopPeer) (remote.DesktopLink, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, errors.New("remote access is ending")
	}
	a := &attachment{h: h, technician: technician, peer: peer, nextFrame: 1}
	h.att = a
	if h.cur == nil {
		if err := h.startLocked(); err != nil {
			h.att = nil
			return nil, err
		}
		return a, nil
	}
	h.greetLocked(h.cur, a)
	return a, nil
}

// startLocked starts a helper for h.att and tells it what it is to show.
func (h *Host) startLocked() error {
	p, err := h.cfg.Launcher.Launch()
	if err != nil {
		return fmt.Errorf("start the helper in the user's session: %w", err)
	}
	hp := &helper{p: p, pipe: newPipe(p, p), session: p.Session(), exited: make(chan struct{})}
	h.cur = hp
	h.cfg.Log(remote.Info, fmt.Sprintf("The remote-access helper runs in session %d.", hp.session))
	go h.read(hp)
	go h.wait(hp)
	h.greetLocked(hp, h.att)
	return nil
}

// greetLocked shows a's notice on hp and restarts the screen where it was.
func (h *Host) greetLocked(hp *helper, a *attachment) {
	lang := h.cfg.Launcher.Language(hp.session)
	go func() {
		_ = hp.pipe.json(kindControl, control{Type: ctlNotice, Technician: a.technician, Lang: lang})
	}()
	if a.screenOn {
		start := a.screenIn
		start.Frame = a.nextFrame
		go func() { _ = hp.pipe.json(kindScreenText, start) }()
	}
}

// read relays what the helper sends until its pipe closes.
func (h *Host) read(hp *helper) {
	for {
		kind, data, err := hp.pipe.read()
		if err != nil {
			return
		}
		h.mu.Lock()
		a := h.att
		if h.cur != hp {
			a = nil // an old helper's last words
		}
		h.mu.Unlock()
		switch kind {
		case kindControl:
			var c control
			if json.Unmarshal(data, &c) != nil {
				continue
			}
			switch c.Type {
			case ctlDisconnect:
				if a != nil {
					a.peer.Disconnected()
				}
			case ctlLog:
				level := remote.Info
				if c.Warning {
					level = remote.Warning
				}
				h.cfg.Log(level, "Remote-access helper: "+c.Message)
			}
		case kindScreenText:
			if a == nil {
				continue
			}
			var f screen.FrameMessage
			if json.Unmarshal(data, &f) == nil && f.Type == screen.OutFrame {
				h.mu.Lock()
				a.nextFrame = max(a.nextFrame, f.Frame+1)
				h.mu.Unlock()
			}
			a.peer.Message(protocol.ChannelScreen, true, data)
		case kindScreenBinary:
			if a != nil {
				a.peer.Message(protocol.ChannelScreen, false, data)
			}
		case kindInput:
			if a != nil {
				a.peer.Message(protocol.ChannelInput, true, data)
			}
		case kindClipboard:
			if a != nil {
				a.peer.Message(protocol.ChannelClipboard, true, data)
			}
		}
	}
}

// wait notices the helper's exit and starts the next one when a technician is still
// attached: at once after a session change, after RetryAfter when it died by itself.
func (h *Host) wait(hp *helper) {
	err := hp.p.Wait()
	_ = hp.p.Kill() // the pipes
	close(hp.exited)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == hp {
		h.cur = nil
	}
	if h.closed || h.att == nil || (hp.stopping && !hp.restart) {
		return
	}
	if hp.restart {
		h.launchLocked()
		return
	}
	h.cfg.Log(remote.Warning, fmt.Sprintf("The remote-access helper exited (%v); starting it again.", err))
	h.retryLocked()
}

// launchLocked starts a helper now, or retries later.
func (h *Host) launchLocked() {
	if h.cur != nil || h.att == nil || h.closed {
		return
	}
	now := time.Now()
	var recent []time.Time
	for _, t := range h.restarts {
		if now.Sub(t) < restartWindow {
			recent = append(recent, t)
		}
	}
	h.restarts = append(recent, now)
	if len(recent) >= maxRestarts {
		h.cfg.Log(remote.Warning, fmt.Sprintf("The remote-access helper was started %d times within %v; it is not started again for this connection.", maxRestarts, restartWindow))
		return
	}
	if err := h.startLocked(); err != nil {
		h.cfg.Log(remote.Warning, err.Error())
		h.retryLocked()
	}
}

func (h *Host) retryLocked() {
	if h.retry != nil {
		h.retry.Stop()
	}
	h.retry = time.AfterFunc(h.cfg.RetryAfter, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.launchLocked()
	})
}

// SessionChanged is SERVICE_CONTROL_SESSIONCHANGE: when the console now shows another
// session (a user signed in or out, fast user switching, a remote session took the
// console), the helper moves there.
func (h *Host) SessionChanged() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.att == nil || h.closed {
		return
	}
	active, ok := h.cfg.Launcher.ActiveSession()
	hp := h.cur
	if hp == nil {
		if ok {
			h.restarts = nil
			h.launchLocked()
		}
		return
	}
	if ok && hp.session == active {
		return
	}
	h.cfg.Log(remote.Info, fmt.Sprintf("The console's session changed (from %d); the remote-access helper follows it.", hp.session))
	// Without a console session for the moment, the next change starts the helper.
	hp.stopping, hp.restart = true, ok
	h.restarts = nil
	_ = hp.p.Kill()
}

// Close ends the helper and refuses new attachments: the service is stopping, or the
// session is over.
func (h *Host) Close() {
	h.mu.Lock()
	h.closed = true
	h.att = nil
	hp := h.cur
	if h.retry != nil {
		h.retry.Stop()
	}
	h.mu.Unlock()
	h.stop(hp)
	h.restoreSAS()
}

// stop tells a helper to end and kills it if it does not within StopWait.
func (h *Host) stop(hp *helper) {
	if hp == nil {
		return
	}
	h.mu.Lock()
	hp.stopping, hp.restart = true, false
	h.mu.Unlock()
	// The write may block on a helper that no longer reads; the kill below ends it.
	go func() { _ = hp.pipe.json(kindControl, control{Type: ctlStop}) }()
	select {
	case <-hp.exited:
		return
	case <-time.After(h.cfg.StopWait):
	}
	h.cfg.Log(remote.Warning, fmt.Sprintf("The remote-access helper did not end within %v of being told; it was ended.", h.cfg.StopWait))
	_ = hp.p.Kill()
	<-hp.exited
}

func (h *Host) restoreSAS() {
	h.mu.Lock()
	used := h.sasUsed
	h.sasUsed = false
	h.mu.Unlock()
	if !used {
		return
	}
	if err := h.cfg.Launcher.RestoreSAS(); err != nil {
		h.cfg.Log(remote.Warning, "Restoring the SoftwareSASGeneration policy value: "+err.Error())
	}
}

// Running reports whether a helper runs, and in which session (for tests and the log).
func (h *Host) Running() (uint32, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil {
		return 0, false
	}
	return h.cur.session, true
}

// Send implements remote.DesktopLink.
func (a *attachment) Send(label string, data []byte) {
	h := a.h
	kind := kindScreenText
	switch label {
	case protocol.ChannelScreen:
		var m screen.In
		if json.Unmarshal(data, &m) == nil {
			h.mu.Lock()
			switch m.Type {
			case screen.InStart:
				a.screenOn, a.screenIn = true, m
				// A frame number from the console means nothing to the helper.
				a.screenIn.Frame = 0
				data, _ = json.Marshal(screen.In{Type: m.Type, Display: m.Display, Quality: m.Quality, MaxFPS: m.MaxFPS, Frame: a.nextFrame})
			case screen.InStop:
				a.screenOn = false
			case screen.InQuality:
				a.screenIn.Quality = m.Quality
			case screen.InDisplay:
				a.screenIn.Display = m.Display
			}
			h.mu.Unlock()
		}
	case protocol.ChannelInput:
		kind = kindInput
		var m InputMessage
		if json.Unmarshal(data, &m) == nil && m.Type == InputSAS {
			go a.sas()
			return
		}
	case protocol.ChannelClipboard:
		kind = kindClipboard
	default:
		return
	}
	h.mu.Lock()
	hp := h.cur
	current := h.att == a
	h.mu.Unlock()
	if hp == nil || !current {
		return // between helpers: the screen starts again with the next one
	}
	_ = hp.pipe.write(kind, data)
}

// sas answers Ctrl+Alt+Del in the service: SendSAS works from a service only.
func (a *attachment) sas() {
	h := a.h
	h.mu.Lock()
	h.sasUsed = true
	h.mu.Unlock()
	err := h.cfg.Launcher.SendSAS()
	if err == nil {
		h.cfg.Log(remote.Info, fmt.Sprintf("Ctrl+Alt+Del sent for %s.", a.technician))
		return
	}
	h.cfg.Log(remote.Warning, "Ctrl+Alt+Del could not be sent: "+err.Error())
	msg, _ := json.Marshal(inputError{Type: InputError, Message: "Ctrl+Alt+Del could not be sent on the PC: " + err.Error()})
	a.peer.Message(protocol.ChannelInput, true, msg)
}

// Close implements remote.DesktopLink: the notice goes, and the helper with it.
func (a *attachment) Close() {
	h := a.h
	h.mu.Lock()
	if h.att != a {
		h.mu.Unlock()
		return // replaced by a newer connection, which keeps the helper
	}
	h.att = nil
	hp := h.cur
	if h.retry != nil {
		h.retry.Stop()
	}
	h.mu.Unlock()
	h.stop(hp)
	h.restoreSAS()
}
