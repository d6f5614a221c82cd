//go:build linux

package winetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/testing/signtest"
)

// verifySignerUnderWine runs the app's signature check (winos.VerifySigner: WinVerifyTrust
// and the signer from its state) in Wine's wintrust.dll, through the development build's
// hook verify-signer-dev: the signed exe with its certificate's SHA-256 is accepted; with
// another SHA-256, changed by one byte, or unsigned, it is refused. Wine's wintrust checks
// the digest and finds the signer; it accepts a self-signed certificate as trusted, which
// Windows does not (CERT_E_UNTRUSTEDROOT), so the chain's trust is not what this proves.
func verifySignerUnderWine(t *testing.T, w *wine, exe string) {
	signtest.Tools(t)
	dir := t.TempDir()
	unsigned := filepath.Join(dir, "unsigned.exe")
	// The exe from `make agent` is signed already: sign a copy without its signature.
	if out, err := exec.Command("osslsigncode", "remove-signature", "-in", exe, "-out", unsigned).CombinedOutput(); err != nil {
		t.Logf("remove-signature (%v): %s; taking the exe as it is", err, out)
		raw, err := os.ReadFile(exe)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(unsigned, raw, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cert := signtest.NewCert(t, dir, "winetest")
	signed := filepath.Join(dir, "signed.exe")
	signtest.Sign(t, cert, unsigned, signed, "")
	raw, err := os.ReadFile(signed)
	if err != nil {
		t.Fatal(err)
	}
	changed := filepath.Join(dir, "changed.exe")
	raw[len(raw)/2]++
	if err := os.WriteFile(changed, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	pemBytes, err := os.ReadFile(cert.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("no PEM in the certificate file")
	}
	sum := sha256.Sum256(block.Bytes)
	pin := hex.EncodeToString(sum[:])
	winPath := func(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }
	for _, c := range []struct {
		name, file, pin, want string
	}{
		{"signed, its certificate", signed, pin, "verified"},
		{"signed, another certificate", signed, strings.Repeat("0", 64), "refused: " + winPath(signed) + " is signed by the certificate " + pin},
		{"changed after signing", changed, pin, "refused: WinVerifyTrust"},
		{"unsigned", unsigned, pin, "refused: WinVerifyTrust"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			// The hook runs from the signed copy; it checks the file it is given.
			out, _ := w.run(ctx, signed, "verify-signer-dev", winPath(c.file), c.pin)
			if !strings.Contains(out, c.want) {
				t.Errorf("verify-signer-dev %s: %q, want %q", c.name, strings.TrimSpace(out), c.want)
			}
			t.Logf("%s: %s", c.name, strings.TrimSpace(out))
		})
	}
}

// TestReleaseChecksItsOwnSignatureUnderWine: a release build (no test hooks, the signer's
// certificate compiled in as `make agent` does) runs its own check before it talks to any
// server: signed by its certificate it goes on (and asks for the invitation, as its file
// name carries none); unsigned, or signed by another certificate, it refuses and says why.
// The server URL is a closed port: a copy that got past the check could not pair anyway.
func TestReleaseChecksItsOwnSignatureUnderWine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Wine test runs on Linux")
	}
	signtest.Tools(t)
	dir := t.TempDir()
	cert := signtest.NewCert(t, dir, "release")
	other := signtest.NewCert(t, dir, "someone-else")
	pin := certSHA256(t, cert.CertFile)
	unsigned := filepath.Join(dir, "unsigned.exe")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", sizeTags,
		"-ldflags=-s -w -X main.version=1.0.0 -X main.serverURL=https://127.0.0.1:9 -X main.signer="+pin, "-o", unsigned, "..")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the release app: %v\n%s", err, out)
	}
	signed, foreign := filepath.Join(dir, "signed.exe"), filepath.Join(dir, "foreign.exe")
	signtest.Sign(t, cert, unsigned, signed, "")
	signtest.Sign(t, other, unsigned, foreign, "")
	w := newPrefix(t, buildDLL(t, dir))
	const refused = "This copy of the app is not signed as its publisher signed it"
	for _, c := range []struct {
		name, exe string
		want      []string
		refuse    bool
	}{
		{"signed by its certificate", signed, []string{"The invitation could not be read from this file's name"}, false},
		{"unsigned", unsigned, []string{refused, "WinVerifyTrust"}, true},
		{"signed by another certificate", foreign, []string{refused, "is signed by the certificate " + certSHA256(t, other.CertFile)}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			out, err := w.run(ctx, c.exe)
			t.Logf("%s: %v\n%s", c.name, err, strings.TrimSpace(out))
			for _, want := range c.want {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %q", want)
				}
			}
			if !c.refuse && strings.Contains(out, refused) {
				t.Errorf("the publisher's own copy was refused")
			}
		})
	}
}

func certSHA256(t *testing.T, certFile string) string {
	t.Helper()
	pemBytes, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		t.Fatal("no PEM in " + certFile)
	}
	sum := sha256.Sum256(block.Bytes)
	return hex.EncodeToString(sum[:])
}
