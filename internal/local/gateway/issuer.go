package gateway

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/adhoc-support/adhoc-support/internal/clock"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
)

// Issuer mints and checks the technician tokens of local mode. They carry the same claims
// that the Cognito user pool's ID token carries and the HTTP API's JWT authorizer passes
// on, so the handlers cannot tell the two apart. Local mode only: no Lambda has it.
type Issuer struct {
	key   []byte
	clock clock.Clock
}

// Local token settings.
const (
	issuerName = "adhoc-support-local"
	audience   = "adhoc-support-console"
	tokenLife  = 12 * time.Hour
)

// NewIssuer signs with an HMAC key (at least 32 bytes), on the clock c (nil: the real
// clock).
func NewIssuer(key []byte, c clock.Clock) (*Issuer, error) {
	if len(key) < 32 {
		return nil, errors.New("local issuer: key must have at least 32 bytes")
	}
	return &Issuer{key: key, clock: clock.Or(c)}, nil
}

// DevUser is who signs in through local mode's dev sign-in.
type DevUser struct {
	Email   string `json:"email"`
	Account string `json:"account"`
	Admin   bool   `json:"admin"`
	Name    string `json:"name,omitempty"`
}

// Subject is the stable profile id of a dev user: the same e-mail in the same account is
// the same technician across restarts.
func (u DevUser) Subject() string {
	sum := sha256.Sum256([]byte(strings.ToLower(u.Account) + "\x00" + strings.ToLower(u.Email)))
	return "local-" + hex.EncodeToString(sum[:12])
}

// Issue returns a signed token for the user.
func (i *Issuer) Issue(u DevUser) (string, error) {
	now := i.clock.Now()
	name := u.Name
	if name == "" {
		name, _, _ = strings.Cut(u.Email, "@")
	}
	claims := jwt.MapClaims{
		"iss": issuerName, "aud": audience, "token_use": "id",
		"sub": u.Subject(), "iat": now.Unix(), "exp": now.Add(tokenLife).Unix(),
		httpapi.ClaimEmail: u.Email, httpapi.ClaimName: name, httpapi.ClaimAccount: u.Account,
	}
	if u.Admin {
		claims[httpapi.ClaimGroups] = []string{httpapi.AdminGroup}
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(i.key)
	if err != nil {
		return "", fmt.Errorf("sign local token: %w", err)
	}
	return tok, nil
}

// Verify checks a token and returns its claims the way API Gateway's JWT authorizer
// passes them to the function: every value a string, a list as "[a b]".
func (i *Issuer) Verify(token string) (map[string]string, error) {
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(token, claims, func(*jwt.Token) (any, error) { return i.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuerName), jwt.WithAudience(audience), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.clock.Now))
	if err != nil {
		return nil, fmt.Errorf("local token: %w", err)
	}
	out := map[string]string{}
	for k, v := range claims {
		switch v := v.(type) {
		case string:
			out[k] = v
		case []any:
			parts := make([]string, 0, len(v))
			for _, p := range v {
				parts = append(parts, fmt.Sprint(p))
			}
			out[k] = "[" + strings.Join(parts, " ") + "]"
		case float64:
			out[k] = fmt.Sprintf("%.0f", v)
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out, nil
}
