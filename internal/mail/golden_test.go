package mail_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or writes it there with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		i := 0
		for i < len(want) && i < len(got) && want[i] == got[i] {
			i++
		}
		from := max(0, i-60)
		t.Errorf("%s differs from the golden file at byte %d:\nwant …%q\n got …%q", name, i,
			want[from:min(len(want), i+60)], got[from:min(len(got), i+60)])
	}
}

// TestRenderGolden holds every part of the mail byte for byte to the golden files (written
// by the text/template and html/template version of the mail, before internal/safehtml
// replaced it), for today's mails and for values that need escaping.
func TestRenderGolden(t *testing.T) {
	cases := []struct {
		name   string
		change func(*support.InvitationMail)
	}{
		{"en", func(*support.InvitationMail) {}},
		{"de", func(m *support.InvitationMail) { m.Locale = "de" }},
		{"de-AT", func(m *support.InvitationMail) { m.Locale = "de-AT"; m.SessionHours = 8 }},
		{"no-name", func(m *support.InvitationMail) { m.TechnicianName = " \t " }},
		{"hostile-name", func(m *support.InvitationMail) {
			m.TechnicianName = "Eve <script>alert(\"x\")</script> & 'Co' + \x00 friends\r\nBcc: x@example.com"
		}},
		{"odd-link", func(m *support.InvitationMail) {
			m.JoinURL = `https://support.example.com/join/x"><b>?a=1&b=2+3'c(d)ü%41%zz#frag`
		}},
		{"odd-addresses", func(m *support.InvitationMail) {
			m.TechnicianEmail = "o'brien+support@example.com"
			m.Locale = "de"
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := sample("en")
			c.change(&m)
			r, err := mail.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, c.name+".subject.txt", r.Subject)
			golden(t, c.name+".txt", r.Text)
			golden(t, c.name+".html", r.HTML)
		})
	}
	if *update {
		fmt.Println("golden files written")
	}
}

// TestEveryLocaleHasWording: each locale the service accepts renders.
func TestEveryLocaleHasWording(t *testing.T) {
	for _, l := range session.Locales {
		if _, err := mail.Render(sample(l)); err != nil {
			t.Errorf("locale %s: %v", l, err)
		}
	}
}
