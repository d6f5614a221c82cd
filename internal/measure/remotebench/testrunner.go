package remotebench

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
)

// runner is the testing.TB that the technician's test console (agent/remote/remotetest)
// takes, outside a test: benchreport plays the console with it. Only the methods the
// console calls are defined; the embedded nil TB makes any other call a panic, which
// run turns into an error. Fatal ends the goroutine that called it, as in a test, so the
// console's calls must run inside run.
type runner struct {
	testing.TB

	mu       sync.Mutex
	problems []string
	cleanups []func()
	dirs     []string
}

// runTB runs body with a runner, then its cleanups (last first), and returns what failed.
func runTB(body func(t testing.TB)) error {
	r := &runner{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if p := recover(); p != nil {
				r.Errorf("panic: %v", p)
			}
		}()
		body(r)
	}()
	<-done
	r.mu.Lock()
	cleanups := slices.Clone(r.cleanups)
	r.mu.Unlock()
	for _, f := range slices.Backward(cleanups) {
		f()
	}
	for _, d := range r.dirs {
		_ = os.RemoveAll(d)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.problems) == 0 {
		return nil
	}
	return errors.New(fmt.Sprint(r.problems))
}

func (r *runner) Helper()      {}
func (r *runner) Name() string { return "benchreport" }

func (r *runner) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func (r *runner) Error(args ...any) { r.Errorf("%s", fmt.Sprint(args...)) }

func (r *runner) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *runner) Fatal(args ...any) {
	r.Error(args...)
	runtime.Goexit()
}

func (r *runner) Failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.problems) > 0
}

func (r *runner) Cleanup(f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanups = append(r.cleanups, f)
}

func (r *runner) TempDir() string {
	d, err := os.MkdirTemp("", "benchreport-remote-*")
	if err != nil {
		r.Fatal(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.dirs = append(r.dirs, d)
	return d
}

func (r *runner) Log(args ...any)                 {}
func (r *runner) Logf(format string, args ...any) {}
