package release_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/release"
	"github.com/adhoc-support/adhoc-support/internal/testing/signtest"
)

const apiURL = "https://abc123.execute-api.eu-central-1.amazonaws.com"

// build is a release folder as `make agent` leaves it: two signed exes and the manifest.
type build struct {
	dir    string
	cert   signtest.Cert
	signer release.Signer
}

func newBuild(t *testing.T, mutate func(m *release.Manifest)) build {
	t.Helper()
	signtest.Tools(t)
	keys := t.TempDir()
	cert := signtest.NewCert(t, keys, "release")
	dir := t.TempDir()
	for _, arch := range []string{"amd64", "arm64"} {
		unsigned := filepath.Join(keys, "unsigned-"+arch+".exe")
		signtest.Exe(t, unsigned)
		out := filepath.Join(dir, "windows-"+arch, "SupportSession.exe")
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		signtest.Sign(t, cert, unsigned, out, "")
	}
	pemBytes, err := os.ReadFile(cert.CertFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := release.SignerOf(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	m := release.Manifest{Version: "1.2.3", ServerURL: apiURL, MaxSessionHours: 24, Signer: signer}
	if mutate != nil {
		mutate(&m)
	}
	if err := release.Write(dir, m); err != nil {
		t.Fatal(err)
	}
	return build{dir: dir, cert: cert, signer: signer}
}

func (b build) expect() release.Expect {
	return release.Expect{ServerURL: apiURL, SessionHours: 24, CAFile: b.cert.CertFile}
}

// TestCheck: a release for this deployment passes; every way a build can be wrong for it is
// refused, with a message that names the problem.
func TestCheck(t *testing.T) {
	other := func(t *testing.T) signtest.Cert { return signtest.NewCert(t, t.TempDir(), "someone-else") }
	tests := []struct {
		name    string
		mutate  func(m *release.Manifest)
		change  func(t *testing.T, b build, want *release.Expect)
		wantErr string // "" = passes
	}{
		{name: "a release for this API", wantErr: ""},
		{name: "trailing slash on either side", change: func(t *testing.T, b build, want *release.Expect) { want.ServerURL = apiURL + "/" }},
		{name: "development version", mutate: func(m *release.Manifest) { m.Version = "0.1.0-dev" }, wantErr: "development build"},
		{name: "development flag", mutate: func(m *release.Manifest) { m.Development = true }, wantErr: "development build"},
		{name: "plain HTTP", mutate: func(m *release.Manifest) { m.ServerURL = "http://localhost:8080" }, wantErr: "not an https origin"},
		{name: "another API", mutate: func(m *release.Manifest) { m.ServerURL = "https://other.execute-api.eu-central-1.amazonaws.com" }, wantErr: "the stack's API is " + apiURL},
		{name: "API URL unknown", change: func(t *testing.T, b build, want *release.Expect) { want.ServerURL = "" }, wantErr: "set the context apiUrl"},
		{name: "sessions longer than the app allows", change: func(t *testing.T, b build, want *release.Expect) { want.SessionHours = 48 }, wantErr: "AGENT_MAX_SESSION_HOURS=48"},
		{name: "no manifest", change: func(t *testing.T, b build, want *release.Expect) {
			if err := os.Remove(filepath.Join(b.dir, release.ManifestFile)); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "holds no release.json"},
		{name: "an exe changed after signing", change: func(t *testing.T, b build, want *release.Expect) {
			p := filepath.Join(b.dir, "windows-amd64", "SupportSession.exe")
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			raw[len(raw)/2]++
			if err := os.WriteFile(p, raw, 0o755); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "has changed since"},
		{name: "a stray file", change: func(t *testing.T, b build, want *release.Expect) {
			if err := os.WriteFile(filepath.Join(b.dir, "windows-amd64", "old.exe"), []byte("MZ"), 0o644); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "windows-amd64/old.exe is not in the release manifest"},
		{name: "a listed exe is missing", change: func(t *testing.T, b build, want *release.Expect) {
			if err := os.Remove(filepath.Join(b.dir, "windows-arm64", "SupportSession.exe")); err != nil {
				t.Fatal(err)
			}
		}, wantErr: "in the release manifest but missing"},
		{name: "signature does not chain to the trusted roots", change: func(t *testing.T, b build, want *release.Expect) {
			want.CAFile = other(t).CertFile
		}, wantErr: "the signature does not verify"},
		{name: "the system's roots do not trust a self-signed certificate", change: func(t *testing.T, b build, want *release.Expect) {
			want.CAFile = ""
		}, wantErr: "the signature does not verify"},
		{name: "an unsigned exe, re-listed", change: func(t *testing.T, b build, want *release.Expect) {
			p := filepath.Join(b.dir, "windows-amd64", "SupportSession.exe")
			signtest.Exe(t, p)
			relist(t, b.dir)
		}, wantErr: "the signature does not verify"},
		{name: "signed by another certificate than the manifest's", change: func(t *testing.T, b build, want *release.Expect) {
			c := other(t)
			p := filepath.Join(b.dir, "windows-amd64", "SupportSession.exe")
			unsigned := filepath.Join(t.TempDir(), "unsigned.exe")
			signtest.Exe(t, unsigned)
			signtest.Sign(t, c, unsigned, p, "")
			relist(t, b.dir)
			// Both certificates are trusted: only the signer comparison can refuse it.
			bundle := filepath.Join(t.TempDir(), "roots.pem")
			joinFiles(t, bundle, b.cert.CertFile, c.CertFile)
			want.CAFile = bundle
		}, wantErr: "the release manifest names CN=release"},
	}
	tsa := signtest.StartTSA(t, t.TempDir())
	tests = append(tests, []struct {
		name    string
		mutate  func(m *release.Manifest)
		change  func(t *testing.T, b build, want *release.Expect)
		wantErr string
	}{
		{name: "timestamped, the timestamp verifies", mutate: func(m *release.Manifest) { m.TimestampURL = tsa.URL },
			change: func(t *testing.T, b build, want *release.Expect) {
				resign(t, b, tsa.URL)
				want.TSACAFile = tsa.CAFile
			}},
		{name: "the manifest names a time-stamp server, the signatures carry no timestamp", mutate: func(m *release.Manifest) { m.TimestampURL = tsa.URL },
			wantErr: "carries no timestamp that verifies"},
		{name: "a timestamp whose authority is not trusted", mutate: func(m *release.Manifest) { m.TimestampURL = tsa.URL },
			change: func(t *testing.T, b build, want *release.Expect) { resign(t, b, tsa.URL) }, wantErr: "carries no timestamp that verifies"},
	}...)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBuild(t, tt.mutate)
			want := b.expect()
			if tt.change != nil {
				tt.change(t, b, &want)
			}
			m, err := release.Check(b.dir, want)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Check: %v", err)
			case tt.wantErr == "":
				if m.Signer != b.signer || len(m.Files) != 2 {
					t.Errorf("checked manifest %+v", m)
				}
			case err == nil:
				t.Fatalf("Check passed, want an error containing %q", tt.wantErr)
			case !strings.Contains(err.Error(), tt.wantErr):
				t.Errorf("Check: %v\nwant it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// resign signs the build's exes again, with a timestamp from tsa, and lists them anew.
func resign(t *testing.T, b build, tsa string) {
	t.Helper()
	for _, arch := range []string{"amd64", "arm64"} {
		unsigned := filepath.Join(t.TempDir(), "unsigned.exe")
		signtest.Exe(t, unsigned)
		signtest.Sign(t, b.cert, unsigned, filepath.Join(b.dir, "windows-"+arch, "SupportSession.exe"), tsa)
	}
	relist(t, b.dir)
}

// relist rewrites the manifest over the folder's current files, as a careless hand would
// after swapping an exe: only the signature checks can catch it then.
func relist(t *testing.T, dir string) {
	t.Helper()
	m, err := release.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := release.Write(dir, m); err != nil {
		t.Fatal(err)
	}
}

func joinFiles(t *testing.T, out string, in ...string) {
	t.Helper()
	var all []byte
	for _, f := range in {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if err := os.WriteFile(out, all, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIsDevelopment(t *testing.T) {
	for v, want := range map[string]bool{"dev": true, "0.1.0-dev": true, "1.2.3": false, "1.2.3-rc1": false, "devel": false, "": false} {
		if got := release.IsDevelopment(v); got != want {
			t.Errorf("IsDevelopment(%q) = %v", v, got)
		}
	}
}

// TestWriteSetsDevelopment: the manifest of a -dev version says development, whatever the
// caller passed.
func TestWriteSetsDevelopment(t *testing.T) {
	b := newBuild(t, func(m *release.Manifest) { m.Version = "0.1.0-dev" })
	m, err := release.Read(b.dir)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Development {
		t.Errorf("a -dev version's manifest says development=false")
	}
}
