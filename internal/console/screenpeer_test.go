package console_test

// screenPeer is the PC's side of the screen, input and clipboard channels for the browser
// tests (remote-protocol.md, issue 14): a pion answerer behind the app's live connection,
// as the app's remote access is, that shows the displays a test paints as the app sends
// them (a frame message, then one binary message per rectangle: a 16-byte big-endian header
// and a JPEG), keeps at most three frames unacknowledged, and records what the console sends
// on each channel. It opens the terminal and files channels without serving them: the
// page's terminal has its own tests against the app's remote.Manager.
//
// The tests drive it through desktopUnderTest, which the app's real side (agent/remote's
// Manager with agent/desktop's Host, on agent/desktop/fakedesktop or the exe under Wine)
// can implement too once it is on this branch: painting and reading a display, the pointer,
// the secure desktop, the clipboard, and the input the PC received. Only the checks of the
// wire itself (acks, a frame's rectangles arriving one by one) need screenPeer.

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// desktopUnderTest is the PC's desktop as the screen tests drive it.
type desktopUnderTest interface {
	// SetDisplays makes the PC's displays show the pictures, left to right; the first is
	// the primary one.
	SetDisplays(pictures ...*image.RGBA)
	// Paint fills r of display i with c, as a program on the PC would draw it.
	Paint(display int, r image.Rectangle, c color.RGBA)
	// Picture is a copy of what display i shows.
	Picture(display int) *image.RGBA
	// SetCursor moves the pointer (display pixels of the shown display).
	SetCursor(x, y int, visible bool)
	// SetSecure switches to the secure desktop or back.
	SetSecure(secure bool)
	// Clipboard and SetClipboard are the PC's clipboard.
	Clipboard() string
	SetClipboard(text string)
	// NextInput waits for the next input that match accepts, skipping others.
	NextInput(what string, match func(inputEvent) bool) inputEvent
}

// inputEvent is one message of the input channel, as the app reads it (desktop's type, so
// that the contract's fields are defined once), with a String for failure messages.
type inputEvent desktop.InputMessage

func (e inputEvent) String() string {
	b, _ := json.Marshal(e)
	return string(b)
}

// The peer's rules, as the app's.
const (
	peerMaxInFlight = 3
	peerQuality     = 95 // high, so that the canvas can be compared closely
	peerWait        = 20 * time.Second
)

type screenPeer struct {
	t    *testing.T
	send func(remoteID string, sig protocol.Signal) error

	signals chan protocol.LiveSignal

	mu        sync.Mutex
	remoteID  string
	pc        *webrtc.PeerConnection
	described bool
	early     []webrtc.ICECandidateInit
	held      []protocol.Signal
	screen    *webrtc.DataChannel
	clipDC    *webrtc.DataChannel
	pictures  []*image.RGBA
	shown     int
	started   bool
	nextFrame int64
	inflight  map[int64]bool
	sentAt    map[int64]time.Time // when a frame was announced
	sizes     map[int64]int       // its rectangles' bytes
	trips     []frameTrip
	room      *sync.Cond
	clipboard string
	clipIn    strings.Builder
	quality   int
	closed    bool

	// What the console sent, in order.
	screenIn chan map[string]any // start, display, quality, refresh (acks apart)
	acks     chan int64
	inputs   chan inputEvent
	clipMsgs chan map[string]any
	sendMu   sync.Mutex // one frame's messages stay together
}

var _ desktopUnderTest = (*screenPeer)(nil)

func newScreenPeer(t *testing.T) *screenPeer {
	p := &screenPeer{t: t, signals: make(chan protocol.LiveSignal, 256), nextFrame: 1, inflight: map[int64]bool{},
		sentAt: map[int64]time.Time{}, sizes: map[int64]int{},
		screenIn: make(chan map[string]any, 256), acks: make(chan int64, 4096), inputs: make(chan inputEvent, 4096),
		clipMsgs: make(chan map[string]any, 64)}
	p.room = sync.NewCond(&p.mu)
	go p.serveSignals()
	return p
}

// answerer returns the peer as activePCWith takes it.
func (p *screenPeer) answerer(signal func(string, protocol.Signal) error) answerer {
	p.send = signal
	return p
}

