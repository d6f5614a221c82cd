package secrets_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var (
	_ support.CodeMACer = (*secrets.LocalCodeMAC)(nil)
	_ support.CodeMACer = (*secrets.KMSCodeMAC)(nil)
)

func TestLocalCodeMAC(t *testing.T) {
	ctx := context.Background()
	// The expected value is computed with the standard library's HMAC, independently of
	// the adapter.
	key := bytes.Repeat([]byte{0x0b}, 32)
	m, err := secrets.NewLocalCodeMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		digits string
	}{{"123456789"}, {"000000000"}, {"987654321"}}
	seen := map[string]string{}
	for _, tt := range tests {
		got, err := m.MAC(ctx, tt.digits)
		if err != nil {
			t.Fatal(err)
		}
		h := hmac.New(sha256.New, key)
		h.Write([]byte(tt.digits))
		if want := h.Sum(nil); !bytes.Equal(got, want) {
			t.Errorf("MAC(%s) = %x, want %x", tt.digits, got, want)
		}
		again, _ := m.MAC(ctx, tt.digits)
		if !bytes.Equal(got, again) {
			t.Errorf("MAC(%s) is not deterministic", tt.digits)
		}
		if prev, ok := seen[hex.EncodeToString(got)]; ok {
			t.Errorf("MAC(%s) equals MAC(%s)", tt.digits, prev)
		}
		seen[hex.EncodeToString(got)] = tt.digits
	}

	other, err := secrets.NewLocalCodeMAC(bytes.Repeat([]byte{0x0c}, 32))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := m.MAC(ctx, "123456789")
	b, _ := other.MAC(ctx, "123456789")
	if bytes.Equal(a, b) {
		t.Error("two keys give the same MAC")
	}
	if _, err := m.MAC(ctx, ""); err == nil {
		t.Error("MAC of an empty code succeeded")
	}
	if _, err := secrets.NewLocalCodeMAC(make([]byte, 16)); err == nil {
		t.Error("NewLocalCodeMAC accepted a 16-byte key")
	}
}

func TestLocalCodeMACKeepsOwnKeyCopy(t *testing.T) {
	key := bytes.Repeat([]byte{1}, 32)
	m, err := secrets.NewLocalCodeMAC(key)
	if err != nil {
		t.Fatal(err)
	}
	before, _ := m.MAC(context.Background(), "123456789")
	clear(key)
	after, _ := m.MAC(context.Background(), "123456789")
	if !bytes.Equal(before, after) {
		t.Error("changing the caller's key slice changed the MAC")
	}
}

func TestKMSCodeMAC(t *testing.T) {
	ctx := context.Background()
	fake := newFakeKMS(testKeyID)
	m := secrets.NewKMSCodeMAC(fake, testKeyID)
	got, err := m.MAC(ctx, "123456789")
	if err != nil {
		t.Fatal(err)
	}
	h := hmac.New(sha256.New, fake.macKey)
	h.Write([]byte("123456789"))
	if !bytes.Equal(got, h.Sum(nil)) {
		t.Errorf("MAC = %x, want KMS's HMAC", got)
	}
	if len(fake.mac) != 1 {
		t.Fatalf("GenerateMac called %d times, want 1", len(fake.mac))
	}
	in := fake.mac[0]
	if aws.ToString(in.KeyId) != testKeyID {
		t.Errorf("KeyId = %q, want %q", aws.ToString(in.KeyId), testKeyID)
	}
	if in.MacAlgorithm != types.MacAlgorithmSpecHmacSha256 {
		t.Errorf("MacAlgorithm = %q, want HMAC_SHA_256", in.MacAlgorithm)
	}
	if string(in.Message) != "123456789" {
		t.Errorf("Message = %q, want the digits", in.Message)
	}

	if _, err := m.MAC(ctx, ""); err == nil {
		t.Error("MAC of an empty code succeeded")
	}
	if len(fake.mac) != 1 {
		t.Error("an empty code reached KMS")
	}
	boom := &types.KMSInternalException{Message: aws.String("boom")}
	fake.fail = boom
	if _, err := m.MAC(ctx, "123456789"); !errors.Is(err, boom) {
		t.Errorf("err = %v, want the KMS error wrapped", err)
	}
}
