package standins_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/testing/netcheck"
)

func stopOnCleanup(t testing.TB, p *standins.Process) {
	t.Cleanup(func() {
		if err := p.Stop(); err != nil {
			t.Errorf("Stop: %v", err)
		}
	})
}

// assertGone checks that the child's whole process group has ended and its port is free.
func assertGone(t *testing.T, p *standins.Process) {
	t.Helper()
	if !p.Exited() {
		t.Errorf("%s still running after Stop", p.Name)
	}
	if err := syscall.Kill(-p.Pid(), 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("process group %d still exists after Stop (kill 0: %v)", p.Pid(), err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(p.Port)))
	if err != nil {
		t.Errorf("port %d still taken after Stop: %v", p.Port, err)
		return
	}
	_ = l.Close()
}

func tableNames(t *testing.T, endpoint string) []string {
	t.Helper()
	out, err := standins.DynamoDBClient(endpoint).ListTables(t.Context(), &dynamodb.ListTablesInput{})
	if err != nil {
		t.Fatalf("ListTables: %v", err)
	}
	return out.TableNames
}

func createTable(t *testing.T, endpoint, name string) {
	t.Helper()
	_, err := standins.DynamoDBClient(endpoint).CreateTable(t.Context(), &dynamodb.CreateTableInput{
		TableName:            aws.String(name),
		BillingMode:          types.BillingModePayPerRequest,
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
}

// TestDynamoDBDataDirSurvivesRestart starts DynamoDB Local twice on one data folder: the
// table made in the first run is there in the second. An in-memory one starts empty.
func TestDynamoDBDataDirSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	p, err := standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	createTable(t, p.Endpoint, "kept")
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, p)
	if err := p.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}

	again, err := standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{DataDir: dir, Port: p.Port})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, again)
	if again.Endpoint != p.Endpoint {
		t.Errorf("endpoint %s on the same port, want %s", again.Endpoint, p.Endpoint)
	}
	if got := tableNames(t, again.Endpoint); !slices.Equal(got, []string{"kept"}) {
		t.Errorf("tables after restart = %v, want [kept]", got)
	}

	mem, err := standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, mem)
	if mem.Port == again.Port {
		t.Errorf("two servers on port %d", mem.Port)
	}
	if got := tableNames(t, mem.Endpoint); len(got) != 0 {
		t.Errorf("in-memory tables = %v, want none", got)
	}
	if out := mem.Output(); !strings.Contains(out, "InMemory:\ttrue") {
		t.Errorf("captured output does not show the in-memory start:\n%s", out)
	}
}

// TestDynamoDBDataDirIsLockedWhileInUse: a second DynamoDB Local on a data folder in use
// waits for the first to exit, and says so if it never does. That is what keeps a killed
// `make run`, started again at once, from opening the database while the old process is
// still writing its last changes in its shutdown hook.
func TestDynamoDBDataDirIsLockedWhileInUse(t *testing.T) {
	dir := t.TempDir()
	first, err := standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, first)

	_, err = standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{DataDir: dir, Timeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "still in use by another DynamoDB Local") {
		t.Fatalf("second start on a folder in use: err = %v, want it refused as in use", err)
	}

	// The last writes before a SIGTERM, and a new start that does not wait for the exit.
	createTable(t, first.Endpoint, "kept")
	db := standins.DynamoDBClient(first.Endpoint)
	const items = 50
	for i := range items {
		_, err := db.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: aws.String("kept"),
			Item: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: strconv.Itoa(i)}}})
		if err != nil {
			t.Fatalf("PutItem: %v", err)
		}
	}
	if err := syscall.Kill(-first.Pid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	second, err := standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, second)
	if !first.Exited() {
		t.Error("the second DynamoDB Local answered while the first was still running")
	}
	out, err := standins.DynamoDBClient(second.Endpoint).Scan(t.Context(), &dynamodb.ScanInput{TableName: aws.String("kept")})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if out.Count != items {
		t.Errorf("%d of the %d items written before the SIGTERM survived", out.Count, items)
	}
}

