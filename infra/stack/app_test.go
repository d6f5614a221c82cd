package stack_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/infra/stack"
	"github.com/adhoc-support/adhoc-support/internal/release"
	"github.com/adhoc-support/adhoc-support/internal/testing/signtest"
)

const appAPIURL = "https://abc123.execute-api.eu-central-1.amazonaws.com"

// appBuild writes a build folder as `make agent` leaves it: one signed exe and the manifest
// for version and url.
func appBuild(t *testing.T, version, url string, sign bool) (dir string, ca string) {
	t.Helper()
	signtest.Tools(t)
	keys := t.TempDir()
	cert := signtest.NewCert(t, keys, "release")
	dir = t.TempDir()
	exe := filepath.Join(dir, "windows-amd64", "SupportSession.exe")
	if sign {
		unsigned := filepath.Join(keys, "unsigned.exe")
		signtest.Exe(t, unsigned)
		signtest.Sign(t, cert, unsigned, exe, "")
	} else {
		signtest.Exe(t, exe)
	}
	pemBytes, err := os.ReadFile(cert.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := release.SignerOf(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := release.Write(dir, release.Manifest{Version: version, ServerURL: url, MaxSessionHours: 24, Signer: signer}); err != nil {
		t.Fatal(err)
	}
	return dir, cert.CertFile
}

// TestCheckApp: what `make synth` and `cdk deploy` run (infra/main.go) before the stack
// uploads dist/agent.
func TestCheckApp(t *testing.T) {
	cases := []struct {
		name       string
		build      func(t *testing.T) (dir, ca string)
		apiURL     string
		wantUpload bool
		wantErr    string
	}{
		{"no build yet", func(t *testing.T) (string, string) { return filepath.Join(t.TempDir(), "agent"), "" }, appAPIURL, false, ""},
		{"an empty folder", func(t *testing.T) (string, string) { return t.TempDir(), "" }, appAPIURL, false, ""},
		{"a signed release for this API", func(t *testing.T) (string, string) { return appBuild(t, "1.0.0", appAPIURL, true) }, appAPIURL, true, ""},
		{"the development build make test leaves", func(t *testing.T) (string, string) {
			return appBuild(t, "0.1.0-dev", "http://localhost:8080", true)
		}, appAPIURL, false, "development build"},
		{"an old build without a manifest", func(t *testing.T) (string, string) {
			dir := t.TempDir()
			signtest.Exe(t, filepath.Join(dir, "windows-amd64", "SupportSession.exe"))
			return dir, ""
		}, appAPIURL, false, "holds no release.json"},
		{"a release for another API", func(t *testing.T) (string, string) {
			return appBuild(t, "1.0.0", "https://other.execute-api.eu-central-1.amazonaws.com", true)
		}, appAPIURL, false, "the stack's API is " + appAPIURL},
		{"the stack's API URL not given", func(t *testing.T) (string, string) { return appBuild(t, "1.0.0", appAPIURL, true) }, "", false, "apiUrl"},
		{"an unsigned release", func(t *testing.T) (string, string) { return appBuild(t, "1.0.0", appAPIURL, false) }, appAPIURL, false, "signature does not verify"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a build folder and the stack's API URL
			dir, ca := c.build(t)
			// WHEN the CDK app checks it
			upload, err := stack.CheckApp(dir, stack.AppCheck{ServerURL: c.apiURL, SigningCA: ca, SessionHours: 24})
			// THEN only a signed release for this API is uploaded, and a refusal stops the synth
			// with the reason
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("CheckApp: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("CheckApp: %v, want an error containing %q", err, c.wantErr)
			}
			if upload != c.wantUpload {
				t.Errorf("upload = %v, want %v", upload, c.wantUpload)
			}
		})
	}
}
