package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// The terminal channel (remote-protocol.md, "terminal"): the first text message signs in
// with the hidden account's password and gives the size; then binary messages are
// keystrokes one way and the pseudo console's output the other.

// Sizes a pseudo console may take; the login's size is clamped to them.
const (
	defaultCols, defaultRows = 120, 32
	maxCols, maxRows         = 500, 300
)

// termIn is a text message of the console. Password is only in the login.
type termIn struct {
	Type     string `json:"type"`
	Password secret `json:"password"`
	Cols     int    `json:"cols"`
	Rows     int    `json:"rows"`
}

type loginAnswer struct {
	Type         string `json:"type"` // "login"
	OK           bool   `json:"ok"`
	AttemptsLeft *int   `json:"attemptsLeft,omitempty"`
	Shell        string `json:"shell,omitempty"`
	Message      string `json:"message,omitempty"`
}

type exitMessage struct {
	Type string `json:"type"` // "exit"
	Code int    `json:"code"`
}

type errorMessage struct {
	Type    string `json:"type"` // "error"
	Message string `json:"message"`
}

// terminal serves one terminal channel.
type terminal struct {
	c   *conn
	dc  *webrtc.DataChannel
	out *sender

	mu    sync.Mutex
	shell Shell // nil until signed in, and again after the shell exits
}

func newTerminal(c *conn, dc *webrtc.DataChannel) {
	t := &terminal{c: c, dc: dc, out: newSender(c, dc)}
	dc.OnMessage(t.message)
	dc.OnClose(func() { t.closeShell() })
	// The shell ends with the connection.
	c.onEnd(t.closeShell)
}

// message handles one message; pion calls it on the channel's own goroutine, one at a
// time, so the password check holds up nothing but this channel.
func (t *terminal) message(msg webrtc.DataChannelMessage) {
	t.c.received(len(msg.Data))
	if !msg.IsString {
		t.mu.Lock()
		sh := t.shell
		t.mu.Unlock()
		if sh != nil {
			if _, err := sh.Write(msg.Data); err != nil {
				t.c.log(Warning, "typing into the shell: "+err.Error())
			}
		}
		return // keystrokes before the sign-in go nowhere
	}
	var m termIn
	err := json.Unmarshal(msg.Data, &m)
	// The message held the password, and so does m until the check is done.
	wipe(msg.Data)
	defer wipe(m.Password)
	if err != nil {
		t.fail("The message could not be read.")
		return
	}
	switch m.Type {
	case "login":
		t.login(m.Password, m.Cols, m.Rows)
	case "resize":
		t.mu.Lock()
		sh := t.shell
		t.mu.Unlock()
		if sh != nil {
			cols, rows := clampSize(m.Cols, m.Rows)
			if err := sh.Resize(cols, rows); err != nil {
				t.c.log(Warning, "resizing the pseudo console: "+err.Error())
			}
		}
	default:
		t.fail(fmt.Sprintf("Unknown message type %q.", m.Type))
	}
}

