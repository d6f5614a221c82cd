// Package fakedesktop is a fake user's desktop for remote access's tests: displays whose
// pixels a test paints, a mouse pointer, a secure desktop to switch to, the input the
// helper injected, a clipboard and the notice with a Disconnect a test can press; and a
// fake service side (Launcher) that starts the real helper logic (desktop.Serve) in this
// process over pipes, one desktop per session, with the console's session switchable.
package fakedesktop

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/screen"
)

// Desktop is one session's desktop: desktop.OS.
type Desktop struct {
	mu        sync.Mutex
	displays  []screen.Display
	pixels    map[string]*screen.Frame // by display name
	cursor    screen.Cursor
	secure    bool
	events    []desktop.Event
	clipboard string
	notice    *desktop.Notice
	notices   int
	onClick   func()
	captures  int
	injectErr error
	onInput   func([]desktop.Event)
}

var _ desktop.OS = (*Desktop)(nil)

// New returns a desktop with one primary display of the size, painted mid-grey.
func New(width, height int) *Desktop {
	d := &Desktop{pixels: map[string]*screen.Frame{}}
	d.SetDisplays(screen.Display{Width: width, Height: height, Primary: true, Name: `\\.\DISPLAY1`})
	return d
}

// SetDisplays replaces the monitors (virtual-desktop coordinates); each new one is
// painted mid-grey.
func (d *Desktop) SetDisplays(ds ...screen.Display) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.displays = slices.Clone(ds)
	for _, x := range ds {
		if f, ok := d.pixels[x.Name]; !ok || f.Width != x.Width || f.Height != x.Height {
			f := screen.NewFrame(x.Width, x.Height)
			f.Fill(screen.Rect{W: x.Width, H: x.Height}, 128, 128, 128)
			d.pixels[x.Name] = f
		}
	}
}

// Paint changes the pixels of the named display.
func (d *Desktop) Paint(name string, paint func(f *screen.Frame)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	paint(d.pixels[name])
}

// SetCursor moves the pointer (virtual-desktop pixels).
func (d *Desktop) SetCursor(c screen.Cursor) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cursor = c
}

// SetSecure switches to the secure desktop (the sign-in screen, UAC) or back.
func (d *Desktop) SetSecure(secure bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.secure = secure
}

// Displays implements screen.Source.
func (d *Desktop) Displays() ([]screen.Display, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.displays), nil
}

// Capture implements screen.Source.
func (d *Desktop) Capture(x screen.Display, f *screen.Frame) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	src, ok := d.pixels[x.Name]
	if !ok {
		return fmt.Errorf("no display %q", x.Name)
	}
	d.captures++
	f.Resize(src.Width, src.Height)
	copy(f.Pix, src.Pix)
	return nil
}

// Captures counts the captures.
func (d *Desktop) Captures() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.captures
}

// Cursor implements screen.Source.
func (d *Desktop) Cursor() (screen.Cursor, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.cursor, nil
}

// Secure implements screen.Source.
func (d *Desktop) Secure() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.secure
}

// Inject implements desktop.OS: it records the events, and a move moves the pointer
// (the normalized coordinates mapped back, as Windows maps them).
func (d *Desktop) Inject(events []desktop.Event) error {
	d.mu.Lock()
	defer func() {
		f := d.onInput
		d.mu.Unlock()
		if f != nil {
			f(events)
		}
	}()
	if d.injectErr != nil {
		return d.injectErr
	}
	d.events = append(d.events, events...)
	vd := screen.VirtualDesktop(d.displays)
	for _, e := range events {
		if e.Kind == desktop.MouseMove {
			d.cursor = screen.Cursor{X: vd.X + int(int64(e.X)*int64(vd.W)>>16), Y: vd.Y + int(int64(e.Y)*int64(vd.H)>>16), Visible: true}
		}
	}
	return nil
}

// OnInput calls f with every batch of injected events (outside the desktop's lock), as a
// program on the desktop reacts to the technician's input.
func (d *Desktop) OnInput(f func([]desktop.Event)) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.onInput = f
}

// FailInput makes Inject fail with err (nil: succeed again).
func (d *Desktop) FailInput(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.injectErr = err
}

// Events returns the injected events so far and forgets them.
func (d *Desktop) Events() []desktop.Event {
	d.mu.Lock()
	defer d.mu.Unlock()
	ev := d.events
	d.events = nil
	return ev
}

// ClipboardText implements desktop.OS.
func (d *Desktop) ClipboardText() (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.clipboard, nil
}

// SetClipboardText implements desktop.OS.
func (d *Desktop) SetClipboardText(text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clipboard = text
	return nil
}

// ShowNotice implements desktop.OS.
func (d *Desktop) ShowNotice(n desktop.Notice, disconnect func()) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notice, d.onClick = &n, disconnect
	d.notices++
	return nil
}

// HideNotice implements desktop.OS.
func (d *Desktop) HideNotice() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.notice, d.onClick = nil, nil
}

// Notice is the notice shown now, if any.
func (d *Desktop) Notice() (desktop.Notice, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.notice == nil {
		return desktop.Notice{}, false
	}
	return *d.notice, true
}

