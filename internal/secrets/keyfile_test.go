package secrets_test

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
)

func TestLoadOrCreateKeyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nested", "deeper", "master.key")
	key, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != 32 || bytes.Equal(key, make([]byte, 32)) {
		t.Fatalf("key = %x, want 32 random bytes", key)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode = %o, want 600", perm)
	}
	if di, err := os.Stat(filepath.Dir(path)); err != nil || di.Mode().Perm()&0o077 != 0 {
		t.Errorf("key folder mode = %v (err %v), want no access for group and others", di.Mode().Perm(), err)
	}
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(onDisk, key) {
		t.Error("file content differs from the returned key")
	}

	again, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, key) {
		t.Error("second load returned another key: data would not survive a restart")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries, want only the key file (temporary files removed)", len(entries))
	}
}

func TestLoadOrCreateKeyFileSealedDataSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "master.key")
	key1, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s1, err := secrets.NewLocalSealer(key1)
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s1.Seal(t.Context(), []byte("pw"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	key2, err := secrets.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s2, err := secrets.NewLocalSealer(key2)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s2.Open(t.Context(), sealed, []byte("aad")); err != nil || string(got) != "pw" {
		t.Fatalf("after restart Open = %q, %v", got, err)
	}
}

func TestLoadOrCreateKeyFileBadFile(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		content []byte
	}{
		{"empty", nil},
		{"short", make([]byte, 16)},
		{"long", make([]byte, 33)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name)
			if err := os.WriteFile(path, tt.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := secrets.LoadOrCreateKeyFile(path); err == nil {
				t.Error("accepted a key file of the wrong size")
			}
			// The damaged file must be left for a human, not silently replaced.
			got, _ := os.ReadFile(path)
			if !bytes.Equal(got, tt.content) {
				t.Error("the damaged key file was overwritten")
			}
		})
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k", "master.key")
	const n = 8
	keys := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { keys[i], errs[i] = secrets.LoadOrCreateKeyFile(path) })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if !bytes.Equal(keys[i], keys[0]) {
			t.Fatal("concurrent first use produced different keys")
		}
	}
}

func TestDeriveKey(t *testing.T) {
	master := bytes.Repeat([]byte{7}, 32)
	a1, err := secrets.DeriveKey(master, "password")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := secrets.DeriveKey(master, "password")
	b, _ := secrets.DeriveKey(master, "security-code")
	other, _ := secrets.DeriveKey(bytes.Repeat([]byte{8}, 32), "password")
	switch {
	case len(a1) != 32:
		t.Errorf("derived key has %d bytes", len(a1))
	case !bytes.Equal(a1, a2):
		t.Error("derivation is not deterministic")
	case bytes.Equal(a1, b):
		t.Error("two purposes give the same key")
	case bytes.Equal(a1, master):
		t.Error("derived key equals the master key")
	case bytes.Equal(a1, other):
		t.Error("two master keys give the same derived key")
	}
	if _, err := secrets.DeriveKey(make([]byte, 16), "x"); err == nil {
		t.Error("DeriveKey accepted a 16-byte master key")
	}
}
