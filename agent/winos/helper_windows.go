package winos

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"

	"github.com/adhoc-support/adhoc-support/agent/desktop"
)

// The service's side of the helper (desktop.Launcher): the service runs as SYSTEM in
// session 0, which has no desktop a user sees. It starts the helper — this exe with
// desktop.HelperArg — in the session attached to the console: its own token duplicated
// with TokenSessionId set to that session, CreateProcessAsUser on winsta0\default, the
// helper's standard handles three pipes that only it inherits, the process in a
// kill-on-close job so that it cannot outlive the service. Running as SYSTEM there, the
// helper may open the Winlogon desktop, so the sign-in screen and UAC's prompts can be
// seen and answered.
//
// Under Wine (never on Windows) there is no session 0 and no other session: the helper is
// an ordinary child process of the service, with the same pipes.

var (
	procSendSAS              = windows.NewLazySystemDLL("sas.dll").NewProc("SendSAS")
	procGetSystemDefaultUILa = kernel32.NewProc("GetSystemDefaultUILanguage")
)

const (
	noConsoleSession = 0xFFFFFFFF
	// sasPolicyKey and sasPolicyValue: SoftwareSASGeneration 1 lets services send the
	// SAS (2: ease of access programs, 3: both).
	sasPolicyKey   = `SOFTWARE\Microsoft\Windows\CurrentVersion\Policies\System`
	sasPolicyValue = "SoftwareSASGeneration"
	// sasSavedName is the file in the program folder that keeps the value as it was,
	// so that a restart after a crash can still put it back.
	sasSavedName = "sas-policy.json"
)

// HelperLauncher implements desktop.Launcher.
type HelperLauncher struct {
	// Exe is the app's file, which the helper runs.
	Exe string
	// Log receives the helper's standard error and what the event log should know.
	Log func(string)
	// Lang, when set, is the notice's language whatever the user's (a development
	// build's ADHOC_LANG).
	Lang string

	wineOnce sync.Once
}

var _ desktop.Launcher = (*HelperLauncher)(nil)

// ActiveSession implements desktop.Launcher.
func (l *HelperLauncher) ActiveSession() (uint32, bool) {
	s := windows.WTSGetActiveConsoleSessionId()
	return s, s != noConsoleSession
}

// Launch implements desktop.Launcher.
func (l *HelperLauncher) Launch() (desktop.Process, error) {
	session, ok := l.ActiveSession()
	if !ok {
		return nil, errors.New("no session is attached to the console")
	}
	var tok windows.Token
	if IsWine() {
		l.wineOnce.Do(func() {
			l.Log("Under Wine there is no session 0: the remote-access helper runs as a child process of the service, on its desktop.")
		})
	} else {
		var err error
		if tok, err = sessionToken(session); err != nil {
			return nil, err
		}
		defer tok.Close()
	}
	return l.spawn(tok, session)
}

// sessionToken is the service's own token (SYSTEM) moved to the session.
func sessionToken(session uint32) (windows.Token, error) {
	var own windows.Token
	access := uint32(windows.TOKEN_DUPLICATE | windows.TOKEN_QUERY | windows.TOKEN_ASSIGN_PRIMARY | windows.TOKEN_ADJUST_DEFAULT | windows.TOKEN_ADJUST_SESSIONID)
	if err := windows.OpenProcessToken(windows.CurrentProcess(), access, &own); err != nil {
		return 0, fmt.Errorf("the service's token: %w", err)
	}
	defer own.Close()
	var dup windows.Token
	if err := windows.DuplicateTokenEx(own, windows.MAXIMUM_ALLOWED, nil, windows.SecurityIdentification, windows.TokenPrimary, &dup); err != nil {
		return 0, fmt.Errorf("duplicate the service's token: %w", err)
	}
	// Moving a token to another session needs SeTcbPrivilege, which SYSTEM holds.
	enable("SeTcbPrivilege")
	if err := windows.SetTokenInformation(dup, windows.TokenSessionId, (*byte)(unsafe.Pointer(&session)), uint32(unsafe.Sizeof(session))); err != nil {
		dup.Close()
		return 0, fmt.Errorf("move the token to session %d: %w", session, err)
	}
	return dup, nil
}

