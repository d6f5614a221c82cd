// Package deptest holds the binaries to what they may link, in the manner of tailscale's
// tstest/deptest: a Lambda bootstrap carries only the product, never a test harness, a
// local stand-in or a measurement, and the Windows app nothing of the server's side.
package deptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/local/standins"
)

const module = "github.com/adhoc-support/adhoc-support"

// deps lists the packages that the packages match links, built for goos/goarch with the
// tags.
func deps(t *testing.T, goos, goarch, tags string, patterns ...string) map[string]bool {
	t.Helper()
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	args := append([]string{"list", "-deps", "-f", "{{.ImportPath}}", "-tags", tags}, patterns...)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	set := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		set[p] = true
	}
	if len(set) < 10 {
		t.Fatalf("go list found only %v: the check would prove nothing", set)
	}
	return set
}

// forbidden reports the packages of set that match one of the rules: an exact import
// path, or a prefix ending in "/".
func forbidden(set map[string]bool, rules []string) []string {
	var bad []string
	for p := range set {
		for _, r := range rules {
			if p == r || strings.HasSuffix(r, "/") && strings.HasPrefix(p, r) || p == strings.TrimSuffix(r, "/") {
				bad = append(bad, p)
				break
			}
		}
	}
	return bad
}

// notInProduct is what no shipped binary may link.
var notInProduct = []string{
	"testing",
	"net/http/httptest",
	"github.com/chromedp/",
	"github.com/getkin/kin-openapi/",
	module + "/internal/testing/",
	module + "/internal/local/",
	module + "/internal/measure/",
}

// TestFunctionsLinkOnlyTheProduct builds the dependency list of every function the way
// `make build` builds it (linux/arm64, lambda.norpc).
func TestFunctionsLinkOnlyTheProduct(t *testing.T) {
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(fns) < 4 {
		t.Fatalf("functions found: %v (%v)", fns, err)
	}
	for _, fn := range fns {
		name := filepath.Base(filepath.Dir(fn))
		t.Run(name, func(t *testing.T) {
			set := deps(t, "linux", "arm64", "lambda.norpc", "./functions/"+name)
			if !set[module+"/internal/support"] {
				t.Fatalf("%s does not link internal/support: the list is not the function's", name)
			}
			if bad := forbidden(set, notInProduct); len(bad) > 0 {
				t.Errorf("functions/%s links %v", name, bad)
			}
		})
	}
}

// TestAppLinksOnlyTheApp: the Windows app links neither test harness nor anything of the
// server's side (the store, the functions' handlers, the AWS SDK's services).
func TestAppLinksOnlyTheApp(t *testing.T) {
	for _, arch := range []string{"amd64", "arm64"} {
		set := deps(t, "windows", arch, "", "./agent")
		rules := append(append([]string{}, notInProduct...),
			module+"/internal/store", module+"/internal/support", module+"/internal/httpapi", module+"/internal/liveapi",
			module+"/internal/setup", "github.com/aws/aws-sdk-go-v2/service/", "github.com/aws/aws-lambda-go/")
		if bad := forbidden(set, rules); len(bad) > 0 {
			t.Errorf("the app (windows/%s) links %v", arch, bad)
		}
		// Of this module, only what the app and the server share: the app's protocol,
		// the session's rules, the secrets' forms and the clock.
		shared := []string{module + "/agent", module + "/internal/protocol", module + "/internal/session",
			module + "/internal/secrets", module + "/internal/clock"}
		for p := range set {
			if strings.HasPrefix(p, module+"/") && !slices.ContainsFunc(shared, func(s string) bool { return p == s || strings.HasPrefix(p, s+"/") }) {
				t.Errorf("the app (windows/%s) links %s, which is not shared with the app", arch, p)
			}
		}
		if !set[module+"/internal/protocol"] {
			t.Errorf("the app (windows/%s) does not link internal/protocol: the list is not the app's", arch)
		}
	}
}

// TestViewsLinkNoHandlers: every function links internal/views, to push the live
// channel's messages after a commit; it must not bring httpapi's handlers and HTML
// templates into the live function's bootstrap with it.
func TestViewsLinkNoHandlers(t *testing.T) {
	set := deps(t, "linux", "arm64", "lambda.norpc", "./internal/views")
	if !set[module+"/internal/support"] {
		t.Fatal("internal/views does not link internal/support: the list is not the package's")
	}
	rules := append(append([]string{}, notInProduct...), module+"/internal/httpapi", "html/template", "text/template")
	if bad := forbidden(set, rules); len(bad) > 0 {
		t.Errorf("internal/views links %v", bad)
	}
}
