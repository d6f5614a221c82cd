package winos

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/adhoc-support/adhoc-support/agent/remote"
)

// The terminal's shell: PowerShell (cmd.exe where it is missing) as the account, elevated,
// in a pseudo console (ConPTY), inside a job object that ends every process of it at once.
//
// The pseudo console does not start the shell directly but this exe with ShimArg, which
// opens CONIN$ and CONOUT$, makes them its standard handles and runs the shell with them.
// Under Wine the process a pseudo console starts gets no console standard handles of its
// own (it must open the console itself); on Windows the shim changes nothing but one more
// process, and both run the one code path that the Wine test proves.

// ShimArg is the command-line argument that makes the exe the pseudo console's shim.
const ShimArg = "conpty-shim"

// shellPaths are the shells the shim may run, below the system folder.
var shellPaths = map[string]string{
	"powershell": `WindowsPowerShell\v1.0\powershell.exe`,
	"cmd":        `cmd.exe`,
}

// StartShell implements remote.Account.
func (a *account) StartShell(cols, rows int) (remote.Shell, error) {
	var inR, inW, outR, outW windows.Handle
	if err := windows.CreatePipe(&inR, &inW, nil, 0); err != nil {
		return nil, fmt.Errorf("pseudo console input: %w", err)
	}
	if err := windows.CreatePipe(&outR, &outW, nil, 0); err != nil {
		closeHandles(inR, inW)
		return nil, fmt.Errorf("pseudo console output: %w", err)
	}
	var hpc windows.Handle
	if err := windows.CreatePseudoConsole(coord(cols, rows), inR, outW, 0, &hpc); err != nil {
		closeHandles(inR, inW, outR, outW)
		return nil, fmt.Errorf("create the pseudo console: %w", err)
	}
	// The pseudo console (conhost) holds its own ends of the pipes from here on.
	closeHandles(inR, outW)
	s := &shell{hpc: hpc, in: os.NewFile(uintptr(inW), "conpty-in"), out: os.NewFile(uintptr(outR), "conpty-out"), exited: make(chan struct{})}
	if err := a.spawn(s); err != nil {
		s.closePseudoConsole()
		s.in.Close()
		s.out.Close()
		return nil, err
	}
	go s.watch()
	return s, nil
}

func coord(cols, rows int) windows.Coord {
	return windows.Coord{X: int16(min(cols, 0x7fff)), Y: int16(min(rows, 0x7fff))}
}

// spawn starts the shim attached to the pseudo console, suspended, puts it in a new job
// and lets it run.
func (a *account) spawn(s *shell) error {
	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		return fmt.Errorf("attribute list: %w", err)
	}
	defer attrs.Delete()
	// The attribute's value is the pseudo console's handle itself, not a pointer to it.
	if ret, _, e := procUpdateProcThreadAttribute.Call(uintptr(unsafe.Pointer(attrs.List())), 0,
		windows.PROC_THREAD_ATTRIBUTE_PSEUDOCONSOLE, uintptr(s.hpc), unsafe.Sizeof(s.hpc), 0, 0); ret == 0 {
		return fmt.Errorf("pseudo console attribute: %w", e)
	}
	var si windows.StartupInfoEx
	si.Cb = uint32(unsafe.Sizeof(si))
	si.Desktop = windows.StringToUTF16Ptr(userDesktop)
	si.ProcThreadAttributeList = attrs.List()
	shell := "cmd"
	if a.shell == "powershell.exe" {
		shell = "powershell"
	}
	cmdline := windows.StringToUTF16Ptr(windows.EscapeArg(a.r.Exe) + " " + ShimArg + " " + shell)
	dir, err := a.token.GetUserProfileDirectory()
	if err != nil {
		dir, _ = windows.GetSystemDirectory()
	}
	// The account's environment. Under Wine (never on Windows) the service's: Wine's
	// account environment lacks the X display (DISPLAY), without which a window the
	// technician opens from the terminal cannot show, and Wine has one user anyway.
	var env *uint16
	if !IsWine() {
		if err := windows.CreateEnvironmentBlock(&env, a.token, false); err == nil {
			defer windows.DestroyEnvironmentBlock(env)
		} else {
			env = nil
		}
	}
	flags := uint32(windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_UNICODE_ENVIRONMENT | windows.CREATE_SUSPENDED)
	var pi windows.ProcessInformation
	err = windows.CreateProcessAsUser(a.token, nil, cmdline, nil, nil, false, flags, env, windows.StringToUTF16Ptr(dir), &si.StartupInfo, &pi)
	if err != nil && IsWine() {
		// Wine only, never on Windows: Wine's LogonUserW returns a stand-in token that
		// CreateProcessAsUserW may refuse, and Wine has no other users anyway. The shell
		// then runs as the service's own user.
		a.r.Log(fmt.Sprintf("CreateProcessAsUser failed under Wine (%v): the shell runs as the service's user.", err))
		err = windows.CreateProcess(nil, cmdline, nil, nil, false, flags, nil, windows.StringToUTF16Ptr(dir), &si.StartupInfo, &pi)
	}
	if err != nil {
		return fmt.Errorf("start %s as %s: %w", a.shell, a.name, err)
	}
	defer windows.CloseHandle(pi.Thread)
	job, err := killOnCloseJob()
	if err == nil {
		err = windows.AssignProcessToJobObject(job, pi.Process)
	}
	if err != nil {
		windows.TerminateProcess(pi.Process, 1)
		windows.CloseHandle(pi.Process)
		if job != 0 {
			windows.CloseHandle(job)
		}
		return fmt.Errorf("job object for %s: %w", a.shell, err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		windows.TerminateJobObject(job, 1)
		windows.CloseHandle(job)
		windows.CloseHandle(pi.Process)
		return fmt.Errorf("resume %s: %w", a.shell, err)
	}
	s.process, s.job = pi.Process, job
	return nil
}

