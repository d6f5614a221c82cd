package maketest

import (
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/testing/signtest"
)

// TestTimestampedSignature: with SIGNING_TSA, agent-sign (what `make agent` signs each exe
// with) countersigns the signature at the time-stamp server, and the timestamp verifies;
// without it there is none; a server that does not answer fails the signing instead of
// leaving a release without its timestamp.
func TestTimestampedSignature(t *testing.T) {
	signtest.Tools(t)
	dir := t.TempDir()
	tsa := signtest.StartTSA(t, dir)
	cert := signtest.NewCert(t, dir, "release")
	in := filepath.Join(dir, "unsigned.exe")
	signtest.Exe(t, in)
	signing := []string{"SIGNING_CERT=" + cert.CertFile, "SIGNING_KEY=" + cert.KeyFile, "SIGNING_CA=" + cert.CertFile}
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadURL := "http://" + dead.Addr().String()
	_ = dead.Close()
	for _, tc := range []struct {
		name    string
		tsa     []string
		wantErr bool
		wantTS  bool
	}{
		{name: "with SIGNING_TSA", tsa: []string{"SIGNING_TSA=" + tsa.URL, "SIGNING_TSA_CA=" + tsa.CAFile}, wantTS: true},
		{name: "without", wantTS: false},
		{name: "a time-stamp server that does not answer", tsa: []string{"SIGNING_TSA=" + deadURL}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := tsa.Requests.Load()
			out := filepath.Join(t.TempDir(), "SupportSession.exe")
			args := append(append([]string{"agent-sign", "IN=" + in, "OUT=" + out}, signing...), tc.tsa...)
			text, err := makeTarget(t, "", args...)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("signing with a dead time-stamp server succeeded:\n%s", text)
				}
				return
			}
			if err != nil {
				t.Fatalf("make agent-sign: %v\n%s", err, text)
			}
			verify, err := exec.Command("osslsigncode", "verify", "-CAfile", cert.CertFile, "-TSA-CAfile", tsa.CAFile, "-in", out).CombinedOutput()
			if err != nil {
				t.Fatalf("osslsigncode verify: %v\n%s", err, verify)
			}
			timestamped := strings.Contains(string(verify), "Timestamp Server Signature verification: ok")
			if timestamped != tc.wantTS {
				t.Errorf("timestamp verified: %v, want %v:\n%s", timestamped, tc.wantTS, verify)
			}
			if asked := tsa.Requests.Load() > before; asked != tc.wantTS {
				t.Errorf("the time-stamp server was asked: %v, want %v", asked, tc.wantTS)
			}
		})
	}
}

// TestDevBuildsOwnFolder: `make agent` puts a development version (the default, what make
// run and make test build) in dist/agent-dev, which the CDK app never uploads, and only a
// release in dist/agent.
func TestDevBuildsOwnFolder(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "dist/agent-dev"},
		{[]string{"AGENT_VERSION=0.2.0-dev"}, "dist/agent-dev"},
		{[]string{"AGENT_VERSION=dev"}, "dist/agent-dev"},
		{[]string{"AGENT_VERSION=1.2.3", "AGENT_SERVER_URL=https://api.example.com"}, "dist/agent"},
		{[]string{"AGENT_VERSION=1.2.3-rc1", "AGENT_SERVER_URL=https://api.example.com"}, "dist/agent"},
	} {
		out, err := makeTarget(t, "", append([]string{"agent-dir"}, tc.args...)...)
		if err != nil {
			t.Fatalf("make agent-dir %v: %v\n%s", tc.args, err, out)
		}
		if got := strings.TrimSpace(out); got != tc.want {
			t.Errorf("make agent-dir %v = %q, want %q", tc.args, got, tc.want)
		}
	}
}
