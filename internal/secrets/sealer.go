package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
)

// The first byte of a sealed value says how it was sealed, so a value sealed one way is
// refused by the other instead of failing obscurely, and the format can change later.
const (
	versionLocal    byte = 1 // 1 || nonce(12) || AES-GCM ciphertext+tag
	versionEnvelope byte = 2 // 2 || len(edk) uint16 || edk || nonce(12) || AES-GCM ciphertext+tag (KMS)
)

// ErrOpen is returned (wrapped) when a sealed value cannot be opened: it was tampered
// with, sealed for another aad, or sealed with another key.
var ErrOpen = errors.New("cannot open sealed value")

const nonceLen = 12

// LocalSealer seals with AES-256-GCM under a key from the local key file.
type LocalSealer struct {
	aead cipher.AEAD
}

// NewLocalSealer returns a sealer for a 32-byte key.
func NewLocalSealer(key []byte) (*LocalSealer, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("local sealer: %w", err)
	}
	return &LocalSealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to aad.
func (s *LocalSealer) Seal(_ context.Context, plaintext, aad []byte) ([]byte, error) {
	return gcmSeal(s.aead, versionLocal, plaintext, aad)
}

// Open decrypts what Seal made for the same aad.
func (s *LocalSealer) Open(_ context.Context, sealed, aad []byte) ([]byte, error) {
	return gcmOpen(s.aead, versionLocal, sealed, aad)
}

// gcmSeal makes version || nonce(12) || AES-GCM ciphertext+tag, the version bound too.
func gcmSeal(aead cipher.AEAD, version byte, plaintext, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceLen, 1+nonceLen+len(plaintext)+aead.Overhead())
	out[0] = version
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[1:1+nonceLen], plaintext, sealAAD(version, aad)), nil
}

// gcmOpen opens what gcmSeal made with the same version, key and aad.
func gcmOpen(aead cipher.AEAD, version byte, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceLen+aead.Overhead() || sealed[0] != version {
		return nil, fmt.Errorf("open: not a value of format %d: %w", version, ErrOpen)
	}
	pt, err := aead.Open(nil, sealed[1:1+nonceLen], sealed[1+nonceLen:], sealAAD(version, aad))
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrOpen)
	}
	return pt, nil
}

// sealAAD binds the format version too, so a value cannot be replayed as another format.
func sealAAD(version byte, aad []byte) []byte {
	return append([]byte{version}, aad...)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("key has %d bytes, want %d", len(key), KeyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SealEnvelope seals plaintext bound to aad with a data key from a key service (AWS KMS's
// GenerateDataKey; internal/secrets/awskms): key is the data key in plaintext (32 bytes;
// the caller wipes it), encryptedKey its encrypted form, which the sealed value carries so
// that OpenEnvelope can have it decrypted again. The data key is used here with
// AES-256-GCM; it is never stored in plaintext.
func SealEnvelope(key, encryptedKey, plaintext, aad []byte) ([]byte, error) {
	if len(encryptedKey) == 0 || len(encryptedKey) > 0xffff {
		return nil, fmt.Errorf("seal: encrypted data key of %d bytes", len(encryptedKey))
	}
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("seal: data key: %w", err)
	}
	head := 1 + 2 + len(encryptedKey)
	out := make([]byte, head+nonceLen, head+nonceLen+len(plaintext)+aead.Overhead())
	out[0] = versionEnvelope
	binary.BigEndian.PutUint16(out[1:3], uint16(len(encryptedKey)))
	copy(out[3:], encryptedKey)
	if _, err := rand.Read(out[head:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[head:head+nonceLen], plaintext, sealAAD(versionEnvelope, aad)), nil
}

// OpenEnvelope opens what SealEnvelope made. decryptKey turns the encrypted data key the
// value carries back into the data key (KMS's Decrypt); it is called only for a value that
// is well-formed, and the data key is wiped after use. An error of decryptKey comes back
// wrapped: ErrOpen only if decryptKey said so.
func OpenEnvelope(sealed, aad []byte, decryptKey func(encryptedKey []byte) ([]byte, error)) ([]byte, error) {
	if len(sealed) < 3 || sealed[0] != versionEnvelope {
		return nil, fmt.Errorf("open: not an envelope-sealed value: %w", ErrOpen)
	}
	n := int(binary.BigEndian.Uint16(sealed[1:3]))
	head := 3 + n
	if n == 0 || len(sealed) < head+nonceLen+16 {
		return nil, fmt.Errorf("open: truncated envelope-sealed value: %w", ErrOpen)
	}
	key, err := decryptKey(sealed[3:head])
	if err != nil {
		return nil, fmt.Errorf("open: %w", err)
	}
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("open: data key: %w", err)
	}
	pt, err := aead.Open(nil, sealed[head:head+nonceLen], sealed[head+nonceLen:], sealAAD(versionEnvelope, aad))
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrOpen)
	}
	return pt, nil
}