// killOnCloseJob is a job whose processes all end when its last handle closes: even if
// this process dies, the shell does not outlive it.
func killOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	var info windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, err
	}
	return job, nil
}

// shell is a shell in a pseudo console.
type shell struct {
	hpc     windows.Handle
	in, out *os.File
	process windows.Handle
	job     windows.Handle

	exited chan struct{} // closed when the shim has exited
	code   uint32

	pcOnce    sync.Once
	closeOnce sync.Once
}

// watch waits for the shim to exit, then ends whatever the shell left running and closes
// the pseudo console, which flushes the last output and ends the output pipe.
func (s *shell) watch() {
	windows.WaitForSingleObject(s.process, windows.INFINITE)
	windows.GetExitCodeProcess(s.process, &s.code)
	close(s.exited)
	windows.TerminateJobObject(s.job, 1)
	s.closePseudoConsole()
}

// closePseudoConsole closes it once. On older Windows 10 ClosePseudoConsole waits until
// the output has been read; the terminal reads it until the end, so it runs on its own.
func (s *shell) closePseudoConsole() {
	s.pcOnce.Do(func() {
		done := make(chan struct{})
		go func() {
			windows.ClosePseudoConsole(s.hpc)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(2 * time.Second):
		}
	})
}

func (s *shell) Read(p []byte) (int, error) {
	n, err := s.out.Read(p)
	if errors.Is(err, windows.ERROR_BROKEN_PIPE) || errors.Is(err, os.ErrClosed) {
		err = io.EOF
	}
	return n, err
}

func (s *shell) Write(p []byte) (int, error) { return s.in.Write(p) }

func (s *shell) Resize(cols, rows int) error {
	return windows.ResizePseudoConsole(s.hpc, coord(cols, rows))
}

func (s *shell) Wait() (int, error) {
	<-s.exited
	return int(int32(s.code)), nil
}

// Close ends the shell and every process in its job, then the pseudo console.
func (s *shell) Close() error {
	s.closeOnce.Do(func() {
		windows.TerminateJobObject(s.job, 1)
		select {
		case <-s.exited:
		case <-time.After(2 * time.Second):
		}
		s.closePseudoConsole()
		s.in.Close()
		windows.CloseHandle(s.job)
		// The output is closed by its reader's end (EOF after the pseudo console closed);
		// closing it here too only releases the handle once that read returns.
		s.out.Close()
	})
	return nil
}

func closeHandles(hs ...windows.Handle) {
	for _, h := range hs {
		windows.CloseHandle(h)
	}
}

// RunShim is the exe run with ShimArg by the pseudo console: it opens the console, makes
// it its standard handles and runs the shell with them, and exits with the shell's code.
func RunShim(shellName string) int {
	rel, ok := shellPaths[shellName]
	if !ok {
		fmt.Fprintln(os.Stderr, "unknown shell", shellName)
		return 2
	}
	// Ctrl+C reaches every process on the console; the shell decides what it means, the
	// shim must not die of it (Go's default is to exit).
	signal.Notify(make(chan os.Signal, 1), os.Interrupt)
	in, err := openConsole("CONIN$")
	if err != nil {
		fmt.Fprintln(os.Stderr, "CONIN$:", err)
		return 2
	}
	out, err := openConsole("CONOUT$")
	if err != nil {
		fmt.Fprintln(os.Stderr, "CONOUT$:", err)
		return 2
	}
	windows.SetStdHandle(windows.STD_INPUT_HANDLE, in)
	windows.SetStdHandle(windows.STD_OUTPUT_HANDLE, out)
	windows.SetStdHandle(windows.STD_ERROR_HANDLE, out)
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return 2
	}
	var args []string
	if shellName == "powershell" {
		args = []string{"-NoLogo"}
	}
	// The shell starts from this thread, so that it and what it starts (a window the
	// technician opens) are on the user's desktop (onUserDesktop).
	runtime.LockOSThread()
	onUserDesktop(func(msg string) { fmt.Fprintln(os.Stderr, msg) })
	cmd := exec.Command(filepath.Join(sys, rel), args...)
	stdin, stdout := os.NewFile(uintptr(in), "CONIN$"), os.NewFile(uintptr(out), "CONOUT$")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stdout
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		return exit.ExitCode()
	}
	fmt.Fprintln(stdout, "The shell could not be started:", err)
	return 2
}

func openConsole(name string) (windows.Handle, error) {
	sa := &windows.SecurityAttributes{InheritHandle: 1}
	sa.Length = uint32(unsafe.Sizeof(*sa))
	return windows.CreateFile(windows.StringToUTF16Ptr(name), windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, sa, windows.OPEN_EXISTING, 0, 0)
}
