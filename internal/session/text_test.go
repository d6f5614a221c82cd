package session

import (
	"strings"
	"testing"
)

// lookAlikes are characters that change how text looks without showing themselves, one
// of each kind the rules refuse. Tests elsewhere put each into every field the app
// reports.
var lookAlikes = []struct {
	name string
	r    rune
}{
	{"RIGHT-TO-LEFT OVERRIDE (Cf, bidi)", '\u202e'},
	{"LEFT-TO-RIGHT EMBEDDING (Cf, bidi)", '\u202a'},
	{"RIGHT-TO-LEFT ISOLATE (Cf, bidi)", '\u2067'},
	{"POP DIRECTIONAL ISOLATE (Cf, bidi)", '\u2069'},
	{"RIGHT-TO-LEFT MARK (Cf, bidi)", '\u200f'},
	{"ARABIC LETTER MARK (Cf, bidi)", '\u061c'},
	{"ZERO WIDTH JOINER (Cf)", '\u200d'},
	{"ZERO WIDTH NON-JOINER (Cf)", '\u200c'},
	{"ZERO WIDTH SPACE (Cf)", '\u200b'},
	{"WORD JOINER (Cf)", '\u2060'},
	{"ZERO WIDTH NO-BREAK SPACE / BOM (Cf)", '\ufeff'},
	{"SOFT HYPHEN (Cf)", '\u00ad'},
	{"TAG LATIN SMALL LETTER A (Cf)", '\U000e0061'},
	{"ESCAPE (Cc)", '\x1b'},
	{"NUL (Cc)", '\x00'},
	{"DELETE (Cc)", '\x7f'},
	{"NEXT LINE (Cc)", '\u0085'},
	{"private use (Co)", '\ue000'},
	{"supplementary private use (Co)", '\U000f0000'},
	{"unassigned (Cn)", '\u0378'},
	{"unassigned plane 3 (Cn)", '\U0003fffd'},
	{"noncharacter (Cn)", '\uffff'},
	{"noncharacter U+FDD0 (Cn)", '\ufdd0'},
	{"LINE SEPARATOR (Zl)", '\u2028'},
	{"PARAGRAPH SEPARATOR (Zp)", '\u2029'},
	{"HANGUL FILLER (Lo, default-ignorable)", '\u3164'},
	{"COMBINING GRAPHEME JOINER (Mn, default-ignorable)", '\u034f'},
	{"VARIATION SELECTOR-16 (Mn, default-ignorable)", '\ufe0f'},
}

func TestInvisible(t *testing.T) {
	for _, la := range lookAlikes {
		if !Invisible(la.r) {
			t.Errorf("%s (%U) passes", la.name, la.r)
		}
		for _, s := range []string{string(la.r), "PC" + string(la.r) + "1", "Windows 11" + string(la.r)} {
			if VisibleText(s) {
				t.Errorf("VisibleText(%q) with %s = true", s, la.name)
			}
		}
	}
	for _, s := range []string{"", "ANNA-PC", "Windows 11 Pro 24H2 (10.0.26100.2314)", "1.0.0-dev+abc", "Bücher-PC", "Ωmega", "東京のPC",
		"e\u0301", "4c4c4544-0043-3510-8052-b4c04f4e3732", "a b\tc"[:3]} {
		if !VisibleText(s) {
			t.Errorf("VisibleText(%q) = false", s)
		}
	}
	if VisibleText("bad \xff utf-8") {
		t.Error("invalid UTF-8 passes")
	}
}

