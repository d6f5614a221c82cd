package winos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
	"golang.org/x/sys/windows/svc/eventlog"

	"github.com/adhoc-support/adhoc-support/agent/app"
)

// Names the app registers on the PC. Each is removed at clean-up.
const (
	ServiceName     = "AdHocSupportSession"
	DisplayName     = "Ad-hoc Support Session"
	programDirName  = "AdHocSupport"
	exeName         = "SupportSession.exe"
	stateName       = "state.json"
	uninstallKey    = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall\` + ServiceName
	hiddenUsersKey  = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts\UserList`
	specialAccounts = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\SpecialAccounts`
)

// OS implements app.OS on Windows.
type OS struct {
	inService bool
	version   string
	elog      *eventlog.Log
	self      *os.File // the running exe, pinned at start of a person-run app (pinSelf)
}

var _ app.OS = (*OS)(nil)

// New returns the Windows layer. inService tells whether this process is the service,
// which cannot stop itself and must not delete its own running file directly.
func New(inService bool, version string) *OS {
	o := &OS{inService: inService, version: version}
	// Before the service registers the event source, Windows still accepts the entries
	// (shown with a note that the source is unknown); nothing is registered just to log.
	if l, err := eventlog.Open(ServiceName); err == nil {
		o.elog = l
	}
	if !inService {
		// As early as possible: from here on the file cannot be swapped (see pinSelf).
		// Without the pin InstallExe refuses, so a failure here only means no setup.
		if f, err := pinSelf(); err == nil {
			o.self = f
		} else {
			o.Log(app.LogWarning, "The app could not lock its own file: "+err.Error())
		}
	}
	return o
}

// Close releases the event log.
func (o *OS) Close() {
	if o.elog != nil {
		o.elog.Close()
	}
}

// ProgramDir is the program folder: %ProgramFiles%\AdHocSupport.
func ProgramDir() string {
	dir, err := windows.KnownFolderPath(windows.FOLDERID_ProgramFiles, 0)
	if err != nil || dir == "" {
		dir = os.Getenv("ProgramFiles")
	}
	if dir == "" {
		dir = `C:\Program Files`
	}
	return filepath.Join(dir, programDirName)
}

// StatePath is the state file in the program folder.
func StatePath() string { return filepath.Join(ProgramDir(), stateName) }

// Log implements app.OS.
func (o *OS) Log(kind app.LogKind, msg string) {
	if o.elog == nil {
		return
	}
	switch kind {
	case app.LogError:
		o.elog.Error(3, msg)
	case app.LogWarning:
		o.elog.Warning(2, msg)
	default:
		o.elog.Info(1, msg)
	}
}

// MachineInfo implements app.OS.
func (o *OS) MachineInfo() (app.MachineInfo, error) {
	host, err := os.Hostname()
	if err != nil {
		return app.MachineInfo{}, fmt.Errorf("hostname: %w", err)
	}
	id, err := machineGUID()
	if err != nil {
		return app.MachineInfo{}, err
	}
	return app.MachineInfo{OSVersion: osVersion(), Hostname: host, MachineID: id}, nil
}

// machineGUID is the ID Windows gives the installation; it survives renames and network
// changes, so the server can tell that two invitations are on one PC.
func machineGUID() (string, error) {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Cryptography`, registry.QUERY_VALUE|registry.WOW64_64KEY)
	if err != nil {
		return "", fmt.Errorf("machine id: %w", err)
	}
	defer k.Close()
	id, _, err := k.GetStringValue("MachineGuid")
	if err != nil {
		return "", fmt.Errorf("machine id: %w", err)
	}
	return strings.ToLower(id), nil
}

// osVersion reads like "Windows 11 Pro 24H2 (10.0.26100.2314)".
func osVersion() string {
	v := windows.RtlGetVersion()
	name, display := "Windows", ""
	var ubr uint64
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, `SOFTWARE\Microsoft\Windows NT\CurrentVersion`, registry.QUERY_VALUE|registry.WOW64_64KEY); err == nil {
		if s, _, err := k.GetStringValue("ProductName"); err == nil && s != "" {
			name = s
		}
		display, _, _ = k.GetStringValue("DisplayVersion")
		ubr, _, _ = k.GetIntegerValue("UBR")
		k.Close()
	}
	// Windows 11 still calls itself "Windows 10" in ProductName; the build tells.
	if v.BuildNumber >= 22000 {
		name = strings.Replace(name, "Windows 10", "Windows 11", 1)
	}
	if display != "" {
		name += " " + display
	}
	return fmt.Sprintf("%s (%d.%d.%d.%d)", name, v.MajorVersion, v.MinorVersion, v.BuildNumber, ubr)
}

// IsAdmin reports whether the process runs elevated.
func IsAdmin() bool {
	return windows.GetCurrentProcessToken().IsElevated()
}

// UILanguage is the person's Windows display language, as the app speaks it.
func UILanguage() app.Lang {
	id, _, _ := procGetUserDefaultUILanguage.Call()
	// The low 10 bits are the primary language; 0x07 is German (any region).
	if id&0x3ff == 0x07 {
		return app.German
	}
	return app.English
}

var procGetUserDefaultUILanguage = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetUserDefaultUILanguage")

func notExist(err error) bool {
	return errors.Is(err, registry.ErrNotExist) || errors.Is(err, windows.ERROR_FILE_NOT_FOUND) || errors.Is(err, os.ErrNotExist)
}
