package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testing/lambdatest"
)

// HelloPackage is the hello-world aws-lambda-go function the bootstraps are compared with.
const HelloPackage = "./internal/measure/bench/testdata/hello"

// Hello is its name in the results.
const Hello = "hello-world"

// Bootstrap is one function's build and start-up figures.
type Bootstrap struct {
	Name      string          `json:"name"`
	Bytes     int64           `json:"bytesArm64"` // the deployed arm64 binary
	Inits     []time.Duration `json:"initsNs"`    // INIT REPORT durations under the emulator
	Init      time.Duration   `json:"initMedianNs"`
	SizeRatio float64         `json:"sizeRatio"` // ÷ the hello world's
	InitRatio float64         `json:"initRatio"` // median ÷ the hello world's median
}

// BootstrapOptions configure Bootstraps.
type BootstrapOptions struct {
	Dir              string // where the builds go
	Runs             int    // emulator starts per function; default 5
	DynamoDBEndpoint string // the functions point their clients here (init makes no call)
	SESEndpoint      string
	Table            string
}

// build compiles pkg with the deployment's flags (Makefile `build`) for goarch.
func build(ctx context.Context, root, pkg, goarch, out string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build %s for %s: %w\n%s", pkg, goarch, err, msg)
	}
	return nil
}

// Bootstraps builds the functions (deploy.Functions) and the hello world for arm64 to measure their
// size, and for this machine to start each under the Lambda Runtime Interface Emulator
// Runs times, in turns so that all meet the same machine load, reading the INIT REPORT.
func Bootstraps(ctx context.Context, o BootstrapOptions) ([]Bootstrap, error) {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	root, err := standins.RepoRoot()
	if err != nil {
		return nil, err
	}
	rie, err := lambdatest.RIEPath()
	if err != nil {
		return nil, err
	}
	pkgs := map[string]string{Hello: HelloPackage}
	names := []string{Hello}
	for _, fn := range deploy.Functions {
		pkgs[fn] = "./functions/" + fn
		names = append(names, fn)
	}
	results := map[string]*Bootstrap{}
	host := map[string]string{}
	for _, name := range names {
		arm := filepath.Join(o.Dir, "arm64", name, "bootstrap")
		if err := build(ctx, root, pkgs[name], "arm64", arm); err != nil {
			return nil, err
		}
		st, err := os.Stat(arm)
		if err != nil {
			return nil, err
		}
		results[name] = &Bootstrap{Name: name, Bytes: st.Size()}
		host[name] = arm
		if runtime.GOARCH != "arm64" {
			host[name] = filepath.Join(o.Dir, runtime.GOARCH, name, "bootstrap")
			if err := build(ctx, root, pkgs[name], runtime.GOARCH, host[name]); err != nil {
				return nil, err
			}
		}
	}
	fake := lambdatest.NewFakeAWS()
	defer fake.Close()
	env := functionEnv(o, fake.Server.URL)
	for run := 0; run < o.Runs; run++ {
		for _, name := range names {
			d, err := initOnce(ctx, rie, host[name], env, name)
			if err != nil {
				return nil, err
			}
			results[name].Inits = append(results[name].Inits, d)
		}
	}
	hello := results[Hello]
	hello.Init = median(hello.Inits)
	var out []Bootstrap
	for _, name := range names {
		b := results[name]
		b.Init = median(b.Inits)
		b.SizeRatio = float64(b.Bytes) / float64(hello.Bytes)
		if hello.Init > 0 {
			b.InitRatio = float64(b.Init) / float64(hello.Init)
		}
		out = append(out, *b)
	}
	return out, nil
}

// functionEnv is what the CDK stack sets, pointed at the local stand-ins and the fake with
// the SDK's own endpoint variables. Every function gets all of it: one reads only what it
// needs.
func functionEnv(o BootstrapOptions, fake string) map[string]string {
	env := map[string]string{
		"AWS_REGION": standins.Region, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
		deploy.EnvTableName: o.Table, deploy.EnvEventBusName: "adhoc-support", deploy.EnvScheduleGroup: "adhoc-support",
		deploy.EnvPasswordKey: "alias/adhoc-password", deploy.EnvMACKey: "alias/adhoc-code",
		deploy.EnvSchedulerRole:  "arn:aws:iam::000000000000:role/scheduler",
		deploy.EnvExpiryFunction: "arn:aws:lambda:us-east-1:000000000000:function:expiry",
		deploy.EnvExpiryDLQ:      "arn:aws:sqs:us-east-1:000000000000:expiry-dlq",
		deploy.EnvPublicBaseURL:  "https://support.example.com",
		deploy.EnvMailFrom:       "support@example.com", deploy.EnvKVSChannels: "adhoc-support",
		deploy.EnvAuthBaseURL: "https://auth.example.com", deploy.EnvUserPoolClient: "console-client",
		lambdatest.EndpointEnv(dynamodb.ServiceID): o.DynamoDBEndpoint,
		lambdatest.EndpointEnv(sesv2.ServiceID):    o.SESEndpoint,
	}
	for _, id := range []string{kms.ServiceID, eventbridge.ServiceID, scheduler.ServiceID} {
		env[lambdatest.EndpointEnv(id)] = fake
	}
	return env
}

// initOnce starts a bootstrap under the emulator, invokes it once (the emulator runs the
// init phase on the first invocation) with an event that needs no table, and reads the
// reported init duration.
func initOnce(ctx context.Context, rie, bootstrap string, env map[string]string, name string) (time.Duration, error) {
	emu, err := lambdatest.StartEmulator(ctx, rie, bootstrap, env)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	defer emu.Stop()
	var event any = lambdatest.APIRequest(http.MethodGet, "/v1/sessions", "", nil, nil) // 401 without claims
	switch name {
	case deploy.Pairing:
		event = lambdatest.APIRequest(http.MethodPost, protocol.PathPoll, "", nil, nil) // 401 without a token
	case deploy.Expiry:
		event = json.RawMessage(`{}`) // names nothing: logged and dropped
	}
	var out json.RawMessage
	if err := emu.Invoke(ctx, event, &out); err != nil {
		return 0, fmt.Errorf("%s: %w\n%s", name, err, emu.Output())
	}
	// The emulator may print the report a moment after the answer.
	deadline := time.Now().Add(5 * time.Second)
	for {
		d, err := emu.InitDuration()
		if err == nil {
			return d, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s: %w\n%s", name, err, emu.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
