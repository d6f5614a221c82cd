package lambdatest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/testing/logbuf"
)

// Build compiles each function's bootstrap for this machine's architecture (the emulator
// runs it here; AWS runs the arm64 build of `make build`, from the same source) into
// dir/<name>/bootstrap, with the flags the deployment uses.
func Build(ctx context.Context, dir string) (map[string]string, error) {
	root, err := standins.RepoRoot()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, name := range deploy.Functions {
		bin := filepath.Join(dir, name, "bootstrap")
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w", "-o", bin, "./functions/"+name)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if msg, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("build %s: %w\n%s", name, err, msg)
		}
		out[name] = bin
	}
	return out, nil
}

// RIEPath finds the emulator that `make tools` installs into .tools/bin.
func RIEPath() (string, error) {
	tools, err := standins.ToolsDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(tools, "bin", "aws-lambda-rie")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the Lambda Runtime Interface Emulator is missing (%s): run `make tools`", p)
	}
	return p, nil
}

// Emulator is one bootstrap running under the Runtime Interface Emulator.
type Emulator struct {
	URL string
	cmd *exec.Cmd
	out *logbuf.Buffer
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// StartEmulator runs the bootstrap under the emulator with the given environment (on top
// of a minimal one: the function sees only what Lambda would give it plus env).
func StartEmulator(ctx context.Context, rie, bootstrap string, env map[string]string) (*Emulator, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	apiPort, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie,
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(port),
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		bootstrap)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir(), "TZ=UTC"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &logbuf.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start emulator: %w", err)
	}
	e := &Emulator{URL: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, out: out}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return e, nil
		}
		if ctx.Err() != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.Stop()
	return nil, fmt.Errorf("the emulator did not listen in time:\n%s", out.String())
}

// Invoke calls the function with an event and decodes its answer into out.
func (e *Emulator) Invoke(ctx context.Context, event, out any) error {
	raw, err := json.Marshal(event)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL+"/2015-03-31/functions/function/invocations", bytes.NewReader(raw))
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("invoke: %s: %s", res.Status, body)
	}
	if bytes.Contains(body, []byte(`"errorType"`)) {
		fe := &FunctionError{}
		if err := json.Unmarshal(body, fe); err != nil || fe.Type == "" {
			return fmt.Errorf("the function failed: %s", body)
		}
		return fe
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("invoke: decoding %q: %w", body, err)
	}
	return nil
}

// FunctionError is the error a function's handler returned, as the Runtime API reports
// it. A Lambda authorizer refuses a handshake this way: with the message "Unauthorized".
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("the function failed: %s: %s", e.Type, e.Message)
}

// Output is what the emulator and the function printed.
func (e *Emulator) Output() string { return e.out.String() }

var initReport = regexp.MustCompile(`INIT REPORT[^\n]*?durationMs[^0-9]*([0-9.]+)`)

// InitDuration is the init duration the emulator reported for the first invocation.
func (e *Emulator) InitDuration() (time.Duration, error) {
	m := initReport.FindStringSubmatch(e.Output())
	if m == nil {
		return 0, errors.New("no INIT REPORT in the emulator's output")
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// Stop ends the emulator and the function.
func (e *Emulator) Stop() {
	if e.cmd.Process != nil {
		_ = syscall.Kill(-e.cmd.Process.Pid, syscall.SIGKILL)
		_ = e.cmd.Wait()
	}
}
