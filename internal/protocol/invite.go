package protocol

import (
	"encoding/base64"
	"net/url"
	"strings"
)

// AppFilePrefix and AppFileExt make up the name the join route gives the download:
// SupportSession_<inviteToken>.exe.
const (
	AppFilePrefix = "SupportSession_"
	AppFileExt    = ".exe"
)

// TokenLen is the length of every bearer secret in the API (the invite token, and the
// secret half of the agent token): 256 bits in unpadded base64url.
const TokenLen = 43

// AppFileName is the file name the join route serves the app under.
func AppFileName(inviteToken string) string {
	return AppFilePrefix + inviteToken + AppFileExt
}

// ValidToken reports whether s has the form of a bearer secret (see TokenLen): 43
// characters of unpadded base64url that decode to exactly 32 bytes. Strict decoding refuses
// non-zero bits in the last character, so a token has exactly one spelling, and the length
// check after decoding refuses the line breaks base64 decoders skip. Both sides check it:
// the server refuses a malformed token before any lookup, the app before it calls home.
func ValidToken(s string) bool {
	if len(s) != TokenLen {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil && len(b) == 32
}

// InviteTokenFromFileName finds the invite token in the app's own file name. It accepts a
// full path (with / or \ separators) and the suffixes browsers and Explorer add to a
// second download or a copy: "SupportSession_<t> (1).exe", "SupportSession_<t>(2).exe",
// "SupportSession_<t>-1.exe", "SupportSession_<t> - Copy.exe".
func InviteTokenFromFileName(name string) (string, bool) {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	// File names on Windows are case-insensitive, and some tools upper-case extensions.
	if len(name) < len(AppFilePrefix)+TokenLen || !strings.EqualFold(name[:len(AppFilePrefix)], AppFilePrefix) {
		return "", false
	}
	rest := name[len(AppFilePrefix):]
	token, tail := rest[:TokenLen], rest[TokenLen:]
	if !ValidToken(token) {
		return "", false
	}
	if len(tail) >= len(AppFileExt) && strings.EqualFold(tail[len(tail)-len(AppFileExt):], AppFileExt) {
		tail = tail[:len(tail)-len(AppFileExt)]
	}
	if !downloadSuffix(tail) {
		return "", false
	}
	return token, true
}

// downloadSuffix reports whether s is something a browser or Explorer appends to a file
// name that already exists: "", " (1)", "(1)", "-1", "_1", " - Copy", " - Kopie",
// " - Copy (2)".
func downloadSuffix(s string) bool {
	for _, copyWord := range []string{" - Copy", " - Kopie"} {
		if len(s) >= len(copyWord) && strings.EqualFold(s[:len(copyWord)], copyWord) {
			s = s[len(copyWord):]
			break
		}
	}
	switch {
	case s == "":
		return true
	case s[0] == '-' || s[0] == '_':
		return counter(s[1:])
	}
	s = strings.TrimPrefix(s, " ")
	if len(s) >= 3 && s[0] == '(' && s[len(s)-1] == ')' {
		return counter(s[1 : len(s)-1])
	}
	return false
}

func counter(s string) bool {
	if s == "" || len(s) > 4 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// InviteTokenFromLink finds the invite token in what a user pastes when the file name
// did not carry it: the link from the e-mail (…/join/<token>, or its /app download link),
// or the bare token. Surrounding spaces and angle brackets (mail clients add them) are
// ignored.
func InviteTokenFromLink(s string) (string, bool) {
	s = strings.Trim(strings.TrimSpace(s), "<>\"'")
	if ValidToken(s) {
		return s, true
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := 0; i+1 < len(parts); i++ {
		if parts[i] == "join" && ValidToken(parts[i+1]) {
			return parts[i+1], true
		}
	}
	return "", false
}

// MinNonceLen and MaxNonceLen bound a pairing nonce. 22 characters of the alphabet below
// carry at least 128 bits when chosen at random, as the app does (32 hex digits).
const (
	MinNonceLen = 22
	MaxNonceLen = 128
)

// ValidNonce reports whether s has the form of a pairing nonce: MinNonceLen to MaxNonceLen
// letters, digits, '-' or '_'. The nonce is what lets a retried pairing get its answer
// (the password and agent token) again without the security code, so it must be too long
// to guess; the server cannot measure randomness, but it can refuse the short ones.
func ValidNonce(s string) bool {
	if len(s) < MinNonceLen || len(s) > MaxNonceLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