// Start answers a remote connection: a peer connection with the server's ICE servers.
func (p *screenPeer) Start(r protocol.LiveRemote) {
	var servers []webrtc.ICEServer
	for _, s := range r.ICEServers {
		servers = append(servers, webrtc.ICEServer{URLs: s.URLs, Username: s.Username, Credential: s.Credential})
	}
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true) // the local stack's TURN server relays on loopback
	pc, err := webrtc.NewAPI(webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{ICEServers: servers})
	if err != nil {
		p.t.Errorf("screen peer: %v", err)
		return
	}
	p.mu.Lock()
	if p.pc != nil {
		_ = p.pc.Close()
	}
	p.remoteID, p.pc, p.described, p.early, p.held, p.started, p.closed = r.RemoteID, pc, false, nil, nil, false, false
	clear(p.inflight)
	p.mu.Unlock()
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		sig := protocol.Signal{Kind: protocol.SignalCandidate}
		if c != nil {
			j := c.ToJSON()
			sig.Candidate = &protocol.ICECandidate{Candidate: j.Candidate, SDPMid: j.SDPMid, SDPMLineIndex: j.SDPMLineIndex, UsernameFragment: j.UsernameFragment}
		}
		p.mu.Lock()
		if !p.described {
			p.held = append(p.held, sig)
			p.mu.Unlock()
			return
		}
		id := p.remoteID
		p.mu.Unlock()
		_ = p.send(id, sig)
	})
	pc.OnDataChannel(p.channel)
}

// Signal takes a signal of the console; they are handled in order.
func (p *screenPeer) Signal(remoteID string, sig protocol.Signal) {
	p.signals <- protocol.LiveSignal{RemoteID: remoteID, Signal: sig}
}

func (p *screenPeer) serveSignals() {
	for s := range p.signals {
		p.mu.Lock()
		pc, id := p.pc, p.remoteID
		p.mu.Unlock()
		if pc == nil || s.RemoteID != id {
			continue
		}
		switch s.Signal.Kind {
		case protocol.SignalOffer:
			if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: s.Signal.SDP}); err != nil {
				p.t.Errorf("screen peer: offer: %v", err)
				continue
			}
			ans, err := pc.CreateAnswer(nil)
			if err == nil {
				err = pc.SetLocalDescription(ans)
			}
			if err != nil {
				p.t.Errorf("screen peer: answer: %v", err)
				continue
			}
			_ = p.send(id, protocol.Signal{Kind: protocol.SignalAnswer, SDP: ans.SDP})
			p.mu.Lock()
			p.described = true
			held, early := p.held, p.early
			p.held, p.early = nil, nil
			p.mu.Unlock()
			for _, h := range held {
				_ = p.send(id, h)
			}
			for _, c := range early {
				_ = pc.AddICECandidate(c)
			}
		case protocol.SignalCandidate:
			if s.Signal.Candidate == nil {
				continue
			}
			c := webrtc.ICECandidateInit{Candidate: s.Signal.Candidate.Candidate, SDPMid: s.Signal.Candidate.SDPMid,
				SDPMLineIndex: s.Signal.Candidate.SDPMLineIndex, UsernameFragment: s.Signal.Candidate.UsernameFragment}
			p.mu.Lock()
			if !p.described {
				p.early = append(p.early, c)
				p.mu.Unlock()
				continue
			}
			p.mu.Unlock()
			_ = pc.AddICECandidate(c)
		case protocol.SignalBye:
			p.Close(s.Signal.Reason)
		}
	}
}

// Close ends the connection.
func (p *screenPeer) Close(string) {
	p.mu.Lock()
	pc := p.pc
	p.pc, p.closed = nil, true
	p.room.Broadcast()
	p.mu.Unlock()
	if pc != nil {
		_ = pc.Close()
	}
}

func (p *screenPeer) channel(dc *webrtc.DataChannel) {
	switch dc.Label() {
	case "screen":
		p.mu.Lock()
		p.screen = dc
		p.mu.Unlock()
		dc.OnMessage(func(m webrtc.DataChannelMessage) { p.screenMessage(m) })
	case "input":
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			var e inputEvent
			if !m.IsString || json.Unmarshal(m.Data, &e) != nil {
				p.t.Errorf("input: not a JSON text message: %q", m.Data)
				return
			}
			p.inputs <- e
		})
	case "clipboard":
		p.mu.Lock()
		p.clipDC = dc
		p.mu.Unlock()
		dc.OnMessage(func(m webrtc.DataChannelMessage) { p.clipboardMessage(m) })
	}
}

