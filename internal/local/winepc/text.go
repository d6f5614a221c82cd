package winepc

import (
	"bytes"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// DecodeText reads a text file as a Windows program of the prefix (Notepad) may save it:
// UTF-8 with or without a byte order mark, or UTF-16LE with one. The tests that type into
// a program read what it saved with it.
func DecodeText(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}):
		return string(b[3:])
	case bytes.HasPrefix(b, []byte{0xFF, 0xFE}):
		u := make([]uint16, (len(b)-2)/2)
		for i := range u {
			u[i] = uint16(b[2+2*i]) | uint16(b[3+2*i])<<8
		}
		return string(utf16.Decode(u))
	case utf8.Valid(b):
		return string(b)
	}
	return fmt.Sprintf("%q (not UTF-8)", b)
}
