package remote

import (
	"errors"
	"io"
)

// OS is what remote access needs from the PC. The Windows implementation is in agent/winos
// (Remote); agent/remote/fakeremote is a fake for the tests.
type OS interface {
	// Logon checks the password of the local account and signs it in, elevated (the
	// linked token of an administrator under UAC), with its profile loaded. A wrong
	// password is ErrWrongPassword. The caller wipes password afterwards; Logon must not
	// keep it or any copy of it.
	Logon(account string, password []byte) (Account, error)
}

// ErrWrongPassword is Logon's answer to a wrong password (Windows: ERROR_LOGON_FAILURE).
var ErrWrongPassword = errors.New("wrong password")

// Account is the hidden account signed in. What it opens and starts, it opens and starts
// as that account, so the PC's access lists decide what the technician may do.
type Account interface {
	// Shell names the shell StartShell starts: "powershell.exe", or "cmd.exe" where
	// PowerShell is missing.
	Shell() string
	// StartShell starts the shell as the account, elevated, in a pseudo console of the
	// size; it and every process it starts end with Shell.Close.
	StartShell(cols, rows int) (Shell, error)
	// Downloads is the account's Downloads folder (created if missing).
	Downloads() (string, error)
	// Open opens a file for reading as the account. Errors match fs.ErrNotExist and
	// fs.ErrPermission where that is what happened.
	Open(path string) (File, error)
	// Create starts a new file that is to appear at path, as the account: the data goes
	// into a hidden file next to it until Commit. It fails with an error matching
	// fs.ErrExist when path exists, fs.ErrNotExist when its folder does not, and
	// fs.ErrPermission when the account may not write there.
	Create(path string) (NewFile, error)
	// Close signs the account out (the profile, the token). The shells are closed first.
	Close() error
}

// Shell is a shell running in a pseudo console.
type Shell interface {
	// Read reads the pseudo console's output (UTF-8 with VT sequences). It returns
	// io.EOF once the shell has exited and its output has been read, or after Close.
	io.Reader
	// Write types into the pseudo console.
	io.Writer
	// Resize changes the pseudo console's size.
	Resize(cols, rows int) error
	// Wait waits until the shell has exited and returns its exit code.
	Wait() (int, error)
	// Close ends the shell and every process it started, and the pseudo console. It may
	// be called more than once, and while Read or Wait wait.
	Close() error
}

// File is a file open for reading.
type File interface {
	io.ReadCloser
	// Size is the file's size when it was opened.
	Size() int64
}

// NewFile is a file being written that appears under its name only at Commit.
type NewFile interface {
	io.Writer
	// Commit gives the file its name; it fails with an error matching fs.ErrExist when a
	// file of that name appeared meanwhile (and then removes the data, as Abort does).
	Commit() error
	// Abort removes what was written. After Commit it does nothing.
	Abort() error
}
