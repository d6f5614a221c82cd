package screen

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/jpeg"
	"runtime"
	"sync"
)

// The rectangles' binary messages (remote-protocol.md): a 16-byte header — big-endian
// uint16 x, y, width, height, then uint32 frame and uint32 length of the JPEG — and the
// JPEG (image/jpeg, 4:2:0).
const HeaderSize = 16

// Limits of one rectangle's message.
const (
	// bandRows is the tallest rectangle encoded as one JPEG: a full frame becomes a few
	// bands, which encode in parallel and keep each message far below what a browser
	// takes (Chromium: 256 KiB).
	bandRows = 4 * TileSize
	// maxRectBytes is the largest JPEG a message may carry; a larger one is encoded again
	// as two halves.
	maxRectBytes = 192 << 10
)

// Header is a rectangle message's header.
type Header struct {
	Rect   Rect
	Frame  uint32
	Length uint32
}

// PutHeader writes h into b[:HeaderSize].
func PutHeader(b []byte, h Header) {
	binary.BigEndian.PutUint16(b[0:], uint16(h.Rect.X))
	binary.BigEndian.PutUint16(b[2:], uint16(h.Rect.Y))
	binary.BigEndian.PutUint16(b[4:], uint16(h.Rect.W))
	binary.BigEndian.PutUint16(b[6:], uint16(h.Rect.H))
	binary.BigEndian.PutUint32(b[8:], h.Frame)
	binary.BigEndian.PutUint32(b[12:], h.Length)
}

// ParseRect splits a rectangle message into its header and its JPEG.
func ParseRect(msg []byte) (Header, []byte, error) {
	if len(msg) < HeaderSize {
		return Header{}, nil, fmt.Errorf("rectangle message of %d bytes, shorter than its header", len(msg))
	}
	h := Header{
		Rect: Rect{X: int(binary.BigEndian.Uint16(msg[0:])), Y: int(binary.BigEndian.Uint16(msg[2:])),
			W: int(binary.BigEndian.Uint16(msg[4:])), H: int(binary.BigEndian.Uint16(msg[6:]))},
		Frame:  binary.BigEndian.Uint32(msg[8:]),
		Length: binary.BigEndian.Uint32(msg[12:]),
	}
	if int(h.Length) != len(msg)-HeaderSize {
		return h, nil, fmt.Errorf("rectangle message says %d bytes of JPEG, has %d", h.Length, len(msg)-HeaderSize)
	}
	return h, msg[HeaderSize:], nil
}

// encoder turns rectangles of a frame into messages, several at once.
type encoder struct {
	workers int
	pool    sync.Pool // *scratch
}

type scratch struct {
	rgba image.RGBA
}

func newEncoder() *encoder {
	return &encoder{workers: max(1, runtime.GOMAXPROCS(0))}
}

// split cuts rectangles taller than bandRows into bands.
func split(rects []Rect) []Rect {
	var out []Rect
	for _, r := range rects {
		for y := r.Y; y < r.Y+r.H; y += bandRows {
			out = append(out, Rect{X: r.X, Y: y, W: r.W, H: min(bandRows, r.Y+r.H-y)})
		}
	}
	return out
}

// encode returns one message per rectangle (more where a JPEG came out too large), in
// the order of the rectangles, each a header for frame and the JPEG at quality.
func (e *encoder) encode(f *Frame, rects []Rect, frame uint32, quality int) ([][]byte, error) {
	rects = split(rects)
	out := make([][][]byte, len(rects))
	errs := make([]error, len(rects))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(e.workers, len(rects)) {
		wg.Go(func() {
			for i := range next {
				out[i], errs[i] = e.encodeRect(f, rects[i], frame, quality)
			}
		})
	}
	for i := range rects {
		next <- i
	}
	close(next)
	wg.Wait()
	var msgs [][]byte
	for i := range rects {
		if errs[i] != nil {
			return nil, errs[i]
		}
		msgs = append(msgs, out[i]...)
	}
	return msgs, nil
}

// encodeRect encodes one rectangle, in halves if its JPEG exceeds maxRectBytes.
func (e *encoder) encodeRect(f *Frame, r Rect, frame uint32, quality int) ([][]byte, error) {
	s, _ := e.pool.Get().(*scratch)
	if s == nil {
		s = &scratch{}
	}
	defer e.pool.Put(s)
	s.load(f, r)
	var buf bytes.Buffer
	buf.Grow(HeaderSize + r.W*r.H/4)
	buf.Write(make([]byte, HeaderSize))
	if err := jpeg.Encode(&buf, &s.rgba, &jpeg.Options{Quality: quality}); err != nil {
		return nil, fmt.Errorf("encode %v as JPEG: %w", r, err)
	}
	msg := buf.Bytes()
	if len(msg)-HeaderSize > maxRectBytes && (r.W > 16 || r.H > 16) {
		a, b := halves(r)
		ma, err := e.encodeRect(f, a, frame, quality)
		if err != nil {
			return nil, err
		}
		mb, err := e.encodeRect(f, b, frame, quality)
		return append(ma, mb...), err
	}
	PutHeader(msg, Header{Rect: r, Frame: frame, Length: uint32(len(msg) - HeaderSize)})
	return [][]byte{msg}, nil
}

// halves cuts r across its longer side.
func halves(r Rect) (Rect, Rect) {
	if r.H >= r.W {
		h := r.H / 2
		return Rect{X: r.X, Y: r.Y, W: r.W, H: h}, Rect{X: r.X, Y: r.Y + h, W: r.W, H: r.H - h}
	}
	w := r.W / 2
	return Rect{X: r.X, Y: r.Y, W: w, H: r.H}, Rect{X: r.X + w, Y: r.Y, W: r.W - w, H: r.H}
}

// load copies the rectangle of f into s.rgba as RGBA, the layout image/jpeg converts
// fastest.
func (s *scratch) load(f *Frame, r Rect) {
	n := r.W * r.H * 4
	if cap(s.rgba.Pix) < n {
		s.rgba.Pix = make([]byte, n)
	}
	s.rgba.Pix = s.rgba.Pix[:n]
	s.rgba.Stride = r.W * 4
	s.rgba.Rect = image.Rect(0, 0, r.W, r.H)
	stride := f.Stride()
	for y := 0; y < r.H; y++ {
		src := f.Pix[(r.Y+y)*stride+r.X*4 : (r.Y+y)*stride+(r.X+r.W)*4]
		dst := s.rgba.Pix[y*r.W*4 : (y+1)*r.W*4]
		for i := 0; i < len(src); i += 4 {
			dst[i], dst[i+1], dst[i+2], dst[i+3] = src[i+2], src[i+1], src[i], 0xff
		}
	}
}
