package remote_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// TestTransports: the console and the app connect peer to peer over UDP host candidates,
// relayed over TURN/UDP, and relayed over TURN/TCP with the app unable to use UDP (Wine),
// each through the local stack's real TURN server on loopback; a shell answers through
// each.
func TestTransports(t *testing.T) {
	tests := []struct {
		route       route
		local       webrtc.ICECandidateType // the console's end of the selected pair
		remote      webrtc.ICECandidateType // the app's end
		anyAppRelay bool                    // the app's end may be host or relay
	}{
		{route: p2p, local: webrtc.ICECandidateTypeHost, remote: webrtc.ICECandidateTypeHost},
		// The app gathers host candidates as well; the console relays only.
		{route: turnUDP, local: webrtc.ICECandidateTypeRelay, anyAppRelay: true},
		// Without UDP the app relays only, over TCP to the TURN server.
		{route: turnTCP, local: webrtc.ICECandidateTypeRelay, remote: webrtc.ICECandidateTypeRelay},
	}
	for _, tt := range tests {
		t.Run(tt.route.String(), func(t *testing.T) {
			r := newRig(t, rigOptions{route: tt.route})
			c, took := r.connect("r-" + tt.route.String())
			t.Logf("%s: remote message to both data channels open in %v", tt.route, took.Round(time.Millisecond))
			p := c.Pair()
			t.Logf("selected pair: console %s, app %s", p.Local, p.Remote)
			if p.Local.Typ != tt.local || p.Local.Protocol != webrtc.ICEProtocolUDP {
				t.Errorf("console's candidate %s, want %s over UDP", p.Local, tt.local)
			}
			if !tt.anyAppRelay && p.Remote.Typ != tt.remote {
				t.Errorf("app's candidate %s, want %s", p.Remote, tt.remote)
			}
			if m := c.Login(password); m["ok"] != true || m["shell"] != "powershell.exe" {
				t.Fatalf("login: %v", m)
			}
			c.TypeLine("echo hello over " + tt.route.String())
			c.WaitOutput("hello over " + tt.route.String() + "\r\n")
			r.m.Close(protocol.RemoteSessionEnded)
			rep := r.report()
			if rep.Reason != protocol.RemoteSessionEnded || !slices.Equal(rep.Channels, []string{"terminal", "files"}) ||
				rep.BytesToPC == 0 || rep.BytesFromPC == 0 || rep.DurationMs < 0 {
				t.Errorf("report %+v", rep)
			}
			r.assertNoSecret(password)
		})
	}
}

// TestPasswordAttempts: four wrong passwords are answered with the attempts left, the
// right one then signs in; five wrong ones end the remote connection. Every password
// buffer is wiped once checked, and no password reaches the log or a signal.
func TestPasswordAttempts(t *testing.T) {
	r := newRig(t, rigOptions{route: p2p})
	c, _ := r.connect("r-four")
	wrong := []string{"Guess-One", "Guess-Two", "Corr3ct-Horse-Batter", `"quoted\ and ünïcode 😀"`}
	for i, pw := range wrong {
		m := c.Login(pw)
		if m["ok"] != false || m["attemptsLeft"] != float64(4-i) || !strings.Contains(m["message"].(string), "Wrong password") {
			t.Errorf("wrong password %d: %v", i+1, m)
		}
	}
	if m := c.Login(password); m["ok"] != true || m["shell"] != "powershell.exe" {
		t.Fatalf("the right password after four wrong ones: %v", m)
	}
	c.TypeLine("whoami")
	c.WaitOutput(`anna-pc\adhocremoteuser`)
	handed := r.pc.Handed()
	if len(handed) != 5 {
		t.Fatalf("%d password checks, want 5", len(handed))
	}
	for i, b := range handed {
		if len(b) == 0 || slices.ContainsFunc(b, func(x byte) bool { return x != 0 }) {
			t.Errorf("password buffer %d not wiped: %d bytes, %q", i+1, len(b), b)
		}
	}
	c.Bye()
	r.report()

	// Five wrong ones end the attempt.
	c, _ = r.connect("r-five")
	before := r.pc.Logons()
	for i := range 5 {
		m := c.Login("Bad-Guess-5")
		if m["ok"] != false || m["attemptsLeft"] != float64(4-i) {
			t.Errorf("wrong password %d: %v", i+1, m)
		}
	}
	rep := r.report()
	if rep.RemoteID != "r-five" || rep.Reason != protocol.RemotePasswordAttempts {
		t.Errorf("report %+v, want password_attempts", rep)
	}
	if reason := c.ByeReason(waitLimit); reason != protocol.RemotePasswordAttempts {
		t.Errorf("bye %q, want password_attempts", reason)
	}
	c.WaitClosed(time.Now())
	if n := r.pc.Logons() - before; n != 5 {
		t.Errorf("%d password checks, want 5", n)
	}
	for _, s := range r.pc.Shells() {
		if s.Running() {
			t.Error("a shell still runs")
		}
	}
	if n := r.pc.SignedIn(); n != 0 {
		t.Errorf("%d accounts still signed in", n)
	}
	r.assertNoSecret(append(wrong, password, "Bad-Guess-5")...)
}

