package session

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// TestLocaleTagAsRegexp holds localeTag to the regexp it replaces, on the cases that
// matter and on strings drawn from the characters that do.
func TestLocaleTagAsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$`)
	inputs := []string{"", "de", "en-GB", "de-CH-1996", "en-a-b-c", "en-a-b-c-d", "e", "engl", "12", "de-", "-de", "de--at",
		"de-123456789", "de-12345678", "de\n", "de-AT\r\nBcc: x", "dé", "en_GB", "EN-gb"}
	alphabet := []string{"a", "Z", "q", "0", "9", "-", "-", "_", "\n", "é", " "}
	rng := rand.New(rand.NewPCG(3, 4))
	for range 50000 {
		var b strings.Builder
		for range rng.IntN(14) {
			b.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		if got, want := localeTag(in), re.MatchString(in); got != want {
			t.Fatalf("localeTag(%q) = %v, the regexp says %v", in, got, want)
		}
	}
}
