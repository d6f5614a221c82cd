package awskms_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"maps"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/secrets/awskms"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var _ support.Sealer = (*awskms.Sealer)(nil)

const testKeyID = "arn:aws:kms:eu-central-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

// The envelope format's own properties are internal/secrets' tests; these hold the KMS
// calls around it.
func TestSealerRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := awskms.NewSealer(newFakeKMS(testKeyID), testKeyID)
	for _, pt := range [][]byte{{}, []byte("Corr3ct-Horse-Battery"), []byte("Pässwörter-Ünd-€uro-12"), bytes.Repeat([]byte("x"), 4096)} {
		aad := []byte("session:abc")
		sealed, err := s.Seal(ctx, pt, aad)
		if err != nil {
			t.Fatal(err)
		}
		if len(pt) > 4 && bytes.Contains(sealed, pt) {
			t.Fatal("sealed value contains the plaintext")
		}
		got, err := s.Open(ctx, sealed, aad)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, pt) {
			t.Fatalf("Open = %q, want %q", got, pt)
		}
	}
}

func TestSealerRefuses(t *testing.T) {
	ctx := context.Background()
	aad := []byte("session:abc")
	fake := newFakeKMS(testKeyID)
	s := awskms.NewSealer(fake, testKeyID)
	sealed, err := s.Seal(ctx, []byte("Corr3ct-Horse-Battery"), aad)
	if err != nil {
		t.Fatal(err)
	}
	local, err := secrets.NewLocalSealer(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	fromLocal, err := local.Seal(ctx, []byte("secret"), aad)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		opener support.Sealer
		sealed []byte
		aad    []byte
	}{
		// KMS refuses the data key for another encryption context (InvalidCiphertext).
		{"wrong aad", s, sealed, []byte("session:abd")},
		{"empty aad", s, sealed, nil},
		{"truncated", s, sealed[:len(sealed)-1], aad},
		{"a locally sealed value", s, fromLocal, aad},
		{"other key material, same key id", awskms.NewSealer(newFakeKMS(testKeyID), testKeyID), sealed, aad},
		{"a KMS value, local sealer", local, sealed, aad},
	}
	for i := range sealed {
		b := bytes.Clone(sealed)
		b[i] ^= 0x01
		tests = append(tests, struct {
			name   string
			opener support.Sealer
			sealed []byte
			aad    []byte
		}{fmt.Sprintf("flipped byte %d", i), s, b, aad})
	}
	for _, tt := range tests {
		if got, err := tt.opener.Open(ctx, tt.sealed, tt.aad); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: Open = %q, %v; want ErrOpen", tt.name, got, err)
		}
	}
}

func TestSealerRequests(t *testing.T) {
	ctx := context.Background()
	fake := newFakeKMS(testKeyID)
	s := awskms.NewSealer(fake, testKeyID)
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

func TestSealerErrors(t *testing.T) {
	ctx := context.Background()
	throttled := &types.KMSInternalException{Message: aws.String("try later")}

	fake := newFakeKMS(testKeyID)
	s := awskms.NewSealer(fake, testKeyID)
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

	wrongKey := awskms.NewSealer(fake, "alias/other")
	var nf *types.NotFoundException
	if _, err := wrongKey.Seal(ctx, []byte("pw"), []byte("a")); !errors.As(err, &nf) {
		t.Errorf("Seal with an unknown key: err = %v, want NotFoundException", err)
	}
}
