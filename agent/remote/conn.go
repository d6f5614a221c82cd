package remote

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// conn is one remote connection: a pion PeerConnection answering the console's offer.
type conn struct {
	m          *Manager
	id         string
	technician string
	started    time.Time
	ctx        context.Context // ends when the connection ends
	cancel     context.CancelFunc
	done       chan struct{} // closed once torn down and reported

	pc      *webrtc.PeerConnection // nil when it could not be made
	pcErr   error
	signals chan protocol.Signal // from the console, handled in order by run
	outbox  chan protocol.Signal // to the console, sent in order by send

	bytesToPC, bytesFromPC atomic.Int64

	// logonMu makes the password checks of all terminals take turns, so that no more
	// than maxAttempts are ever made.
	logonMu sync.Mutex

	mu        sync.Mutex
	reason    string    // why it ends; set once
	byConsole bool      // the console's bye gave the reason
	outClosed bool      // the outbox is closed: nothing more goes out
	connected time.Time // when ICE and DTLS first came up
	described bool      // the offer is set: candidates can be added
	early     []webrtc.ICECandidateInit
	answered  bool // the answer went out: local candidates may follow it
	held      []protocol.Signal
	channels  []string
	attempts  int       // wrong passwords so far
	account   Account   // the latest sign-in
	accounts  []Account // every sign-in, to sign out at the end
	enders    []func()  // run at the end: close shells, abort uploads

	desk desk // the screen, input and clipboard channels, and the notice
}

// signalQueue bounds the signals waiting in either direction: a trickle is a few dozen.
const signalQueue = 256

func newConn(m *Manager, r protocol.LiveRemote) *conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &conn{m: m, id: r.RemoteID, technician: r.Technician, started: time.Now(), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), signals: make(chan protocol.Signal, signalQueue), outbox: make(chan protocol.Signal, signalQueue)}
	c.desk = desk{c: c, senders: map[string]*sender{}}
	t, err := planTransport(r.ICEServers, m.udp())
	if err != nil {
		c.pcErr = err
		return c
	}
	api, cfg := t.api(m.cfg.Proxy)
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		c.pcErr = fmt.Errorf("peer connection: %w", err)
		return c
	}
	c.pc = pc
	pc.OnICECandidate(c.localCandidate)
	pc.OnConnectionStateChange(c.stateChanged)
	pc.OnDataChannel(c.dataChannel)
	return c
}

// run handles the console's signals in order until the connection ends, then tears it
// down.
func (c *conn) run() {
	go c.send()
	defer c.teardown()
	if c.pc == nil {
		c.log(Warning, "could not start: "+c.pcErr.Error())
		c.end(protocol.RemoteFailed)
		return
	}
	timeout := time.NewTimer(c.m.cfg.ConnectTimeout)
	defer timeout.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case sig := <-c.signals:
			c.handle(sig)
		case <-timeout.C:
			c.mu.Lock()
			up := !c.connected.IsZero()
			c.mu.Unlock()
			if !up {
				c.log(Warning, fmt.Sprintf("did not connect within %v.", c.m.cfg.ConnectTimeout))
				c.end(protocol.RemoteFailed)
			}
		}
	}
}

// signal queues a signal of the console for run.
func (c *conn) signal(sig protocol.Signal) {
	select {
	case c.signals <- sig:
	case <-c.ctx.Done():
	default:
		c.log(Warning, "too many signals waiting; one was dropped.")
	}
}