func TestSESAnswersAndStops(t *testing.T) {
	log := filepath.Join(t.TempDir(), "logs", "ses.log")
	p, err := standins.StartSES(t.Context(), standins.SESOptions{LogFile: log})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(p.Endpoint + "/store")
	if err != nil {
		t.Fatalf("GET /store: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /store: %s", resp.Status)
	}
	if err := p.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	assertGone(t, p)
	b, err := os.ReadFile(log)
	if err != nil || !strings.Contains(string(b), "server running") {
		t.Errorf("log file: %q, %v", b, err)
	}
}

// TestLoopbackOnly: DynamoDB Local and aws-ses-v2-local answer on loopback and cannot be
// reached on the machine's network address (they check no credentials: anyone reaching
// them could read and change sessions, or read the invitation mails). DynamoDB Local also
// refuses a Host other than a loopback name (a web page that rebinds its own name
// to 127.0.0.1) and any request with an Origin (a web page's cross-origin request, which its
// default CORS policy would answer).
func TestLoopbackOnly(t *testing.T) {
	ip := netcheck.ExternalIPv4(t)
	ddb, err := standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, ddb)
	ses, err := standins.StartSES(t.Context(), standins.SESOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, ses)
	for _, p := range []*standins.Process{ddb, ses} {
		netcheck.AcceptsTCP(t, p.Name, p.Port)
		netcheck.RefusesTCP(t, p.Name, ip, p.Port)
	}

	tableNames(t, ddb.Endpoint) // the SDK's requests pass the guard
	port := strconv.Itoa(ddb.Port)
	for _, tc := range []struct {
		name, host, origin string
		want               int
	}{
		{"localhost", "localhost:" + port, "", http.StatusBadRequest}, // DynamoDB's own answer to an unsigned request
		{"another name", "attacker.example:" + port, "", http.StatusForbidden},
		{"loopback, another port (a TCP proxy in front)", "127.0.0.1:1", "", http.StatusBadRequest},
		{"a name that only starts like localhost", "localhost.attacker.example:" + port, "", http.StatusForbidden},
		{"an origin", "127.0.0.1:" + port, "https://attacker.example", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, ddb.Endpoint, strings.NewReader("{}"))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tc.host
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
			req.Header.Set("X-Amz-Target", "DynamoDB_20120810.ListTables")
			if tc.origin != "" {
				req.Header.Set("Origin", tc.origin)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = res.Body.Close()
			if res.StatusCode != tc.want {
				t.Errorf("Host %s, Origin %q: %s, want %d", tc.host, tc.origin, res.Status, tc.want)
			}
		})
	}
}

func TestMissingToolsSayWhatToRun(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		name  string
		start func() (*standins.Process, error)
	}{
		{"dynamodb", func() (*standins.Process, error) {
			return standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{ToolsDir: empty})
		}},
		{"ses", func() (*standins.Process, error) {
			return standins.StartSES(t.Context(), standins.SESOptions{RepoDir: empty})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.start()
			if err == nil {
				_ = p.Stop()
				t.Fatal("started without its tools")
			}
			if !errors.Is(err, standins.ErrToolsMissing) || !strings.Contains(err.Error(), "make tools") {
				t.Errorf("error %q does not say to run make tools", err)
			}
		})
	}
}

func TestTakenPortIsRefused(t *testing.T) {
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	for name, start := range map[string]func() (*standins.Process, error){
		"dynamodb": func() (*standins.Process, error) {
			return standins.StartDynamoDB(t.Context(), standins.DynamoDBOptions{Port: port})
		},
		"ses": func() (*standins.Process, error) {
			return standins.StartSES(t.Context(), standins.SESOptions{Port: port})
		},
	} {
		p, err := start()
		if err == nil {
			_ = p.Stop()
			t.Errorf("%s started on a taken port", name)
		} else if !strings.Contains(err.Error(), "not free") {
			t.Errorf("%s: error %q does not name the taken port", name, err)
		}
	}
}

