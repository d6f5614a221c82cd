package schedule_test

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/schedule"
)

// TestValidNameAsRegexp holds ValidName to the regexp it replaces, on strings drawn from
// the characters that matter and of the lengths around the limit.
func TestValidNameAsRegexp(t *testing.T) {
	re := regexp.MustCompile(`^[0-9A-Za-z_.-]{1,64}$`)
	alphabet := []string{"a", "Z", "0", "_", ".", "-", "/", ":", " ", "\n", "ä", "~"}
	rng := rand.New(rand.NewPCG(5, 6))
	inputs := []string{"", strings.Repeat("x", 63), strings.Repeat("x", 64), strings.Repeat("x", 65)}
	for range 50000 {
		var b strings.Builder
		n := rng.IntN(70)
		for range n {
			if rng.IntN(8) == 0 {
				b.WriteString(alphabet[rng.IntN(len(alphabet))])
			} else {
				b.WriteString(alphabet[rng.IntN(6)])
			}
		}
		inputs = append(inputs, b.String())
	}
	for _, in := range inputs {
		if got, want := schedule.ValidName(in), re.MatchString(in); got != want {
			t.Fatalf("ValidName(%q) = %v, the regexp says %v", in, got, want)
		}
	}
}
