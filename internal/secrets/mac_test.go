package secrets_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var _ support.CodeMACer = (*secrets.LocalCodeMAC)(nil)

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
