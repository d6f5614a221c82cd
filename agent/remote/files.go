package remote

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"path/filepath"
	"strings"
	"sync"

	"github.com/pion/webrtc/v4"
)

// The files channel (remote-protocol.md, "files"): uploads to the PC and downloads from
// it, one at a time in each direction, in binary chunks of at most chunkSize, each file's
// SHA-256 checked at the receiving end. Everything is read and written as the hidden
// account (Account), so the PC's access lists decide what the technician may touch.

// Codes of a transfer's error.
const (
	codeDenied       = "denied"
	codeExists       = "exists"
	codeNotFound     = "not_found"
	codeHashMismatch = "hash_mismatch"
	codeTooLarge     = "too_large"
	codeIO           = "io"
)

// progressEvery is how often an upload's progress is confirmed.
const progressEvery = 1 << 20

type fileIn struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

type progressMessage struct {
	Type  string `json:"type"` // "progress"
	ID    string `json:"id"`
	Bytes int64  `json:"bytes"`
}

type doneMessage struct {
	Type   string `json:"type"` // "done"
	ID     string `json:"id"`
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

type metaMessage struct {
	Type string `json:"type"` // "meta"
	ID   string `json:"id"`
	Name string `json:"name"`
	Size int64  `json:"size"`
}

type endMessage struct {
	Type   string `json:"type"` // "end"
	ID     string `json:"id"`
	SHA256 string `json:"sha256"`
}

type fileError struct {
	Type    string `json:"type"` // "error"
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// files serves one files channel.
type files struct {
	c   *conn
	dc  *webrtc.DataChannel
	out *sender

	mu     sync.Mutex
	up     *upload // the upload in progress
	failed string  // the id of the upload that failed last: its remaining chunks are dropped
	down   bool    // a download is running
}

// upload is a file arriving.
type upload struct {
	id, path       string
	size, got      int64
	sum            hash.Hash
	file           NewFile
	lastProgressAt int64
}

func newFiles(c *conn, dc *webrtc.DataChannel) {
	f := &files{c: c, dc: dc, out: newSender(c, dc)}
	dc.OnMessage(f.message)
	dc.OnClose(f.abort)
	c.onEnd(f.abort)
}

func (f *files) message(msg webrtc.DataChannelMessage) {
	f.c.received(len(msg.Data))
	if !msg.IsString {
		f.chunk(msg.Data)
		return
	}
	var m fileIn
	if err := json.Unmarshal(msg.Data, &m); err != nil {
		_ = f.out.text(fileError{Type: "error", Code: codeIO, Message: "The message could not be read."})
		return
	}
	switch m.Type {
	case "put":
		f.put(m)
	case "end":
		f.end(m)
	case "get":
		f.get(m)
	default:
		f.fail(m.ID, codeIO, fmt.Sprintf("Unknown message type %q.", m.Type))
	}
}

// signInFirst answers a transfer before the terminal's sign-in: the files are read and
// written with the account's token, which only the password gives.
const signInFirst = "Sign in on the terminal first: files are read and written as the support account."

func (f *files) put(m fileIn) {
	acct := f.c.signedIn()
	if acct == nil {
		f.refuse(m.ID, codeDenied, signInFirst)
		return
	}
	f.mu.Lock()
	if cur := f.up; cur != nil {
		// Chunks carry no id: from here on nobody could tell whose they are, so both go.
		f.dropLocked(cur, codeIO, "Another upload started before this one ended; one upload at a time.")
		f.failed = m.ID
		f.failLocked(m.ID, codeIO, "One upload at a time: this one started before the previous one ended.")
		f.mu.Unlock()
		return
	}
	f.mu.Unlock()
	if m.Size < 0 {
		f.refuse(m.ID, codeIO, "The size is missing.")
		return
	}
	path := m.Path
	if path == "" {
		if !validName(m.Name) {
			f.refuse(m.ID, codeDenied, fmt.Sprintf("%q cannot be a file name on Windows.", m.Name))
			return
		}
		dir, err := acct.Downloads()
		if err != nil {
			f.refuse(m.ID, code(err), "The support account's Downloads folder: "+err.Error())
			return
		}
		path = filepath.Join(dir, m.Name)
	} else {
		if !filepath.IsAbs(path) {
			f.refuse(m.ID, codeDenied, fmt.Sprintf("%q is not a full path, like C:\\Users\\Public\\%s.", path, nameOr(m.Name)))
			return
		}
		path = filepath.Clean(path)
	}
	nf, err := acct.Create(path)
	if err != nil {
		f.refuse(m.ID, code(err), describe(path, err))
		return
	}
	f.mu.Lock()
	f.up = &upload{id: m.ID, path: path, size: m.Size, sum: sha256.New(), file: nf}
	f.mu.Unlock()
	_ = f.out.text(progressMessage{Type: "progress", ID: m.ID, Bytes: 0})
}

// chunk writes a piece of the upload. pion calls it on the channel's goroutine: while the
// disk writes, the channel reads no further, and SCTP's window holds the sender back.
func (f *files) chunk(data []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up := f.up
	if up == nil {
		return // the upload failed and the console has been told; the rest is dropped
	}
	if up.got+int64(len(data)) > up.size {
		f.dropLocked(up, codeTooLarge, fmt.Sprintf("More than the announced %d bytes arrived.", up.size))
		return
	}
	if _, err := up.file.Write(data); err != nil {
		f.dropLocked(up, code(err), describe(up.path, err))
		return
	}
	up.sum.Write(data)
	up.got += int64(len(data))
	if up.got-up.lastProgressAt >= progressEvery {
		up.lastProgressAt = up.got
		_ = f.out.text(progressMessage{Type: "progress", ID: up.id, Bytes: up.got})
	}
}

func (f *files) end(m fileIn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	up := f.up
	if up == nil || up.id != m.ID {
		if m.ID != f.failed {
			f.failLocked(m.ID, codeIO, "There is no upload of that id.")
		}
		return
	}
	if up.got != up.size {
		f.dropLocked(up, codeIO, fmt.Sprintf("The upload ended after %d of %d bytes.", up.got, up.size))
		return
	}
	sum := hex.EncodeToString(up.sum.Sum(nil))
	if !strings.EqualFold(sum, strings.TrimSpace(m.SHA256)) {
		f.dropLocked(up, codeHashMismatch, fmt.Sprintf("The file arrived with SHA-256 %s, not %s; it was not kept.", sum, m.SHA256))
		return
	}
	if err := up.file.Commit(); err != nil {
		f.dropLocked(up, code(err), describe(up.path, err))
		return
	}
	f.up = nil
	f.c.log(Info, fmt.Sprintf("uploaded %s (%d bytes, SHA-256 %s).", up.path, up.size, sum))
	_ = f.out.text(doneMessage{Type: "done", ID: up.id, Path: up.path, SHA256: sum})
}

// dropLocked abandons the upload and tells the console why; f.mu is held.
func (f *files) dropLocked(up *upload, code, msg string) {
	if err := up.file.Abort(); err != nil {
		f.c.log(Warning, "removing an incomplete upload: "+err.Error())
	}
	f.up = nil
	f.failed = up.id
	f.failLocked(up.id, code, msg)
}

// abort abandons an upload in progress: the channel or the connection has gone.
func (f *files) abort() {
	f.mu.Lock()
	up := f.up
	f.up = nil
	f.mu.Unlock()
	if up != nil {
		if err := up.file.Abort(); err != nil {
			f.c.log(Warning, "removing an incomplete upload: "+err.Error())
		}
	}
}

func (f *files) get(m fileIn) {
	acct := f.c.signedIn()
	if acct == nil {
		f.fail(m.ID, codeDenied, signInFirst)
		return
	}
	if !filepath.IsAbs(m.Path) {
		f.fail(m.ID, codeDenied, fmt.Sprintf("%q is not a full path, like C:\\Users\\Public\\a.txt.", m.Path))
		return
	}
	f.mu.Lock()
	busy := f.down
	f.down = true
	f.mu.Unlock()
	if busy {
		f.fail(m.ID, codeIO, "One download at a time: wait until the current one is done.")
		return
	}
	go func() {
		defer func() {
			f.mu.Lock()
			f.down = false
			f.mu.Unlock()
		}()
		f.download(acct, m.ID, filepath.Clean(m.Path))
	}()
}

// download sends a file: meta, the chunks, then the hash.
func (f *files) download(acct Account, id, path string) {
	file, err := acct.Open(path)
	if err != nil {
		f.fail(id, code(err), describe(path, err))
		return
	}
	defer file.Close()
	if err := f.out.text(metaMessage{Type: "meta", ID: id, Name: filepath.Base(path), Size: file.Size()}); err != nil {
		return
	}
	sum := sha256.New()
	buf := make([]byte, chunkSize)
	var sent int64
	for {
		n, err := file.Read(buf)
		if n > 0 {
			sum.Write(buf[:n])
			if serr := f.out.binary(f.c.ctx, buf[:n]); serr != nil {
				return // the channel or the connection has gone
			}
			sent += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			f.fail(id, codeIO, describe(path, err))
			return
		}
	}
	hexSum := hex.EncodeToString(sum.Sum(nil))
	f.c.log(Info, fmt.Sprintf("downloaded %s (%d bytes, SHA-256 %s).", path, sent, hexSum))
	_ = f.out.text(endMessage{Type: "end", ID: id, SHA256: hexSum})
}

func (f *files) fail(id, code, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failLocked(id, code, msg)
}

// refuse fails an upload at its start: the chunks and the end that follow are dropped.
func (f *files) refuse(id, code, msg string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failed = id
	f.failLocked(id, code, msg)
}

func (f *files) failLocked(id, code, msg string) {
	_ = f.out.text(fileError{Type: "error", ID: id, Code: code, Message: msg})
}

// code is the error code of a failed file operation.
func code(err error) string {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return codeDenied
	case errors.Is(err, fs.ErrExist):
		return codeExists
	case errors.Is(err, fs.ErrNotExist):
		return codeNotFound
	}
	return codeIO
}

// describe says what went wrong with path, in words the technician can act on.
func describe(path string, err error) string {
	switch code(err) {
	case codeDenied:
		return fmt.Sprintf("The support account may not access %s.", path)
	case codeExists:
		return fmt.Sprintf("%s exists already; it was left as it is.", path)
	case codeNotFound:
		return fmt.Sprintf("%s does not exist.", path)
	}
	return fmt.Sprintf("%s: %v", path, err)
}

func nameOr(name string) string {
	if validName(name) {
		return name
	}
	return "a.txt"
}

// validName reports whether name can be a file's name on Windows: not empty, none of
// <>:"/\|?* or control characters, no trailing dot or space, not a device name.
func validName(name string) bool {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, `<>:"/\|?*`) ||
		strings.HasSuffix(name, ".") || strings.HasSuffix(name, " ") {
		return false
	}
	for _, r := range name {
		if r < 0x20 {
			return false
		}
	}
	stem, _, _ := strings.Cut(name, ".")
	switch strings.ToUpper(strings.TrimRight(stem, " ")) {
	case "CON", "PRN", "AUX", "NUL",
		"COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8", "COM9",
		"LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9":
		return false
	}
	return true
}
