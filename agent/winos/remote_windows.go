package winos

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"unicode/utf8"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/adhoc-support/adhoc-support/agent/remote"
)

// Remote access's Windows side (remote.OS): the terminal's password is checked with
// LogonUserW, the shell runs with the account's elevated (linked) token in a pseudo
// console, and files are opened while impersonating that token, so the PC's access lists
// decide what the technician may touch.

var (
	advapi32                    = windows.NewLazySystemDLL("advapi32.dll")
	procLogonUserW              = advapi32.NewProc("LogonUserW")
	procImpersonateLoggedOnUser = advapi32.NewProc("ImpersonateLoggedOnUser")

	procLoadUserProfileW   = userenv.NewProc("LoadUserProfileW")
	procUnloadUserProfile  = userenv.NewProc("UnloadUserProfile")
	procSHGetKnownFolderPa = windows.NewLazySystemDLL("shell32.dll").NewProc("SHGetKnownFolderPath")

	procUpdateProcThreadAttribute = windows.NewLazySystemDLL("kernel32.dll").NewProc("UpdateProcThreadAttribute")
	procWineGetVersion            = windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version")
)

const (
	logon32LogonInteractive = 2
	logon32ProviderDefault  = 0
	piNoUI                  = 1
	// userDesktop is where the shell's processes live: the service's own window station
	// (Service-0x0-3e7$) admits SYSTEM only, and WinSta0 admits the elevated
	// administrators the account's token makes it. The pseudo console has no window.
	userDesktop = `winsta0\default`
)

// IsWine reports whether the app runs under Wine (ntdll exports wine_get_version there).
var IsWine = sync.OnceValue(func() bool { return procWineGetVersion.Find() == nil })

// Remote implements remote.OS.
type Remote struct {
	// Exe is the app's own file: the pseudo console runs it with ShimArg first.
	Exe string
	// Log receives what the tests and the event log should know (never a secret).
	Log func(string)
}

var _ remote.OS = (*Remote)(nil)

// NewRemote returns the Windows side of remote access for the running exe.
func NewRemote(log func(string)) (*Remote, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("own path: %w", err)
	}
	if log == nil {
		log = func(string) {}
	}
	return &Remote{Exe: exe, Log: log}, nil
}

// Logon implements remote.OS: LogonUserW (interactive, like a person signing in), then the
// linked token, which is the elevated one of an administrator under UAC, then the
// account's profile (its registry hive and folders, where Downloads lives).
func (r *Remote) Logon(name string, password []byte) (remote.Account, error) {
	pw, ok := utf16FromUTF8(password)
	defer clear(pw)
	if !ok {
		// No Windows password contains NUL: it cannot be the right one.
		return nil, fmt.Errorf("logon %s: %w", name, remote.ErrWrongPassword)
	}
	user, err := windows.UTF16PtrFromString(name)
	if err != nil {
		return nil, fmt.Errorf("logon %s: %w", name, err)
	}
	var tok windows.Token
	ret, _, e := procLogonUserW.Call(uintptr(unsafe.Pointer(user)), uintptr(unsafe.Pointer(windows.StringToUTF16Ptr("."))),
		uintptr(unsafe.Pointer(&pw[0])), logon32LogonInteractive, logon32ProviderDefault, uintptr(unsafe.Pointer(&tok)))
	clear(pw)
	if ret == 0 {
		if errors.Is(e, windows.ERROR_LOGON_FAILURE) {
			return nil, fmt.Errorf("logon %s: %w", name, remote.ErrWrongPassword)
		}
		return nil, fmt.Errorf("logon %s: %w", name, e)
	}
	if IsWine() {
		// Wine only, never on Windows: its LogonUserW is a stub that accepts any password
		// and hands out a handle that is no token (every call with it fails). Wine has
		// one user anyway, so the app goes on with its own token: what follows, the
		// pseudo console, the impersonation, the files, runs the code path of Windows.
		own, err := ownToken()
		if err != nil {
			return nil, fmt.Errorf("logon %s under Wine: %w", name, err)
		}
		tok = own
	}
	tok, err = elevated(tok)
	if err != nil {
		return nil, fmt.Errorf("logon %s: %w", name, err)
	}
	a := &account{r: r, name: name, token: tok, shell: "cmd.exe"}
	enablePrivileges.Do(func() {
		enable("SeBackupPrivilege", "SeRestorePrivilege", "SeAssignPrimaryTokenPrivilege", "SeIncreaseQuotaPrivilege")
	})
	pi := profileInfo{UserName: user, Flags: piNoUI}
	pi.Size = uint32(unsafe.Sizeof(pi))
	if ret, _, e := procLoadUserProfileW.Call(uintptr(tok), uintptr(unsafe.Pointer(&pi))); ret == 0 {
		tok.Close()
		return nil, fmt.Errorf("load the profile of %s: %w", name, e)
	}
	a.profile = pi.Profile
	// Wine ships a powershell.exe that is a stub and runs nothing: there it is missing.
	if sys, err := windows.GetSystemDirectory(); err == nil && !IsWine() {
		if _, err := os.Stat(filepath.Join(sys, shellPaths["powershell"])); err == nil {
			a.shell = "powershell.exe"
		}
	}
	return a, nil
}

