// Package winepc is a Windows PC on this Linux machine: a Wine prefix that runs the real
// Support Session app (its Go runtime needs a bcryptprimitives.dll that Wine 8 lacks; it is
// built here with MinGW), a wineserver that keeps the "machine" and its services running as
// a real PC does, and, for the screen, a virtual X display (Xvfb). `make demo-pc` and the
// tests that run the exe use it.
package winepc

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

//go:embed dll/bcryptprimitives.c
var bcryptSource []byte

//go:embed dll/bcryptprimitives.def
var bcryptDef []byte

// DepsHint says how to install what a Wine PC needs.
const DepsHint = "run `make agent-test-deps` (installs Debian's wine64, xvfb and gcc-mingw-w64-x86-64-win32)"

// PC is a Wine prefix and the programs that keep it running.
type PC struct {
	Prefix  string // WINEPREFIX
	Wine    string // wine64
	Server  string // wineserver
	Display string // ":N" once StartDisplay ran, else ""
	// Debug is appended to WINEDEBUG=-all (for example ",+netapi32").
	Debug string

	xvfb  *exec.Cmd
	fbDir string // where Xvfb keeps its framebuffer as an XWD file
}

// Find locates wine64 and wineserver (Debian keeps wine64 off PATH).
func Find() (wine, server string, err error) {
	candidates := []string{"/usr/lib/wine/wine64", "/usr/lib/x86_64-linux-gnu/wine/wine64", "/opt/wine-stable/bin/wine64"}
	if p, err := exec.LookPath("wine64"); err == nil {
		candidates = append([]string{p}, candidates...)
	}
	for _, c := range candidates {
		if fi, err := os.Stat(c); err == nil && !fi.IsDir() {
			for _, s := range []string{filepath.Join(filepath.Dir(c), "wineserver"), "/usr/lib/wine/wineserver", "/usr/bin/wineserver"} {
				if _, err := os.Stat(s); err == nil {
					return c, s, nil
				}
			}
		}
	}
	return "", "", fmt.Errorf("wine64 not found: %s", DepsHint)
}

// Env is the environment of a program in the prefix, with extra entries.
func (pc *PC) Env(extra ...string) []string {
	env := append(os.Environ(), "WINEPREFIX="+pc.Prefix, "WINEDEBUG=-all"+pc.Debug, "WINEDLLOVERRIDES=mscoree,mshtml=")
	if pc.Display != "" {
		env = append(env, "DISPLAY="+pc.Display)
	}
	return append(env, extra...)
}

// Prepare makes (or reuses) the prefix in dir: wineboot, the DLL Go needs, and a
// wineserver that does not shut the machine down when the last program exits.
func Prepare(ctx context.Context, dir string) (*PC, error) {
	wine, server, err := Find()
	if err != nil {
		return nil, err
	}
	pc := &PC{Prefix: filepath.Join(dir, "prefix"), Wine: wine, Server: server}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("winepc: %w", err)
	}
	if _, err := os.Stat(filepath.Join(pc.Prefix, "system.reg")); err != nil {
		if out, err := pc.Run(ctx, "wineboot", "--init"); err != nil {
			return nil, fmt.Errorf("winepc: wineboot: %w\n%s", err, out)
		}
	}
	// Let the set-up's wineserver finish, then start one that never times out: by default
	// it shuts the "machine" down (the service manager and its services) a few seconds
	// after the last program exits, which a real PC does not do.
	for _, arg := range []string{"-w", "-p"} {
		cmd := exec.CommandContext(ctx, server, arg)
		cmd.Env = pc.Env()
		if err := cmd.Run(); err != nil {
			return nil, fmt.Errorf("winepc: wineserver %s: %w", arg, err)
		}
	}
	dll, err := buildDLL(ctx, dir)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(pc.Prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll"), dll, 0o644); err != nil {
		return nil, fmt.Errorf("winepc: %w", err)
	}
	return pc, nil
}

