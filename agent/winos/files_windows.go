package winos

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/adhoc-support/adhoc-support/agent/app"
)

// programDirSDDL gives the system and administrators full control and nobody else any
// access, not inherited from Program Files: the state file holds the agent token.
const programDirSDDL = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)"

// PrepareProgramDir implements app.OS.
func (o *OS) PrepareProgramDir() error {
	dir := ProgramDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("program folder: %w", err)
	}
	sd, err := windows.SecurityDescriptorFromString(programDirSDDL)
	if err != nil {
		return fmt.Errorf("program folder access list: %w", err)
	}
	dacl, _, err := sd.DACL()
	if err != nil {
		return fmt.Errorf("program folder access list: %w", err)
	}
	err = windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, dacl, nil)
	if err != nil {
		return fmt.Errorf("program folder access list: %w", err)
	}
	return nil
}

// InstallExe implements app.OS.
func (o *OS) InstallExe() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("own path: %w", err)
	}
	dst := filepath.Join(ProgramDir(), exeName)
	if strings.EqualFold(filepath.Clean(self), dst) {
		return dst, nil
	}
	if err := copyFile(self, dst); err != nil {
		return "", fmt.Errorf("copy app: %w", err)
	}
	return dst, nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".new"
	out, err := os.Create(tmp)
	if err != nil {
		return err
	}
	_, cerr := io.Copy(out, in)
	if err := errors.Join(cerr, out.Close()); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, dst)
}

// RemoveProgram implements app.OS. A running exe cannot be deleted on Windows, so what
// stays is handed to a cmd.exe that waits for this process to end, and is also marked for
// deletion at the next reboot in case that fails.
func (o *OS) RemoveProgram(files []string) error {
	dir := ProgramDir()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read program folder: %w", err)
	}
	for _, e := range entries {
		files = append(files, filepath.Join(dir, e.Name()))
	}
	var pending []string
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			pending = append(pending, f)
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		pending = append(pending, dir)
	}
	if len(pending) == 0 {
		return nil
	}
	var errs []error
	for _, p := range pending {
		// Needs administrator rights, which the app has; a folder must be empty by then,
		// so the files are listed first.
		if err := windows.MoveFileEx(windows.StringToUTF16Ptr(p), nil, windows.MOVEFILE_DELAY_UNTIL_REBOOT); err != nil {
			errs = append(errs, fmt.Errorf("schedule removal of %s at reboot: %w", p, err))
		}
	}
	if err := deleteLater(pending); err != nil {
		errs = append(errs, err)
		// Neither way will remove the files.
		if len(errs) > 1 {
			return errors.Join(errs...)
		}
	}
	for _, err := range errs {
		o.Log(app.LogWarning, err.Error())
	}
	return nil
}

// deleteLater starts a hidden cmd.exe that waits a few seconds (ping is the one wait
// every Windows has that works without a console) and deletes the paths, twice over for
// a slow exit.
func deleteLater(paths []string) error {
	var del strings.Builder
	for _, p := range paths {
		if strings.ContainsAny(p, `"%^&|<>`) {
			return fmt.Errorf("schedule removal of %s: unexpected characters in path", p)
		}
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			fmt.Fprintf(&del, ` & rmdir /s /q "%s" 2>nul`, p)
		} else {
			fmt.Fprintf(&del, ` & del /f /q "%s" 2>nul`, p)
		}
	}
	wait := "ping -n 4 127.0.0.1 >nul"
	script := wait + del.String() + " & " + strings.Replace(wait, "4", "8", 1) + del.String()
	system, err := windows.GetSystemDirectory()
	if err != nil {
		return fmt.Errorf("system folder: %w", err)
	}
	cmd := exec.Command(filepath.Join(system, "cmd.exe"))
	// cmd.exe parses its own command line: /c "…" with the inner quotes kept verbatim.
	// The errors of del and rmdir go to nul, so the second round stays quiet.
	cmd.SysProcAttr = &syscall.SysProcAttr{
		CmdLine:       `cmd.exe /d /q /c "` + script + `"`,
		HideWindow:    true,
		CreationFlags: windows.CREATE_NO_WINDOW | windows.CREATE_NEW_PROCESS_GROUP,
	}
	cmd.Dir = system
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start removal: %w", err)
	}
	return cmd.Process.Release()
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
