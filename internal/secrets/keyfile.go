package secrets

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// KeyLen is the length of the local master key and of every key derived from it.
const KeyLen = 32

// LoadOrCreateKeyFile returns the 32-byte key kept in path, creating the file (and its
// folders) with fresh random bytes on first use. The file is reused afterwards so that
// sealed data survives restarts of local mode.
func LoadOrCreateKeyFile(path string) ([]byte, error) {
	key, err := readKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return key, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("key file folder: %w", err)
	}
	key = make([]byte, KeyLen)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("key file: random key: %w", err)
	}
	// Write a complete temporary file first and link it into place: a link never replaces
	// an existing file, so two processes starting at once agree on one key, and no reader
	// ever sees a half-written key.
	tmp, err := os.CreateTemp(filepath.Dir(path), ".key-*")
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("key file: %w", err)
	}
	if _, err := tmp.Write(key); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("key file: write: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("key file: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return readKeyFile(path)
		}
		return nil, fmt.Errorf("key file: %w", err)
	}
	return key, nil
}

func readKeyFile(path string) ([]byte, error) {
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if len(key) != KeyLen {
		return nil, fmt.Errorf("key file %s: has %d bytes, want %d", filepath.Base(path), len(key), KeyLen)
	}
	return key, nil
}

// DeriveKey derives an independent 32-byte key for one purpose from the local master key
// (HKDF-SHA-256), so one key file serves the password sealer and the code MAC without
// using the same key for two algorithms.
func DeriveKey(master []byte, purpose string) ([]byte, error) {
	if len(master) != KeyLen {
		return nil, fmt.Errorf("derive key: master key has %d bytes, want %d", len(master), KeyLen)
	}
	k, err := hkdf.Key(sha256.New, master, nil, "adhoc-support "+purpose, KeyLen)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	return k, nil
}