func (c *conn) handle(sig protocol.Signal) {
	switch sig.Kind {
	case protocol.SignalOffer:
		if err := c.answer(sig.SDP); err != nil {
			c.log(Warning, "could not answer the offer: "+err.Error())
			c.end(protocol.RemoteFailed)
		}
	case protocol.SignalCandidate:
		if sig.Candidate == nil {
			return // the end of the console's trickle: nothing to do for pion
		}
		init := webrtc.ICECandidateInit{Candidate: sig.Candidate.Candidate, SDPMid: sig.Candidate.SDPMid,
			SDPMLineIndex: sig.Candidate.SDPMLineIndex, UsernameFragment: sig.Candidate.UsernameFragment}
		c.mu.Lock()
		if !c.described {
			// The server's relay does not keep the order of messages: a candidate may
			// overtake its offer.
			c.early = append(c.early, init)
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.addCandidate(init)
	case protocol.SignalBye:
		reason := sig.Reason
		switch reason {
		case protocol.RemoteDisconnectedByTechnician, protocol.RemoteSuperseded, protocol.RemoteSessionEnded:
		default:
			reason = protocol.RemoteDisconnectedByTechnician
		}
		c.mu.Lock()
		if c.reason == "" {
			c.reason = reason
			c.byConsole = true
		}
		c.mu.Unlock()
		c.cancel()
	default:
		c.log(Warning, "unknown signal "+sig.Kind+" ignored.")
	}
}

// answer sets the console's offer, answers it, and adds the candidates that came early.
func (c *conn) answer(sdp string) error {
	if err := c.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
		return fmt.Errorf("set offer: %w", err)
	}
	ans, err := c.pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("create answer: %w", err)
	}
	// From here on pion gathers candidates and hands them to localCandidate.
	if err := c.pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("set answer: %w", err)
	}
	c.mu.Lock()
	c.queue(protocol.Signal{Kind: protocol.SignalAnswer, SDP: ans.SDP})
	c.answered = true
	for _, s := range c.held {
		c.queue(s)
	}
	c.held = nil
	c.described = true
	early := c.early
	c.early = nil
	c.mu.Unlock()
	for _, init := range early {
		c.addCandidate(init)
	}
	return nil
}

func (c *conn) addCandidate(init webrtc.ICECandidateInit) {
	if err := c.pc.AddICECandidate(init); err != nil {
		c.log(Warning, "a candidate of the console was refused: "+err.Error())
	}
}