// ClickDisconnect presses the notice's Disconnect, as the user would.
func (d *Desktop) ClickDisconnect() error {
	d.mu.Lock()
	click := d.onClick
	d.mu.Unlock()
	if click == nil {
		return errors.New("no notice is shown")
	}
	click()
	return nil
}

// Launcher is the service's side of the fake: desktop.Launcher. Each session has its
// own Desktop; the helper runs desktop.Serve in this process.
type Launcher struct {
	mu       sync.Mutex
	desktops map[uint32]*Desktop
	active   uint32
	noActive bool
	lang     string
	procs    []*Process
	failNext error

	// The SoftwareSASGeneration policy value as a PC keeps it.
	sasValue, sasSaved *uint32
	sasSent            int
}

var _ desktop.Launcher = (*Launcher)(nil)

// NewLauncher returns a launcher whose console shows session 1 with the desktop.
func NewLauncher(d *Desktop) *Launcher {
	return &Launcher{desktops: map[uint32]*Desktop{1: d}, active: 1, lang: "en"}
}

// SetSession makes session s (with its desktop) the console's; nil desktop: no console
// session for the moment.
func (l *Launcher) SetSession(s uint32, d *Desktop) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if d == nil {
		l.noActive = true
		return
	}
	l.noActive = false
	l.desktops[s], l.active = d, s
}

// SetLanguage sets the user's display language.
func (l *Launcher) SetLanguage(lang string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lang = lang
}

// FailNextLaunch makes the next Launch fail.
func (l *Launcher) FailNextLaunch(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failNext = err
}

// Launch implements desktop.Launcher.
func (l *Launcher) Launch() (desktop.Process, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.failNext; err != nil {
		l.failNext = nil
		return nil, err
	}
	if l.noActive {
		return nil, errors.New("no console session")
	}
	d := l.desktops[l.active]
	toHelperR, toHelperW := io.Pipe()
	fromHelperR, fromHelperW := io.Pipe()
	p := &Process{session: l.active, desktop: d, in: toHelperW, out: fromHelperR, done: make(chan struct{})}
	go func() {
		p.err = desktop.Serve(toHelperR, fromHelperW, d)
		toHelperR.Close()
		fromHelperW.Close()
		close(p.done)
	}()
	l.procs = append(l.procs, p)
	return p, nil
}

// ActiveSession implements desktop.Launcher.
func (l *Launcher) ActiveSession() (uint32, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.active, !l.noActive
}

// Language implements desktop.Launcher.
func (l *Launcher) Language(uint32) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lang
}

// SetSASPolicy sets the policy value as the PC had it before (nil: absent).
func (l *Launcher) SetSASPolicy(v *uint32) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sasValue = v
}

// SASPolicy is the policy value now (nil: absent) and how many SAS were sent.
func (l *Launcher) SASPolicy() (*uint32, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sasValue, l.sasSent
}

// SendSAS implements desktop.Launcher as the Windows side does: the original value is
// kept first, then services are allowed to send the SAS.
func (l *Launcher) SendSAS() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sasSaved == nil {
		var orig uint32 = 0xffffffff // absent
		if l.sasValue != nil {
			orig = *l.sasValue
		}
		l.sasSaved = &orig
	}
	v := uint32(1)
	if l.sasValue != nil {
		v |= *l.sasValue
	}
	l.sasValue = &v
	l.sasSent++
	return nil
}

// RestoreSAS implements desktop.Launcher.
func (l *Launcher) RestoreSAS() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sasSaved == nil {
		return nil
	}
	if *l.sasSaved == 0xffffffff {
		l.sasValue = nil
	} else {
		v := *l.sasSaved
		l.sasValue = &v
	}
	l.sasSaved = nil
	return nil
}

// Processes returns every helper started so far.
func (l *Launcher) Processes() []*Process {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.procs)
}

// Running counts the helpers that have not exited.
func (l *Launcher) Running() int {
	n := 0
	for _, p := range l.Processes() {
		if p.Running() {
			n++
		}
	}
	return n
}

// Process is a fake helper process: desktop.Serve on a goroutine.
type Process struct {
	session uint32
	desktop *Desktop
	in      *io.PipeWriter
	out     *io.PipeReader
	done    chan struct{}
	err     error
	killed  bool
	mu      sync.Mutex
}

func (p *Process) Read(b []byte) (int, error)  { return p.out.Read(b) }
func (p *Process) Write(b []byte) (int, error) { return p.in.Write(b) }

// Session implements desktop.Process.
func (p *Process) Session() uint32 { return p.session }

// Desktop is the desktop it runs on.
func (p *Process) Desktop() *Desktop { return p.desktop }

// Wait implements desktop.Process.
func (p *Process) Wait() error {
	<-p.done
	return p.err
}

// Kill implements desktop.Process: the pipes close, which ends desktop.Serve as the end
// of a process would.
func (p *Process) Kill() error {
	p.mu.Lock()
	p.killed = p.killed || p.Running()
	p.mu.Unlock()
	p.in.Close()
	p.out.Close()
	return nil
}

// Running reports whether the helper has not exited.
func (p *Process) Running() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// Killed reports whether the service killed it (rather than it ending when told).
func (p *Process) Killed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.killed
}
