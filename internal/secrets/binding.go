package secrets

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// What binds an invitation's secrets to the invitation (issue 15): someone able to write
// the table could otherwise point their own invite lookup at another account's session,
// copy their own code's MAC into it and pair with their own link and code.
//
//   - The security code's MAC covers the session id and the digits (CodeMessage), so a MAC
//     copied from one session's item does not match in another's.
//   - The password and the retry copy of the agent token are bound, as associated data, to
//     the session id, the invite-token hash and the code MAC (Binding.AAD): changing any of
//     them in the item makes the value unopenable.
//   - They are also locked under a key derived from the invite token itself (LockToToken),
//     which the server never stores (it keeps the token's SHA-256, from which the key
//     cannot be derived). Opening then needs the link from the mail as well as the key
//     service: a reader of the table who can also use the pairing function's KMS rights
//     (a leaked role, a table export plus decrypt access) still gets no password, and a
//     redirected lookup opens nothing, whatever else was copied.

// CodeMessage is what the security code's MAC is computed over: the session id and the 9
// digits, with a label and separators so that no other message of the product collides.
func CodeMessage(sessionID, digits string) string {
	return "adhoc-support code v1\x00" + sessionID + "\x00" + digits
}

// Binding is what a pairing secret is bound to: its session and that session's invitation.
type Binding struct {
	SessionID       string
	InviteTokenHash []byte // SHA-256 of the invite token, as stored
	CodeMAC         []byte // the MAC of CodeMessage, as stored
}

// AAD is the associated data of a pairing secret: a label, then each field with its
// length (two bytes, big-endian) in front, so that no two bindings share an encoding.
func (b Binding) AAD() []byte {
	out := []byte("adhoc-support pairing v1")
	for _, f := range [][]byte{[]byte(b.SessionID), b.InviteTokenHash, b.CodeMAC} {
		out = binary.BigEndian.AppendUint16(out, uint16(len(f)))
		out = append(out, f...)
	}
	return out
}

// versionToken marks a value locked under an invite token's key:
// 3 || nonce(12) || AES-GCM ciphertext+tag.
const versionToken byte = 3

// tokenKey derives the lock key of an invite token (HKDF-SHA-256 with a label of its own;
// the stored hash is plain SHA-256 of the token, which gives nothing of this key).
func tokenKey(inviteToken string) ([]byte, error) {
	if inviteToken == "" {
		return nil, fmt.Errorf("token lock: empty invite token")
	}
	k, err := hkdf.Key(sha256.New, []byte(inviteToken), nil, "adhoc-support invite-token lock v1", KeyLen)
	if err != nil {
		return nil, fmt.Errorf("token lock: %w", err)
	}
	return k, nil
}

// LockToToken encrypts plaintext under the invite token's key, bound to aad.
func LockToToken(inviteToken string, plaintext, aad []byte) ([]byte, error) {
	key, err := tokenKey(inviteToken)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("token lock: %w", err)
	}
	return gcmSeal(aead, versionToken, plaintext, aad)
}

// UnlockWithToken opens what LockToToken made with the same token and aad; ErrOpen
// (wrapped) for any other token or aad, or a damaged value.
func UnlockWithToken(inviteToken string, locked, aad []byte) ([]byte, error) {
	key, err := tokenKey(inviteToken)
	if err != nil {
		return nil, err
	}
	defer clear(key)
	aead, err := newGCM(key)
	if err != nil {
		return nil, fmt.Errorf("token unlock: %w", err)
	}
	pt, err := gcmOpen(aead, versionToken, locked, aad)
	if err != nil {
		return nil, fmt.Errorf("token unlock: %w", err)
	}
	return pt, nil
}

// Sealer is the sealing port as this package uses it (support.Sealer; LocalSealer and
// awskms.Sealer implement it).
type Sealer interface {
	Seal(ctx context.Context, plaintext, aad []byte) ([]byte, error)
	Open(ctx context.Context, sealed, aad []byte) ([]byte, error)
}

// SealPairing seals a pairing secret: locked under the invite token's key, then sealed by
// s (the key file, or KMS), both bound to b.
func SealPairing(ctx context.Context, s Sealer, inviteToken string, b Binding, plaintext []byte) ([]byte, error) {
	aad := b.AAD()
	locked, err := LockToToken(inviteToken, plaintext, aad)
	if err != nil {
		return nil, err
	}
	return s.Seal(ctx, locked, aad)
}

// OpenPairing opens what SealPairing made; it needs the same invite token and binding.
// The caller wipes the result once used.
func OpenPairing(ctx context.Context, s Sealer, inviteToken string, b Binding, sealed []byte) ([]byte, error) {
	aad := b.AAD()
	locked, err := s.Open(ctx, sealed, aad)
	if err != nil {
		return nil, err
	}
	return UnlockWithToken(inviteToken, locked, aad)
}