func decodeText(t *testing.T, label string, m webrtc.DataChannelMessage) map[string]any {
	var v map[string]any
	if !m.IsString || json.Unmarshal(m.Data, &v) != nil {
		t.Errorf("%s: not a JSON text message: %q", label, m.Data)
		return nil
	}
	return v
}

func (p *screenPeer) screenMessage(m webrtc.DataChannelMessage) {
	v := decodeText(p.t, "screen", m)
	if v == nil {
		return
	}
	num := func(k string) int {
		f, _ := v[k].(float64)
		return int(f)
	}
	switch v["type"] {
	case "ack":
		n := int64(num("frame"))
		p.mu.Lock()
		if !p.inflight[n] {
			p.t.Errorf("screen: ack of frame %d, which is not waiting for one", n)
		}
		for f := range p.inflight {
			if f <= n {
				delete(p.inflight, f)
			}
		}
		if at, ok := p.sentAt[n]; ok {
			p.trips = append(p.trips, frameTrip{frame: n, bytes: p.sizes[n], took: time.Since(at)})
		}
		p.room.Broadcast()
		p.mu.Unlock()
		p.acks <- n
		return
	case "start":
		p.mu.Lock()
		p.started, p.shown, p.quality = true, num("display"), num("quality")
		p.mu.Unlock()
		p.screenIn <- v
		go func() {
			p.sendDisplays()
			p.sendFull()
		}()
		return
	case "display":
		p.mu.Lock()
		p.shown = num("display")
		p.mu.Unlock()
		go p.sendFull()
	case "quality":
		p.mu.Lock()
		p.quality = num("quality")
		p.mu.Unlock()
	case "refresh":
		go p.sendFull()
	default:
		p.t.Errorf("screen: unknown message %v", v)
	}
	p.screenIn <- v
}

func (p *screenPeer) clipboardMessage(m webrtc.DataChannelMessage) {
	v := decodeText(p.t, "clipboard", m)
	if v == nil {
		return
	}
	switch v["type"] {
	case "clipboard":
		text, _ := v["text"].(string)
		p.mu.Lock()
		p.clipIn.WriteString(text)
		if more, _ := v["more"].(bool); !more {
			p.clipboard = p.clipIn.String()
			p.clipIn.Reset()
		}
		p.mu.Unlock()
	case "get":
		p.mu.Lock()
		text, dc := p.clipboard, p.clipDC
		p.mu.Unlock()
		// In parts of at most 64 KiB, each but the last with "more", as the app sends it.
		for {
			part, more := text, false
			if len(part) > 64<<10 {
				cut := 64 << 10
				for !utf8.RuneStart(text[cut]) {
					cut--
				}
				part, more = text[:cut], true
			}
			text = text[len(part):]
			m := map[string]any{"type": "clipboard", "text": part}
			if more {
				m["more"] = true
			}
			data, _ := json.Marshal(m)
			if err := dc.SendText(string(data)); err != nil || !more {
				break
			}
		}
	}
	p.clipMsgs <- v
}

// SetDisplays implements desktopUnderTest.
func (p *screenPeer) SetDisplays(pictures ...*image.RGBA) {
	p.mu.Lock()
	p.pictures = nil
	for _, pic := range pictures {
		c := image.NewRGBA(pic.Rect)
		copy(c.Pix, pic.Pix)
		p.pictures = append(p.pictures, c)
	}
	started := p.started
	p.mu.Unlock()
	if started {
		p.sendDisplays()
		p.sendFull()
	}
}

// Paint implements desktopUnderTest: the change goes out as one frame of one rectangle.
func (p *screenPeer) Paint(display int, r image.Rectangle, c color.RGBA) {
	p.mu.Lock()
	pic := p.pictures[display]
	draw.Draw(pic, r, image.NewUniform(c), image.Point{}, draw.Src)
	shown := p.started && p.shown == display
	p.mu.Unlock()
	if shown {
		p.sendFrame([]image.Rectangle{r}, false)
	}
}

