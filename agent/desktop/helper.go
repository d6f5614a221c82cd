// Package desktop is remote access's reach into the user's desktop (DESIGN.md, "Remote
// access"; remote-protocol.md, "Issue 14"), free of Windows. The service runs as SYSTEM
// in session 0 and sees no desktop, so it starts a helper — the same exe — in the active
// console session and talks to it over inherited pipes. The helper (Serve) captures the
// screen (agent/screen), types and clicks what the technician does, reads and sets the
// clipboard and shows the user the notice with Disconnect; the service (Host) starts it,
// restarts it when the console session changes, relays the console's screen, input and
// clipboard channels to it, answers Ctrl+Alt+Del itself, and ends it with the remote
// connection. What Windows does is behind OS (helper) and Launcher (service):
// agent/winos implements them, agent/desktop/fakedesktop fakes them.
package desktop

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/adhoc-support/adhoc-support/agent/screen"
)

// OS is what the helper needs from the user's session.
type OS interface {
	screen.Source
	// Inject sends the events as one SendInput call, on the input desktop.
	Inject(events []Event) error
	// ClipboardText reads the clipboard's text ("" when it holds none).
	ClipboardText() (string, error)
	// SetClipboardText puts text on the clipboard.
	SetClipboardText(text string) error
	// ShowNotice shows the notice, always on top, or changes its text; the user's press
	// of its button calls disconnect (once).
	ShowNotice(n Notice, disconnect func()) error
	// HideNotice takes it away.
	HideNotice()
}

// Logger is an OS whose own messages (which the service writes to the event log) Serve
// takes over.
type Logger interface {
	SetLog(func(string))
}

// HelperArg is the argument the service starts the helper with.
const HelperArg = "helper"

// Serve is the helper: it takes the service's frames from r and writes its own to w until
// the service says stop or closes the pipe, then hides the notice and lets go of every
// key and button still held.
func Serve(r io.Reader, w io.Writer, o OS) error {
	h := &helperSide{os: o, p: newPipe(r, w), mapper: newInputMapper()}
	h.stream = screen.NewStreamer(o, screenSink{h.p}, h.log)
	if l, ok := o.(Logger); ok {
		l.SetLog(h.log)
		defer l.SetLog(nil)
	}
	defer h.finish()
	if err := h.p.json(kindControl, control{Type: ctlReady, PID: os.Getpid()}); err != nil {
		return err
	}
	for {
		kind, data, err := h.p.read()
		if errors.Is(err, io.EOF) {
			return nil // the service has gone: so does the helper
		}
		if err != nil {
			return err
		}
		switch kind {
		case kindControl:
			var c control
			if err := json.Unmarshal(data, &c); err != nil {
				h.log("an unreadable control message")
				continue
			}
			switch c.Type {
			case ctlNotice:
				h.showNotice(c.Technician, c.Lang)
			case ctlStop:
				return nil
			}
		case kindScreenText:
			var m screen.In
			if err := json.Unmarshal(data, &m); err != nil {
				h.log("an unreadable screen message")
				continue
			}
			h.stream.Handle(m)
		case kindInput:
			h.input(data)
		case kindClipboard:
			h.clipboard(data)
		}
	}
}

type helperSide struct {
	os     OS
	p      *pipe
	stream *screen.Streamer
	mapper *inputMapper

	mu        sync.Mutex
	displays  []screen.Display
	displayAt time.Time
	clip      strings.Builder // a clipboard text arriving in parts
	warned    map[string]bool
}

func (h *helperSide) finish() {
	h.stream.Close()
	if ev := h.mapper.release(); len(ev) > 0 {
		_ = h.os.Inject(ev)
	}
	h.os.HideNotice()
}

// log sends a line for the service's event log.
func (h *helperSide) log(msg string) {
	_ = h.p.json(kindControl, control{Type: ctlLog, Message: msg})
}

func (h *helperSide) showNotice(technician, lang string) {
	var once sync.Once
	err := h.os.ShowNotice(NoticeFor(technician, lang), func() {
		once.Do(func() { _ = h.p.json(kindControl, control{Type: ctlDisconnect}) })
	})
	if err != nil {
		h.log("The notice could not be shown: " + err.Error())
	}
}

// currentDisplays is the displays in the order the console knows them, read again at most
// once a second.
func (h *helperSide) currentDisplays() ([]screen.Display, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.displays != nil && time.Since(h.displayAt) < time.Second {
		return h.displays, nil
	}
	ds, err := h.os.Displays()
	if err != nil {
		return nil, err
	}
	h.displays, h.displayAt = screen.Order(ds), time.Now()
	return h.displays, nil
}

// input types or clicks one event of the console.
func (h *helperSide) input(data []byte) {
	var m InputMessage
	if err := json.Unmarshal(data, &m); err != nil {
		h.inputError("The input message could not be read.")
		return
	}
	var batches [][]Event
	switch m.Type {
	case InputMouse:
		ds, err := h.currentDisplays()
		if err != nil {
			h.inputError("The displays could not be read: " + err.Error())
			return
		}
		ev, err := h.mapper.mouse(m, ds)
		if err != nil {
			h.inputError(err.Error())
			return
		}
		batches = [][]Event{ev}
	case InputWheel:
		batches = [][]Event{h.mapper.wheel(m)}
	case InputKey:
		ev, ok := h.mapper.key(m)
		if !ok {
			h.warnOnce("key "+m.Code, fmt.Sprintf("The key %q is not known to the app; it was not pressed.", m.Code))
			return
		}
		batches = [][]Event{ev}
	case InputText:
		var err error
		if batches, err = text(m.Text); err != nil {
			h.inputError(err.Error())
			return
		}
	default:
		h.inputError(fmt.Sprintf("Unknown input message type %q.", m.Type))
		return
	}
	h.stream.Poke()
	for i, ev := range batches {
		if len(ev) == 0 {
			continue
		}
		if i > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		if err := h.os.Inject(ev); err != nil {
			h.warnOnce("inject "+err.Error(), "The input could not be delivered on the PC: "+err.Error())
			return
		}
	}
}