// localCandidate trickles a candidate of this side (nil: gathering is complete). None may
// reach the console before the answer does.
func (c *conn) localCandidate(cand *webrtc.ICECandidate) {
	sig := protocol.Signal{Kind: protocol.SignalCandidate}
	if cand != nil {
		j := cand.ToJSON()
		sig.Candidate = &protocol.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.answered {
		c.held = append(c.held, sig)
		return
	}
	c.queue(sig)
}

// queue hands a signal to send; c.mu is held, which keeps the order.
func (c *conn) queue(sig protocol.Signal) {
	if c.outClosed {
		return
	}
	select {
	case c.outbox <- sig:
	default:
		c.m.cfg.Log(Warning, fmt.Sprintf("Remote connection %s: too many signals waiting to go out; one was dropped.", c.id))
	}
}

// send passes the outgoing signals to the live connection, in order, until the outbox is
// closed at the end.
func (c *conn) send() {
	for sig := range c.outbox {
		if c.m.cfg.Signal == nil {
			continue
		}
		if err := c.m.cfg.Signal(c.id, sig); err != nil && sig.Kind != protocol.SignalBye {
			c.log(Warning, "a signal could not be sent: "+err.Error())
		}
	}
}

func (c *conn) stateChanged(s webrtc.PeerConnectionState) {
	switch s {
	case webrtc.PeerConnectionStateConnected:
		c.mu.Lock()
		first := c.connected.IsZero()
		if first {
			c.connected = time.Now()
		}
		c.mu.Unlock()
		if first {
			c.log(Info, fmt.Sprintf("%s is connected (%s) after %v.", c.technician, c.route(), time.Since(c.started).Round(time.Millisecond)))
			if c.m.cfg.Desktop != nil {
				// The user sees who is connected as soon as anyone is, whatever the
				// technician opens.
				go func() { _, _ = c.desk.attach() }()
			}
		}
	case webrtc.PeerConnectionStateFailed:
		c.end(protocol.RemoteFailed)
	case webrtc.PeerConnectionStateClosed:
		// Closed by the console (DTLS close) unless this side is ending it anyway.
		c.end(protocol.RemoteDisconnectedByTechnician)
	}
}

// route describes the selected candidate pair, for the event log.
func (c *conn) route() string {
	sctp := c.pc.SCTP()
	if sctp == nil || sctp.Transport() == nil {
		return "route unknown"
	}
	pair, err := sctp.Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil {
		return "route unknown"
	}
	return fmt.Sprintf("%s %s to %s", pair.Local.Protocol, pair.Local.Typ, pair.Remote.Typ)
}

func (c *conn) dataChannel(dc *webrtc.DataChannel) {
	opened := func() {}
	switch dc.Label() {
	case protocol.ChannelTerminal:
		newTerminal(c, dc)
	case protocol.ChannelFiles:
		newFiles(c, dc)
	case protocol.ChannelScreen, protocol.ChannelInput, protocol.ChannelClipboard:
		opened = c.desk.channel(dc)
	default:
		c.log(Warning, "data channel "+dc.Label()+" is not served by this version; closed.")
		_ = dc.Close()
		return
	}
	// A channel has one OnOpen handler: this one.
	dc.OnOpen(func() {
		c.mu.Lock()
		if !slices.Contains(c.channels, dc.Label()) {
			c.channels = append(c.channels, dc.Label())
		}
		c.mu.Unlock()
		opened()
	})
}

// end ends the connection with the reason, unless it is ending already. It does not wait.
func (c *conn) end(reason string) {
	c.mu.Lock()
	if c.reason == "" {
		c.reason = reason
	}
	c.mu.Unlock()
	c.cancel()
}

// onEnd registers f to run when the connection ends, or runs it now when it has; false
// means it has ended already.
func (c *conn) onEnd(f func()) bool {
	c.mu.Lock()
	if c.ctx.Err() == nil {
		c.enders = append(c.enders, f)
		c.mu.Unlock()
		return true
	}
	c.mu.Unlock()
	f()
	return false
}

// teardown ends the processes, closes the peer connection, signs the account out and
// reports. Everything that can take time runs at once.
func (c *conn) teardown() {
	c.cancel()
	c.mu.Lock()
	reason := c.reason
	enders := c.enders
	c.enders = nil
	accounts := c.accounts
	c.accounts = nil
	c.mu.Unlock()
	if reason == "" {
		reason = protocol.RemoteFailed
	}
	c.mu.Lock()
	if !c.byConsole {
		// The console learns why (a page still open shows it), unless it said bye itself.
		c.queue(protocol.Signal{Kind: protocol.SignalBye, Reason: reason})
	}
	c.outClosed = true
	close(c.outbox)
	c.mu.Unlock()

	var wg sync.WaitGroup
	for _, f := range enders {
		wg.Go(f)
	}
	if c.pc != nil {
		wg.Go(func() {
			if err := c.pc.Close(); err != nil {
				c.log(Warning, "closing the peer connection: "+err.Error())
			}
		})
	}
	wg.Wait()
	for _, a := range accounts {
		if err := a.Close(); err != nil {
			c.log(Warning, "signing the support account out: "+err.Error())
		}
	}

	c.mu.Lock()
	report := protocol.RemoteEndedRequest{RemoteID: c.id, Reason: reason, Channels: ordered(c.channels),
		BytesToPC: c.bytesToPC.Load(), BytesFromPC: c.bytesFromPC.Load()}
	if !c.connected.IsZero() {
		report.DurationMs = time.Since(c.connected).Milliseconds()
	}
	c.mu.Unlock()
	c.m.cfg.Log(Info, fmt.Sprintf("Remote connection %s of %s ended (%s) after %v; channels %v, %d bytes to the PC, %d from it.",
		c.id, c.technician, reason, time.Duration(report.DurationMs)*time.Millisecond, report.Channels, report.BytesToPC, report.BytesFromPC))
	c.m.finished(c, report)
	close(c.done)
}

// ordered lists the channels in a fixed order, so that the audit reads the same each time.
func ordered(used []string) []string {
	rank := map[string]int{protocol.ChannelTerminal: 0, protocol.ChannelFiles: 1, protocol.ChannelScreen: 2,
		protocol.ChannelInput: 3, protocol.ChannelClipboard: 4}
	out := slices.Clone(used)
	slices.SortStableFunc(out, func(a, b string) int {
		ra, oka := rank[a]
		rb, okb := rank[b]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return 0
	})
	if out == nil {
		out = []string{}
	}
	return out
}

func (c *conn) sent(n int)     { c.bytesFromPC.Add(int64(n)) }
func (c *conn) received(n int) { c.bytesToPC.Add(int64(n)) }

func (c *conn) log(level Level, msg string) {
	c.m.cfg.Log(level, fmt.Sprintf("Remote connection %s: %s", c.id, msg))
}

// errEnded is what an operation finds when the connection ended meanwhile.
var errEnded = errors.New("the remote connection has ended")
