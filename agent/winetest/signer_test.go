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
