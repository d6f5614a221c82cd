package secrets_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var _ support.Sealer = (*secrets.LocalSealer)(nil)

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

// envelopeSealer seals in the envelope format with a stand-in for the key service: data
// keys wrapped with AES-GCM under a master key of its own, bound to the aad as KMS binds
// them to the encryption context. internal/secrets/awskms does the same with KMS.
type envelopeSealer struct {
	master    []byte
	unwraps   int      // decryptKey calls
	unwrapped [][]byte // the data keys decryptKey handed out, to check they were wiped
}

func newEnvelopeSealer(t *testing.T) *envelopeSealer {
	return &envelopeSealer{master: randomKey(t)}
}

func (e *envelopeSealer) gcm() cipher.AEAD {
	block, err := aes.NewCipher(e.master)
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

func (e *envelopeSealer) Seal(_ context.Context, plaintext, aad []byte) ([]byte, error) {
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	defer clear(key)
	nonce := make([]byte, 12)
	_, _ = rand.Read(nonce)
	return secrets.SealEnvelope(key, e.gcm().Seal(nonce, nonce, key, aad), plaintext, aad)
}

func (e *envelopeSealer) Open(_ context.Context, sealed, aad []byte) ([]byte, error) {
	return secrets.OpenEnvelope(sealed, aad, func(wrapped []byte) ([]byte, error) {
		e.unwraps++
		if len(wrapped) < 12 {
			return nil, fmt.Errorf("short data key: %w", secrets.ErrOpen)
		}
		key, err := e.gcm().Open(nil, wrapped[:12], wrapped[12:], aad)
		if err != nil {
			return nil, fmt.Errorf("data key of another key or context: %w", secrets.ErrOpen)
		}
		e.unwrapped = append(e.unwrapped, key)
		return key, nil
	})
}

// sealers returns the local sealer and one in the envelope format, so every property
// below is checked for each.
func sealers(t *testing.T) map[string]support.Sealer {
	return map[string]support.Sealer{
		"local":    newLocalSealer(t),
		"envelope": newEnvelopeSealer(t),
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
	kmsSealer, otherKMS := newEnvelopeSealer(t), newEnvelopeSealer(t)

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
		{"local value, envelope sealer", kmsSealer, fromLocal},
		{"envelope value, local sealer", local1, fromKMS},
		{"envelope value, other key service", otherKMS, fromKMS},
	}
	for _, tt := range tests {
		if _, err := tt.opener.Open(ctx, tt.sealed, aad); !errors.Is(err, secrets.ErrOpen) {
			t.Errorf("%s: err = %v, want ErrOpen", tt.name, err)
		}
	}
}

func TestOpenEnvelope(t *testing.T) {
	ctx := context.Background()
	e := newEnvelopeSealer(t)
	sealed, err := e.Seal(ctx, []byte("pw"), []byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	// GIVEN a well-formed value WHEN opened THEN the data key is asked for once and wiped
	// after use.
	if _, err := e.Open(ctx, sealed, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if e.unwraps != 1 || len(e.unwrapped) != 1 || !bytes.Equal(e.unwrapped[0], make([]byte, 32)) {
		t.Errorf("%d unwraps, data keys after Open %x: want one, wiped", e.unwraps, e.unwrapped)
	}
	// GIVEN a value that is not well-formed THEN the key service is not asked at all.
	for _, bad := range [][]byte{nil, {2}, {2, 0, 0}, {2, 0, 40, 1, 2, 3}, {1, 0, 1, 2}} {
		e.unwraps = 0
		if _, err := e.Open(ctx, bad, []byte("a")); !errors.Is(err, secrets.ErrOpen) || e.unwraps != 0 {
			t.Errorf("Open(%x): err %v after %d unwraps, want ErrOpen after none", bad, err, e.unwraps)
		}
	}
	// GIVEN a key service that fails WHEN opening THEN its error comes back, and is not
	// ErrOpen unless it said so: the value may open later.
	down := errors.New("key service unavailable")
	_, err = secrets.OpenEnvelope(sealed, []byte("a"), func([]byte) ([]byte, error) { return nil, down })
	if !errors.Is(err, down) || errors.Is(err, secrets.ErrOpen) {
		t.Errorf("err = %v, want the key service's error, not ErrOpen", err)
	}
	// GIVEN an encrypted data key that is empty or too long for the format THEN Seal
	// refuses it.
	for _, n := range []int{0, 0x10000} {
		if _, err := secrets.SealEnvelope(randomKey(t), make([]byte, n), []byte("pw"), nil); err == nil {
			t.Errorf("SealEnvelope accepted an encrypted data key of %d bytes", n)
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