// warnOnce tells the console and the log about a problem once per kind.
func (h *helperSide) warnOnce(key, msg string) {
	h.mu.Lock()
	if h.warned == nil {
		h.warned = map[string]bool{}
	}
	seen := h.warned[key]
	h.warned[key] = true
	h.mu.Unlock()
	if !seen {
		h.inputError(msg)
		h.log(msg)
	}
}

func (h *helperSide) inputError(msg string) {
	_ = h.p.json(kindInput, inputError{Type: InputError, Message: msg})
}

type inputError struct {
	Type    string `json:"type"` // InputError
	Message string `json:"message"`
}

// The clipboard channel: {"type":"clipboard","text":"…"} either way (remote-protocol.md),
// at most MaxClipboard bytes of UTF-8; the console asks for the PC's with {"type":"get"}.
// A text larger than clipboardPart travels in parts, each but the last with "more": true
// (a browser's data channel takes messages of 256 KiB at most).
const (
	MaxClipboard  = 1 << 20
	clipboardPart = 64 << 10
)

// ClipboardMessage is a message of the clipboard channel.
type ClipboardMessage struct {
	Type    string `json:"type"`
	Text    string `json:"text"`
	More    bool   `json:"more,omitempty"`
	Message string `json:"message,omitempty"`
}

// Types of clipboard message.
const (
	ClipboardText  = "clipboard"
	ClipboardGet   = "get"
	ClipboardError = "error"
)

func (h *helperSide) clipboard(data []byte) {
	var m ClipboardMessage
	if err := json.Unmarshal(data, &m); err != nil {
		h.clipboardError("The clipboard message could not be read.")
		return
	}
	switch m.Type {
	case ClipboardText:
		h.mu.Lock()
		if h.clip.Len()+len(m.Text) > MaxClipboard {
			h.clip.Reset()
			h.mu.Unlock()
			h.clipboardError(fmt.Sprintf("The text is larger than %d bytes; the clipboard was not changed.", MaxClipboard))
			return
		}
		h.clip.WriteString(m.Text)
		if m.More {
			h.mu.Unlock()
			return
		}
		text := h.clip.String()
		h.clip.Reset()
		h.mu.Unlock()
		if err := h.os.SetClipboardText(text); err != nil {
			h.clipboardError("The clipboard could not be set on the PC: " + err.Error())
		}
	case ClipboardGet:
		text, err := h.os.ClipboardText()
		if err != nil {
			h.clipboardError("The PC's clipboard could not be read: " + err.Error())
			return
		}
		if len(text) > MaxClipboard {
			h.clipboardError(fmt.Sprintf("The PC's clipboard holds %d bytes of text; at most %d can be sent.", len(text), MaxClipboard))
			return
		}
		for _, part := range parts(text, clipboardPart) {
			if err := h.p.json(kindClipboard, part); err != nil {
				return
			}
		}
	default:
		h.clipboardError(fmt.Sprintf("Unknown clipboard message type %q.", m.Type))
	}
}

func (h *helperSide) clipboardError(msg string) {
	_ = h.p.json(kindClipboard, ClipboardMessage{Type: ClipboardError, Message: msg})
}

// parts cuts text into messages of at most size bytes, never inside a character.
func parts(text string, size int) []ClipboardMessage {
	var out []ClipboardMessage
	for {
		if len(text) <= size {
			return append(out, ClipboardMessage{Type: ClipboardText, Text: text})
		}
		cut := size
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		out = append(out, ClipboardMessage{Type: ClipboardText, Text: text[:cut], More: true})
		text = text[cut:]
	}
}

// screenSink writes the stream's messages into the pipe.
type screenSink struct{ p *pipe }

func (s screenSink) Text(v any) error      { return s.p.json(kindScreenText, v) }
func (s screenSink) Binary(b []byte) error { return s.p.write(kindScreenBinary, b) }

// Notice is what the notice says.
type Notice struct {
	Title  string // the window's title
	Text   string // "<technician> is connected"
	Detail string // what Disconnect does
	Button string // "Disconnect"
}

// NoticeFor is the notice for the technician in the language ("de": German, anything
// else English), as DESIGN.md words it.
func NoticeFor(technician, lang string) Notice {
	if technician == "" {
		technician = "A technician"
		if lang == "de" {
			technician = "Ein Techniker"
		}
	}
	if lang == "de" {
		return Notice{Title: "Ad-hoc Support", Text: technician + " ist verbunden",
			Detail: "„Trennen“ beendet die Fernverbindung sofort.", Button: "Trennen"}
	}
	return Notice{Title: "Ad-hoc Support", Text: technician + " is connected",
		Detail: "Disconnect ends the remote connection at once.", Button: "Disconnect"}
}
