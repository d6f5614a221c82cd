package standins

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"
)

// SESOptions configure StartSES.
type SESOptions struct {
	Port    int    // 0: a free port
	RepoDir string // "": RepoRoot(); NPMDir/node_modules/.bin/aws-ses-v2-local is run from there
	// Host is the address it listens on; "": 127.0.0.1, so the mail viewer is not
	// reachable from the network.
	Host    string
	LogFile string // "": output kept in memory only (Process.Output)
	// Timeout bounds the wait until it answers; 0 means 30 s.
	Timeout time.Duration
}

// StartSES runs aws-ses-v2-local and waits until GET /health-check answers 200. It keeps
// mail in memory only: a restart forgets every mail. ctx bounds the start only; the
// process runs until Stop.
func StartSES(ctx context.Context, o SESOptions) (*Process, error) {
	repo := o.RepoDir
	if repo == "" {
		var err error
		if repo, err = RepoRoot(); err != nil {
			return nil, err
		}
	}
	bin := filepath.Join(repo, NPMDir, "node_modules", ".bin", "aws-ses-v2-local")
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("aws-ses-v2-local: %s not found: %w", bin, ErrToolsMissing)
	}
	if _, err := exec.LookPath("node"); err != nil {
		return nil, fmt.Errorf("aws-ses-v2-local: node not on PATH: %w", ErrToolsMissing)
	}
	host := o.Host
	if host == "" {
		host = "127.0.0.1"
	}
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	build := func(port int) startOptions {
		return startOptions{
			name: "aws-ses-v2-local", path: bin, dir: repo, port: port, logFile: o.LogFile,
			args: []string{"--host", host, "--port", strconv.Itoa(port)},
		}
	}
	ready := func(ctx context.Context, p *Process) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.Endpoint+"/health-check", nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("health-check: %s: %w", resp.Status, errNotReady)
		}
		return nil
	}
	p, err := startWithPort(ctx, o.Port, timeout, build, ready)
	if err != nil {
		return nil, fmt.Errorf("start aws-ses-v2-local: %w", err)
	}
	return p, nil
}
