package secrets

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// errEmptyCode refuses an empty message up front: KMS would refuse it too, and both
// adapters should behave alike.
var errEmptyCode = errors.New("code mac: empty code")

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

// MAC returns HMAC-SHA-256(key, digits).
func (m *LocalCodeMAC) MAC(_ context.Context, digits string) ([]byte, error) {
	if digits == "" {
		return nil, errEmptyCode
	}
	h := hmac.New(sha256.New, m.key)
	h.Write([]byte(digits))
	return h.Sum(nil), nil
}

// KMSCodeMAC computes the MAC with KMS GenerateMac (HMAC_SHA_256) on an HMAC KMS key, so
// the key never leaves KMS.
type KMSCodeMAC struct {
	client KMSAPI
	keyID  string
}

// NewKMSCodeMAC returns a MAC using the HMAC KMS key keyID.
func NewKMSCodeMAC(client KMSAPI, keyID string) *KMSCodeMAC {
	return &KMSCodeMAC{client: client, keyID: keyID}
}

// MAC returns the HMAC-SHA-256 of digits computed by KMS.
func (m *KMSCodeMAC) MAC(ctx context.Context, digits string) ([]byte, error) {
	if digits == "" {
		return nil, errEmptyCode
	}
	out, err := m.client.GenerateMac(ctx, &kms.GenerateMacInput{
		KeyId:        aws.String(m.keyID),
		MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
		Message:      []byte(digits),
	})
	if err != nil {
		return nil, fmt.Errorf("code mac: kms generate mac: %w", err)
	}
	if len(out.Mac) == 0 {
		return nil, fmt.Errorf("code mac: kms returned no mac")
	}
	return out.Mac, nil
}
