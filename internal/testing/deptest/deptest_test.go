// Package deptest holds the binaries to what they may link, in the manner of tailscale's
// tstest/deptest: a Lambda bootstrap carries only the product, never a test harness, a
// local stand-in or a measurement, and the Windows app nothing of the server's side.
package deptest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/grants"
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

// notInFunctions is what no function may link beyond notInProduct, because it makes a
// bootstrap big or slow to start (docs/cost.md, section 5): the templates (their executor
// reaches reflect.Value.MethodByName, which keeps every method of every SDK client
// linked; internal/safehtml writes the HTML instead), and the SDK's default configuration
// chain with the STS, SSO, SSO OIDC and Sign-In clients it links (internal/setup reads
// what Lambda gives instead).
var notInFunctions = []string{
	"text/template",
	"html/template",
	"github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/service/sts",
	"github.com/aws/aws-sdk-go-v2/service/sso",
	"github.com/aws/aws-sdk-go-v2/service/ssooidc",
	"github.com/aws/aws-sdk-go-v2/service/signin",
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds",
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds",
}

// clients are the SDK clients of the services internal/grants covers, by IAM service
// prefix. A function links a client exactly when its grants name the service: a client
// without a grant could only fail, a grant without a client is one the code never uses.
var clients = map[string]string{
	"kms":         "github.com/aws/aws-sdk-go-v2/service/kms",
	"ses":         "github.com/aws/aws-sdk-go-v2/service/sesv2",
	"s3":          "github.com/aws/aws-sdk-go-v2/service/s3",
	"events":      "github.com/aws/aws-sdk-go-v2/service/eventbridge",
	"scheduler":   "github.com/aws/aws-sdk-go-v2/service/scheduler",
	"execute-api": "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi",
}

// granted reports whether fn's grants name an action of the IAM service.
func granted(fn, service string) bool {
	for _, a := range grants.Actions[fn] {
		if strings.HasPrefix(a, service+":") {
			return true
		}
	}
	return false
}

// TestFunctionsLinkOnlyTheProduct builds the dependency list of every function the way
// `make build` builds it (linux/arm64, lambda.norpc).
func TestFunctionsLinkOnlyTheProduct(t *testing.T) {
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	fns, err := filepath.Glob(filepath.Join(root, "functions", "*", "main.go"))
	if err != nil || len(fns) != len(deploy.Functions) {
		t.Fatalf("functions found: %v (%v), want %v", fns, err, deploy.Functions)
	}
	for _, name := range deploy.Functions {
		t.Run(name, func(t *testing.T) {
			set := deps(t, "linux", "arm64", "lambda.norpc", "./functions/"+name)
			if !set[module+"/internal/support"] {
				t.Fatalf("%s does not link internal/support: the list is not the function's", name)
			}
			if bad := forbidden(set, append(append([]string{}, notInProduct...), notInFunctions...)); len(bad) > 0 {
				t.Errorf("functions/%s links %v", name, bad)
			}
			for service, pkg := range clients {
				if set[pkg] != granted(name, service) {
					t.Errorf("functions/%s: links %s: %v, granted %s actions (internal/grants): %v", name, pkg, set[pkg], service, granted(name, service))
				}
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
	}
}
