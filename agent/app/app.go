// Package app is the Support Session app's logic, free of Windows: pairing with the
// server, setting up the hidden administrator account and the service, polling, and the
// clean-up that must happen however the session ends. It talks to the PC through OS (the
// Windows implementation is in agent/winos, a fake for tests in agent/app/fakeos), to the
// person through UI, and keeps what must survive a crash or a reboot in a StateStore.
package app

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// AdministratorsSID is the well-known SID of the local Administrators group. The group's
// name is localized ("Administratoren" on a German Windows), its SID is not.
const AdministratorsSID = "S-1-5-32-544"

// AccountComment marks the accounts this app creates, so that a person looking at the
// PC's users can tell what the account is for.
const AccountComment = "Ad-hoc Support: removed automatically when the support session ends."

// MachineInfo is what the app reports about the PC in hello and pair.
type MachineInfo struct {
	OSVersion string
	Hostname  string
	MachineID string
}

// LogKind is the severity of an event log entry.
type LogKind int

// Event log severities.
const (
	LogInfo LogKind = iota
	LogWarning
	LogError
)

// OS is everything the app needs from the PC. Every removal is idempotent: removing what
// is already gone returns nil, so an interrupted clean-up can simply run again.
type OS interface {
	MachineInfo() (MachineInfo, error)

	// UserExists reports whether a local account of that name exists.
	UserExists(name string) (bool, error)
	// CreateUser creates a local account with the password; it never stores the password,
	// nor keeps the slice: the caller wipes it when CreateUser returns.
	CreateUser(name string, password []byte, comment string) error
	// UserSID returns the account's SID, or "" when the OS cannot tell.
	UserSID(name string) (string, error)
	// AddToGroup adds the account to the local group with the given well-known SID.
	AddToGroup(name, groupSID string) error
	// HideUser hides the account from the sign-in screen; UnhideUser removes that setting.
	HideUser(name string) error
	UnhideUser(name string) error
	// DeleteUser signs the account's sessions out, deletes the account and, when sid is
	// known, its profile.
	DeleteUser(name, sid string) error

	// PrepareProgramDir creates the program folder, writable only by administrators and
	// the system, where the app's copy and its state file live.
	PrepareProgramDir() error
	// InstallExe copies the running app into the program folder and returns the copy.
	InstallExe() (string, error)
	// InstallService registers exe as the session's service, started at every boot; it
	// does not start it.
	InstallService(exe string) error
	// StartService starts the registered service; a running service is left alone.
	StartService() error
	// StopService stops the service and waits until it has stopped.
	StopService() error
	// RemoveService stops and deletes the service.
	RemoveService() error
	// RegisterUninstall lists the app under Settings → Apps, so that a person can end the
	// session later; RemoveUninstall takes it away.
	RegisterUninstall(exe string) error
	RemoveUninstall() error
	// VerifySigner checks the file's Authenticode signature (WinVerifyTrust) and that the
	// certificate that made it has this SHA-256 (hex, of its DER encoding). A release build
	// calls it before it installs itself as a SYSTEM service.
	VerifySigner(path, certSHA256 string) error

	// RemoveProgram deletes the program folder, scheduling the deletion of whatever is
	// still running, and the listed files outside it (the download) only if each is
	// still the very file recorded: they lie in a folder the user can write, and this
	// runs with administrator or SYSTEM rights.
	RemoveProgram(userFiles []string) error

	// RestoreRemoteSettings puts back what remote access changed on the PC while a
	// technician was connected (the SoftwareSASGeneration policy value that lets the
	// service send Ctrl+Alt+Del), as it was before; with nothing changed it does nothing.
	RestoreRemoteSettings() error

	// Log writes to the Windows event log. Never pass a secret. The live connection logs
	// from its own goroutine, so Log must be safe for concurrent use.
	Log(kind LogKind, msg string)
}

// UI is how the app talks to the person in front of the PC.
type UI interface {
	// Say shows a line of text.
	Say(text string)
	// Ask shows a prompt and returns the line typed; io.EOF means nobody can answer.
	Ask(prompt string) (string, error)
}