func TestValidHostname(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"ANNA-PC", true},
		{"desktop-7f3k2lq", true},
		{"PC1", true},
		{"PC-", true},
		{"x", true},
		{"JOHN_PC", true},                // NetBIOS-era names: Windows warns, but allows
		{"Bücher-PC", true},              // a non-standard letter: Windows warns, but allows
		{"Bu\u0308cher", true},           // with a combining mark after a letter
		{strings.Repeat("a", 63), true},  // the DNS label limit
		{strings.Repeat("a", 64), false}, // over it
		{strings.Repeat("ü", 32), false}, // 64 bytes
		{"", false},                      // empty
		{"12345", false},                 // digits only
		{"ANNA PC", false},               // space
		{"anna.example.com", false},      // a dot: one label only
		{"ANNA-PC\u202eexe.1", false},    // bidi override
		{"ANNA\u200d-PC", false},         // zero-width joiner
		{"ANNA\u00ad-PC", false},         // soft hyphen
		{"\u3164", false},                // an invisible letter
		{"\u0308PC", false},              // a mark with nothing to sit on
		{"PC-١", false},                  // a digit of another script
		{"PC\uff11", false},              // a fullwidth digit
		{`PC\1`, false}, {"PC/1", false}, {"PC:1", false}, {"PC*", false}, {"PC?", false}, {`PC"`, false},
		{"PC<1>", false}, {"PC|1", false}, {"PC,1", false}, {"PC~1", false}, {"PC!", false}, {"PC@1", false},
		{"PC#1", false}, {"PC$", false}, {"PC%", false}, {"PC^", false}, {"PC&1", false}, {"PC'1", false},
		{"PC(1)", false}, {"PC{1}", false},
	}
	for _, c := range cases {
		if got := ValidHostname(c.in); got != c.want {
			t.Errorf("ValidHostname(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	for _, la := range lookAlikes {
		if ValidHostname("PC" + string(la.r) + "1") {
			t.Errorf("a hostname with %s passes", la.name)
		}
	}
}

func TestNormalizeEmailLookAlikes(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		// Internationalised domains: stored in their ASCII form, in lower case.
		{"IDN domain", "anna@bücher.example", "anna@xn--bcher-kva.example"},
		{"IDN domain, upper case", "Anna@BÜCHER.Example", "Anna@xn--bcher-kva.example"},
		{"A-label as typed", "anna@xn--bcher-kva.example", "anna@xn--bcher-kva.example"},
		{"look-alike domain shows what it is", "anna@exаmple.org", "anna@xn--exmple-4nf.org"},
		{"fullwidth dot maps to a dot", "anna@example\uff0eorg", "anna@example.org"},
		// Refused.
		{"non-ASCII local part (SES takes no SMTPUTF8)", "jörg@example.org", ""},
		{"invalid A-label", "anna@xn--zzzz-.example", ""},
		{"hyphen at a label's edge", "anna@-example.org", ""},
		{"underscore in the domain", "anna@ex_ample.org", ""},
		{"mixed directions in a label", "anna@aא.example", ""},
	}
	for _, c := range cases {
		got, err := NormalizeEmail(c.in)
		if c.want == "" {
			if err == nil {
				t.Errorf("%s: NormalizeEmail(%q) = %q, want refused", c.name, c.in, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%s: NormalizeEmail(%q) = %q, %v; want %q", c.name, c.in, got, err, c.want)
		}
	}
	// Every look-alike character, in the local part and in the domain. (White space around
	// the address, line separators too, is trimmed, not refused: it is not kept.)
	for _, la := range lookAlikes {
		for _, in := range []string{"an" + string(la.r) + "na@example.org", "anna@exam" + string(la.r) + "ple.org", "anna@example.org" + string(la.r) + "x"} {
			if got, err := NormalizeEmail(in); err == nil {
				t.Errorf("%s: NormalizeEmail(%q) = %q, want refused", la.name, in, got)
			}
		}
	}
}

// FuzzNormalizeEmail: an accepted address is ASCII (SES sends 7-bit addresses), holds no
// invisible character, and normalises to itself; what is shown is what is mailed.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{"anna@example.org", "Anna@Bücher.Example", "anna@xn--bcher-kva.example", "an\u202ena@example.org",
		"anna@exam\u200dple.org", "jörg@example.org", "a@b.c\r\nBcc: x@y.z", "anna@aא.example", " anna@example.org\u2028"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeEmail(in)
		if err != nil {
			return
		}
		for i := 0; i < len(out); i++ {
			if out[i] >= 0x80 || out[i] < 0x20 || out[i] == 0x7f {
				t.Fatalf("NormalizeEmail(%q) = %q: not printable ASCII", in, out)
			}
		}
		if again, err := NormalizeEmail(out); err != nil || again != out {
			t.Fatalf("NormalizeEmail(%q) = %q, but that normalises to %q, %v", in, out, again, err)
		}
	})
}
