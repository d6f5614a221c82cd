package secrets_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
)

func TestCodeMessageCoversSessionAndDigits(t *testing.T) {
	ctx := context.Background()
	m, err := secrets.NewLocalCodeMAC(randomKey(t))
	if err != nil {
		t.Fatal(err)
	}
	a, b := secrets.NewSessionID(), secrets.NewSessionID()
	mac := func(id, digits string) []byte {
		out, err := m.MAC(ctx, secrets.CodeMessage(id, digits))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	base := mac(a, "123456789")
	for _, tt := range []struct {
		name      string
		id, digit string
	}{
		{"another session, same digits", b, "123456789"},
		{"same session, other digits", a, "123456780"},
	} {
		if bytes.Equal(mac(tt.id, tt.digit), base) {
			t.Errorf("%s: same MAC: a MAC copied between sessions would match", tt.name)
		}
	}
	// The digits alone (the MAC of items sealed before) never equal the bound MAC.
	legacy, _ := m.MAC(ctx, "123456789")
	if bytes.Equal(legacy, base) {
		t.Error("the bound MAC equals the MAC of the digits alone")
	}
}

func TestBindingAAD(t *testing.T) {
	id := secrets.NewSessionID()
	b := secrets.Binding{SessionID: id, InviteTokenHash: secrets.HashToken("t"), CodeMAC: bytes.Repeat([]byte{1}, 32)}
	variants := map[string]secrets.Binding{
		"other session":    {SessionID: secrets.NewSessionID(), InviteTokenHash: b.InviteTokenHash, CodeMAC: b.CodeMAC},
		"other invitation": {SessionID: id, InviteTokenHash: secrets.HashToken("u"), CodeMAC: b.CodeMAC},
		"other code":       {SessionID: id, InviteTokenHash: b.InviteTokenHash, CodeMAC: bytes.Repeat([]byte{2}, 32)},
		"no code":          {SessionID: id, InviteTokenHash: b.InviteTokenHash},
		// Moving bytes from one field to the next must not give the same encoding.
		"shifted": {SessionID: id + string(b.InviteTokenHash[:1]), InviteTokenHash: b.InviteTokenHash[1:], CodeMAC: b.CodeMAC},
	}
	for name, v := range variants {
		if bytes.Equal(v.AAD(), b.AAD()) {
			t.Errorf("%s: same associated data", name)
		}
	}
	if bytes.Equal(b.AAD(), []byte(id)) {
		t.Error("the binding is the session id alone")
	}
}

func TestSealPairing(t *testing.T) {
	ctx := context.Background()
	token, err := secrets.NewToken()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := secrets.NewToken()
	id := secrets.NewSessionID()
	b := secrets.Binding{SessionID: id, InviteTokenHash: secrets.HashToken(token), CodeMAC: bytes.Repeat([]byte{7}, 32)}
	for name, s := range map[string]secrets.Sealer{"key file": newLocalSealer(t), "envelope": newEnvelopeSealer(t)} {
		t.Run(name, func(t *testing.T) {
			sealed, err := secrets.SealPairing(ctx, s, token, b, []byte("Corr3ct-Horse"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(sealed, []byte("Corr3ct-Horse")) {
				t.Fatal("the sealed value holds the plaintext")
			}
			got, err := secrets.OpenPairing(ctx, s, token, b, sealed)
			if err != nil || string(got) != "Corr3ct-Horse" {
				t.Fatalf("OpenPairing = %q, %v", got, err)
			}
			refused := []struct {
				name  string
				token string
				b     secrets.Binding
			}{
				{"another invite token", other, b},
				{"another session", token, secrets.Binding{SessionID: secrets.NewSessionID(), InviteTokenHash: b.InviteTokenHash, CodeMAC: b.CodeMAC}},
				{"another invite-token hash", token, secrets.Binding{SessionID: id, InviteTokenHash: secrets.HashToken(other), CodeMAC: b.CodeMAC}},
				{"another code MAC", token, secrets.Binding{SessionID: id, InviteTokenHash: b.InviteTokenHash, CodeMAC: bytes.Repeat([]byte{8}, 32)}},
			}
			for _, r := range refused {
				if pt, err := secrets.OpenPairing(ctx, s, r.token, r.b, sealed); !errors.Is(err, secrets.ErrOpen) {
					t.Errorf("%s: OpenPairing = %q, %v; want ErrOpen", r.name, pt, err)
				}
			}
			// The key service alone (what the pairing role can do) opens only the inner
			// lock, which needs the invite token.
			inner, err := s.Open(ctx, sealed, b.AAD())
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(inner, []byte("Corr3ct-Horse")) {
				t.Error("the key service's layer alone reveals the password")
			}
			if _, err := secrets.UnlockWithToken(other, inner, b.AAD()); !errors.Is(err, secrets.ErrOpen) {
				t.Errorf("another token unlocked the inner layer: %v", err)
			}
			// The stored hash of the token is not its key.
			if _, err := secrets.UnlockWithToken(string(secrets.HashToken(token)), inner, b.AAD()); !errors.Is(err, secrets.ErrOpen) {
				t.Errorf("the token's hash unlocked the inner layer: %v", err)
			}
		})
	}
	if _, err := secrets.LockToToken("", []byte("x"), nil); err == nil {
		t.Error("LockToToken accepted an empty token")
	}
}
