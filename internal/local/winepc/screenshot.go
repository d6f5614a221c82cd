package winepc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
)

// Screenshot is what the virtual display shows now: Xvfb's framebuffer, which it keeps
// as an XWD file (-fbdir), read directly — the X server's own pixels, with no screenshot
// tool in between.
func (pc *PC) Screenshot() (*image.RGBA, error) {
	if pc.fbDir == "" {
		return nil, errors.New("winepc: no display started")
	}
	data, err := os.ReadFile(filepath.Join(pc.fbDir, "Xvfb_screen0"))
	if err != nil {
		return nil, fmt.Errorf("winepc: %w", err)
	}
	return decodeXWD(data)
}

// decodeXWD reads a ZPixmap XWD (X11 window dump, version 7) of 24-bit TrueColor in
// 32 bits a pixel, as Xvfb writes it.
func decodeXWD(data []byte) (*image.RGBA, error) {
	if len(data) < 100 {
		return nil, errors.New("winepc: XWD too short")
	}
	field := func(i int) uint32 { return binary.BigEndian.Uint32(data[i*4:]) }
	headerSize, version, format := field(0), field(1), field(2)
	width, height := int(field(4)), int(field(5))
	byteOrder, bpp, bytesPerLine := field(7), field(11), int(field(12))
	redMask, greenMask, blueMask := field(14), field(15), field(16)
	ncolors := int(field(19))
	if version != 7 || format != 2 || bpp != 32 {
		return nil, fmt.Errorf("winepc: XWD version %d, format %d, %d bits a pixel: not what Xvfb writes at depth 24", version, format, bpp)
	}
	off := int(headerSize) + ncolors*12
	if len(data) < off+bytesPerLine*height {
		return nil, errors.New("winepc: XWD shorter than its pixels")
	}
	shift := func(mask uint32) uint {
		var s uint
		for mask != 0 && mask&1 == 0 {
			mask >>= 1
			s++
		}
		return s
	}
	rs, gs, bs := shift(redMask), shift(greenMask), shift(blueMask)
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := 0; y < height; y++ {
		row := data[off+y*bytesPerLine:]
		for x := 0; x < width; x++ {
			var v uint32
			if byteOrder == 0 {
				v = binary.LittleEndian.Uint32(row[x*4:])
			} else {
				v = binary.BigEndian.Uint32(row[x*4:])
			}
			i := y*img.Stride + x*4
			img.Pix[i] = uint8((v & redMask) >> rs)
			img.Pix[i+1] = uint8((v & greenMask) >> gs)
			img.Pix[i+2] = uint8((v & blueMask) >> bs)
			img.Pix[i+3] = 0xff
		}
	}
	return img, nil
}
