// Package signtest makes what tests of the app's release need: a small Windows exe, code-
// signing certificates, Authenticode signatures made with osslsigncode (as `make agent`
// makes them), and a local RFC 3161 time-stamp authority built on `openssl ts`.
package signtest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// Tools fails the test unless osslsigncode and openssl are on PATH (`make agent` installs
// osslsigncode; Debian has openssl).
func Tools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"osslsigncode", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not on PATH: run `make agent` once (it installs osslsigncode)", tool)
		}
	}
}

var (
	exeOnce sync.Once
	exeData []byte
	exeErr  error
)

// Exe writes a small, unsigned Windows exe (a Go program that does nothing) to path. It is
// built once per test binary.
func Exe(t testing.TB, path string) {
	t.Helper()
	exeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "signtest-exe-")
		if err != nil {
			exeErr = err
			return
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module signtest.example/hello\n\ngo 1.26\n"), 0o644); err != nil {
			exeErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
			exeErr = err
			return
		}
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "hello.exe", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			exeErr = &buildError{err: err, out: out}
			return
		}
		exeData, exeErr = os.ReadFile(filepath.Join(dir, "hello.exe"))
	})
	if exeErr != nil {
		t.Fatalf("build a Windows exe: %v", exeErr)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, exeData, 0o755); err != nil {
		t.Fatal(err)
	}
}

type buildError struct {
	err error
	out []byte
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + string(e.out) }

// Cert is a self-signed code-signing certificate, its own root, as `make agent` makes the
// development one.
type Cert struct {
	CertFile, KeyFile string
}

// NewCert makes a code-signing certificate with the common name cn in dir.
func NewCert(t testing.TB, dir, cn string) Cert {
	t.Helper()
	c := Cert{CertFile: filepath.Join(dir, cn+"-cert.pem"), KeyFile: filepath.Join(dir, cn+"-key.pem")}
	run(t, dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "30", "-nodes", "-subj", "/CN="+cn,
		"-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=codeSigning",
		"-keyout", c.KeyFile, "-out", c.CertFile)
	return c
}

// Sign signs in into out with c, as `make agent` does; with a TSA URL the signature gets
// its RFC 3161 timestamp.
func Sign(t testing.TB, c Cert, in, out, tsa string) {
	t.Helper()
	args := []string{"sign", "-h", "sha256", "-certs", c.CertFile, "-key", c.KeyFile, "-n", "signtest", "-in", in, "-out", out}
	if tsa != "" {
		args = append(args, "-ts", tsa)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	_ = os.Remove(out)
	run(t, filepath.Dir(out), "osslsigncode", args...)
}

func run(t testing.TB, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return out
}

// TSA is a local time-stamp authority: an HTTP server that answers RFC 3161 time-stamp
// queries with `openssl ts -reply`, signing with its own certificate.
type TSA struct {
	URL string
	// CAFile is the TSA's certificate (self-signed, its own root): what a verifier must
	// trust to accept its timestamps.
	CAFile string
	// Requests counts the queries it answered.
	Requests atomic.Int32
}

// StartTSA starts a TSA in dir until the test ends.
func StartTSA(t testing.TB, dir string) *TSA {
	t.Helper()
	cert, key := filepath.Join(dir, "tsa-cert.pem"), filepath.Join(dir, "tsa-key.pem")
	// openssl ts signs only with a certificate whose extended key usage is time stamping,
	// and critical (RFC 3161, section 2.3).
	run(t, dir, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-sha256", "-days", "30", "-nodes", "-subj", "/CN=signtest TSA",
		"-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=critical,timeStamping",
		"-keyout", key, "-out", cert)
	conf := filepath.Join(dir, "tsa.cnf")
	if err := os.WriteFile(filepath.Join(dir, "tsa-serial"), []byte("01\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := os.WriteFile(conf, []byte(`[ tsa ]
default_tsa = local
[ local ]
dir = `+dir+`
serial = $dir/tsa-serial
crypto_device = builtin
signer_cert = $dir/tsa-cert.pem
certs = $dir/tsa-cert.pem
signer_key = $dir/tsa-key.pem
signer_digest = sha256
default_policy = 1.3.6.1.4.1.57264.1
digests = sha1, sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tsa := &TSA{CAFile: cert}
	var mu sync.Mutex // openssl ts keeps its serial in one file
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		query, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
		if err != nil || r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/timestamp-query" {
			http.Error(w, "want a POST of application/timestamp-query", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := strconv.FormatInt(n.Add(1), 10)
		q, resp := filepath.Join(dir, "query-"+id+".tsq"), filepath.Join(dir, "reply-"+id+".tsr")
		if err := os.WriteFile(q, query, 0o644); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		cmd := exec.Command("openssl", "ts", "-reply", "-config", conf, "-queryfile", q, "-out", resp)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			http.Error(w, "openssl ts: "+err.Error()+": "+stderr.String(), http.StatusInternalServerError)
			return
		}
		reply, err := os.ReadFile(resp)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		tsa.Requests.Add(1)
		w.Header().Set("Content-Type", "application/timestamp-reply")
		_, _ = w.Write(reply)
	}))
	t.Cleanup(srv.Close)
	tsa.URL = srv.URL
	return tsa
}
