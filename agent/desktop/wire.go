package desktop

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The pipes between the service and the helper carry frames: a big-endian uint32 length
// of what follows, one byte of kind, and the payload. The service only relays most of
// it: the screen's messages go to the console as they come, the console's go to the
// helper as they came.

// Kinds of frame.
const (
	kindControl      byte = 1 // JSON, control (below)
	kindScreenText   byte = 2 // a text message of the screen channel
	kindScreenBinary byte = 3 // a binary message of the screen channel (a rectangle)
	kindInput        byte = 4 // a text message of the input channel
	kindClipboard    byte = 5 // a text message of the clipboard channel
)

// maxFrame bounds one frame: the largest is a rectangle (under 256 KiB) or a part of the
// clipboard; anything much larger means the stream is garbage.
const maxFrame = 4 << 20

var errFrameTooLarge = errors.New("frame too large")

// Control messages. The service sends notice and stop; the helper sends ready,
// disconnect and log.
type control struct {
	Type       string `json:"type"`
	Technician string `json:"technician,omitempty"` // notice
	Lang       string `json:"lang,omitempty"`       // notice
	Message    string `json:"message,omitempty"`    // log
	Warning    bool   `json:"warning,omitempty"`    // log
	PID        int    `json:"pid,omitempty"`        // ready
}

const (
	ctlNotice     = "notice"
	ctlStop       = "stop"
	ctlReady      = "ready"
	ctlDisconnect = "disconnect"
	ctlLog        = "log"
)

// pipe is one end of the framed pipes. Writes are safe for concurrent use; reads are
// made by one goroutine.
type pipe struct {
	r   *bufio.Reader
	wmu sync.Mutex
	w   io.Writer
}

func newPipe(r io.Reader, w io.Writer) *pipe {
	return &pipe{r: bufio.NewReaderSize(r, 64<<10), w: w}
}

// write sends one frame.
func (p *pipe) write(kind byte, data []byte) error {
	if len(data)+1 > maxFrame {
		return errFrameTooLarge
	}
	var head [5]byte
	binary.BigEndian.PutUint32(head[:], uint32(len(data)+1))
	head[4] = kind
	p.wmu.Lock()
	defer p.wmu.Unlock()
	if _, err := p.w.Write(head[:]); err != nil {
		return fmt.Errorf("write to the pipe: %w", err)
	}
	if _, err := p.w.Write(data); err != nil {
		return fmt.Errorf("write to the pipe: %w", err)
	}
	return nil
}

// json sends v as a frame of the kind.
func (p *pipe) json(kind byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return p.write(kind, data)
}

// read returns the next frame; io.EOF once the other end has closed.
func (p *pipe) read() (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(p.r, head[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF
		}
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(head[:4])
	if n == 0 || n > maxFrame {
		return 0, nil, errFrameTooLarge
	}
	data := make([]byte, n-1)
	if _, err := io.ReadFull(p.r, data); err != nil {
		return 0, nil, fmt.Errorf("read from the pipe: %w", err)
	}
	return head[4], data, nil
}