// TestTerminal: output, resize and the shell's exit code.
func TestTerminal(t *testing.T) {
	r := newRig(t, rigOptions{route: p2p})
	c, _ := r.connect("r-term")
	// Keystrokes before the sign-in go nowhere.
	if err := c.Term.Send([]byte("echo too early\r")); err != nil {
		t.Fatal(err)
	}
	if m := c.Login(password); m["ok"] != true {
		t.Fatalf("login: %v", m)
	}
	c.WaitOutput(`PS C:\Users\` + account + "> ")
	c.TypeLine("size")
	c.WaitOutput("120x32\r\n")
	c.SendTerm(map[string]any{"type": "resize", "cols": 100, "rows": 40})
	c.TypeLine("size")
	c.WaitOutput("100x40\r\n")
	c.TypeLine("flood 100000")
	c.WaitOutput(strings.Repeat("abcdefghijklmnopqrstuvwxyz", 3))
	c.TypeLine("exit 3")
	m := c.NextTerm()
	if m["type"] != "exit" || m["code"] != float64(3) {
		t.Errorf("after exit 3: %v", m)
	}
	if strings.Contains(c.Output(), "too early") {
		t.Errorf("keystrokes before the sign-in reached a shell")
	}
	if shells := r.pc.Shells(); len(shells) != 1 || shells[0].Running() || shells[0].Killed() {
		t.Errorf("the shell should have exited by itself")
	}
	// Signed in again, a new shell starts.
	if m := c.Login(password); m["ok"] != true {
		t.Fatalf("second login: %v", m)
	}
	c.TypeLine("echo again")
	c.WaitOutput("again\r\n")
	if n := len(r.pc.Shells()); n != 2 {
		t.Errorf("%d shells, want 2", n)
	}
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUpload: into the Downloads folder with the right hash, with a wrong one, onto an
// existing file, into a folder the account may not write, before the sign-in.
func TestUpload(t *testing.T) {
	r := newRig(t, rigOptions{route: p2p})
	c, _ := r.connect("r-up")
	c.SendFile(map[string]any{"type": "put", "id": "u0", "name": "early.txt", "size": 1, "path": ""})
	if m := c.NextFile(); m["type"] != "error" || m["id"] != "u0" || m["code"] != "denied" || !strings.Contains(m["message"].(string), "Sign in") {
		t.Errorf("upload before the sign-in: %v", m)
	}
	if m := c.Login(password); m["ok"] != true {
		t.Fatalf("login: %v", m)
	}
	downloads := filepath.Join(r.pc.Root, "Users", account, "Downloads")
	data := randomBytes(t, 300_000)

	// The right hash: the file appears under its name only after the check.
	c.SendFile(map[string]any{"type": "put", "id": "u1", "name": "a.txt", "size": len(data), "path": ""})
	if m := c.NextFile(); m["type"] != "progress" || m["id"] != "u1" {
		t.Fatalf("put: %v", m)
	}
	half := len(data) / 2
	for off := 0; off < half; off += remote.ChunkSize {
		if err := c.Files.Send(data[off:min(off+remote.ChunkSize, half)]); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "half of the upload written", func() bool { return partialSize(downloads) >= int64(half) })
	if _, err := os.Stat(filepath.Join(downloads, "a.txt")); !os.IsNotExist(err) {
		t.Errorf("a.txt exists before its hash was checked (%v)", err)
	}
	for off := half; off < len(data); off += remote.ChunkSize {
		if err := c.Files.Send(data[off:min(off+remote.ChunkSize, len(data))]); err != nil {
			t.Fatal(err)
		}
	}
	c.SendFile(map[string]any{"type": "end", "id": "u1", "sha256": sha(data)})
	m := c.NextFileOf("done")
	if m["id"] != "u1" || m["path"] != filepath.Join(downloads, "a.txt") || m["sha256"] != sha(data) {
		t.Errorf("done: %v", m)
	}
	if got, err := os.ReadFile(filepath.Join(downloads, "a.txt")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("a.txt on the PC: %d bytes, %v", len(got), err)
	}

	other := randomBytes(t, 50_000)
	tests := []struct {
		name, path, sum, code string
		data                  []byte
	}{
		{"wrong hash", "", sha(data), "hash_mismatch", other},
		{"existing file", filepath.Join(downloads, "a.txt"), sha(other), "exists", other},
		{"folder denied", filepath.Join(r.pc.Root, "Windows", "System32", "b.txt"), sha(other), "denied", other},
		{"no such folder", filepath.Join(r.pc.Root, "Nowhere", "b.txt"), sha(other), "not_found", other},
		{"not a full path", `Temp\b.txt`, sha(other), "denied", other},
	}
	if err := os.MkdirAll(filepath.Join(r.pc.Root, "Windows", "System32"), 0o755); err != nil {
		t.Fatal(err)
	}
	r.pc.Deny(filepath.Join(r.pc.Root, "Windows"))
	for i, tt := range tests {
		id := "e" + string(rune('1'+i))
		c.Upload(id, "b.txt", tt.path, tt.data, tt.sum)
		m := c.NextFileOf("error", "done")
		if m["type"] != "error" || m["id"] != id || m["code"] != tt.code {
			t.Errorf("%s: %v, want error %s", tt.name, m, tt.code)
		}
	}
	// Nothing of the refused uploads is left: not under their name, not half-written.
	entries, _ := os.ReadDir(downloads)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"a.txt"}) {
		t.Errorf("Downloads holds %v, want only a.txt", names)
	}
	if got, _ := os.ReadFile(filepath.Join(downloads, "a.txt")); !bytes.Equal(got, data) {
		t.Errorf("a.txt changed")
	}
}

// partialSize is the size of the hidden file an upload is being written into.
func partialSize(dir string) int64 {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			if fi, err := e.Info(); err == nil {
				return fi.Size()
			}
		}
	}
	return 0
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDownload: a file with its hash at the end, in chunks of at most 16 KiB; a missing
// one; one the account may not read.
func TestDownload(t *testing.T) {
	r := newRig(t, rigOptions{route: turnTCP})
	c, _ := r.connect("r-down")
	if m := c.Login(password); m["ok"] != true {
		t.Fatalf("login: %v", m)
	}
	data := randomBytes(t, 3<<20+123)
	path := filepath.Join(r.pc.Root, "Users", "Public", "report.bin")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.SendFile(map[string]any{"type": "get", "id": "d1", "path": path})
	if m := c.NextFile(); m["type"] != "meta" || m["id"] != "d1" || m["name"] != "report.bin" || m["size"] != float64(len(data)) {
		t.Errorf("meta: %v", m)
	}
	m := c.NextFile()
	got, chunks, biggest := c.Downloaded()
	if m["type"] != "end" || m["id"] != "d1" || m["sha256"] != sha(data) || sha(got) != sha(data) {
		t.Errorf("end %v; received %d bytes", m, len(got))
	}
	if biggest > remote.ChunkSize {
		t.Errorf("a chunk of %d bytes, want at most %d", biggest, remote.ChunkSize)
	}
	t.Logf("%d bytes in %d chunks", len(got), chunks)

	secret := filepath.Join(r.pc.Root, "Users", "Anna", "secret.txt")
	if err := os.MkdirAll(filepath.Dir(secret), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(secret, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	r.pc.Deny(filepath.Dir(secret))
	for _, tt := range []struct{ path, code string }{
		{filepath.Join(r.pc.Root, "missing.txt"), "not_found"},
		{secret, "denied"},
		{"relative.txt", "denied"},
	} {
		c.SendFile(map[string]any{"type": "get", "id": "d2", "path": tt.path})
		if m := c.NextFile(); m["type"] != "error" || m["id"] != "d2" || m["code"] != tt.code {
			t.Errorf("get %s: %v, want %s", tt.path, m, tt.code)
		}
	}
}

// TestBackPressure: a 20 MB download to a console that reads slowly at first never has
// more than the high-water mark (and one chunk) waiting in the channel; a 20 MB upload
// arrives whole.
func TestBackPressure(t *testing.T) {
	r := newRig(t, rigOptions{route: turnUDP})
	c, _ := r.connect("r-bp")
	if m := c.Login(password); m["ok"] != true {
		t.Fatalf("login: %v", m)
	}
	data := randomBytes(t, 20<<20)
	path := filepath.Join(r.pc.Root, "big.bin")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c.SetSlow(true)
	start := time.Now()
	c.SendFile(map[string]any{"type": "get", "id": "d1", "path": path})
	if m := c.NextFile(); m["type"] != "meta" {
		t.Fatalf("meta: %v", m)
	}
	if m := c.NextFile(); m["type"] != "end" || m["sha256"] != sha(data) {
		t.Fatalf("end: %v", m)
	}
	took := time.Since(start)
	got, _, _ := c.Downloaded()
	if !bytes.Equal(got, data) {
		t.Fatalf("received %d bytes, not the file", len(got))
	}
	peak := r.m.PeakBuffered()
	t.Logf("download of 20 MiB through TURN/UDP: %v (%.1f MB/s), peak bufferedAmount %d bytes", took.Round(time.Millisecond), float64(len(data))/took.Seconds()/1e6, peak)
	if peak > remote.HighWater+remote.ChunkSize {
		t.Errorf("peak bufferedAmount %d, want at most %d", peak, remote.HighWater+remote.ChunkSize)
	}
	// The slow start must have filled the buffer: else this proved nothing.
	if peak < remote.LowWater {
		t.Errorf("peak bufferedAmount %d: the sender never had to wait", peak)
	}

	start = time.Now()
	c.Upload("u1", "big.bin", "", data, sha(data))
	if m := c.NextFileOf("done"); m["sha256"] != sha(data) {
		t.Fatalf("upload: %v", m)
	}
	took = time.Since(start)
	t.Logf("upload of 20 MiB through TURN/UDP: %v (%.1f MB/s)", took.Round(time.Millisecond), float64(len(data))/took.Seconds()/1e6)
	if got, err := os.ReadFile(filepath.Join(r.pc.Root, "Users", account, "Downloads", "big.bin")); err != nil || !bytes.Equal(got, data) {
		t.Errorf("the uploaded file differs (%v)", err)
	}
}

// TestEnd: however it ends, the peer connection closes within a second of being told and
// the shell is killed; the end is reported with its reason, once.
func TestEnd(t *testing.T) {
	tests := []struct {
		name   string
		end    func(r *rig, c *console)
		reason string
		bye    bool // the console is told why
	}{
		{"session ended", func(r *rig, _ *console) { r.m.Close(protocol.RemoteSessionEnded) }, protocol.RemoteSessionEnded, true},
		{"service stopped", func(r *rig, _ *console) { r.m.Close(protocol.RemoteServiceStopped) }, protocol.RemoteServiceStopped, true},
		{"technician's bye", func(_ *rig, c *console) { c.Bye() }, protocol.RemoteDisconnectedByTechnician, false},
		{"console closed", func(_ *rig, c *console) { c.PC.Close() }, protocol.RemoteDisconnectedByTechnician, false},
		{"superseded", func(r *rig, _ *console) {
			r.m.Start(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: "r-newer", Technician: "Tina Example"})
		}, protocol.RemoteSuperseded, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, rigOptions{route: p2p})
			c, _ := r.connect("r-end")
			if m := c.Login(password); m["ok"] != true {
				t.Fatalf("login: %v", m)
			}
			c.TypeLine("echo running")
			c.WaitOutput("running\r\n")
			shell := r.pc.Shells()[0]
			start := time.Now()
			tt.end(r, c)
			rep := r.report()
			reported := time.Since(start)
			if rep.RemoteID != "r-end" || rep.Reason != tt.reason || !slices.Equal(rep.Channels, []string{"terminal", "files"}) || rep.DurationMs <= 0 {
				t.Errorf("report %+v, want reason %s", rep, tt.reason)
			}
			if shell.Running() || !shell.Killed() {
				t.Errorf("the shell still runs after the end")
			}
			if n := r.pc.SignedIn(); n != 0 {
				t.Errorf("%d accounts still signed in", n)
			}
			closed := reported
			if tt.name != "console closed" {
				closed = c.WaitClosed(start)
			}
			t.Logf("told → reported %v, console's channels closed %v", reported.Round(time.Millisecond), closed.Round(time.Millisecond))
			// DESIGN.md: within 1 s of being told.
			if reported > time.Second || closed > time.Second {
				t.Errorf("ended %v / %v after being told, want within 1 s", reported, closed)
			}
			if tt.bye {
				if reason := c.ByeReason(time.Second); reason != tt.reason {
					t.Errorf("bye %q, want %q", reason, tt.reason)
				}
			}
			select {
			case extra := <-r.reports:
				if extra.RemoteID == "r-end" {
					t.Errorf("reported twice: %+v", extra)
				}
			case <-time.After(100 * time.Millisecond):
			}
		})
	}
}

// TestNoConnection: a remote message the console never follows with an offer, and one
// that offers no TURN over TCP to a PC without UDP, end as failed.
func TestNoConnection(t *testing.T) {
	r := newRig(t, rigOptions{route: p2p, connectTimeout: 300 * time.Millisecond})
	start := time.Now()
	r.m.Start(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: "r-silent", Technician: "Tina Example"})
	rep := r.report()
	if rep.Reason != protocol.RemoteFailed || rep.DurationMs != 0 || len(rep.Channels) != 0 {
		t.Errorf("report %+v", rep)
	}
	if took := time.Since(start); took < 300*time.Millisecond {
		t.Errorf("ended after %v, before its timeout", took)
	}

	r = newRig(t, rigOptions{route: turnTCP})
	servers, _, err := r.turn.ICEServers("x")
	if err != nil {
		t.Fatal(err)
	}
	servers[0].URLs = []string{servers[0].URLs[0]} // UDP only
	r.m.Start(protocol.LiveRemote{Type: protocol.TypeRemote, RemoteID: "r-udp-only", ICEServers: servers})
	if rep := r.report(); rep.Reason != protocol.RemoteFailed {
		t.Errorf("report %+v", rep)
	}
	if !strings.Contains(r.log(), "no TURN server over TCP") {
		t.Errorf("the log does not say why:\n%s", r.log())
	}
}
