// Package screen is the picture side of remote access's `screen` channel
// (remote-protocol.md, "Issue 14"), free of Windows: the user's display is captured into
// a Frame, compared with the previous one in tiles of 64×64 pixels, the changed tiles
// are merged into rectangles, and each rectangle goes to the console as a JPEG, with the
// flow control (at most three frames unacknowledged), the adaptive quality and the
// cursor the contract asks for. The capture itself is behind Source: GDI on Windows
// (agent/winos), a fake in the tests.
package screen

import (
	"bytes"
	"fmt"
	"image"
)

// TileSize is the side of the tiles two frames are compared in.
const TileSize = 64

// Frame is a captured picture: 4 bytes a pixel in the order blue, green, red and one
// unused byte (what a 32-bit GDI bitmap holds), rows top-down without padding.
type Frame struct {
	Width, Height int
	Pix           []byte
}

// NewFrame returns a black frame of the size.
func NewFrame(width, height int) *Frame {
	f := &Frame{}
	f.Resize(width, height)
	return f
}

// Resize gives the frame the size, keeping its memory when it is large enough. The
// pixels are undefined afterwards.
func (f *Frame) Resize(width, height int) {
	n := width * height * 4
	if cap(f.Pix) < n {
		f.Pix = make([]byte, n)
	}
	f.Pix = f.Pix[:n]
	f.Width, f.Height = width, height
}

// Stride is the length of a row in bytes.
func (f *Frame) Stride() int { return f.Width * 4 }

// Set paints one pixel (for tests and fakes).
func (f *Frame) Set(x, y int, r, g, b uint8) {
	i := y*f.Stride() + x*4
	f.Pix[i], f.Pix[i+1], f.Pix[i+2], f.Pix[i+3] = b, g, r, 0
}

// At reads one pixel.
func (f *Frame) At(x, y int) (r, g, b uint8) {
	i := y*f.Stride() + x*4
	return f.Pix[i+2], f.Pix[i+1], f.Pix[i]
}

// Fill paints a rectangle in one colour (for tests and fakes).
func (f *Frame) Fill(r Rect, red, green, blue uint8) {
	r = r.Intersect(Rect{W: f.Width, H: f.Height})
	for y := r.Y; y < r.Y+r.H; y++ {
		for x := r.X; x < r.X+r.W; x++ {
			f.Set(x, y, red, green, blue)
		}
	}
}

// Rect is a rectangle in a display's pixels.
type Rect struct {
	X, Y, W, H int
}

func (r Rect) String() string { return fmt.Sprintf("%dx%d+%d+%d", r.W, r.H, r.X, r.Y) }

// Empty reports whether the rectangle has no pixels.
func (r Rect) Empty() bool { return r.W <= 0 || r.H <= 0 }

// Intersect is the part of r inside s.
func (r Rect) Intersect(s Rect) Rect {
	x0, y0 := max(r.X, s.X), max(r.Y, s.Y)
	x1, y1 := min(r.X+r.W, s.X+s.W), min(r.Y+r.H, s.Y+s.H)
	if x1 <= x0 || y1 <= y0 {
		return Rect{}
	}
	return Rect{X: x0, Y: y0, W: x1 - x0, H: y1 - y0}
}

// grid is a frame's tiles, one flag each, row by row.
type grid struct {
	cols, rows int
	set        []bool
}

func newGrid(width, height int) grid {
	cols, rows := (width+TileSize-1)/TileSize, (height+TileSize-1)/TileSize
	return grid{cols: cols, rows: rows, set: make([]bool, cols*rows)}
}

// any reports whether a tile is set.
func (g grid) any() bool {
	for _, s := range g.set {
		if s {
			return true
		}
	}
	return false
}

// changedTiles marks the tiles in which cur differs from prev; both have the same size.
// Rows are compared as a whole per tile column, which is a memory comparison: a full
// 1280×800 frame takes well under a millisecond.
func changedTiles(prev, cur *Frame) grid {
	g := newGrid(cur.Width, cur.Height)
	stride := cur.Stride()
	for y := 0; y < cur.Height; y++ {
		row := y / TileSize
		off := y * stride
		for c := 0; c < g.cols; c++ {
			i := row*g.cols + c
			if g.set[i] {
				continue
			}
			x0 := c * TileSize * 4
			x1 := min(x0+TileSize*4, stride)
			if !bytes.Equal(prev.Pix[off+x0:off+x1], cur.Pix[off+x0:off+x1]) {
				g.set[i] = true
			}
		}
	}
	return g
}

// merge covers the set tiles with few rectangles, none covering an unset tile: from the
// first set tile not yet covered (row by row), a run to the right as far as the tiles are
// set, then downwards as long as the whole run is set below. The rectangles are in
// pixels, clipped to width × height.
func (g grid) merge(width, height int) []Rect {
	done := make([]bool, len(g.set))
	free := func(c, r int) bool { i := r*g.cols + c; return g.set[i] && !done[i] }
	var out []Rect
	for r := 0; r < g.rows; r++ {
		for c := 0; c < g.cols; c++ {
			if !free(c, r) {
				continue
			}
			w := 1
			for c+w < g.cols && free(c+w, r) {
				w++
			}
			h := 1
		down:
			for r+h < g.rows {
				for i := c; i < c+w; i++ {
					if !free(i, r+h) {
						break down
					}
				}
				h++
			}
			for rr := r; rr < r+h; rr++ {
				for cc := c; cc < c+w; cc++ {
					done[rr*g.cols+cc] = true
				}
			}
			px := Rect{X: c * TileSize, Y: r * TileSize, W: w * TileSize, H: h * TileSize}
			out = append(out, px.Intersect(Rect{W: width, H: height}))
		}
	}
	return out
}

// Diff returns the rectangles in which cur differs from prev (same size): changed tiles,
// merged. An unchanged frame has none.
func Diff(prev, cur *Frame) []Rect {
	return changedTiles(prev, cur).merge(cur.Width, cur.Height)
}

// RGBA is a copy of the frame as an image.
func (f *Frame) RGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	for i := 0; i+3 < len(f.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = f.Pix[i+2], f.Pix[i+1], f.Pix[i], 0xff
	}
	return img
}