func TestToolsDir(t *testing.T) {
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Errorf("RepoRoot %s holds no go.mod", root)
	}
	t.Setenv("ADHOC_TOOLS", "/somewhere/tools")
	if d, err := standins.ToolsDir(); err != nil || d != "/somewhere/tools" {
		t.Errorf("ToolsDir with ADHOC_TOOLS = %q, %v", d, err)
	}
	t.Setenv("ADHOC_TOOLS", "")
	if d, err := standins.ToolsDir(); err != nil || d != filepath.Join(root, ".tools") {
		t.Errorf("ToolsDir = %q, %v; want %s", d, err, filepath.Join(root, ".tools"))
	}
}

// TestNPMDir: NPMDir holds the package.json that installs aws-ses-v2-local, and the
// Makefile's NPM_DIR, where npm ci runs, is the same folder.
func TestNPMDir(t *testing.T) {
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := os.ReadFile(filepath.Join(root, standins.NPMDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(pkg), `"aws-ses-v2-local"`) {
		t.Errorf("%s/package.json does not install aws-ses-v2-local:\n%s", standins.NPMDir, pkg)
	}
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^NPM_DIR\s*:=\s*\$\(CURDIR\)/` + regexp.QuoteMeta(standins.NPMDir) + `\s*$`)
	if !want.Match(mk) {
		t.Errorf("the Makefile has no line NPM_DIR := $(CURDIR)/%s", standins.NPMDir)
	}

	// What npm ci put there holds Go files (CDK's init templates, which do not even
	// compile); Go must not see them, with no go.mod written into node_modules.
	goFiles, err := filepath.Glob(filepath.Join(root, standins.NPMDir, "node_modules", "aws-cdk", "lib", "init-templates", "*", "go", "*.go"))
	if err != nil || len(goFiles) == 0 {
		t.Fatalf("no Go files of CDK's init templates in %s/node_modules (%v): run `make tools`", standins.NPMDir, err)
	}
	cmd := exec.Command("go", "list", "-e", "-f", "{{.Dir}}", "./...")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, out)
	}
	for _, dir := range strings.Fields(string(out)) {
		if strings.HasPrefix(dir, filepath.Join(root, standins.NPMDir)+string(filepath.Separator)) {
			t.Errorf("go list ./... sees %s", dir)
		}
	}
}

// TestRepoRoot: the repository's root from any folder inside it, also from the infra
// module's (whose own go.mod is nearer), and no root outside it, not even below another
// module's go.mod.
func TestRepoRoot(t *testing.T) {
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, "go.mod"), []byte("module example.com/other\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir, want string
	}{
		{root, root},
		{filepath.Join(root, "internal", "local", "standins"), root},
		{filepath.Join(root, "infra"), root},
		{filepath.Join(root, "infra", "stack"), root},
		{t.TempDir(), ""},
		{other, ""},
	} {
		t.Run(c.dir, func(t *testing.T) {
			t.Chdir(c.dir)
			got, err := standins.RepoRoot()
			if c.want == "" {
				if err == nil {
					t.Errorf("RepoRoot = %s outside the repository", got)
				}
				return
			}
			if err != nil || got != c.want {
				t.Errorf("RepoRoot = %q, %v; want %s", got, err, c.want)
			}
		})
	}
}

// BenchmarkStartDynamoDB measures the start of an in-memory DynamoDB Local until it answers
// ListTables, and its stop.
func BenchmarkStartDynamoDB(b *testing.B) {
	for b.Loop() {
		p, err := standins.StartDynamoDB(context.Background(), standins.DynamoDBOptions{Timeout: time.Minute})
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Stop()
	}
}

// BenchmarkStartSES measures the start of aws-ses-v2-local until /health-check answers.
func BenchmarkStartSES(b *testing.B) {
	for b.Loop() {
		p, err := standins.StartSES(context.Background(), standins.SESOptions{})
		if err != nil {
			b.Fatal(err)
		}
		_ = p.Stop()
	}
}