// spawn starts the helper with tok (0: as this process, under Wine).
func (l *HelperLauncher) spawn(tok windows.Token, session uint32) (desktop.Process, error) {
	var pipes [3][2]windows.Handle // stdin, stdout, stderr: {read, write}
	closeAll := func() {
		for _, p := range pipes {
			for _, h := range p {
				if h != 0 {
					windows.CloseHandle(h)
				}
			}
		}
	}
	for i := range pipes {
		if err := windows.CreatePipe(&pipes[i][0], &pipes[i][1], nil, 64<<10); err != nil {
			closeAll()
			return nil, fmt.Errorf("pipe for the helper: %w", err)
		}
	}
	// The helper's ends: the read end of stdin, the write ends of stdout and stderr.
	child := []windows.Handle{pipes[0][0], pipes[1][1], pipes[2][1]}
	for _, h := range child {
		if err := windows.SetHandleInformation(h, windows.HANDLE_FLAG_INHERIT, windows.HANDLE_FLAG_INHERIT); err != nil {
			closeAll()
			return nil, fmt.Errorf("pipe for the helper: %w", err)
		}
	}
	attrs, err := windows.NewProcThreadAttributeList(1)
	if err != nil {
		closeAll()
		return nil, fmt.Errorf("attribute list: %w", err)
	}
	defer attrs.Delete()
	// Only these three handles are inherited, whatever else the service has open.
	if err := attrs.Update(windows.PROC_THREAD_ATTRIBUTE_HANDLE_LIST, unsafe.Pointer(&child[0]), uintptr(len(child))*unsafe.Sizeof(child[0])); err != nil {
		closeAll()
		return nil, fmt.Errorf("handle list: %w", err)
	}
	var si windows.StartupInfoEx
	si.Cb = uint32(unsafe.Sizeof(si))
	si.Desktop = windows.StringToUTF16Ptr(userDesktop)
	si.Flags = windows.STARTF_USESTDHANDLES
	si.StdInput, si.StdOutput, si.StdErr = child[0], child[1], child[2]
	si.ProcThreadAttributeList = attrs.List()
	cmdline := windows.StringToUTF16Ptr(windows.EscapeArg(l.Exe) + " " + desktop.HelperArg)
	dir, _ := windows.GetSystemDirectory()
	flags := uint32(windows.EXTENDED_STARTUPINFO_PRESENT | windows.CREATE_UNICODE_ENVIRONMENT | windows.CREATE_SUSPENDED | windows.CREATE_NO_WINDOW)
	var env *uint16
	if tok != 0 {
		if err := windows.CreateEnvironmentBlock(&env, tok, false); err == nil {
			defer windows.DestroyEnvironmentBlock(env)
		} else {
			env = nil
		}
	}
	var pi windows.ProcessInformation
	if tok != 0 {
		err = windows.CreateProcessAsUser(tok, nil, cmdline, nil, nil, true, flags, env, windows.StringToUTF16Ptr(dir), &si.StartupInfo, &pi)
	} else {
		flags &^= windows.CREATE_UNICODE_ENVIRONMENT
		err = windows.CreateProcess(nil, cmdline, nil, nil, true, flags, nil, windows.StringToUTF16Ptr(dir), &si.StartupInfo, &pi)
	}
	// The helper holds its ends now (or never will).
	for _, h := range child {
		windows.CloseHandle(h)
	}
	ours := [3]windows.Handle{pipes[0][1], pipes[1][0], pipes[2][0]}
	if err != nil {
		closeHandles(ours[:]...)
		return nil, fmt.Errorf("start the helper in session %d: %w", session, err)
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
		closeHandles(ours[:]...)
		return nil, fmt.Errorf("job object for the helper: %w", err)
	}
	if _, err := windows.ResumeThread(pi.Thread); err != nil {
		windows.TerminateJobObject(job, 1)
		windows.CloseHandle(job)
		windows.CloseHandle(pi.Process)
		closeHandles(ours[:]...)
		return nil, fmt.Errorf("resume the helper: %w", err)
	}
	p := &helperProcess{session: session, process: pi.Process, job: job,
		in: os.NewFile(uintptr(ours[0]), "helper-stdin"), out: os.NewFile(uintptr(ours[1]), "helper-stdout")}
	errOut := os.NewFile(uintptr(ours[2]), "helper-stderr")
	go func() {
		defer errOut.Close()
		lines := bufio.NewScanner(errOut)
		for lines.Scan() {
			l.Log("Remote-access helper (standard error): " + strings.TrimSpace(lines.Text()))
		}
	}()
	return p, nil
}

// helperProcess implements desktop.Process.
type helperProcess struct {
	session uint32
	process windows.Handle
	job     windows.Handle
	in, out *os.File
	once    sync.Once
}

func (p *helperProcess) Read(b []byte) (int, error)  { return p.out.Read(b) }
func (p *helperProcess) Write(b []byte) (int, error) { return p.in.Write(b) }
func (p *helperProcess) Session() uint32             { return p.session }

func (p *helperProcess) Wait() error {
	if _, err := windows.WaitForSingleObject(p.process, windows.INFINITE); err != nil {
		return err
	}
	var code uint32
	if err := windows.GetExitCodeProcess(p.process, &code); err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("exit code %d", code)
	}
	return nil
}

// Kill ends the helper and everything it started (the job), then closes the pipes: its
// output ends with the process, so no read is left waiting.
func (p *helperProcess) Kill() error {
	p.once.Do(func() {
		windows.TerminateJobObject(p.job, 1)
		windows.WaitForSingleObject(p.process, 5000)
		p.in.Close()
		p.out.Close()
		windows.CloseHandle(p.job)
	})
	return nil
}

