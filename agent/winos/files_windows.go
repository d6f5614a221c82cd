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
	"unsafe"

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

// InstallExe implements app.OS. It copies from the handle pinSelf opened at start, not
// from the path: the file installed as a service running as SYSTEM must be the one the
// administrator approved in the UAC prompt.
func (o *OS) InstallExe() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("own path: %w", err)
	}
	dst := filepath.Join(ProgramDir(), exeName)
	if strings.EqualFold(filepath.Clean(self), dst) {
		return dst, nil
	}
	if o.self == nil {
		return "", errors.New("copy app: the running file was not pinned at start")
	}
	if _, err := o.self.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("copy app: %w", err)
	}
	if err := copyTo(o.self, dst); err != nil {
		return "", fmt.Errorf("copy app: %w", err)
	}
	return dst, nil
}

// pinSelf opens the running exe for reading and lets others only read it: while this
// process lives, nobody can rename, replace or change the file. A running exe can
// otherwise be renamed on Windows, and the download sits in a folder the user (or malware
// running as the user) can write, so a file swapped in while the person types the code
// would be what InstallExe copies and the service manager starts as SYSTEM.
func pinSelf() (*os.File, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("own path: %w", err)
	}
	p, err := windows.UTF16PtrFromString(self)
	if err != nil {
		return nil, fmt.Errorf("own path: %w", err)
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ, nil,
		windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		return nil, fmt.Errorf("pin %s: %w", filepath.Base(self), err)
	}
	return os.NewFile(uintptr(h), self), nil
}

func copyTo(in io.Reader, dst string) error {
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
// stays of the program folder is handed to a cmd.exe that waits for this process to end,
// and is also marked for deletion at the next reboot in case that fails. Files outside
// the program folder (the download) are in a folder the user can write and are only ever
// deleted through removeUserFile, never by path.
func (o *OS) RemoveProgram(userFiles []string) error {
	for _, f := range userFiles {
		if err := removeUserFile(f); err != nil {
			// Not a reason to keep the session's state: the download is useless once its
			// invitation is spent. The path names the invite token, so it is not logged.
			o.Log(app.LogWarning, "The downloaded Support Session app was left in place: "+err.Error())
		}
	}
	dir := ProgramDir()
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read program folder: %w", err)
	}
	var files []string
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

// Flags of GetFinalPathNameByHandle (fileapi.h), which x/sys/windows does not name.
const (
	fileNameNormalized = 0x0
	volumeNameDOS      = 0x0
)

// removeUserFile deletes a file in a folder the user controls without following links.
// A privileged process that deletes such a file by path can be made to delete any file:
// the user swaps a junction (to an object-manager symlink) in for the folder between the
// check and the delete. So the file is opened without following a final reparse point,
// its final path must be the recorded one (a junction anywhere on the way changes it), it
// must not be a link itself, and it is deleted through that same handle. A file in use,
// or one that moved, stays.
func removeUserFile(path string) error {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return err
	}
	h, err := windows.CreateFile(p, windows.DELETE|windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, windows.ERROR_PATH_NOT_FOUND) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer windows.CloseHandle(h)
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return fmt.Errorf("file information: %w", err)
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		return errors.New("it is a link or a folder now")
	}
	buf := make([]uint16, windows.MAX_LONG_PATH)
	n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), fileNameNormalized|volumeNameDOS)
	if err != nil || int(n) >= len(buf) {
		return fmt.Errorf("final path: %w", err)
	}
	final := strings.TrimPrefix(windows.UTF16ToString(buf[:n]), `\\?\`)
	if !strings.EqualFold(final, filepath.Clean(path)) {
		return errors.New("its path leads elsewhere now")
	}
	disposition := struct{ DeleteFile bool }{true} // FILE_DISPOSITION_INFO
	if err := windows.SetFileInformationByHandle(h, windows.FileDispositionInfo,
		(*byte)(unsafe.Pointer(&disposition)), uint32(unsafe.Sizeof(disposition))); err != nil {
		return fmt.Errorf("delete: %w", err)
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
