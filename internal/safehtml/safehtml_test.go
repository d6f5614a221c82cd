package safehtml

import (
	htmltemplate "html/template"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"plain words, ü and „quotes“", "plain words, ü and „quotes“"},
		{`<script>alert("x")</script>`, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"},
		{"Tom & 'Jerry' + co", "Tom &amp; &#39;Jerry&#39; &#43; co"},
		{"nul\x00byte", "nul\uFFFDbyte"},
		{"already &amp; escaped", "already &amp;amp; escaped"},
		{"bad utf-8 \xff stays", "bad utf-8 \xff stays"},
		{"", ""},
	}
	for _, c := range cases {
		var b Builder
		b.Text(c.in)
		if got := b.String(); got != c.want {
			t.Errorf("Text(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestAttr(t *testing.T) {
	// GIVEN a value that tries to leave its attribute WHEN written inside quotes THEN
	// it cannot: neither quote survives, nor < or >.
	var b Builder
	b.HTML(`<p title="`)
	b.Attr(`x" onmouseover="alert(1)`)
	b.HTML(`" lang='`)
	b.Attr(`de' onclick='alert(1)`)
	b.HTML(`'>`)
	want := `<p title="x&#34; onmouseover=&#34;alert(1)" lang='de&#39; onclick=&#39;alert(1)'>`
	if got := b.String(); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestURL(t *testing.T) {
	cases := []struct{ in, want string }{
		{"https://support.example.com/join/AbC-_9", "https://support.example.com/join/AbC-_9"},
		{"/join/abc/app?arch=arm64", "/join/abc/app?arch=arm64"},
		{"https://x.example/?a=1&b=2+3", "https://x.example/?a=1&amp;b=2&#43;3"},
		{`/join/x"><script>`, "/join/x%22%3e%3cscript%3e"},
		{"/a b/ü/(x)/'y'", "/a%20b/%c3%bc/%28x%29/%27y%27"},
		{"/ok%41/bad%zz/end%4", "/ok%41/bad%25zz/end%254"},
		{"mailto:tina@example.com", "mailto:tina@example.com"},
		{"HTTPS://X.EXAMPLE/", "HTTPS://X.EXAMPLE/"},
		// Schemes that run or show something else.
		{"javascript:alert(1)", Refused},
		{"JavaScript:alert(1)", Refused},
		{" javascript:alert(1)", Refused},
		{"data:text/html,<script>", Refused},
		{"vbscript:x", Refused},
		// A colon after a slash is a path, not a scheme.
		{"/a:b", "/a:b"},
		{"", ""},
	}
	for _, c := range cases {
		var b Builder
		b.URL(c.in)
		if got := b.String(); got != c.want {
			t.Errorf("URL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestSameAsHTMLTemplate holds the escaping to html/template's for the same contexts (a
// whole URL in an href: URL is not for parts of one), on
// strings drawn from the characters that matter, so pages written before and after the
// templates left read alike.
func TestSameAsHTMLTemplate(t *testing.T) {
	tmpl := htmltemplate.Must(htmltemplate.New("").Parse(
		`<title>{{.}}</title><p lang="{{.}}">{{.}}</p><a href="{{.}}">x</a>`))
	alphabet := []string{"a", "Z", "0", "-", "_", ".", "~", "!", "#", "$", "&", "*", "+", ",", "/", ":", ";", "=", "?", "@", "[", "]",
		"%", "%4", "1", "f", "'", `"`, "<", ">", "(", ")", " ", "\t", "\n", "\x00", "\x7f", "ü", "€", "\xff", "\\", "^", "`", "{", "|", "}",
		"http", "https:", "mailto:", "javascript:", "JaVaScRiPt:", "data:", "//"}
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := []string{"", "https://support.example.com/join/x?a=1&b=2", "javascript:alert(1)", "/x:y", "%41%zz%"}
	for range 20000 {
		var s strings.Builder
		for range rng.IntN(12) {
			s.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, s.String())
	}
	for _, in := range inputs {
		var want strings.Builder
		if err := tmpl.Execute(&want, in); err != nil {
			t.Fatal(err)
		}
		var b Builder
		b.HTML(`<title>`)
		b.Text(in)
		b.HTML(`</title><p lang="`)
		b.Attr(in)
		b.HTML(`">`)
		b.Text(in)
		b.HTML(`</p><a href="`)
		b.URL(in)
		b.HTML(`">x</a>`)
		if got := b.String(); got != want.String() {
			t.Fatalf("for %q:\n got %q\nwant %q", in, got, want.String())
		}
	}
}

// TestHTMLTakesOnlyConstants: a string variable does not compile as markup
// (testdata/variable tries).
func TestHTMLTakesOnlyConstants(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	cmd := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "variable"), "./testdata/variable")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatal("testdata/variable compiled: Builder.HTML took a string variable")
	}
	if !strings.Contains(string(out), "cannot use fromOutside") {
		t.Fatalf("testdata/variable failed for another reason than the variable:\n%s", out)
	}
}