// paintQuietly fills r of display i with c without sending it: the test sends the frame.
func (p *screenPeer) paintQuietly(display int, r image.Rectangle, c color.RGBA) {
	p.mu.Lock()
	defer p.mu.Unlock()
	draw.Draw(p.pictures[display], r, image.NewUniform(c), image.Point{}, draw.Src)
}

// Picture implements desktopUnderTest.
func (p *screenPeer) Picture(display int) *image.RGBA {
	p.mu.Lock()
	defer p.mu.Unlock()
	src := p.pictures[display]
	c := image.NewRGBA(src.Rect)
	copy(c.Pix, src.Pix)
	return c
}

// SetCursor implements desktopUnderTest.
func (p *screenPeer) SetCursor(x, y int, visible bool) {
	p.text(map[string]any{"type": "cursor", "x": x, "y": y, "visible": visible})
}

// SetSecure implements desktopUnderTest.
func (p *screenPeer) SetSecure(secure bool) {
	p.text(map[string]any{"type": "desktop", "secure": secure})
	p.sendFull() // the secure desktop is another picture
}

// Clipboard implements desktopUnderTest.
func (p *screenPeer) Clipboard() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.clipboard
}

// SetClipboard implements desktopUnderTest.
func (p *screenPeer) SetClipboard(text string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clipboard = text
}

// NextInput implements desktopUnderTest.
func (p *screenPeer) NextInput(what string, match func(inputEvent) bool) inputEvent {
	p.t.Helper()
	deadline := time.After(peerWait)
	var skipped []string
	for {
		select {
		case e := <-p.inputs:
			if match(e) {
				return e
			}
			skipped = append(skipped, e.String())
		case <-deadline:
			p.t.Fatalf("no input %s within %v; skipped %v", what, peerWait, skipped)
			return inputEvent{}
		}
	}
}

// nextScreen waits for the console's next screen message of the type (acks aside).
func (p *screenPeer) nextScreen(typ string) map[string]any {
	p.t.Helper()
	deadline := time.After(peerWait)
	for {
		select {
		case v := <-p.screenIn:
			if v["type"] == typ {
				return v
			}
		case <-deadline:
			p.t.Fatalf("no screen message %q within %v", typ, peerWait)
			return nil
		}
	}
}

// nextAck waits for the next acknowledgement.
func (p *screenPeer) nextAck() int64 {
	p.t.Helper()
	select {
	case n := <-p.acks:
		return n
	case <-time.After(peerWait):
		p.t.Fatalf("no ack within %v", peerWait)
		return 0
	}
}

func (p *screenPeer) text(v any) {
	p.mu.Lock()
	dc := p.screen
	p.mu.Unlock()
	if dc == nil {
		p.t.Errorf("screen: no channel to send %v on", v)
		return
	}
	data, _ := json.Marshal(v)
	if err := dc.SendText(string(data)); err != nil {
		p.t.Errorf("screen: send %s: %v", data, err)
	}
}

func (p *screenPeer) sendDisplays() {
	p.mu.Lock()
	var ds []map[string]any
	x := 0
	for i, pic := range p.pictures {
		ds = append(ds, map[string]any{"index": i, "x": x, "y": 0, "width": pic.Rect.Dx(), "height": pic.Rect.Dy(),
			"primary": i == 0, "name": fmt.Sprintf(`\\.\DISPLAY%d`, i+1)})
		x += pic.Rect.Dx()
	}
	p.mu.Unlock()
	p.text(map[string]any{"type": "displays", "displays": ds})
}

// sendFull sends the shown display whole.
func (p *screenPeer) sendFull() {
	p.mu.Lock()
	if p.shown >= len(p.pictures) {
		p.shown = 0
	}
	r := p.pictures[p.shown].Rect
	p.mu.Unlock()
	p.sendFrame([]image.Rectangle{r}, true)
}

// frameRoom waits until fewer than peerMaxInFlight frames wait for their ack, and takes
// the next frame's number; false once the connection has closed.
func (p *screenPeer) frameRoom() (int64, *image.RGBA, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	deadline := time.Now().Add(peerWait)
	for len(p.inflight) >= peerMaxInFlight && !p.closed {
		if time.Now().After(deadline) {
			p.t.Errorf("screen: %d frames still wait for their ack after %v", len(p.inflight), peerWait)
			return 0, nil, false
		}
		waitCond(p.room, time.Second)
	}
	if p.closed {
		return 0, nil, false
	}
	n := p.nextFrame
	p.nextFrame++
	p.inflight[n] = true
	src := p.pictures[p.shown]
	pic := image.NewRGBA(src.Rect) // a copy: Paint may change the display meanwhile
	copy(pic.Pix, src.Pix)
	return n, pic, true
}