// login checks the password and starts the shell.
func (t *terminal) login(password []byte, cols, rows int) {
	t.mu.Lock()
	running := t.shell != nil
	t.mu.Unlock()
	if running {
		t.fail("The shell is running already.")
		return
	}
	acct, left, err := t.c.logon(password)
	wipe(password)
	switch {
	case errors.Is(err, ErrWrongPassword):
		msg := fmt.Sprintf("Wrong password for %s. %d attempts left.", t.c.m.cfg.Account, left)
		if left == 1 {
			msg = fmt.Sprintf("Wrong password for %s. 1 attempt left: after one more wrong password this connection ends.", t.c.m.cfg.Account)
		}
		if left == 0 {
			msg = fmt.Sprintf("Wrong password for %s, %d times: this connection ends. Check the password in the session's details and connect again.", t.c.m.cfg.Account, maxAttempts)
		}
		_ = t.out.text(loginAnswer{Type: "login", OK: false, AttemptsLeft: &left, Message: msg})
		if left == 0 {
			// The answer goes out first; then the connection ends.
			t.out.drain(500 * time.Millisecond)
			t.c.end(protocol.RemotePasswordAttempts)
		}
		return
	case errors.Is(err, errEnded):
		return
	case err != nil:
		t.c.log(Warning, "checking the password failed: "+err.Error())
		t.fail("The password could not be checked on the PC: " + err.Error())
		return
	}
	cols, rows = clampSize(cols, rows)
	sh, err := acct.StartShell(cols, rows)
	if err != nil {
		t.c.log(Warning, "starting the shell failed: "+err.Error())
		t.fail("The shell could not be started on the PC: " + err.Error())
		return
	}
	if !t.c.onEnd(func() { _ = sh.Close() }) {
		return // the connection ended meanwhile; the shell is closed
	}
	t.mu.Lock()
	t.shell = sh
	t.mu.Unlock()
	t.c.log(Info, fmt.Sprintf("%s started as %s.", acct.Shell(), t.c.m.cfg.Account))
	_ = t.out.text(loginAnswer{Type: "login", OK: true, Shell: acct.Shell()})
	go t.pump(sh)
}

// pump sends the shell's output until it ends, then its exit code.
func (t *terminal) pump(sh Shell) {
	buf := make([]byte, chunkSize)
	for {
		n, err := sh.Read(buf)
		if n > 0 {
			if serr := t.out.binary(t.c.ctx, buf[:n]); serr != nil {
				break // the channel or the connection is gone: the shell goes too
			}
		}
		if err != nil {
			break
		}
	}
	code, werr := sh.Wait()
	_ = sh.Close()
	t.mu.Lock()
	if t.shell == sh {
		t.shell = nil
	}
	t.mu.Unlock()
	if t.c.ctx.Err() != nil || t.dc.ReadyState() != webrtc.DataChannelStateOpen {
		return
	}
	if werr != nil {
		t.fail("The shell ended: " + werr.Error())
		return
	}
	_ = t.out.text(exitMessage{Type: "exit", Code: code})
}

func (t *terminal) closeShell() {
	t.mu.Lock()
	sh := t.shell
	t.mu.Unlock()
	if sh != nil {
		_ = sh.Close()
	}
}

func (t *terminal) fail(msg string) {
	_ = t.out.text(errorMessage{Type: "error", Message: msg})
}

// logon checks the password, counting the wrong ones: at maxAttempts the connection ends.
// It returns the attempts left after a wrong password.
func (c *conn) logon(password []byte) (Account, int, error) {
	c.logonMu.Lock()
	defer c.logonMu.Unlock()
	c.mu.Lock()
	spent := c.attempts >= maxAttempts
	c.mu.Unlock()
	if spent || c.ctx.Err() != nil {
		return nil, 0, errEnded
	}
	acct, err := c.m.cfg.OS.Logon(c.m.cfg.Account, password)
	if errors.Is(err, ErrWrongPassword) {
		c.mu.Lock()
		c.attempts++
		left := maxAttempts - c.attempts
		c.mu.Unlock()
		c.log(Warning, fmt.Sprintf("wrong password for the terminal (%d of %d attempts left).", left, maxAttempts))
		return nil, left, ErrWrongPassword
	}
	if err != nil {
		return nil, 0, err
	}
	c.mu.Lock()
	if c.ctx.Err() != nil {
		c.mu.Unlock()
		_ = acct.Close()
		return nil, 0, errEnded
	}
	c.account = acct
	c.accounts = append(c.accounts, acct)
	c.mu.Unlock()
	return acct, 0, nil
}

// signedIn is the account of the latest sign-in, or nil.
func (c *conn) signedIn() Account {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.account
}

func clampSize(cols, rows int) (int, int) {
	if cols <= 0 {
		cols = defaultCols
	}
	if rows <= 0 {
		rows = defaultRows
	}
	return min(cols, maxCols), min(rows, maxRows)
}
