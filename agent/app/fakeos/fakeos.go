// Package fakeos is an in-memory PC for the app's tests: accounts, groups, the hidden-
// account registry values, the service and the uninstall entry live in maps, the program
// folder is a real folder. It can fail or "crash" at a chosen step, to test that the app
// resumes.
package fakeos

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/internal/clock"
)

// User is a local account on the fake PC.
type User struct {
	Password string
	Comment  string
	SID      string
	Groups   []string // SIDs of the local groups the account is in
}

// Service is the fake PC's Windows service of the app.
type Service struct {
	Exe     string
	Running bool
}

// Crash is what a fake panics with at the step named by CrashAt: the test recovers it and
// starts a new App on the same PC, as after a power cut.
type Crash struct{ Step string }

// OS is a fake PC. The zero value is not usable; call New.
type OS struct {
	mu sync.Mutex

	Info      app.MachineInfo
	Users     map[string]*User
	Hidden    map[string]uint32 // SpecialAccounts\UserList values
	Svc       *Service
	Uninstall string // the exe registered under Settings → Apps, "" when none
	// Events is the event log.
	Events []string
	// Profiles are the account profiles left on the PC, by SID.
	Profiles map[string]bool
	// RemoteSettingsChanged stands for a SoftwareSASGeneration policy value remote access
	// changed and has not put back (a service that died while a technician was
	// connected leaves it so).
	RemoteSettingsChanged bool

	// Dir is the program folder; Self is the running app (the download).
	Dir  string
	Self string

	// Checked lists the files VerifySigner was asked about, in order.
	Checked []string

	fail    map[string]error
	crashAt string
	nextRID int
	// signed maps the SHA-256 of a file's content to the certificate (SHA-256, hex) that
	// signed it: a copy of a signed file is signed, a changed one is not.
	signed map[[32]byte]string
	handed [][]byte // the password slices CreateUser was handed
}

// Handed returns the password slices CreateUser was handed, as they are now: the app must
// have wiped each (all zeros) once the call returned.
func (f *OS) Handed() [][]byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.handed)
}

// New returns a fake PC whose program folder will be dir/Program and whose running app is
// dir/Downloads/<exeName>.
func New(dir, exeName string) *OS {
	self := filepath.Join(dir, "Downloads", exeName)
	if err := os.MkdirAll(filepath.Dir(self), 0o755); err != nil {
		panic(err)
	}
	if err := os.WriteFile(self, []byte("MZ fake app"), 0o755); err != nil {
		panic(err)
	}
	return &OS{
		Info:     app.MachineInfo{OSVersion: "Windows 11 Pro 24H2 (10.0.26100)", Hostname: "ANNA-PC", MachineID: "6f1c1f2e-0000-4000-8000-000000000001"},
		Users:    map[string]*User{"Anna": {SID: "S-1-5-21-1-2-3-1001", Groups: []string{"S-1-5-32-545"}}},
		Hidden:   map[string]uint32{},
		Profiles: map[string]bool{},
		Dir:      filepath.Join(dir, "Program"),
		Self:     self,
		fail:     map[string]error{},
		nextRID:  1002,
		signed:   map[[32]byte]string{},
	}
}

// StatePath is where the app keeps its state on this PC.
func (f *OS) StatePath() string { return filepath.Join(f.Dir, "state.json") }

// FailAt makes the named step fail with err until cleared with a nil err.
func (f *OS) FailAt(step string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil {
		delete(f.fail, step)
		return
	}
	f.fail[step] = err
}

// CrashAt makes the named step panic with Crash once, before it acts.
func (f *OS) CrashAt(step string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.crashAt = step
}

// step is called with f.mu held at the start of every operation.
func (f *OS) step(name string) error {
	if f.crashAt == name {
		f.crashAt = ""
		f.mu.Unlock()
		defer f.mu.Lock()
		panic(Crash{Step: name})
	}
	return f.fail[name]
}

// MachineInfo implements app.OS.
func (f *OS) MachineInfo() (app.MachineInfo, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.Info, f.step("MachineInfo")
}

// UserExists implements app.OS.
func (f *OS) UserExists(name string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("UserExists"); err != nil {
		return false, err
	}
	_, ok := f.user(name)
	return ok, nil
}

