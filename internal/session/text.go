package session

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// What the app reports about a PC, and the end user's e-mail address, are shown to
// technicians. A character that is invisible or reorders text could make one value look
// like another there ("PC-\u202eexe.1" shows as "PC-1.exe"; a zero-width joiner splits a
// name that looks whole). Such text is refused, never cleaned, so that what a technician
// sees is exactly what was sent.

// Invisible reports whether r must not reach a technician's screen: Unicode categories
// Cc (controls), Cf (format: bidi controls, zero-width joiners, soft hyphen …), Co (private
// use), Cn (unassigned in Go's Unicode tables, unicode.Version, and the noncharacters), Zl
// and Zp (line and paragraph separators), and U+FFFD, which is what invalid UTF-8 decodes
// to. Surrogates (Cs) cannot occur in a Go string's runes. Also the rest of Unicode's
// default-ignorable characters, which render as nothing although their category is a
// letter's or a mark's: the Hangul fillers (U+3164 …), the combining grapheme joiner and
// the variation selectors.
func Invisible(r rune) bool {
	switch {
	case r == utf8.RuneError:
		return true
	case unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Zl, unicode.Zp):
		return true
	case unicode.In(r, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector):
		return true
	}
	// Cn: in no category at all. (Not unicode.C: Go's table of C holds unassigned code
	// points too.)
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.Cs)
}

// VisibleText reports whether s is valid UTF-8 without an Invisible character.
func VisibleText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, Invisible)
}

// MaxHostnameBytes is the length limit of a DNS host name label, which is what the app
// reports (Go's os.Hostname on Windows: the computer's physical DNS host name).
const MaxHostnameBytes = 63

// ValidHostname applies the rules Windows has for a computer's DNS host name (Microsoft,
// "Naming conventions in Active Directory for computers, domains, sites, and OUs", DNS host
// names): 1 to 63 bytes of letters, digits 0-9 and hyphens, not digits only. Windows also
// lets a person choose "non-standard" characters, after a warning: letters of any script
// and the underscore (allowed in NetBIOS names), so those are accepted too, with combining
// marks after a letter. Everything Windows refuses in a computer name is refused: spaces,
// periods (the host name is one label; a dot would let a name pose as a domain), and
// , ~ : ! @ # $ % ^ & ' ( ) { } \ / * ? " < > | and the invisible characters above.
func ValidHostname(h string) bool {
	if h == "" || len(h) > MaxHostnameBytes || !VisibleText(h) {
		return false
	}
	digitsOnly := true
	prev := rune(-1)
	for _, r := range h {
		switch {
		case r >= '0' && r <= '9':
		case r == '-' || r == '_':
			digitsOnly = false
		case unicode.IsLetter(r):
			digitsOnly = false
		case unicode.Is(unicode.M, r) && prev >= 0 && (unicode.IsLetter(prev) || unicode.Is(unicode.M, prev)):
		default:
			// Digits of other scripts too ('٣', '३'): a digit that looks like another is
			// what a look-alike is made of, and no PC needs one in its name.
			return false
		}
		prev = r
	}
	return !digitsOnly
}