// elevated returns the token to run as: the linked (elevated) token of a filtered one.
// It takes over tok.
func elevated(tok windows.Token) (windows.Token, error) {
	if tok.IsElevated() {
		return tok, nil // UAC is off, or the token is a full one already
	}
	linked, err := tok.GetLinkedToken()
	if err != nil {
		if IsWine() {
			// Wine only: its tokens have no linked token.
			return tok, nil
		}
		tok.Close()
		return 0, fmt.Errorf("the elevated (linked) token: %w", err)
	}
	tok.Close()
	// With SeTcbPrivilege (the service runs as SYSTEM) the linked token is a primary
	// token; without, an identification token that can start nothing.
	var typ uint32
	var n uint32
	if err := windows.GetTokenInformation(linked, windows.TokenType, (*byte)(unsafe.Pointer(&typ)), uint32(unsafe.Sizeof(typ)), &n); err == nil && typ != windows.TokenPrimary && !IsWine() {
		linked.Close()
		return 0, errors.New("the elevated token is not a primary token: the app must run as its service (SYSTEM)")
	}
	return linked, nil
}

// ownToken is a primary token of this process's own user.
func ownToken() (windows.Token, error) {
	var cur windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_DUPLICATE|windows.TOKEN_QUERY, &cur); err != nil {
		return 0, fmt.Errorf("own token: %w", err)
	}
	defer cur.Close()
	var dup windows.Token
	if err := windows.DuplicateTokenEx(cur, windows.MAXIMUM_ALLOWED, nil, windows.SecurityImpersonation, windows.TokenPrimary, &dup); err != nil {
		return 0, fmt.Errorf("duplicate own token: %w", err)
	}
	return dup, nil
}

// profileInfo is PROFILEINFOW.
type profileInfo struct {
	Size        uint32
	Flags       uint32
	UserName    *uint16
	ProfilePath *uint16
	DefaultPath *uint16
	ServerName  *uint16
	PolicyPath  *uint16
	Profile     windows.Handle
}

var enablePrivileges sync.Once

// enable turns on privileges the service (SYSTEM) holds but may have off: LoadUserProfile
// needs backup and restore, CreateProcessAsUser with another user's token may need to
// assign it and raise quotas. A failure shows at the call that needed it.
func enable(names ...string) {
	var tok windows.Token
	if err := windows.OpenProcessToken(windows.CurrentProcess(), windows.TOKEN_ADJUST_PRIVILEGES|windows.TOKEN_QUERY, &tok); err != nil {
		return
	}
	defer tok.Close()
	for _, name := range names {
		var luid windows.LUID
		if windows.LookupPrivilegeValue(nil, windows.StringToUTF16Ptr(name), &luid) != nil {
			continue
		}
		tp := windows.Tokenprivileges{PrivilegeCount: 1}
		tp.Privileges[0] = windows.LUIDAndAttributes{Luid: luid, Attributes: windows.SE_PRIVILEGE_ENABLED}
		_ = windows.AdjustTokenPrivileges(tok, false, &tp, 0, nil, nil)
	}
}

