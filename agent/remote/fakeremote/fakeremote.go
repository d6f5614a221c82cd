// Package fakeremote is a fake PC for remote access's tests (remote.OS): accounts with
// passwords, a shell that echoes what is typed and understands a few commands, and files
// in a real folder standing for the PC's drive, with folders the account may not write.
// Wine's LogonUserW accepts any password, so the password rule is proven here.
package fakeremote

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/adhoc-support/adhoc-support/agent/remote"
)

// PC is the fake PC. The zero value is not usable; call New.
type PC struct {
	// Root stands for the PC's drive: every path the tests use lies inside it.
	Root string

	mu        sync.Mutex
	passwords map[string]string
	denied    []string
	handed    [][]byte // the password buffers Logon was handed, to prove they are wiped
	logons    int
	shells    []*Shell
	open      int // accounts signed in and not yet signed out
}

var _ remote.OS = (*PC)(nil)

// New returns a fake PC whose drive is the folder root.
func New(root string) *PC {
	return &PC{Root: root, passwords: map[string]string{}}
}

// AddAccount creates a local account.
func (p *PC) AddAccount(name, password string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.passwords[strings.ToLower(name)] = password
}

// Deny keeps the accounts out of dir and everything in it, as an access list would.
func (p *PC) Deny(dir string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.denied = append(p.denied, filepath.Clean(dir))
}

// Logon implements remote.OS. It keeps the buffer it was handed (not a copy), so a test
// can check that the caller wiped it.
func (p *PC) Logon(account string, password []byte) (remote.Account, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.logons++
	p.handed = append(p.handed, password)
	want, ok := p.passwords[strings.ToLower(account)]
	if !ok || subtle.ConstantTimeCompare([]byte(want), password) != 1 {
		return nil, fmt.Errorf("logon %s: %w", account, remote.ErrWrongPassword)
	}
	p.open++
	return &Account{pc: p, name: account}, nil
}

// Logons counts the password checks.
func (p *PC) Logons() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logons
}

// Handed returns the password buffers Logon was handed.
func (p *PC) Handed() [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([][]byte(nil), p.handed...)
}

// Shells returns every shell started so far.
func (p *PC) Shells() []*Shell {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*Shell(nil), p.shells...)
}

// SignedIn counts the accounts signed in and not signed out.
func (p *PC) SignedIn() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.open
}