// Language implements desktop.Launcher: the display language of the session's user
// (their PreferredUILanguages), else of Windows.
func (l *HelperLauncher) Language(session uint32) string {
	if l.Lang != "" {
		return l.Lang
	}
	if lang, ok := userLanguage(session); ok {
		return lang
	}
	id, _, _ := procGetSystemDefaultUILa.Call()
	if id == 0 {
		id, _, _ = procGetUserDefaultUILanguage.Call()
	}
	if id&0x3ff == 0x07 { // LANG_GERMAN, any region
		return "de"
	}
	return "en"
}

// userLanguage reads the signed-in user's display language from their registry hive,
// which Windows has loaded while they are signed in.
func userLanguage(session uint32) (string, bool) {
	var tok windows.Token
	if err := windows.WTSQueryUserToken(session, &tok); err != nil {
		return "", false // nobody signed in there: the sign-in screen
	}
	defer tok.Close()
	u, err := tok.GetTokenUser()
	if err != nil {
		return "", false
	}
	k, err := registry.OpenKey(registry.USERS, u.User.Sid.String()+`\Control Panel\Desktop`, registry.QUERY_VALUE)
	if err != nil {
		return "", false
	}
	defer k.Close()
	langs, _, err := k.GetStringsValue("PreferredUILanguages")
	if err != nil || len(langs) == 0 {
		return "", false
	}
	if strings.HasPrefix(strings.ToLower(langs[0]), "de") {
		return "de", true
	}
	return "en", true
}

// sasSaved is the policy value as it was before the app changed it.
type sasSaved struct {
	Present bool   `json:"present"`
	Value   uint32 `json:"value"`
}

func sasSavedPath() string { return filepath.Join(ProgramDir(), sasSavedName) }

// SendSAS implements desktop.Launcher: the policy value is kept first (once), then
// services are allowed to send the SAS, then sas.dll's SendSAS(FALSE) asks Winlogon for
// the secure attention sequence, as Ctrl+Alt+Del on the keyboard would.
func (l *HelperLauncher) SendSAS() error {
	if err := procSendSAS.Find(); err != nil {
		return errors.New("this Windows has no SendSAS (sas.dll)")
	}
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, sasPolicyKey, registry.QUERY_VALUE|registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return fmt.Errorf("the SoftwareSASGeneration policy: %w", err)
	}
	defer k.Close()
	old, _, err := k.GetIntegerValue(sasPolicyValue)
	present := err == nil
	if _, err := os.Stat(sasSavedPath()); errors.Is(err, fs.ErrNotExist) {
		data, _ := json.Marshal(sasSaved{Present: present, Value: uint32(old)})
		if err := os.WriteFile(sasSavedPath(), data, 0o600); err != nil {
			return fmt.Errorf("keep the SoftwareSASGeneration policy value: %w", err)
		}
	}
	if !present || old&1 == 0 {
		if err := k.SetDWordValue(sasPolicyValue, uint32(old)|1); err != nil {
			return fmt.Errorf("allow services to send Ctrl+Alt+Del: %w", err)
		}
	}
	procSendSAS.Call(0)
	return nil
}

// RestoreSAS implements desktop.Launcher.
func (l *HelperLauncher) RestoreSAS() error { return restoreSASPolicy() }

// RestoreRemoteSettings implements app.OS: the clean-up puts the policy value back too,
// should the service have died while a technician was connected.
func (o *OS) RestoreRemoteSettings() error { return restoreSASPolicy() }

// restoreSASPolicy puts the SoftwareSASGeneration value back as the kept file says, then
// deletes the file; without the file there is nothing to do.
func restoreSASPolicy() error {
	data, err := os.ReadFile(sasSavedPath())
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the kept SoftwareSASGeneration value: %w", err)
	}
	var saved sasSaved
	if err := json.Unmarshal(data, &saved); err != nil {
		// A damaged file cannot say what was there; the safe guess is Windows' default.
		saved = sasSaved{}
	}
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, sasPolicyKey, registry.SET_VALUE|registry.WOW64_64KEY)
	if err != nil && !notExist(err) {
		return fmt.Errorf("the SoftwareSASGeneration policy: %w", err)
	}
	if err == nil {
		if saved.Present {
			err = k.SetDWordValue(sasPolicyValue, saved.Value)
		} else if err = k.DeleteValue(sasPolicyValue); notExist(err) {
			err = nil
		}
		k.Close()
		if err != nil {
			return fmt.Errorf("restore the SoftwareSASGeneration policy value: %w", err)
		}
	}
	if err := os.Remove(sasSavedPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", sasSavedName, err)
	}
	return nil
}

// RunHelper is the exe run with desktop.HelperArg: the helper's side of the pipes on its
// standard input and output, until the service ends it. Its standard error goes to the
// service's event log; nothing else may write to its standard output.
func RunHelper() int {
	dpiAware()
	d, err := NewDesktop(nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 2
	}
	if err := desktop.Serve(os.Stdin, os.Stdout, d); err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}
