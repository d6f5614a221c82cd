// Package awskms seals the technician's password and MACs the security code with AWS KMS
// (support.Sealer and support.CodeMACer): the KMS calls around internal/secrets' envelope
// format. It is a package of its own so that only the functions that seal, open or MAC
// (invitation and pairing) link the KMS client; expiry and live do not
// (internal/testing/deptest holds them to it).
//
// Nothing here logs, and no error message carries a secret.
package awskms

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
)

// API is the part of the KMS client the adapters use; *kms.Client satisfies it.
type API interface {
	GenerateDataKey(ctx context.Context, in *kms.GenerateDataKeyInput, optFns ...func(*kms.Options)) (*kms.GenerateDataKeyOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, optFns ...func(*kms.Options)) (*kms.DecryptOutput, error)
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
}

// Sealer seals with envelope encryption: a fresh AES-256 data key from KMS for every
// value, used locally with AES-256-GCM and kept only in its KMS-encrypted form next to the
// ciphertext (secrets.SealEnvelope). The aad is bound twice: as KMS encryption context (so
// KMS refuses to give the data key out for another session, and CloudTrail shows which
// session it was) and as GCM additional data.
type Sealer struct {
	client API
	keyID  string
}

// NewSealer returns a sealer using the KMS key keyID (id, ARN or alias).
func NewSealer(client API, keyID string) *Sealer {
	return &Sealer{client: client, keyID: keyID}
}

// PurposePassword is the "purpose" member of the KMS encryption context; the stack's key
// grants require it.
const PurposePassword = "adhoc-password"

func encryptionContext(aad []byte) map[string]string {
	return map[string]string{
		"purpose": PurposePassword,
		"aad":     base64.StdEncoding.EncodeToString(aad),
	}
}

// Seal encrypts plaintext bound to aad.
func (s *Sealer) Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error) {
	dk, err := s.client.GenerateDataKey(ctx, &kms.GenerateDataKeyInput{
		KeyId:             aws.String(s.keyID),
		KeySpec:           types.DataKeySpecAes256,
		EncryptionContext: encryptionContext(aad),
	})
	if err != nil {
		return nil, fmt.Errorf("seal: kms generate data key: %w", err)
	}
	defer clear(dk.Plaintext)
	return secrets.SealEnvelope(dk.Plaintext, dk.CiphertextBlob, plaintext, aad)
}

// Open asks KMS to decrypt the data key (with the same encryption context) and decrypts
// the value with it.
func (s *Sealer) Open(ctx context.Context, sealed, aad []byte) ([]byte, error) {
	return secrets.OpenEnvelope(sealed, aad, func(encryptedKey []byte) ([]byte, error) {
		dk, err := s.client.Decrypt(ctx, &kms.DecryptInput{
			KeyId:             aws.String(s.keyID),
			CiphertextBlob:    encryptedKey,
			EncryptionContext: encryptionContext(aad),
		})
		if err != nil {
			var invalid *types.InvalidCiphertextException
			if errors.As(err, &invalid) {
				// KMS says this for a wrong context or a damaged data key: the same outcome
				// as a failed GCM check, so callers need to test only one error.
				return nil, fmt.Errorf("kms decrypt: %w: %w", secrets.ErrOpen, err)
			}
			return nil, fmt.Errorf("kms decrypt: %w", err)
		}
		return dk.Plaintext, nil
	})
}

// CodeMAC computes the security code's MAC with KMS GenerateMac (HMAC_SHA_256) on an
// HMAC KMS key, so the key never leaves KMS.
type CodeMAC struct {
	client API
	keyID  string
}

// NewCodeMAC returns a MAC using the HMAC KMS key keyID.
func NewCodeMAC(client API, keyID string) *CodeMAC {
	return &CodeMAC{client: client, keyID: keyID}
}

// MAC returns the HMAC-SHA-256 of message computed by KMS; the product passes
// secrets.CodeMessage(id, digits).
func (m *CodeMAC) MAC(ctx context.Context, message string) ([]byte, error) {
	if message == "" {
		return nil, secrets.ErrEmptyCode
	}
	out, err := m.client.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(m.keyID),
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
		Message:      []byte(message),
	})
	if err != nil {
		return nil, fmt.Errorf("code mac: kms generate mac: %w", err)
	}
	if len(out.Mac) == 0 {
		return nil, fmt.Errorf("code mac: kms returned no mac")
	}
	return out.Mac, nil
}
