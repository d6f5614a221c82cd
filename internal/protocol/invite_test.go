package protocol

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

// tok is a valid invite token: 32 bytes in unpadded base64url, with '-' and '_' in it so
// that the suffix rules meet the alphabet's own punctuation.
const tok = "Ab-_0123456789abcdefghijklmnopqrstuvwxyzABE"

func TestValidToken(t *testing.T) {
	if !ValidToken(tok) {
		t.Fatalf("fixture %q must be valid", tok)
	}
	random := make([]byte, 32)
	if _, err := rand.Read(random); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"fixture", tok, true},
		{"random", base64.RawURLEncoding.EncodeToString(random), true},
		{"too short", tok[:42], false},
		{"too long", tok + "A", false},
		{"plus sign", "+" + tok[1:], false},
		{"non-zero padding bits", tok[:42] + "D", false},
		{"empty", "", false},
		{"all A", strings.Repeat("A", 43), true},
		{"padding", tok[:42] + "=", false},
		{"slash", "/" + tok[1:], false},
		{"newline inside", tok[:20] + "\n" + tok[21:], false},
		{"space", " " + tok[1:], false},
		{"non-ascii", "ä" + tok[2:], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidToken(tt.in); got != tt.want {
				t.Errorf("ValidToken(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestInviteTokenFromFileName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"as served", "SupportSession_" + tok + ".exe", true},
		{"windows path", `C:\Users\Anna\Downloads\SupportSession_` + tok + ".exe", true},
		{"unix path", "/tmp/x/SupportSession_" + tok + ".exe", true},
		{"chrome second download", "SupportSession_" + tok + " (1).exe", true},
		{"firefox second download", "SupportSession_" + tok + "(2).exe", true},
		{"dash counter", "SupportSession_" + tok + "-1.exe", true},
		{"underscore counter", "SupportSession_" + tok + "_3.exe", true},
		{"explorer copy", "SupportSession_" + tok + " - Copy.exe", true},
		{"explorer copy german", "SupportSession_" + tok + " - Kopie (2).exe", true},
		{"upper-case extension", "SupportSession_" + tok + ".EXE", true},
		{"lower-case prefix", "supportsession_" + tok + ".exe", true},
		{"no extension", "SupportSession_" + tok, true},
		{"renamed", "SupportSession.exe", false},
		{"other program", "setup.exe", false},
		{"token cut short", "SupportSession_" + tok[:40] + ".exe", false},
		{"token with extra char", "SupportSession_" + tok + "X.exe", false},
		{"five-digit counter", "SupportSession_" + tok + " (12345).exe", false},
		{"empty counter", "SupportSession_" + tok + " ().exe", false},
		{"letters in counter", "SupportSession_" + tok + " (a).exe", false},
		{"double extension", "SupportSession_" + tok + ".exe.exe", false},
		{"other extension", "SupportSession_" + tok + ".zip", false},
		{"prefix in directory only", `C:\SupportSession_` + tok + `\setup.exe`, false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := InviteTokenFromFileName(tt.in)
			if ok != tt.ok {
				t.Fatalf("InviteTokenFromFileName(%q) ok = %v, want %v", tt.in, ok, tt.ok)
			}
			if ok && got != tok {
				t.Errorf("token = %q, want %q", got, tok)
			}
			if !ok && got != "" {
				t.Errorf("token = %q on failure, want empty", got)
			}
		})
	}
}

func TestInviteTokenFromLink(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"join link", "https://support.example.com/join/" + tok, true},
		{"app link", "https://support.example.com/join/" + tok + "/app", true},
		{"link in angle brackets", " <https://support.example.com/join/" + tok + "> ", true},
		{"bare token", "  " + tok + "\r\n", true},
		{"local link", "http://localhost:8080/join/" + tok, true},
		{"other path", "https://support.example.com/x/" + tok, false},
		{"bad token", "https://support.example.com/join/abc", false},
		{"text", "I have no link", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := InviteTokenFromLink(tt.in)
			if ok != tt.ok || (ok && got != tok) {
				t.Errorf("InviteTokenFromLink(%q) = %q, %v; want ok=%v", tt.in, got, ok, tt.ok)
			}
		})
	}
}

func FuzzInviteTokenFromFileName(f *testing.F) {
	for _, s := range []string{
		AppFileName(tok),
		"SupportSession_" + tok + " (1).exe",
		"SupportSession_" + tok + "-12.EXE",
		`D:\x\SupportSession_` + tok + " - Copy (3).exe",
		"SupportSession_",
		"SupportSession_" + tok[:42] + "é.exe",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, ok := InviteTokenFromFileName(name)
		if !ok {
			if got != "" {
				t.Fatalf("failure returned token %q", got)
			}
			return
		}
		if !ValidToken(got) {
			t.Fatalf("returned invalid token %q from %q", got, name)
		}
		if !strings.Contains(name, got) {
			t.Fatalf("token %q is not part of %q", got, name)
		}
		// What the server serves must always parse back to the same token.
		if again, ok := InviteTokenFromFileName(`C:\Downloads\` + AppFileName(got)); !ok || again != got {
			t.Fatalf("round trip of %q gave %q, %v", got, again, ok)
		}
	})
}

func TestValidNonce(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"the app's 32 hex digits", "8f14e45fceea167a5a36dedd4bea2543", true},
		{"22 characters, the least", strings.Repeat("a", MinNonceLen), true},
		{"base64url", "Ab-_0123456789abcdefghij", true},
		{"128 characters, the most", strings.Repeat("Z", MaxNonceLen), true},
		{"empty", "", false},
		{"short and guessable", "n-1", false},
		{"21 characters", strings.Repeat("a", MinNonceLen-1), false},
		{"129 characters", strings.Repeat("a", MaxNonceLen+1), false},
		{"space", "8f14e45fceea167a 5a36dedd4bea2543", false},
		{"control character", "8f14e45fceea167a\x005a36dedd4bea2543", false},
		{"non-ASCII", "8f14e45fceea167aä5a36dedd4bea2543", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidNonce(tt.in); got != tt.want {
				t.Errorf("ValidNonce(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}