// user finds an account the way Windows does: names are case-insensitive.
func (f *OS) user(name string) (string, bool) {
	for n := range f.Users {
		if equalFold(n, name) {
			return n, true
		}
	}
	return "", false
}

func equalFold(a, b string) bool {
	return len(a) == len(b) && (a == b || lower(a) == lower(b))
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 32
		}
	}
	return string(b)
}

// CreateUser implements app.OS. It keeps the slice it was handed (not a copy), so that a
// test can see that the app wiped it afterwards (Handed), and the password as a string
// for the account, as Windows keeps its hash.
func (f *OS) CreateUser(name string, password []byte, comment string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handed = append(f.handed, password)
	if err := f.step("CreateUser"); err != nil {
		return err
	}
	if _, ok := f.user(name); ok {
		return fmt.Errorf("create user %s: account exists", name)
	}
	f.Users[name] = &User{Password: string(password), Comment: comment, SID: fmt.Sprintf("S-1-5-21-1-2-3-%d", f.nextRID)}
	f.nextRID++
	return nil
}

// UserSID implements app.OS.
func (f *OS) UserSID(name string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("UserSID"); err != nil {
		return "", err
	}
	n, ok := f.user(name)
	if !ok {
		return "", fmt.Errorf("no account %s", name)
	}
	// Signing in once makes a profile, as the technician will.
	f.Profiles[f.Users[n].SID] = true
	return f.Users[n].SID, nil
}

// AddToGroup implements app.OS.
func (f *OS) AddToGroup(name, groupSID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("AddToGroup"); err != nil {
		return err
	}
	n, ok := f.user(name)
	if !ok {
		return fmt.Errorf("add %s to %s: no such account", name, groupSID)
	}
	if !slices.Contains(f.Users[n].Groups, groupSID) {
		f.Users[n].Groups = append(f.Users[n].Groups, groupSID)
	}
	return nil
}

// HideUser implements app.OS.
func (f *OS) HideUser(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("HideUser"); err != nil {
		return err
	}
	f.Hidden[name] = 0
	return nil
}

// UnhideUser implements app.OS.
func (f *OS) UnhideUser(name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("UnhideUser"); err != nil {
		return err
	}
	delete(f.Hidden, name)
	return nil
}

// DeleteUser implements app.OS.
func (f *OS) DeleteUser(name, sid string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("DeleteUser"); err != nil {
		return err
	}
	if n, ok := f.user(name); ok {
		delete(f.Users, n)
	}
	if sid != "" {
		delete(f.Profiles, sid)
	}
	return nil
}

// PrepareProgramDir implements app.OS.
func (f *OS) PrepareProgramDir() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("PrepareProgramDir"); err != nil {
		return err
	}
	return os.MkdirAll(f.Dir, 0o700)
}

// InstallExe implements app.OS.
func (f *OS) InstallExe() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("InstallExe"); err != nil {
		return "", err
	}
	data, err := os.ReadFile(f.Self)
	if err != nil {
		return "", fmt.Errorf("copy app: %w", err)
	}
	exe := filepath.Join(f.Dir, "SupportSession.exe")
	return exe, os.WriteFile(exe, data, 0o755)
}

// Sign makes the file at path, as it is now, signed by the certificate with that SHA-256.
func (f *OS) Sign(path, certSHA256 string) {
	data, err := os.ReadFile(path)
	if err != nil {
		panic(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signed[sha256.Sum256(data)] = certSHA256
}

// VerifySigner implements app.OS: the file must be as Sign saw it, signed by certSHA256.
func (f *OS) VerifySigner(path, certSHA256 string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Checked = append(f.Checked, path)
	if err := f.step("VerifySigner"); err != nil {
		return err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("verify %s: %w", path, err)
	}
	got, ok := f.signed[sha256.Sum256(data)]
	switch {
	case !ok:
		return fmt.Errorf("%s: no valid signature (TRUST_E_NOSIGNATURE)", path)
	case got != certSHA256:
		return fmt.Errorf("%s is signed by %s, not %s", path, got, certSHA256)
	}
	return nil
}

// InstallService implements app.OS.
func (f *OS) InstallService(exe string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("InstallService"); err != nil {
		return err
	}
	if f.Svc == nil {
		f.Svc = &Service{Exe: exe}
	}
	return nil
}

// StartService implements app.OS.
func (f *OS) StartService() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("StartService"); err != nil {
		return err
	}
	if f.Svc == nil {
		return errors.New("start service: not installed")
	}
	f.Svc.Running = true
	return nil
}

// StopService implements app.OS.
func (f *OS) StopService() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("StopService"); err != nil {
		return err
	}
	if f.Svc != nil {
		f.Svc.Running = false
	}
	return nil
}

