// Package deptest holds the binaries to what they may link, in the manner of tailscale's
// tstest/deptest: a Lambda bootstrap carries only the product, never a test harness, a
// local stand-in or a measurement, and the Windows app nothing of the server's side.
package deptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/grants"
)

const module = "github.com/adhoc-support/adhoc-support"

// repoRoot is the root module's folder, as go sees it. (Not standins.RepoRoot: this test
// links nothing that starts a service, so that `make check` runs it.)
func repoRoot(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module).Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	root := strings.TrimSpace(string(out))
	if root == "" {
		t.Fatalf("go list -m %s gave no folder", module)
	}
	return root
}

// deps lists the packages that the packages match links, built for goos/goarch with the
// tags.
func deps(t *testing.T, goos, goarch, tags string, patterns ...string) map[string]bool {
	t.Helper()
	root := repoRoot(t)
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
	"kms":          "github.com/aws/aws-sdk-go-v2/service/kms",
	"ses":          "github.com/aws/aws-sdk-go-v2/service/sesv2",
	"s3":           "github.com/aws/aws-sdk-go-v2/service/s3",
	"events":       "github.com/aws/aws-sdk-go-v2/service/eventbridge",
	"scheduler":    "github.com/aws/aws-sdk-go-v2/service/scheduler",
	"execute-api":  "github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi",
	"kinesisvideo": "github.com/aws/aws-sdk-go-v2/service/kinesisvideo",
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
	root := repoRoot(t)
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

// TestRuntimeModuleRequiresNoCDK: the CDK app is a module of its own (infra/go.mod), so
// the root module's requirements, which every function and the app build against, carry
// neither CDK nor jsii nor the deprecated tools jsii brings (golang.org/x/lint, godoc).
// The infra module's list must have them, or the check would look at the wrong list.
func TestRuntimeModuleRequiresNoCDK(t *testing.T) {
	root := repoRoot(t)
	cdk := []string{
		"github.com/aws/aws-cdk-go/", "github.com/aws/jsii-runtime-go", "github.com/aws/constructs-go/",
		"github.com/cdklabs/", "golang.org/x/lint", "golang.org/x/tools/godoc", "golang.org/x/tools/cmd/godoc",
	}
	for _, c := range []struct {
		dir, has string
		wantCDK  bool
	}{
		{root, "github.com/aws/aws-lambda-go", false},
		{filepath.Join(root, "infra"), "github.com/aws/aws-cdk-go/awscdk/v2", true},
	} {
		t.Run(filepath.Base(c.dir), func(t *testing.T) {
			// GOWORK=off: the module on its own, as go.work joins both.
			cmd := exec.Command("go", "list", "-m", "-f", "{{.Path}}", "all")
			cmd.Dir = c.dir
			cmd.Env = append(os.Environ(), "GOWORK=off")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("go list -m all in %s: %v\n%s", c.dir, err, out)
			}
			set := map[string]bool{}
			for _, m := range strings.Fields(string(out)) {
				set[m] = true
			}
			if !set[c.has] {
				t.Fatalf("go list -m all in %s has no %s: the list is not the module's", c.dir, c.has)
			}
			bad := forbidden(set, cdk)
			if c.wantCDK && len(bad) == 0 {
				t.Errorf("the infra module requires no CDK module: %v", set)
			}
			if !c.wantCDK && len(bad) > 0 {
				t.Errorf("the runtime module requires %v", bad)
			}
		})
	}
}

// testHookPrefix starts the names of the app's test hooks (ADHOC_TEST_SECURITY_CODE).
const testHookPrefix = "ADHOC_TEST_"

// TestReleaseAppHasNoTestHooks builds the Windows app as `make agent` does, for a release
// version (only the size tag nethttpomithttp2) and for a -dev one (also adhocdev, as make
// agent sets it for a -dev version): the release exe holds no test hook's name, so it cannot read one whatever its
// environment; the dev exe holds it, or the check would look for the wrong thing.
func TestReleaseAppHasNoTestHooks(t *testing.T) {
	root := repoRoot(t)
	for _, c := range []struct {
		name, tags, version string
		wantHooks           bool
	}{
		{"release", "nethttpomithttp2", "1.2.3", false},
		{"dev", "nethttpomithttp2,adhocdev", "1.2.3-dev", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, arch := range []string{"amd64", "arm64"} {
				exe := filepath.Join(t.TempDir(), "SupportSession.exe")
				cmd := exec.Command("go", "build", "-trimpath", "-tags", c.tags,
					"-ldflags", "-s -w -X main.version="+c.version+" -X main.serverURL=https://support.example",
					"-o", exe, "./agent")
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH="+arch, "CGO_ENABLED=0")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("build the app (windows/%s, tags %q): %v\n%s", arch, c.tags, err, out)
				}
				bin, err := os.ReadFile(exe)
				if err != nil {
					t.Fatal(err)
				}
				if got := bytes.Contains(bin, []byte(testHookPrefix)); got != c.wantHooks {
					t.Errorf("the %s app (windows/%s) holds %s…: %v, want %v", c.name, arch, testHookPrefix, got, c.wantHooks)
				}
			}
		})
	}
}