// Clock is time as the app sees it; tests replace it to run a day in milliseconds. It is
// the product's clock.Clock with Sleep, because the app waits on it (between polls, before
// a retry) where the server only reads it.
type Clock interface {
	clock.Clock
	// Sleep waits for d or until ctx is done, whichever comes first.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{ clock.Real }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Config wires an App.
type Config struct {
	// ServerURL is the API's base URL, used for a new pairing; a paired app uses the one
	// in its state.
	ServerURL string
	Version   string
	// HTTPClient carries the proxy settings; nil means a client with a 30 s timeout.
	HTTPClient *http.Client
	OS         OS
	UI         UI
	Store      StateStore
	Clock      Clock
	Lang       Lang
	// Proxy is the proxy URL the person's session uses for ServerURL ("" for none); it
	// is kept in the state for the service, which runs as another account.
	Proxy string
	// ExePath is the file the person started (the download); it is removed at clean-up.
	ExePath string
	// Development is a development build (version "…-dev"): it may talk plain HTTP to
	// this machine, where the local stack runs. A release build talks HTTPS only, so that
	// a program listening on a local port cannot play the server and have the elevated
	// app create an administrator account with its own name and password.
	Development bool
	// Signer is the SHA-256 (hex) of the certificate a release build is signed with (set at
	// build time, `make agent`): before it installs itself as a SYSTEM service, a release
	// build checks that its own copy carries a valid signature by that certificate. A
	// development build does not check (its certificate is made on the developer's machine).
	Signer string
	// MaxSession is the most a session may last on this PC after pairing, whatever the
	// server says (plus ExpirySlack); zero is DefaultMaxSession.
	MaxSession time.Duration
	// Jitter returns a number in [0, 1); nil means math/rand/v2. It must be safe for
	// concurrent use (the live connection draws from it too).
	Jitter func() float64
	// Live tunes the live connection; the zero value is the product's timing.
	Live LiveTiming
	// Remote is the PC's side of remote access (agent/winos.Remote); nil: the app takes
	// no remote connections.
	Remote remote.OS
	// Desktop reaches the user's desktop for the screen, input and clipboard
	// (agent/desktop.Host); nil: remote access has the terminal and the files only.
	Desktop remote.Desktop
}

// DefaultMaxSession is the session length of DESIGN.md: 24 hours from activation.
const DefaultMaxSession = 24 * time.Hour

// ExpirySlack is what the app adds to MaxSession for a PC clock behind the server's: the
// server's expiresAt is its own clock's, and a session ends on whichever clock says so
// first, so a PC running a few minutes slow still keeps the session it was given.
const ExpirySlack = 10 * time.Minute

// App runs the Support Session app.
type App struct {
	cfg Config
}

// New returns an App; zero fields of cfg get their defaults.
func New(cfg Config) *App {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Jitter == nil {
		cfg.Jitter = rand.Float64
	}
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Lang == "" {
		cfg.Lang = English
	}
	if cfg.MaxSession <= 0 {
		cfg.MaxSession = DefaultMaxSession
	}
	cfg.Live = cfg.Live.withDefaults()
	return &App{cfg: cfg}
}

func (a *App) client(serverURL string) *protocol.Client {
	c := protocol.NewClient(serverURL, a.cfg.HTTPClient)
	c.Version = a.cfg.Version
	return c
}

func (a *App) say(key msgKey, args ...any) { a.cfg.UI.Say(a.cfg.Lang.text(key, args...)) }

func (a *App) ask(key msgKey, args ...any) (string, error) {
	return a.cfg.UI.Ask(a.cfg.Lang.text(key, args...))
}

func (a *App) now() time.Time { return a.cfg.Clock.Now() }

// Errors Start returns; the person has been told what happened and what to do.
var (
	// ErrRefused: the server refused the invitation or the code.
	ErrRefused = errors.New("refused by the support server")
	// ErrNoAnswer: the app needed input and nobody could give it.
	ErrNoAnswer = errors.New("no answer from the user")
	// ErrSetupFailed: the PC could not be set up; everything was removed again.
	ErrSetupFailed = errors.New("setting up the PC failed")
	// ErrNoSession: there is no session on this PC.
	ErrNoSession = errors.New("no support session on this PC")
)