func (p *PC) deniedPath(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	path = filepath.Clean(path)
	for _, d := range p.denied {
		if path == d || strings.HasPrefix(path, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// Account is a signed-in account of the fake PC.
type Account struct {
	pc     *PC
	name   string
	mu     sync.Mutex
	closed bool
}

// Shell implements remote.Account.
func (a *Account) Shell() string { return "powershell.exe" }

// StartShell implements remote.Account.
func (a *Account) StartShell(cols, rows int) (remote.Shell, error) {
	s := newShell(a.name, cols, rows)
	a.pc.mu.Lock()
	a.pc.shells = append(a.pc.shells, s)
	a.pc.mu.Unlock()
	return s, nil
}

// Downloads implements remote.Account.
func (a *Account) Downloads() (string, error) {
	dir := filepath.Join(a.pc.Root, "Users", a.name, "Downloads")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return dir, nil
}

// Open implements remote.Account.
func (a *Account) Open(path string) (remote.File, error) {
	if a.pc.deniedPath(path) {
		return nil, &fs.PathError{Op: "open", Path: path, Err: fs.ErrPermission}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if fi.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("is a folder")}
	}
	return &file{File: f, size: fi.Size()}, nil
}

type file struct {
	*os.File
	size int64
}

func (f *file) Size() int64 { return f.size }

// Create implements remote.Account.
func (a *Account) Create(path string) (remote.NewFile, error) {
	if a.pc.deniedPath(path) {
		return nil, &fs.PathError{Op: "create", Path: path, Err: fs.ErrPermission}
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.partial")
	if err != nil {
		return nil, err
	}
	return &newFile{f: tmp, path: path}, nil
}

type newFile struct {
	f    *os.File
	path string
	done bool
}

func (n *newFile) Write(p []byte) (int, error) { return n.f.Write(p) }

// Commit links the data under its name, which fails when a file of that name exists.
func (n *newFile) Commit() error {
	if err := n.f.Close(); err != nil {
		return err
	}
	err := os.Link(n.f.Name(), n.path)
	os.Remove(n.f.Name())
	n.done = true
	return err
}

func (n *newFile) Abort() error {
	if n.done {
		return nil
	}
	n.done = true
	n.f.Close()
	return os.Remove(n.f.Name())
}

// Close implements remote.Account.
func (a *Account) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.closed {
		a.closed = true
		a.pc.mu.Lock()
		a.pc.open--
		a.pc.mu.Unlock()
	}
	return nil
}

// Shell is the fake shell: it echoes what is typed and, at Enter, runs the line:
// "echo TEXT", "whoami", "size" (the pseudo console's cols x rows), "flood N" (N bytes of
// output) and "exit N". Anything else is "not recognized".
type Shell struct {
	account string

	mu         sync.Mutex
	cond       *sync.Cond
	out        []byte
	line       []byte
	cols, rows int
	exited     bool
	code       int
	closed     bool // Close was called
	killed     bool // Close ended it while it ran
	resizes    int
}

func newShell(account string, cols, rows int) *Shell {
	s := &Shell{account: account, cols: cols, rows: rows}
	s.cond = sync.NewCond(&s.mu)
	s.out = append(s.out, s.prompt()...)
	return s
}

func (s *Shell) prompt() string { return `PS C:\Users\` + s.account + "> " }

// Read implements remote.Shell.
func (s *Shell) Read(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.out) == 0 && !s.exited && !s.closed {
		s.cond.Wait()
	}
	if len(s.out) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.out)
	s.out = s.out[n:]
	return n, nil
}

// Write implements remote.Shell: keystrokes as a terminal sends them (Enter is "\r").
func (s *Shell) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited || s.closed {
		return 0, errors.New("the shell has exited")
	}
	for _, c := range p {
		switch c {
		case '\r', '\n':
			s.out = append(s.out, "\r\n"...)
			s.run(string(s.line))
			s.line = s.line[:0]
			if s.exited {
				s.cond.Broadcast()
				return len(p), nil
			}
			s.out = append(s.out, s.prompt()...)
		default:
			s.line = append(s.line, c)
			s.out = append(s.out, c)
		}
	}
	s.cond.Broadcast()
	return len(p), nil
}

// run runs one command line; s.mu is held.
func (s *Shell) run(line string) {
	cmd, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	switch strings.ToLower(cmd) {
	case "":
	case "echo":
		s.out = append(s.out, arg+"\r\n"...)
	case "whoami":
		s.out = append(s.out, "anna-pc\\"+strings.ToLower(s.account)+"\r\n"...)
	case "size":
		s.out = append(s.out, fmt.Sprintf("%dx%d\r\n", s.cols, s.rows)...)
	case "flood":
		n, _ := strconv.Atoi(arg)
		for i := range n {
			s.out = append(s.out, 'a'+byte(i%26))
		}
		s.out = append(s.out, "\r\n"...)
	case "exit":
		s.code, _ = strconv.Atoi(arg)
		s.exited = true
	default:
		s.out = append(s.out, cmd+" : The term '"+cmd+"' is not recognized.\r\n"...)
	}
}

// Resize implements remote.Shell.
func (s *Shell) Resize(cols, rows int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cols, s.rows = cols, rows
	s.resizes++
	return nil
}

// Wait implements remote.Shell.
func (s *Shell) Wait() (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for !s.exited {
		s.cond.Wait()
	}
	return s.code, nil
}

// Close implements remote.Shell: a shell still running is killed (exit code 1, as
// TerminateJobObject gives it).
func (s *Shell) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if !s.exited {
		s.killed = true
		s.exited = true
		s.code = 1
	}
	s.cond.Broadcast()
	return nil
}

// Running reports whether the shell still runs.
func (s *Shell) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.exited
}

// Killed reports whether Close ended the shell while it ran.
func (s *Shell) Killed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killed
}

// Size is the pseudo console's size.
func (s *Shell) Size() (cols, rows int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cols, s.rows
}
