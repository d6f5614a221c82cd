package protocol

import (
	"encoding/json"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// Secret is a password as the wire carries it: the hidden account's in the pair answer,
// and the one a technician types into the remote terminal. encoding/json would decode it
// into a string, which cannot be wiped; Secret keeps it in bytes, which the receiver wipes
// (Wipe) once the password has been used. It prints as "[secret]", so a %v of a message
// holding one never shows it.
type Secret []byte

// String keeps the password out of anything formatted with %v or %s.
func (Secret) String() string { return "[secret]" }

// GoString keeps the password out of %#v.
func (Secret) GoString() string { return "protocol.Secret{…}" }

// MarshalJSON writes the password as a JSON string (the server's side; the string it makes
// is the response body's, which a Lambda answer carries as a string anyway).
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(string(s)) }

// Wipe overwrites the secret with zeros.
func (s Secret) Wipe() { Wipe(s) }

var errBadSecret = errors.New("not a JSON string")

// UnmarshalJSON decodes a JSON string into bytes, in place of the string encoding/json
// would make. The result never grows beyond the raw text, so it is allocated once and no
// copy is left behind in a discarded buffer. raw is a slice of the caller's buffer
// (encoding/json hands an Unmarshaler its input, not a copy), which the caller wipes.
func (s *Secret) UnmarshalJSON(raw []byte) error {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return errBadSecret
	}
	in := raw[1 : len(raw)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			if c < 0x20 || c == '"' {
				Wipe(out)
				return errBadSecret
			}
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			Wipe(out)
			return errBadSecret
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
				Wipe(out)
				return errBadSecret
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
			Wipe(out)
			return errBadSecret
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

// Wipe overwrites b with zeros, up to its capacity.
func Wipe(b []byte) {
	clear(b[:cap(b)])
}
