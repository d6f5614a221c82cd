package secrets_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var (
	_ support.Sealer = (*secrets.LocalSealer)(nil)
	_ support.Sealer = (*secrets.KMSSealer)(nil)
)

const testKeyID = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

func randomKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newLocalSealer(t *testing.T) *secrets.LocalSealer {
	t.Helper()
	s, err := secrets.NewLocalSealer(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sealers returns both adapters, so every property below is checked for each.
func sealers(t *testing.T) map[string]support.Sealer {
	return map[string]support.Sealer{
		"local": newLocalSealer(t),
		"kms":   secrets.NewKMSSealer(newFakeKMS(testKeyID), testKeyID),
	}
}

var plaintexts = []struct {
	name string
	pt   []byte
}{
	{"empty", []byte{}},
	{"password", []byte("Corr3ct-Horse-Battery")},
	{"unicode", []byte("Pässwörter-Ünd-€uro-12")},
	{"long", bytes.Repeat([]byte("x"), 4096)},
}

func TestSealRoundTrip(t *testing.T) {
	ctx := context.Background()
	for name, s := range sealers(t) {
		for _, p := range plaintexts {
			t.Run(name+"/"+p.name, func(t *testing.T) {
				aad := []byte("session:abc")
				sealed, err := s.Seal(ctx, p.pt, aad)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.pt) > 4 && bytes.Contains(sealed, p.pt) {
					t.Fatal("sealed value contains the plaintext")
				}
				again, err := s.Seal(ctx, p.pt, aad)
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Equal(sealed, again) {
					t.Fatal("sealing twice gave the same bytes: nonce or data key not random")
				}
				got, err := s.Open(ctx, sealed, aad)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, p.pt) {
					t.Fatalf("Open = %q, want %q", got, p.pt)
				}
			})
		}
	}
}

func TestOpenRefuses(t *testing.T) {
	ctx := context.Background()
	aad := []byte("session:abc")
	pt := []byte("Corr3ct-Horse-Battery")
	for name, s := range sealers(t) {
		sealed, err := s.Seal(ctx, pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		tests := []struct {
			name   string
			sealed []byte
			aad    []byte
		}{
			{"wrong aad", sealed, []byte("session:abd")},
			{"empty aad", sealed, nil},
			{"truncated", sealed[:len(sealed)-1], aad},
			{"only version", sealed[:1], aad},
			{"nothing", nil, aad},
			{"extra byte", append(bytes.Clone(sealed), 0), aad},
		}
		// Flipping any single byte must be detected: version, header, data key, nonce,
		// ciphertext and tag alike.
		for i := range sealed {
			b := bytes.Clone(sealed)
			b[i] ^= 0x01
			tests = append(tests, struct {
				name   string
				sealed []byte
				aad    []byte
			}{fmt.Sprintf("flipped byte %d", i), b, aad})
		}
		for _, tt := range tests {
			got, err := s.Open(ctx, tt.sealed, tt.aad)
			if err == nil {
				t.Fatalf("%s/%s: Open succeeded with %q", name, tt.name, got)
			}
			if !errors.Is(err, secrets.ErrOpen) {
				t.Fatalf("%s/%s: error %v is not ErrOpen", name, tt.name, err)
			}
			if strings.Contains(err.Error(), string(pt)) {
				t.Fatalf("%s/%s: error carries the plaintext", name, tt.name)
			}
		}
	}
}

func TestOpenRefusesOtherKeyAndFormat(t *testing.T) {
	ctx := context.Background()
	aad := []byte("a")
	local1, local2 := newLocalSealer(t), newLocalSealer(t)
	kmsSealer := secrets.NewKMSSealer(newFakeKMS(testKeyID), testKeyID)
	otherKMS := secrets.NewKMSSealer(newFakeKMS(testKeyID), testKeyID) // same id, other key material

	fromLocal, err := local1.Seal(ctx, []byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	fromKMS, err := kmsSealer.Seal(ctx, []byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		opener support.Sealer
		sealed []byte
	}{
		{"local value, other local key", local2, fromLocal},
		{"local value, kms sealer", kmsSealer, fromLocal},
		{"kms value, local sealer", local1, fromKMS},
		{"kms value, other kms key", otherKMS, fromKMS},
	}
	for _, tt := range tests {
		if _, err := tt.opener.Open(ctx, tt.sealed, aad); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", tt.name, err)
		}
	}
}

func TestNewLocalSealerKeyLength(t *testing.T) {
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		if _, err := secrets.NewLocalSealer(make([]byte, n)); err == nil {
			t.Errorf("NewLocalSealer accepted a %d-byte key", n)
		}
	}
}

