package secrets_test

import (
	"bytes"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/secrets"
)

func TestNewToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok, err := secrets.NewToken()
		if err != nil {
			t.Fatal(err)
		}
		if len(tok) != protocol.TokenLen || !protocol.ValidToken(tok) {
			t.Fatalf("token %q: len %d, valid form %v", tok, len(tok), protocol.ValidToken(tok))
		}
		if seen[tok] {
			t.Fatalf("token repeated: %q", tok)
		}
		seen[tok] = true
	}
}

func TestHashTokenAndEqual(t *testing.T) {
	want := sha256.Sum256([]byte("abc"))
	if got := secrets.HashToken("abc"); !bytes.Equal(got, want[:]) {
		t.Fatalf("HashToken = %x, want %x", got, want)
	}
	tests := []struct {
		a, b []byte
		want bool
	}{
		{[]byte("same"), []byte("same"), true},
		{[]byte("same"), []byte("Same"), false},
		{[]byte("short"), []byte("shorter"), false},
		{nil, []byte{}, true},
		{secrets.HashToken("x"), secrets.HashToken("y"), false},
	}
	for _, tt := range tests {
		if got := secrets.Equal(tt.a, tt.b); got != tt.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestNewSessionID(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := secrets.NewSessionID()
		if len(id) != secrets.SessionIDLen || !secrets.ValidSessionID(id) {
			t.Fatalf("session id %q: len %d, valid %v", id, len(id), secrets.ValidSessionID(id))
		}
		if strings.ToLower(id) != id || strings.Contains(id, "=") {
			t.Fatalf("session id %q is not lower-case unpadded base32", id)
		}
		if seen[id] {
			t.Fatalf("session id repeated: %q", id)
		}
		seen[id] = true
	}
}

func TestValidSessionID(t *testing.T) {
	good := secrets.NewSessionID()
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"fresh", good, true},
		{"all a", strings.Repeat("a", 26), true},
		{"upper case", "A" + good[1:], false},
		{"short", good[:25], false},
		{"long", good + "a", false},
		{"digit 1 not in alphabet", "1" + good[1:], false},
		{"digit 8 not in alphabet", "8" + good[1:], false},
		{"non-zero trailing bits", strings.Repeat("a", 25) + "b", false},
		{"dot", good[:25] + ".", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secrets.ValidSessionID(tt.in); got != tt.want {
				t.Errorf("ValidSessionID(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestAgentToken(t *testing.T) {
	id := secrets.NewSessionID()
	tok, err := secrets.NewAgentToken(id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, id+".") || len(tok) != secrets.SessionIDLen+1+protocol.TokenLen {
		t.Fatalf("agent token %q does not have the form <id>.<token>", tok)
	}
	other, err := secrets.NewAgentToken(id)
	if err != nil {
		t.Fatal(err)
	}
	if other == tok {
		t.Fatal("two agent tokens for one session are equal")
	}
	if _, err := secrets.NewAgentToken("Not-An-Id"); err == nil {
		t.Fatal("NewAgentToken accepted a malformed session id")
	}

	secret := tok[secrets.SessionIDLen+1:]
	tests := []struct {
		name   string
		in     string
		wantID string
		wantOK bool
	}{
		{"made by NewAgentToken", tok, id, true},
		{"no dot", id + secret, "", false},
		{"empty", "", "", false},
		{"only id", id + ".", "", false},
		{"only secret", "." + secret, "", false},
		{"bad id", "X" + tok[1:], "", false},
		{"bad secret", id + "." + secret[:42] + "=", "", false},
		{"two dots", id + "." + secret + ".x", "", false},
		{"bare invite token", secret, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotID, ok := secrets.SplitAgentToken(tt.in)
			if gotID != tt.wantID || ok != tt.wantOK {
				t.Errorf("SplitAgentToken(%q) = %q, %v; want %q, %v", tt.in, gotID, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestRemoteID(t *testing.T) {
	id := secrets.NewRemoteID()
	if secrets.NewRemoteID() == id {
		t.Fatal("two remote ids alike")
	}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"fresh", id, true},
		{"as remote-protocol writes it", "r-" + strings.Repeat("a", 26), true},
		{"a session id", id[2:], false},
		{"another prefix", "s-" + id[2:], false},
		{"upper case", "R-" + id[2:], false},
		{"short", id[:len(id)-1], false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := secrets.ValidRemoteID(tt.in); got != tt.want {
				t.Errorf("ValidRemoteID(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
