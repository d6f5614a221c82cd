package standins

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDBOptions configure StartDynamoDB.
type DynamoDBOptions struct {
	Port     int    // 0: a free port
	DataDir  string // "": in memory, gone when the process stops
	ToolsDir string // "": ToolsDir()
	LogFile  string // "": output kept in memory only (Process.Output)
	// Timeout bounds the wait until it answers; 0 means 30 s.
	Timeout time.Duration
}

// loopbackSource is the launcher that keeps DynamoDB Local on loopback
// (LoopbackDynamoDB.java): the jar itself listens on every interface and has no option
// against it.
//
//go:embed LoopbackDynamoDB.java
var loopbackSource []byte

// LoopbackLauncherDir is where `make tools` compiles LoopbackDynamoDB.java, relative to the
// tools folder: a folder per version of the source, named by the first 12 hex digits of its
// SHA-256, so that a changed launcher is never run from an older build. The Makefile's
// DDB_LOOPBACK names the same folder.
func LoopbackLauncherDir() string {
	sum := sha256.Sum256(loopbackSource)
	return filepath.Join("dynamodb-loopback", hex.EncodeToString(sum[:])[:12])
}

// StartDynamoDB runs DynamoDB Local and waits until it answers ListTables. The jar and its
// native libraries come from <tools>/dynamodb (`make tools` unpacks them there), the
// launcher that binds it to 127.0.0.1 and refuses other Host headers and any Origin from
// <tools>/LoopbackLauncherDir() (`make tools` compiles it). ctx bounds the start only; the
// process runs until Stop.
func StartDynamoDB(ctx context.Context, o DynamoDBOptions) (*Process, error) {
	tools := o.ToolsDir
	if tools == "" {
		var err error
		if tools, err = ToolsDir(); err != nil {
			return nil, err
		}
	}
	dir := filepath.Join(tools, "dynamodb")
	jar := filepath.Join(dir, "DynamoDBLocal.jar")
	if _, err := os.Stat(jar); err != nil {
		return nil, fmt.Errorf("dynamodb-local: %s not found: %w", jar, ErrToolsMissing)
	}
	launcher := filepath.Join(tools, LoopbackLauncherDir())
	if _, err := os.Stat(filepath.Join(launcher, "LoopbackDynamoDB.class")); err != nil {
		return nil, fmt.Errorf("dynamodb-local: the loopback launcher is not compiled in %s: %w", launcher, ErrToolsMissing)
	}
	java, err := exec.LookPath("java")
	if err != nil {
		return nil, fmt.Errorf("dynamodb-local: java not on PATH: %w", ErrToolsMissing)
	}
	store := []string{"-inMemory"}
	if o.DataDir != "" {
		abs, err := filepath.Abs(o.DataDir)
		if err != nil {
			return nil, fmt.Errorf("dynamodb-local: data folder: %w", err)
		}
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, fmt.Errorf("dynamodb-local: data folder: %w", err)
		}
		store = []string{"-dbPath", abs}
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	var inherit []*os.File
	if o.DataDir != "" {
		waitCtx, cancel := context.WithTimeout(ctx, timeout)
		lock, err := lockDataDir(waitCtx, store[1])
		cancel()
		if err != nil {
			return nil, fmt.Errorf("dynamodb-local: %w", err)
		}
		// The child holds the lock from here on; our copy only has to last until it starts.
		defer lock.Close()
		inherit = []*os.File{lock}
	}
	build := func(port int) startOptions {
		args := []string{
			// A small heap, the serial collector and only the quick JIT tier: the machines
			// this runs on have two shared cores, where the optimizing compiler's threads
			// cost more start-up time (measured: 5.3 s without, 3.2 to 4.1 s with) than
			// they win back in a test run or a local demo.
			"-Xmx512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
			"-Djava.library.path=" + filepath.Join(dir, "DynamoDBLocal_lib"),
			// The jar's manifest puts DynamoDBLocal_lib/*.jar on the class path here too.
			"-cp", jar + string(os.PathListSeparator) + launcher, "LoopbackDynamoDB",
			"-port", strconv.Itoa(port),
			// One database for every region and access key, so any client sees the same
			// tables.
			"-sharedDb",
			// It would otherwise try to reach AWS to report usage.
			"-disableTelemetry",
		}
		return startOptions{
			name: "dynamodb-local", path: java, dir: dir, port: port, logFile: o.LogFile,
			args: append(args, store...), inherit: inherit,
		}
	}
	ready := func(ctx context.Context, p *Process) error {
		client := dynamodb.NewFromConfig(AWSConfig(p.Endpoint), func(o *dynamodb.Options) {
			o.Retryer = aws.NopRetryer{}
		})
		_, err := client.ListTables(ctx, &dynamodb.ListTablesInput{Limit: aws.Int32(1)})
		return err
	}
	p, err := startWithPort(ctx, o.Port, timeout, build, ready)
	if err != nil {
		return nil, fmt.Errorf("start DynamoDB Local: %w", err)
	}
	return p, nil
}