// buildDLL builds bcryptprimitives.dll: Go 1.24 and later take their random numbers from
// ProcessPrng, which Wine 8 does not have (bcryptprimitives.c says more).
func buildDLL(ctx context.Context, dir string) ([]byte, error) {
	if _, err := exec.LookPath("x86_64-w64-mingw32-gcc"); err != nil {
		return nil, fmt.Errorf("x86_64-w64-mingw32-gcc not found: %s", DepsHint)
	}
	src := filepath.Join(dir, "bcryptprimitives.c")
	def := filepath.Join(dir, "bcryptprimitives.def")
	out := filepath.Join(dir, "bcryptprimitives.dll")
	if err := os.WriteFile(src, bcryptSource, 0o644); err != nil {
		return nil, fmt.Errorf("winepc: %w", err)
	}
	if err := os.WriteFile(def, bcryptDef, 0o644); err != nil {
		return nil, fmt.Errorf("winepc: %w", err)
	}
	if msg, err := exec.CommandContext(ctx, "x86_64-w64-mingw32-gcc", "-shared", "-O2", "-s", "-o", out, src, def, "-ladvapi32").CombinedOutput(); err != nil {
		return nil, fmt.Errorf("winepc: build bcryptprimitives.dll: %w\n%s", err, msg)
	}
	return os.ReadFile(out)
}

// Run runs a Windows command in the prefix to its end and returns its output. The output
// goes through a file, not a pipe: Wine's system processes, which outlive the command,
// inherit it.
func (pc *PC) Run(ctx context.Context, args ...string) (string, error) {
	out, err := os.CreateTemp("", "winepc-*.txt")
	if err != nil {
		return "", fmt.Errorf("winepc: %w", err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	cmd := exec.CommandContext(ctx, pc.Wine, args...)
	cmd.Env = pc.Env()
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	data, _ := os.ReadFile(out.Name())
	return string(data), err
}

// Command is a Windows program in the prefix, for callers that want its streams.
func (pc *PC) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, pc.Wine, args...)
	cmd.Env = pc.Env()
	return cmd
}

// StartDisplay starts a virtual X display of the size (Xvfb) on a free display number and
// makes it the prefix's DISPLAY. Its background is black (not X's grey weave, which no
// screen shows), and its framebuffer can be read with Screenshot.
func (pc *PC) StartDisplay(ctx context.Context, width, height int) error {
	xvfb, err := exec.LookPath("Xvfb")
	if err != nil {
		return fmt.Errorf("no Xvfb on this machine: %s", DepsHint)
	}
	fbDir, err := os.MkdirTemp("", "winepc-fb-*")
	if err != nil {
		return fmt.Errorf("winepc: %w", err)
	}
	for n := 90; n < 140; n++ {
		if _, err := os.Stat(fmt.Sprintf("/tmp/.X%d-lock", n)); err == nil {
			continue
		}
		cmd := exec.Command(xvfb, ":"+strconv.Itoa(n), "-screen", "0", fmt.Sprintf("%dx%dx24", width, height), "-nolisten", "tcp",
			"-br", "-fbdir", fbDir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("winepc: Xvfb: %w", err)
		}
		socket := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			if _, err := os.Stat(socket); err == nil {
				pc.xvfb, pc.Display, pc.fbDir = cmd, ":"+strconv.Itoa(n), fbDir
				return nil
			}
			if cmd.ProcessState != nil {
				break
			}
			select {
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				return ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if !strings.Contains(stderr.String(), "already active") {
			return fmt.Errorf("winepc: Xvfb :%d did not start: %s", n, stderr.String())
		}
	}
	os.RemoveAll(fbDir)
	return errors.New("winepc: no free X display number")
}

// Stop ends every process of the prefix (the app's service included), waits for that, and
// stops the display.
func (pc *PC) Stop() {
	for _, arg := range []string{"-k", "-w"} {
		cmd := exec.Command(pc.Server, arg)
		cmd.Env = pc.Env()
		_ = cmd.Run()
	}
	if pc.xvfb != nil {
		_ = pc.xvfb.Process.Kill()
		_ = pc.xvfb.Wait()
		os.RemoveAll(pc.fbDir)
		pc.xvfb, pc.Display, pc.fbDir = nil, "", ""
	}
}

// Processes lists the pids of this prefix's processes whose command line contains all of
// the words (another prefix may run the same program).
func (pc *PC) Processes(words ...string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		s := string(bytes.ReplaceAll(cmdline, []byte{0}, []byte{' '}))
		match := true
		for _, w := range words {
			match = match && strings.Contains(s, w)
		}
		if !match {
			continue
		}
		if env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ")); err != nil || !bytes.Contains(env, []byte("WINEPREFIX="+pc.Prefix+"\x00")) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// DriveC is the prefix's C: drive on this machine.
func (pc *PC) DriveC() string { return filepath.Join(pc.Prefix, "drive_c") }