func TestKMSSealerRequests(t *testing.T) {
	ctx := context.Background()
	fake := newFakeKMS(testKeyID)
	s := secrets.NewKMSSealer(fake, testKeyID)
	aad := []byte("session:\x00\xffabc")
	sealed, err := s.Seal(ctx, []byte("pw"), aad)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, sealed, aad); err != nil {
		t.Fatal(err)
	}

	wantEC := map[string]string{"purpose": "adhoc-password", "aad": base64.StdEncoding.EncodeToString(aad)}
	if len(fake.gen) != 1 {
		t.Fatalf("GenerateDataKey called %d times, want 1", len(fake.gen))
	}
	gen := fake.gen[0]
	if aws.ToString(gen.KeyId) != testKeyID {
		t.Errorf("GenerateDataKey KeyId = %q, want %q", aws.ToString(gen.KeyId), testKeyID)
	}
	if gen.KeySpec != types.DataKeySpecAes256 {
		t.Errorf("KeySpec = %q, want AES_256", gen.KeySpec)
	}
	if gen.NumberOfBytes != nil {
		t.Errorf("NumberOfBytes = %d, want unset (KeySpec and NumberOfBytes exclude each other)", *gen.NumberOfBytes)
	}
	if !maps.Equal(gen.EncryptionContext, wantEC) {
		t.Errorf("GenerateDataKey EncryptionContext = %v, want %v", gen.EncryptionContext, wantEC)
	}
	if len(fake.dec) != 1 {
		t.Fatalf("Decrypt called %d times, want 1", len(fake.dec))
	}
	dec := fake.dec[0]
	if aws.ToString(dec.KeyId) != testKeyID {
		t.Errorf("Decrypt KeyId = %q, want %q", aws.ToString(dec.KeyId), testKeyID)
	}
	if !maps.Equal(dec.EncryptionContext, wantEC) {
		t.Errorf("Decrypt EncryptionContext = %v, want %v", dec.EncryptionContext, wantEC)
	}
	if !bytes.Contains(sealed, dec.CiphertextBlob) || len(dec.CiphertextBlob) == 0 {
		t.Error("Decrypt was not given the encrypted data key carried in the sealed value")
	}
	// The plaintext data key must not outlive Seal in the caller's memory.
	for _, k := range fake.handedOut {
		if !bytes.Equal(k, make([]byte, len(k))) {
			t.Error("plaintext data key was not wiped after sealing")
		}
	}
}

func TestKMSSealerErrors(t *testing.T) {
	ctx := context.Background()
	throttled := &types.KMSInternalException{Message: aws.String("try later")}

	fake := newFakeKMS(testKeyID)
	s := secrets.NewKMSSealer(fake, testKeyID)
	fake.fail = throttled
	if _, err := s.Seal(ctx, []byte("pw"), []byte("a")); !errors.Is(err, throttled) || !strings.Contains(err.Error(), "generate data key") {
		t.Errorf("Seal with a failing KMS: err = %v, want the KMS error wrapped with context", err)
	}

	sealed, err := s.Seal(ctx, []byte("pw"), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	fake.fail = throttled
	_, err = s.Open(ctx, sealed, []byte("a"))
	if !errors.Is(err, throttled) || errors.Is(err, secrets.ErrOpen) {
		t.Errorf("Open with a failing KMS: err = %v, want the KMS error and not ErrOpen (it may work later)", err)
	}

	wrongKey := secrets.NewKMSSealer(fake, "alias/other")
	var nf *types.NotFoundException
	if _, err := wrongKey.Seal(ctx, []byte("pw"), []byte("a")); !errors.As(err, &nf) {
		t.Errorf("Seal with an unknown key: err = %v, want NotFoundException", err)
	}
}
