package remote

import (
	"errors"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The screen, input and clipboard channels (remote-protocol.md, "Issue 14") end in the
// helper in the user's session, which Desktop reaches (agent/desktop.Host on Windows):
// this side relays their messages both ways and counts them. While the connection is up
// the desktop shows the user a notice naming the technician, whose Disconnect ends the
// connection as disconnected_by_user.

// Desktop is the user's desktop.
type Desktop interface {
	// Attach shows the notice for the technician and returns the link the connection's
	// channels use; the helper's messages and the user's Disconnect go to peer.
	Attach(technician string, peer DesktopPeer) (DesktopLink, error)
}

// DesktopPeer is the connection's side of a DesktopLink.
type DesktopPeer interface {
	// Message passes a message of the helper to the console's channel of the label. It
	// may block while the channel is full (back-pressure).
	Message(label string, text bool, data []byte)
	// Disconnected says that the user pressed the notice's Disconnect.
	Disconnected()
}

// DesktopLink is an attached desktop.
type DesktopLink interface {
	// Send passes a text message of the console's channel of the label to the helper.
	Send(label string, data []byte)
	// Close hides the notice and lets go of the desktop (the helper ends).
	Close()
}

// errNoDesktop: this app has no way to reach the user's desktop.
var errNoDesktop = errors.New("the user's desktop cannot be reached on this PC")

// desk is a connection's use of the desktop.
type desk struct {
	c *conn

	once sync.Once
	err  error

	mu      sync.Mutex
	link    DesktopLink // set once attached
	senders map[string]*sender
}

// attach shows the notice once the connection is up (or when a desktop channel opens,
// whichever comes first); the link lives until the connection ends.
func (d *desk) attach() (DesktopLink, error) {
	d.once.Do(func() {
		if d.c.m.cfg.Desktop == nil {
			d.err = errNoDesktop
			return
		}
		link, err := d.c.m.cfg.Desktop.Attach(d.c.technician, d)
		if err != nil {
			d.err = err
			d.c.log(Warning, "the user's desktop could not be reached: "+err.Error())
			return
		}
		if !d.c.onEnd(link.Close) {
			d.err = errEnded
			return
		}
		d.mu.Lock()
		d.link = link
		d.mu.Unlock()
		d.c.log(Info, fmt.Sprintf("the notice shows the user that %s is connected.", d.c.technician))
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.link, d.err
}

// channel serves a screen, input or clipboard channel; it returns what to do once the
// channel is open.
func (d *desk) channel(dc *webrtc.DataChannel) (opened func()) {
	label := dc.Label()
	s := newSender(d.c, dc)
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		d.c.received(len(msg.Data))
		if !msg.IsString {
			return // the console sends text only on these channels
		}
		if link, err := d.attach(); err == nil {
			link.Send(label, msg.Data)
		}
	})
	dc.OnClose(func() {
		d.mu.Lock()
		if d.senders[label] == s {
			delete(d.senders, label)
		}
		link := d.link
		d.mu.Unlock()
		if label == protocol.ChannelScreen && link != nil {
			// The console stopped watching: the helper stops capturing.
			link.Send(label, []byte(`{"type":"stop"}`))
		}
	})
	return func() {
		d.mu.Lock()
		d.senders[label] = s
		d.mu.Unlock()
		if _, err := d.attach(); err != nil {
			_ = s.text(errorMessage{Type: "error", Message: "The PC's screen, mouse and keyboard cannot be reached: " + err.Error()})
		}
	}
}

// Message implements DesktopPeer.
func (d *desk) Message(label string, text bool, data []byte) {
	d.mu.Lock()
	s := d.senders[label]
	d.mu.Unlock()
	if s == nil {
		return // the console closed that channel
	}
	if text {
		if err := s.dc.SendText(string(data)); err == nil {
			d.c.sent(len(data))
		}
		return
	}
	_ = s.binary(d.c.ctx, data)
}

// Disconnected implements DesktopPeer.
func (d *desk) Disconnected() {
	d.c.log(Info, "the user pressed Disconnect.")
	d.c.end(protocol.RemoteDisconnectedByUser)
}
