package secrets

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// SessionIDLen is the length of a session id: 16 random bytes in unpadded base32.
const SessionIDLen = 26

// sessionIDEncoding is lower-case so ids read well in URLs and logs, and unpadded so they
// never carry '='.
var sessionIDEncoding = base32.NewEncoding(sessionIDAlphabet).WithPadding(base32.NoPadding)

const sessionIDAlphabet = "abcdefghijklmnopqrstuvwxyz234567"

// NewToken returns 256 random bits as unpadded base64url (43 characters).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// HashToken returns the SHA-256 of a token, which is what the store keeps.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// Equal compares two secrets (or their hashes) in constant time.
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// NewSessionID returns 128 random bits as lower-case unpadded base32 (26 characters).
func NewSessionID() string {
	// rand.Read never returns an error on the platforms Go supports (it panics instead
	// when the system's generator fails), so the id needs no error path.
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return sessionIDEncoding.EncodeToString(b)
}

// ValidSessionID reports whether s has the form of an id made by NewSessionID.
func ValidSessionID(s string) bool {
	if len(s) != SessionIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	// 26 characters carry 130 bits for 128: the last character's two low bits must be
	// zero, so an id has exactly one spelling.
	last := strings.IndexByte(sessionIDAlphabet, s[len(s)-1])
	return last&0b11 == 0
}

// NewAgentToken returns a token for the paired app: "<sessionID>.<token>". The session id
// in front lets the server find the session without a lookup of its own; the whole string
// is what gets hashed and stored.
func NewAgentToken(sessionID string) (string, error) {
	if !ValidSessionID(sessionID) {
		return "", fmt.Errorf("agent token: malformed session id")
	}
	t, err := NewToken()
	if err != nil {
		return "", fmt.Errorf("agent token: %w", err)
	}
	return sessionID + "." + t, nil
}

// SplitAgentToken returns the session id of an agent token, and whether the token has the
// form NewAgentToken makes. It proves nothing: the caller must still compare the hash.
func SplitAgentToken(token string) (sessionID string, ok bool) {
	id, secret, found := strings.Cut(token, ".")
	if !found || !ValidSessionID(id) || !protocol.ValidToken(secret) {
		return "", false
	}
	return id, true
}

// remoteIDPrefix begins every remote connection's id, so that it is never mistaken for a
// session's.
const remoteIDPrefix = "r-"

// NewRemoteID returns the id of a remote connection: "r-" and 128 random bits as
// lower-case unpadded base32.
func NewRemoteID() string { return remoteIDPrefix + NewSessionID() }

// ValidRemoteID reports whether s has the form of an id made by NewRemoteID.
func ValidRemoteID(s string) bool {
	rest, ok := strings.CutPrefix(s, remoteIDPrefix)
	return ok && ValidSessionID(rest)
}
