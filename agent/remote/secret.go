package remote

import "github.com/adhoc-support/adhoc-support/internal/protocol"

// secret is a password as it arrives in the terminal's login message: decoded into bytes,
// never into a string, so that wipe can clear it once the password has been checked.
type secret = protocol.Secret

// wipe overwrites b with zeros, up to its capacity.
func wipe(b []byte) { protocol.Wipe(b) }
