package httpapi

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/<name>, or writes it there with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
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
		t.Errorf("%s differs from the golden file:\n%s", name, firstDifference(string(want), got))
	}
}

// firstDifference shows where two texts part, with a little context.
func firstDifference(want, got string) string {
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-60)
	return fmt.Sprintf("at byte %d:\nwant …%q\n got …%q", i, want[from:min(len(want), i+60)], got[from:min(len(got), i+60)])
}

// openData is the data of an open invitation as joinPage fills it in.
func openData(locale, technician, token string, hasBuild bool) joinData {
	expires := time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC)
	d := joinData{T: joinTexts[locale], State: "open", TechnicianName: technician, HasBuild: hasBuild}
	d.Expires = formatTime(expires, locale)
	d.After = fmt.Sprintf(d.T.After, 24)
	d.AppURL = "/join/" + token + "/app"
	d.AppArmURL = d.AppURL + "?arch=arm64"
	return d
}

const sampleToken = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde"

// hostile is what a technician could type as a display name: markup, quotes, an
// ampersand, a plus, a NUL and a line break.
const hostile = "Eve <script>alert(\"x\")</script> & 'Co' + \x00 friends\r\nBcc: x@example.com"

func TestJoinPageRender(t *testing.T) {
	cases := []struct {
		name string
		data joinData
	}{
		{"open-en", openData("en", "Tina Technician", sampleToken, true)},
		{"open-de", openData("de", "Tina Technikerin", sampleToken, true)},
		{"open-en-no-build", openData("en", "Tina Technician", sampleToken, false)},
		{"open-de-no-build", openData("de", "Tina Technikerin", sampleToken, false)},
		{"closed-en", joinData{T: joinTexts["en"], State: "closed", TechnicianName: "Tina Technician"}},
		{"closed-de", joinData{T: joinTexts["de"], State: "closed", TechnicianName: "Tina Technikerin"}},
		{"unknown-en", joinData{T: joinTexts["en"], State: "unknown"}},
		{"unknown-de", joinData{T: joinTexts["de"], State: "unknown"}},
		// The renderer escapes whatever it is given, also what joinPage never hands it:
		// a hostile name, and links that are not the app's.
		{"hostile-name", openData("en", hostile, sampleToken, true)},
		{"hostile-link", openData("en", "Tina", `x"><script>alert(1)</script>&a+b'c ü%41%zz`, true)},
		{"script-link", func() joinData {
			d := openData("en", "Tina", sampleToken, true)
			d.AppURL, d.AppArmURL = "javascript:alert(1)", " JavaScript:alert(1)"
			return d
		}()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the page's data WHEN rendered THEN the page is byte for byte the
			// golden one (written by the html/template version of the page, before
			// internal/safehtml replaced it).
			got := renderJoin(c.data)
			golden(t, filepath.Join("join", c.name+".html"), got)
			if strings.Contains(got, "<script>") {
				t.Error("the page carries a <script> element")
			}
		})
	}
}
