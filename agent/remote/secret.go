package remote

import (
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// secret is a password as it arrives in the terminal's login message. encoding/json would
// decode it into a string, which cannot be wiped; secret keeps it in bytes, and wipe clears
// them once the password has been checked.
type secret []byte

var errBadString = errors.New("not a JSON string")

// UnmarshalJSON decodes a JSON string into bytes, in place of the string encoding/json
// would make. The result never grows beyond the raw text, so it is allocated once and no
// copy is left behind in a discarded buffer.
func (s *secret) UnmarshalJSON(raw []byte) error {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return errBadString
	}
	in := raw[1 : len(raw)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			if c < 0x20 || c == '"' {
				wipe(out)
				return errBadString
			}
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			wipe(out)
			return errBadString
		}
		esc := in[i+1]
		i += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := hex4(in, i)
			if !ok {
				wipe(out)
				return errBadString
			}
			i += 4
			if utf16.IsSurrogate(r) {
				// A pair: \uD83D\uDE00; a lone half becomes U+FFFD, as encoding/json does.
				if r2, ok := hex4(in, i+2); ok && i+1 < len(in) && in[i] == '\\' && in[i+1] == 'u' {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						i += 6
						r = d
					} else {
						r = utf8.RuneError
					}
				} else {
					r = utf8.RuneError
				}
			}
			out = utf8.AppendRune(out, r)
		default:
			wipe(out)
			return errBadString
		}
	}
	*s = out
	return nil
}

// hex4 reads four hex digits at in[i:].
func hex4(in []byte, i int) (rune, bool) {
	if i < 0 || i+4 > len(in) {
		return 0, false
	}
	var r rune
	for _, c := range in[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// wipe overwrites b with zeros, up to its capacity.
func wipe(b []byte) {
	clear(b[:cap(b)])
}