// RemoveService implements app.OS.
func (f *OS) RemoveService() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("RemoveService"); err != nil {
		return err
	}
	f.Svc = nil
	return nil
}

// RegisterUninstall implements app.OS.
func (f *OS) RegisterUninstall(exe string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("RegisterUninstall"); err != nil {
		return err
	}
	f.Uninstall = exe
	return nil
}

// RemoveUninstall implements app.OS.
func (f *OS) RemoveUninstall() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("RemoveUninstall"); err != nil {
		return err
	}
	f.Uninstall = ""
	return nil
}

// RestoreRemoteSettings implements app.OS.
func (f *OS) RestoreRemoteSettings() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("RestoreRemoteSettings"); err != nil {
		return err
	}
	f.RemoteSettingsChanged = false
	return nil
}

// RemoveProgram implements app.OS.
func (f *OS) RemoveProgram(files []string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.step("RemoveProgram"); err != nil {
		return err
	}
	var errs []error
	for _, p := range files {
		if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(append(errs, os.RemoveAll(f.Dir))...)
}

// Log implements app.OS.
func (f *OS) Log(kind app.LogKind, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Events = append(f.Events, fmt.Sprintf("%d %s", kind, msg))
}

// Snapshot copies what the tests look at, under the lock.
func (f *OS) Snapshot() (users map[string]User, hidden map[string]uint32, svc *Service, uninstall string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	users = map[string]User{}
	for n, u := range f.Users {
		users[n] = *u
	}
	hidden = map[string]uint32{}
	for n, v := range f.Hidden {
		hidden[n] = v
	}
	if f.Svc != nil {
		s := *f.Svc
		svc = &s
	}
	return users, hidden, svc, f.Uninstall
}

// Clock is a fake clock: the product's clock.Fake (Now, Set, Advance), standing still
// until moved, with the app's Sleep on top: Sleep returns at once and moves the time on,
// unless the clock is held (Hold), when a sleep waits for the test.
type Clock struct {
	*clock.Fake

	mu sync.Mutex
	// Slept records every wait the app asked for and sat out.
	Slept []time.Duration
	// OnSleep, when set, runs after the time has moved on (outside the lock).
	OnSleep func(now time.Time)

	release chan struct{}      // closed by Release; nil while not held
	asleep  chan time.Duration // the sleeps that began while held
}

// NewClock returns a clock set to start.
func NewClock(start time.Time) *Clock { return &Clock{Fake: clock.NewFake(start)} }

// Hold makes every later Sleep wait in real time until the test calls Release, or until
// the sleep's context ends (the app woken early, by a push for example: the time then
// stands still and nothing is recorded). Each held sleep's duration is sent on the
// returned channel as it begins (without blocking; it holds 64), so that a test knows
// what the app waits for.
func (c *Clock) Hold() <-chan time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.release = make(chan struct{})
	c.asleep = make(chan time.Duration, 64)
	return c.asleep
}

// Release ends Hold: the sleeps under way, and all later ones, move the time on at once
// again.
func (c *Clock) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.release != nil {
		close(c.release)
		c.release = nil
	}
}

// Sleep implements app.Clock.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	release, asleep := c.release, c.asleep
	c.mu.Unlock()
	if release != nil {
		select {
		case asleep <- d:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c.mu.Lock()
	c.Advance(d)
	c.Slept = append(c.Slept, d)
	now, hook := c.Now(), c.OnSleep
	c.mu.Unlock()
	if hook != nil {
		hook(now)
	}
	return ctx.Err()
}