// utf16FromUTF8 converts a password to NUL-terminated UTF-16 without making a string
// (which could not be wiped); false when it contains NUL. The caller wipes the result.
func utf16FromUTF8(b []byte) ([]uint16, bool) {
	out := make([]uint16, 0, len(b)+1)
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r == 0 {
			return out[:cap(out)], false
		}
		if r >= 0x10000 {
			r -= 0x10000
			out = append(out, uint16(0xd800+(r>>10)), uint16(0xdc00+(r&0x3ff)))
			continue
		}
		out = append(out, uint16(r))
	}
	return append(out, 0), true
}

// account is the hidden account signed in.
type account struct {
	r       *Remote
	name    string
	token   windows.Token
	profile windows.Handle
	shell   string // "powershell.exe" or "cmd.exe"

	mu     sync.Mutex
	closed bool
}

func (a *account) Shell() string { return a.shell }

// Close signs the account out: the profile goes back, the token is closed.
func (a *account) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	var err error
	if a.profile != 0 {
		// Wine's stub fails without saying why (error 0): nothing to report then.
		if ret, _, e := procUnloadUserProfile.Call(uintptr(a.token), uintptr(a.profile)); ret == 0 && e != windows.ERROR_SUCCESS {
			err = fmt.Errorf("unload the profile of %s: %w", a.name, e)
		}
	}
	return errors.Join(err, a.token.Close())
}

// impersonate runs f on a thread that impersonates the account. The thread is given back
// to Go only once it is itself again; otherwise it ends with the goroutine, so that no
// other code ever runs with the account's identity by accident.
func (a *account) impersonate(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if ret, _, e := procImpersonateLoggedOnUser.Call(uintptr(a.token)); ret == 0 {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("impersonate %s: %w", a.name, e)
			return
		}
		err := f()
		if rerr := windows.RevertToSelf(); rerr != nil {
			errc <- errors.Join(err, fmt.Errorf("revert to self: %w", rerr))
			return // the thread stays locked and dies with this goroutine
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// Downloads implements remote.Account: the account's Downloads folder, created if
// missing.
func (a *account) Downloads() (string, error) {
	var dir string
	err := a.impersonate(func() error {
		var p *uint16
		ret, _, _ := procSHGetKnownFolderPa.Call(uintptr(unsafe.Pointer(windows.FOLDERID_Downloads)), windows.KF_FLAG_CREATE,
			uintptr(a.token), uintptr(unsafe.Pointer(&p)))
		if p != nil {
			defer windows.CoTaskMemFree(unsafe.Pointer(p))
		}
		if ret != 0 {
			return fmt.Errorf("the Downloads folder of %s: %w", a.name, windows.Errno(ret&0xffff))
		}
		dir = windows.UTF16PtrToString(p)
		return nil
	})
	return dir, err
}

// Open implements remote.Account. Only files on a disk: a device or a pipe could block a
// download forever.
func (a *account) Open(path string) (remote.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var h windows.Handle
	err = a.impersonate(func() error {
		if attrs, err := windows.GetFileAttributes(p); err == nil && attrs&windows.FILE_ATTRIBUTE_DIRECTORY != 0 {
			return errors.New("it is a folder")
		}
		h, err = windows.CreateFile(p, windows.GENERIC_READ, windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
			nil, windows.OPEN_EXISTING, windows.FILE_FLAG_SEQUENTIAL_SCAN, 0)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	if t, err := windows.GetFileType(h); err != nil || t != windows.FILE_TYPE_DISK {
		windows.CloseHandle(h)
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("not a file on a disk")}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return &readFile{File: os.NewFile(uintptr(h), path), size: int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow)}, nil
}

type readFile struct {
	*os.File
	size int64
}

func (f *readFile) Size() int64 { return f.size }

// Create implements remote.Account: a hidden file next to path, written through its
// handle, renamed to path through the same handle at Commit (never replacing a file),
// deleted through it at Abort. The checks and the rename run as the account.
func (a *account) Create(path string) (remote.NewFile, error) {
	target, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: path, Err: err}
	}
	var tmpName [8]byte
	if _, err := rand.Read(tmpName[:]); err != nil {
		return nil, err
	}
	tmp := filepath.Join(filepath.Dir(path), fmt.Sprintf(".%s.%x.partial", filepath.Base(path), tmpName))
	tp, err := windows.UTF16PtrFromString(tmp)
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: path, Err: err}
	}
	var h windows.Handle
	err = a.impersonate(func() error {
		if _, err := windows.GetFileAttributes(target); err == nil {
			return windows.ERROR_FILE_EXISTS
		} else if !errors.Is(err, windows.ERROR_FILE_NOT_FOUND) {
			return err // no such folder, or no access
		}
		h, err = windows.CreateFile(tp, windows.GENERIC_WRITE|windows.DELETE|windows.FILE_WRITE_ATTRIBUTES, 0, nil,
			windows.CREATE_NEW, windows.FILE_ATTRIBUTE_HIDDEN, 0)
		return err
	})
	if err != nil {
		return nil, &fs.PathError{Op: "create", Path: path, Err: err}
	}
	return &newFile{a: a, h: h, f: os.NewFile(uintptr(h), tmp), path: path}, nil
}

