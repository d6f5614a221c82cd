package secrets

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrEmptyCode refuses an empty message up front: KMS would refuse it too, and both
// adapters (this and internal/secrets/awskms's) behave alike.
var ErrEmptyCode = errors.New("code mac: empty code")

// LocalCodeMAC computes HMAC-SHA-256 with a key from the local key file.
type LocalCodeMAC struct {
	key []byte
}

// NewLocalCodeMAC returns a MAC for a 32-byte key.
func NewLocalCodeMAC(key []byte) (*LocalCodeMAC, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("local code mac: key has %d bytes, want %d", len(key), KeyLen)
	}
	return &LocalCodeMAC{key: append([]byte(nil), key...)}, nil
}

// MAC returns HMAC-SHA-256(key, message); the product passes CodeMessage(id, digits).
func (m *LocalCodeMAC) MAC(_ context.Context, message string) ([]byte, error) {
	if message == "" {
		return nil, ErrEmptyCode
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(message))
	return h.Sum(nil), nil
}
