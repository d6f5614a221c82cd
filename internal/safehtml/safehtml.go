// Package safehtml writes the product's two HTML documents, the join page and the
// invitation mail, without html/template: markup comes only from string constants in the
// source, and every value is escaped for where it goes, in the manner of
// github.com/google/safehtml.
//
// Why not html/template: its executor calls reflect.Value.MethodByName, and once that is
// reachable the linker keeps every exported method of every type that may be reached by
// reflection, which in a Lambda bootstrap is every method of every AWS SDK client linked:
// about 11 MB of each of the invitation and pairing bootstraps (docs/cost.md, section 5).
//
// The escaping is html/template's for the same contexts, byte for byte, so what the
// templates wrote before reads the same (the golden files of internal/httpapi and
// internal/mail hold the two together):
//
//   - Text, in element content and in RCDATA such as <title>, and Attr, inside a quoted
//     attribute value, replace NUL with U+FFFD and " & ' + < > with character
//     references.
//   - URL, inside a quoted href or src, refuses any scheme but http, https and mailto
//     (the link becomes "#ZgotmplZ", html/template's marker of a refused value),
//     percent-encodes what may not stand in a URL, keeping the reserved characters and
//     valid %XX escapes, and then escapes as Attr does.
package safehtml

import "strings"

// markup is HTML written in the source. The type is unexported, so code outside this
// package can pass only an untyped string constant where it is asked for: a string
// variable (a value from a request, a mail, a table) does not convert to it.
type markup string

// Builder accumulates a document. The zero value is ready to use.
type Builder struct {
	b strings.Builder
}

// HTML writes markup from the source as it is.
func (b *Builder) HTML(m markup) { b.b.WriteString(string(m)) }

// Text writes s as element content (also RCDATA, such as a <title>'s), escaped.
func (b *Builder) Text(s string) { escapeOnto(&b.b, s) }

// Attr writes s as (part of) the content of an attribute value in double or single
// quotes, escaped. The quotes are markup.
func (b *Builder) Attr(s string) { escapeOnto(&b.b, s) }

// URL writes s as the content of a quoted href or src attribute value: a link with a
// scheme other than http, https or mailto is refused, the rest is normalized and escaped.
func (b *Builder) URL(s string) {
	if !safeURL(s) {
		s = Refused
	}
	escapeOnto(&b.b, normalizeURL(s))
}

// String is the document written so far.
func (b *Builder) String() string { return b.b.String() }

// Refused is what URL writes instead of a link it refuses: a fragment that goes nowhere,
// the same marker html/template uses, so a refused value is easy to spot.
const Refused = "#ZgotmplZ"

// replacement is the escape of each ASCII character that needs one in text and in quoted
// attribute values (html/template's htmlReplacementTable). Bytes of multi-byte UTF-8
// sequences are all 0x80 or above, so escaping byte by byte is escaping rune by rune.
var replacement = [128]string{
	0:    "\uFFFD",
	'"':  "&#34;",
	'&':  "&amp;",
	'\'': "&#39;",
	'+':  "&#43;",
	'<':  "&lt;",
	'>':  "&gt;",
}

func escapeOnto(b *strings.Builder, s string) {
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || replacement[c] == "" {
			continue
		}
		b.WriteString(s[written:i])
		b.WriteString(replacement[c])
		written = i + 1
	}
	b.WriteString(s[written:])
}

// safeURL reports whether s is relative or has one of the schemes http, https or mailto.
// What comes before the first ":" is a scheme only if it holds no "/" (a relative path
// may contain a colon after a slash).
func safeURL(s string) bool {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || strings.Contains(scheme, "/") {
		return true
	}
	return strings.EqualFold(scheme, "http") || strings.EqualFold(scheme, "https") || strings.EqualFold(scheme, "mailto")
}

// normalizeURL percent-encodes every byte of s that is neither unreserved (RFC 3986:
// letters, digits, - . _ ~) nor reserved (! # $ & * + , / : ; = ? @ [ ]), and a % that
// does not start a valid escape. The quote ' and the parentheses are encoded too, so the
// link also fits single-quoted attributes.
func normalizeURL(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("-._~!#$&*+,/:;=?@[]", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		if written == 0 {
			b.Grow(len(s) + 16)
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xf])
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

const hexDigits = "0123456789abcdef"

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
