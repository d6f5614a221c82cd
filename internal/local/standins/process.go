// Package standins starts the local stand-ins for AWS services as child processes:
// DynamoDB Local (the official jar, run by Java) and aws-ses-v2-local (npm). Both `make
// run` and the tests use it, so the product runs locally against the same programs the
// tests exercise.
//
// Every child runs in its own process group, which Process.Stop kills as a whole, and is
// also sent SIGTERM by the kernel when the parent dies (Pdeathsig), so neither a test
// binary that crashes nor a Ctrl-C leaves a server behind.
package standins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Process is a running local stand-in.
type Process struct {
	Name     string // "dynamodb-local" or "aws-ses-v2-local"
	Endpoint string // base URL, e.g. http://127.0.0.1:8000
	Port     int

	cmd     *exec.Cmd
	out     *tailBuffer
	logFile *os.File
	done    chan struct{} // closed when the child has exited
	waitErr error

	stopOnce sync.Once
}

// stopGrace is how long a child may take to exit after SIGTERM before it is killed.
const stopGrace = 5 * time.Second

// Stop ends the child and everything it started (the whole process group): SIGTERM first,
// so that DynamoDB Local closes its database files, SIGKILL after a grace period. It is
// safe to call more than once and on a child that has already exited.
func (p *Process) Stop() error {
	var err error
	p.stopOnce.Do(func() {
		select {
		case <-p.done:
		default:
			// The negative pid addresses the process group created by Setpgid.
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(stopGrace):
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
				<-p.done
			}
		}
		// The leader has exited, but a grandchild could still hold the group alive.
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		if p.logFile != nil {
			if cerr := p.logFile.Close(); cerr != nil {
				err = fmt.Errorf("close %s log: %w", p.Name, cerr)
			}
		}
	})
	return err
}

// Exited reports whether the child has ended (crashed or stopped).
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Pid is the child's process id, which is also its process group id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Output returns the last part of what the child printed (stdout and stderr), for
// diagnostics.
func (p *Process) Output() string { return p.out.String() }

// startOptions describe one child process.
type startOptions struct {
	name    string
	path    string
	args    []string
	dir     string
	port    int
	logFile string
	// inherit are open files the child gets as fd 3 onwards, such as a lock it must hold for
	// as long as it lives.
	inherit []*os.File
}

// start runs the child in its own process group with its output captured.
func start(o startOptions) (*Process, error) {
	p := &Process{
		Name:     o.name,
		Port:     o.port,
		Endpoint: "http://127.0.0.1:" + strconv.Itoa(o.port),
		out:      newTailBuffer(64 << 10),
		done:     make(chan struct{}),
	}
	var w io.Writer = p.out
	if o.logFile != "" {
		if err := os.MkdirAll(filepath.Dir(o.logFile), 0o755); err != nil {
			return nil, fmt.Errorf("%s: log folder: %w", o.name, err)
		}
		f, err := os.OpenFile(o.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("%s: open log: %w", o.name, err)
		}
		p.logFile = f
		w = io.MultiWriter(f, p.out)
	}
	cmd := exec.Command(o.path, o.args...)
	cmd.Dir = o.dir
	cmd.Stdout = w
	cmd.Stderr = w
	cmd.Stdin = nil
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// Own process group: a terminal's Ctrl-C goes to the parent only, which then stops
		// the group itself; and Stop can kill whatever the child started.
		Setpgid: true,
		// If the parent dies without calling Stop (crash, SIGKILL, test timeout), the
		// kernel stops the child rather than leaving an orphan holding the port. SIGTERM,
		// not SIGKILL: DynamoDB Local then shuts down cleanly and keeps the last writes of
		// a killed `make run` in its data folder. (Linux ties this to the thread that
		// started the child; Go ends threads only for goroutines locked to them, so do not
		// start a child from such a goroutine.)
		Pdeathsig: syscall.SIGTERM,
	}
	cmd.ExtraFiles = o.inherit
	// Do not let a grandchild holding the output pipe block Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		if p.logFile != nil {
			_ = p.logFile.Close()
		}
		return nil, fmt.Errorf("%s: start %s: %w", o.name, o.path, err)
	}
	p.cmd = cmd
	go func() {
		p.waitErr = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady calls ready until it succeeds, the child exits, ctx ends or timeout passes.
// On failure the child is stopped and the error carries the tail of its output.
func (p *Process) waitReady(ctx context.Context, timeout time.Duration, ready func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last error
	for {
		attempt, cancelAttempt := context.WithTimeout(ctx, 2*time.Second)
		last = ready(attempt)
		cancelAttempt()
		if last == nil {
			return nil
		}
		select {
		case <-p.done:
			_ = p.Stop()
			return fmt.Errorf("%s exited before it answered (%v); its output:\n%s", p.Name, p.waitErr, p.Output())
		case <-ctx.Done():
			_ = p.Stop()
			return fmt.Errorf("%s did not answer on %s within %s (last error: %v); its output:\n%s",
				p.Name, p.Endpoint, timeout, last, p.Output())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// pickPort returns port itself if it is free, or a free port chosen by the kernel for 0.
// A port already taken is an error: the readiness check would otherwise talk to whatever
// server holds it while our child dies.
func pickPort(port int) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		return 0, fmt.Errorf("port %d is not free: %w", port, err)
	}
	got := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("release port %d: %w", got, err)
	}
	return got, nil
}

// startWithPort starts a child on a port, choosing a free one for port 0. A port chosen
// by us can be taken by someone else between our check and the child's bind, so a child
// that exits early on a chosen port is started again on another one.
func startWithPort(ctx context.Context, port int, timeout time.Duration, build func(port int) startOptions, ready func(context.Context, *Process) error) (*Process, error) {
	attempts := 1
	if port == 0 {
		attempts = 3
	}
	var err error
	for range attempts {
		var got int
		got, err = pickPort(port)
		if err != nil {
			return nil, err
		}
		var p *Process
		p, err = start(build(got))
		if err != nil {
			return nil, err
		}
		err = p.waitReady(ctx, timeout, func(ctx context.Context) error { return ready(ctx, p) })
		if err == nil {
			return p, nil
		}
		if !p.Exited() || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func newTailBuffer(max int) *tailBuffer { return &tailBuffer{max: max} }

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - b.max; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}

// errNotReady is what a readiness probe returns for an answer that is not yet healthy.
var errNotReady = errors.New("not ready")

// ErrToolsMissing means a tool that `make tools` installs is not there.
var ErrToolsMissing = errors.New("local tools missing: run `make tools`")