// waitCond waits on c (whose lock is held) for at most d.
func waitCond(c *sync.Cond, d time.Duration) {
	t := time.AfterFunc(d, func() {
		c.L.Lock()
		c.Broadcast()
		c.L.Unlock()
	})
	c.Wait()
	t.Stop()
}

// sendFrame sends the rectangles of the shown display as one frame.
func (p *screenPeer) sendFrame(rects []image.Rectangle, full bool) int64 {
	msgs, n, ok := p.beginFrame(rects, full)
	if !ok {
		return 0
	}
	for _, m := range msgs {
		p.rect(m)
	}
	return n
}

// beginFrame announces a frame and returns its rectangles' messages, to be sent with rect.
func (p *screenPeer) beginFrame(rects []image.Rectangle, full bool) ([][]byte, int64, bool) {
	p.sendMu.Lock()
	defer p.sendMu.Unlock()
	n, pic, ok := p.frameRoom()
	if !ok {
		return nil, 0, false
	}
	var msgs [][]byte
	for _, r := range rects {
		msgs = append(msgs, encodeRect(p.t, pic, r, uint32(n)))
	}
	size := 0
	for _, m := range msgs {
		size += len(m)
	}
	p.mu.Lock()
	p.sentAt[n], p.sizes[n] = time.Now(), size
	p.mu.Unlock()
	p.text(map[string]any{"type": "frame", "frame": n, "width": pic.Rect.Dx(), "height": pic.Rect.Dy(), "rects": len(msgs), "full": full})
	return msgs, n, true
}

// rect sends one rectangle's message.
func (p *screenPeer) rect(m []byte) {
	p.mu.Lock()
	dc := p.screen
	p.mu.Unlock()
	if err := dc.Send(m); err != nil {
		p.t.Errorf("screen: send a rectangle: %v", err)
	}
}

// frameTrip is a frame's way from its announcement to its ack: sent, decoded and drawn by
// the page.
type frameTrip struct {
	frame int64
	bytes int
	took  time.Duration
}

// tripsSoFar are the frames acknowledged so far.
func (p *screenPeer) tripsSoFar() []frameTrip {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]frameTrip(nil), p.trips...)
}

// encodeRect is a rectangle's message: the header (big-endian uint16 x, y, width, height,
// uint32 frame, uint32 length of the JPEG) and the JPEG of that part of pic.
func encodeRect(t *testing.T, pic *image.RGBA, r image.Rectangle, frame uint32) []byte {
	var buf bytes.Buffer
	buf.Write(make([]byte, 16))
	if err := jpeg.Encode(&buf, pic.SubImage(r), &jpeg.Options{Quality: peerQuality}); err != nil {
		t.Fatalf("encode %v: %v", r, err)
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint16(b[0:], uint16(r.Min.X))
	binary.BigEndian.PutUint16(b[2:], uint16(r.Min.Y))
	binary.BigEndian.PutUint16(b[4:], uint16(r.Dx()))
	binary.BigEndian.PutUint16(b[6:], uint16(r.Dy()))
	binary.BigEndian.PutUint32(b[8:], frame)
	binary.BigEndian.PutUint32(b[12:], uint32(len(b)-16))
	return b
}

// testPicture is a display's picture: a gradient (JPEG's hard case is small; this shows
// scaling and offsets) with solid blocks of known colours.
func testPicture(w, h int, tint uint8) *image.RGBA {
	pic := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			pic.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), tint, 255})
		}
	}
	for i, c := range []color.RGBA{{220, 30, 30, 255}, {30, 200, 60, 255}, {40, 60, 220, 255}, {250, 250, 250, 255}} {
		x := (i + 1) * w / 6
		draw.Draw(pic, image.Rect(x, h/3, x+w/10, h/3+h/5), image.NewUniform(c), image.Point{}, draw.Src)
	}
	return pic
}
