// Package testenv gives tests of any package the real local stand-ins: DynamoDB Local and
// aws-ses-v2-local, each started at most once per test binary (or reused from the
// environment), with a fresh table per test so that parallel tests never see each other.
//
// A package that uses testenv must stop what it started when its test binary ends:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// Every helper fails the test when TestMain does not call Main, and when a tool is missing
// (the message says to run `make tools`): a test that needs a stand-in never skips.
//
// Environment:
//   - DYNAMODB_ENDPOINT: use this DynamoDB Local (or compatible) instead of starting one.
//   - SES_ENDPOINT: use this aws-ses-v2-local instead of starting one.
//   - TEST_OUTPUT_DIR: where the started stand-ins' output is written (else it is kept in
//     memory and shown only when a start fails).
//   - ADHOC_TOOLS: where `make tools` put the DynamoDB Local jar (see standins.ToolsDir).
package testenv

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/store"
)

// startTimeout is generous: `go test` runs several test binaries at once on a two-core
// machine, each possibly starting a JVM.
const startTimeout = 90 * time.Second

var (
	mainCalled atomic.Bool

	mu    sync.Mutex
	procs []*standins.Process

	ddb = lazyService{name: "DynamoDB Local", env: "DYNAMODB_ENDPOINT", start: func(ctx context.Context, log string) (*standins.Process, error) {
		return standins.StartDynamoDB(ctx, standins.DynamoDBOptions{LogFile: log, Timeout: startTimeout})
	}}
	ses = lazyService{name: "aws-ses-v2-local", env: "SES_ENDPOINT", start: func(ctx context.Context, log string) (*standins.Process, error) {
		return standins.StartSES(ctx, standins.SESOptions{LogFile: log, Timeout: startTimeout})
	}}

	tableSeq atomic.Int64
)

// Main runs the package's tests and then stops every stand-in they started. Call it from
// TestMain. An interrupt (Ctrl-C, SIGTERM) also stops them before the binary exits.
func Main(m *testing.M) {
	mainCalled.Store(true)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sig
		stopAll()
		fmt.Fprintf(os.Stderr, "testenv: %v: stopped the local stand-ins\n", s)
		os.Exit(1)
	}()
	code := m.Run()
	signal.Stop(sig)
	stopAll()
	os.Exit(code)
}

func stopAll() {
	mu.Lock()
	defer mu.Unlock()
	for _, p := range procs {
		_ = p.Stop()
	}
	procs = nil
}

// lazyService is a stand-in started on first use, or taken from the environment.
type lazyService struct {
	name  string
	env   string
	start func(ctx context.Context, logFile string) (*standins.Process, error)

	once     sync.Once
	endpoint string
	err      error
}

func (s *lazyService) get(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatalf("testenv: this package's tests must stop what they start: add\n\tfunc TestMain(m *testing.M) { testenv.Main(m) }")
	}
	s.once.Do(func() {
		if e := os.Getenv(s.env); e != "" {
			s.endpoint = e
			return
		}
		p, err := s.start(context.Background(), logFile(s.name))
		if err != nil {
			s.err = err
			return
		}
		mu.Lock()
		procs = append(procs, p)
		mu.Unlock()
		s.endpoint = p.Endpoint
	})
	if s.err != nil {
		t.Fatalf("testenv: %s: %v", s.name, s.err)
	}
	return s.endpoint
}

// logFile names a file under TEST_OUTPUT_DIR for a stand-in's output, or "" to keep it in
// memory. Several test binaries run at once, so the name carries the package folder and
// the process id.
func logFile(service string) string {
	dir := os.Getenv("TEST_OUTPUT_DIR")
	if dir == "" {
		return ""
	}
	wd, _ := os.Getwd()
	name := fmt.Sprintf("%s-%s-%d.log", unsafeChars.ReplaceAllString(service, "-"), filepath.Base(wd), os.Getpid())
	return filepath.Join(dir, name)
}

// DynamoDBEndpoint is the URL of this test binary's DynamoDB Local.
func DynamoDBEndpoint(t testing.TB) string {
	t.Helper()
	return ddb.get(t)
}

// DynamoDB is a client for this test binary's DynamoDB Local. It creates no table: use
// Table or Store for a fresh one.
func DynamoDB(t testing.TB) *dynamodb.Client {
	t.Helper()
	return standins.DynamoDBClient(DynamoDBEndpoint(t))
}

var unsafeChars = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// Table creates a fresh table with the store's schema (store.CreateTable), deleted when the
// test ends, and returns a client and the table's name. Each call makes a new table.
func Table(t testing.TB) (*dynamodb.Client, string) {
	t.Helper()
	client := DynamoDB(t)
	// Table names allow [a-zA-Z0-9_.-], 3 to 255 characters. The pid keeps two test
	// binaries sharing a DYNAMODB_ENDPOINT apart.
	name := fmt.Sprintf("t%d-%d-%s", os.Getpid(), tableSeq.Add(1), unsafeChars.ReplaceAllString(t.Name(), "_"))
	if len(name) > 200 {
		name = name[:200]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := store.CreateTable(ctx, client, name); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)}); err != nil {
			t.Logf("testenv: delete table %s: %v", name, err)
		}
	})
	return client, name
}

// Store is a store.Store on a fresh table (see Table).
func Store(t testing.TB) *store.Store {
	t.Helper()
	client, table := Table(t)
	return store.New(client, table)
}

// SES is the URL of this test binary's aws-ses-v2-local. It is shared by the binary's
// tests: read mail back by recipient (MailsTo, WaitMail) with addresses unique to the test.
func SES(t testing.TB) string {
	t.Helper()
	return ses.get(t)
}

// SESClient is an SES v2 client for this test binary's aws-ses-v2-local.
func SESClient(t testing.TB) *sesv2.Client {
	t.Helper()
	return standins.SESClient(SES(t))
}
