package support

import (
	"context"
	"fmt"

	"github.com/adhoc-support/adhoc-support/internal/secrets"
	"github.com/adhoc-support/adhoc-support/internal/session"
)

// How the use cases bind an invitation's secrets to it (internal/secrets, binding.go):
// the code's MAC covers the session id, and the password and the agent token's retry copy
// are locked under the invite token's key and sealed with the session id, the invite-token
// hash and the code MAC as associated data. Items written before (SealedForSession) are
// read the old way until their invitations have ended.

// ownsToken reports whether the session is the one of this invite token: the lookup item
// that led here is a separate item, so a writer of the table could point it elsewhere.
func ownsToken(ss *session.Session, tokenHash []byte) bool {
	return len(ss.InviteTokenHash) > 0 && secrets.Equal(ss.InviteTokenHash, tokenHash)
}

// codeMAC is the MAC of the typed digits as the session's item keeps it.
func (s *Service) codeMAC(ctx context.Context, ss *session.Session, digits string) ([]byte, error) {
	msg := secrets.CodeMessage(ss.ID, digits)
	if ss.Sealing == session.SealedForSession {
		msg = digits
	}
	mac, err := s.Codes.MAC(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("security code: %w", err)
	}
	return mac, nil
}

func binding(ss *session.Session) secrets.Binding {
	return secrets.Binding{SessionID: ss.ID, InviteTokenHash: ss.InviteTokenHash, CodeMAC: ss.CodeMAC}
}

// sealPairing seals a pairing secret of the session (its CodeMAC and InviteTokenHash set).
func (s *Service) sealPairing(ctx context.Context, ss *session.Session, inviteToken string, plaintext []byte) ([]byte, error) {
	if ss.Sealing == session.SealedForSession {
		return s.Sealer.Seal(ctx, plaintext, []byte(ss.ID))
	}
	return secrets.SealPairing(ctx, s.Sealer, inviteToken, binding(ss), plaintext)
}

// openPairing opens a pairing secret of the session; it needs the invitation's token. The
// caller wipes the result once used.
func (s *Service) openPairing(ctx context.Context, ss *session.Session, inviteToken string, sealed []byte) ([]byte, error) {
	if ss.Sealing == session.SealedForSession {
		return s.Sealer.Open(ctx, sealed, []byte(ss.ID))
	}
	return secrets.OpenPairing(ctx, s.Sealer, inviteToken, binding(ss), sealed)
}