type newFile struct {
	a    *account
	h    windows.Handle
	f    *os.File
	path string
	done bool
}

func (n *newFile) Write(p []byte) (int, error) { return n.f.Write(p) }

// fileRenameInfo is FILE_RENAME_INFO up to its file name.
type fileRenameInfo struct {
	ReplaceIfExists uint32 // a BOOLEAN in a union with a DWORD of flags
	RootDirectory   windows.Handle
	FileNameLength  uint32
	FileName        [1]uint16
}

// fileBasicInfo is FILE_BASIC_INFO; zero times leave the times alone.
type fileBasicInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime int64
	FileAttributes                                          uint32
}

func (n *newFile) Commit() error {
	if n.done {
		return nil
	}
	name, err := windows.UTF16FromString(n.path)
	if err != nil {
		return n.fail(err)
	}
	// The structure ends in the name; a []uint64 keeps it aligned for the handle in it.
	size := int(unsafe.Offsetof(fileRenameInfo{}.FileName)) + len(name)*2
	buf := make([]uint64, (size+7)/8)
	info := (*fileRenameInfo)(unsafe.Pointer(&buf[0]))
	info.FileNameLength = uint32((len(name) - 1) * 2)
	copy(unsafe.Slice(&info.FileName[0], len(name)), name)
	err = n.a.impersonate(func() error {
		if err := windows.SetFileInformationByHandle(n.h, windows.FileRenameInfo, (*byte)(unsafe.Pointer(&buf[0])), uint32(size)); err != nil {
			return err
		}
		basic := fileBasicInfo{FileAttributes: windows.FILE_ATTRIBUTE_NORMAL}
		return windows.SetFileInformationByHandle(n.h, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&basic)), uint32(unsafe.Sizeof(basic)))
	})
	if err != nil {
		return n.fail(&fs.PathError{Op: "rename", Path: n.path, Err: err})
	}
	n.done = true
	return n.f.Close()
}

// fail removes the data and returns err.
func (n *newFile) fail(err error) error {
	return errors.Join(err, n.Abort())
}

func (n *newFile) Abort() error {
	if n.done {
		return nil
	}
	n.done = true
	disposition := struct{ DeleteFile bool }{true} // FILE_DISPOSITION_INFO
	err := windows.SetFileInformationByHandle(n.h, windows.FileDispositionInfo, (*byte)(unsafe.Pointer(&disposition)), uint32(unsafe.Sizeof(disposition)))
	return errors.Join(err, n.f.Close())
}
