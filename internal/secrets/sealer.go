package secrets

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// The first byte of a sealed value says how it was sealed, so a value sealed one way is
// refused by the other instead of failing obscurely, and the format can change later.
const (
	versionLocal byte = 1 // 1 || nonce(12) || AES-GCM ciphertext+tag
	versionKMS   byte = 2 // 2 || len(edk) uint16 || edk || nonce(12) || AES-GCM ciphertext+tag
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
	out := make([]byte, 1+nonceLen, 1+nonceLen+len(plaintext)+s.aead.Overhead())
	out[0] = versionLocal
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:1+nonceLen], plaintext, sealAAD(versionLocal, aad)), nil
}

// Open decrypts what Seal made for the same aad.
func (s *LocalSealer) Open(_ context.Context, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 1+nonceLen+s.aead.Overhead() || sealed[0] != versionLocal {
		return nil, fmt.Errorf("open: not a locally sealed value: %w", ErrOpen)
	}
	pt, err := s.aead.Open(nil, sealed[1:1+nonceLen], sealed[1+nonceLen:], sealAAD(versionLocal, aad))
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

// KMSAPI is the part of the KMS client the adapters use; *kms.Client satisfies it.
type KMSAPI interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
}

// KMSSealer seals with envelope encryption: a fresh AES-256 data key from KMS for every
// value, used locally with AES-256-GCM and kept only in its KMS-encrypted form next to the
// ciphertext. The aad is bound twice: as KMS encryption context (so KMS refuses to give
// the data key out for another session, and CloudTrail shows which session it was) and as
// GCM additional data.
type KMSSealer struct {
	client KMSAPI
	keyID  string
}

// NewKMSSealer returns a sealer using the KMS key keyID (id, ARN or alias).
func NewKMSSealer(client KMSAPI, keyID string) *KMSSealer {
	return &KMSSealer{client: client, keyID: keyID}
}

// PurposePassword is the "purpose" member of the KMS encryption context.
const PurposePassword = "adhoc-password"

func encryptionContext(aad []byte) map[string]string {
	return map[string]string{
		"purpose": PurposePassword,
		"aad":     base64.StdEncoding.EncodeToString(aad),
	}
}

// Seal encrypts plaintext bound to aad.
func (s *KMSSealer) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	dk, err := s.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(s.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(aad),
	})
	if err != nil {
		return nil, fmt.Errorf("seal: kms generate data key: %w", err)
	}
	defer clear(dk.Plaintext)
	if len(dk.CiphertextBlob) == 0 || len(dk.CiphertextBlob) > 0xffff {
		return nil, fmt.Errorf("seal: kms returned an encrypted data key of %d bytes", len(dk.CiphertextBlob))
	}
	aead, err := newGCM(dk.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("seal: kms data key: %w", err)
	}
	head := 1 + 2 + len(dk.CiphertextBlob)
	out := make([]byte, head+nonceLen, head+nonceLen+len(plaintext)+aead.Overhead())
	out[0] = versionKMS
	binary.BigEndian.PutUint16(out[1:3], uint16(len(dk.CiphertextBlob)))
	copy(out[3:], dk.CiphertextBlob)
	if _, err := rand.Read(out[head:]); err != nil {
		return nil, fmt.Errorf("seal: nonce: %w", err)
	}
	return aead.Seal(out, out[head:head+nonceLen], plaintext, sealAAD(versionKMS, aad)), nil
}

// Open asks KMS to decrypt the data key (with the same encryption context) and decrypts
// the value with it.
func (s *KMSSealer) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	if len(sealed) < 3 || sealed[0] != versionKMS {
		return nil, fmt.Errorf("open: not a KMS-sealed value: %w", ErrOpen)
	}
	n := int(binary.BigEndian.Uint16(sealed[1:3]))
	head := 3 + n
	if n == 0 || len(sealed) < head+nonceLen+16 {
		return nil, fmt.Errorf("open: truncated KMS-sealed value: %w", ErrOpen)
	}
	dk, err := s.client.Decrypt(ctx, &kms.DecryptInput{
		KeyId:             aws.String(s.keyID),
		CiphertextBlob:    sealed[3:head],
		EncryptionContext: encryptionContext(aad),
	})
	if err != nil {
		var invalid *types.InvalidCiphertextException
		if errors.As(err, &invalid) {
			// KMS says this for a wrong context or a damaged data key: the same outcome as
			// a failed GCM check, so callers need to test only one error.
			return nil, fmt.Errorf("open: kms decrypt: %w: %w", ErrOpen, err)
		}
		return nil, fmt.Errorf("open: kms decrypt: %w", err)
	}
	defer clear(dk.Plaintext)
	aead, err := newGCM(dk.Plaintext)
	if err != nil {
		return nil, fmt.Errorf("open: kms data key: %w", err)
	}
	pt, err := aead.Open(nil, sealed[head:head+nonceLen], sealed[head+nonceLen:], sealAAD(versionKMS, aad))
	if err != nil {
		return nil, fmt.Errorf("open: %w", ErrOpen)
	}
	return pt, nil
}
