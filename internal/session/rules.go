package session

import (
	"crypto/rand"
	"errors"
	"fmt"
	"math/big"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// DefaultUsername is the hidden administrator account's name on the PC.
const DefaultUsername = "AdHocRemoteUser"

// ValidUsername applies Windows' rules for a local account name: 1 to 20 characters, none
// of "/\[]:;|=,+*?<>@ or a control character, no leading or trailing space, no trailing
// dot. The server checks its configured name with it, and the app the name it is sent.
func ValidUsername(name string) bool {
	if name == "" || len([]rune(name)) > 20 || strings.HasSuffix(name, ".") || strings.TrimSpace(name) != name {
		return false
	}
	return !strings.ContainsAny(name, `"/\[]:;|=,+*?<>@`) && !strings.ContainsFunc(name, func(r rune) bool { return r < 32 })
}

// Rule violations, each with the stable code the API answers with.
var (
	ErrInvalidEmail  = errors.New("invalid_email")
	ErrInvalidLocale = errors.New("invalid_locale")
	ErrInvalidCode   = errors.New("invalid_code")
)

// PasswordProblem explains why a password does not meet the Windows complexity policy, or
// returns "" when it does. The policy: at least 12 characters, characters from three of
// upper case, lower case, digits and symbols, and not containing the account's name.
func PasswordProblem(password, username string) string {
	if len([]rune(password)) < 12 {
		return "The password must have at least 12 characters."
	}
	if len(password) > 127 {
		// Windows limits a local account's password to 127 characters.
		return "The password must have at most 127 characters."
	}
	var upper, lower, digit, other bool
	for _, r := range password {
		switch {
		case unicode.IsControl(r):
			return "The password must not contain control characters."
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsLower(r):
			lower = true
		case unicode.IsDigit(r):
			digit = true
		default:
			other = true
		}
	}
	classes := 0
	for _, b := range []bool{upper, lower, digit, other} {
		if b {
			classes++
		}
	}
	if classes < 3 {
		return "The password must use three of: upper-case letters, lower-case letters, digits, symbols."
	}
	if username != "" && strings.Contains(strings.ToLower(password), strings.ToLower(username)) {
		return fmt.Sprintf("The password must not contain the account name %q.", username)
	}
	return ""
}

// NormalizeEmail checks an end user's e-mail address and returns it in plain addr-spec
// form. Display names, several addresses and line breaks (header injection) are refused,
// and so is every invisible character (Invisible: bidi controls, zero-width and other
// format characters …), so the address a technician sees is the one the mail goes to.
//
// Internationalised addresses: the mail goes out through SES, which takes 7-bit ASCII
// addresses only (no SMTPUTF8). So the local part must be ASCII (it may be case-sensitive,
// so it is kept as typed), and an internationalised domain is stored and shown in its
// ASCII form (IDNA 2008 with UTS #46 lookup mapping: "Bücher.example" becomes
// "xn--bcher-kva.example"), in lower case like every domain. The ASCII form also shows a
// technician what a look-alike domain really is ("exаmple.org" with a Cyrillic "а" is
// "xn--exmple-4nf.org"). A domain IDNA refuses (mixed directions, a joiner out of place,
// an invalid A-label) is refused.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > 254 || !VisibleText(email) || strings.ContainsAny(email, "\r\n<>,;\"") {
		return "", ErrInvalidEmail
	}
	at := strings.LastIndexByte(email, '@')
	if at < 1 {
		return "", ErrInvalidEmail
	}
	local, domain := email[:at], email[at+1:]
	for i := 0; i < len(local); i++ {
		if local[i] >= utf8.RuneSelf {
			return "", ErrInvalidEmail
		}
	}
	domain, err := idna.Lookup.ToASCII(domain)
	if err != nil || !strings.Contains(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", ErrInvalidEmail
	}
	email = local + "@" + strings.ToLower(domain)
	if len(email) > 254 {
		return "", ErrInvalidEmail
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return "", ErrInvalidEmail
	}
	return email, nil
}

// Locales the mail and the join page are written in.
var Locales = []string{"en", "de"}

// localeTag reports whether s has the shape of a language tag: "de", "en-GB",
// "de-CH-1996", that is 2 or 3 letters and up to three subtags of 1 to 8 letters or
// digits. Anything else (line breaks above all, since the locale picks the mail's wording)
// is refused whole. A loop rather than the regexp
// ^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8}){0,3}$ (TestLocaleTagAsRegexp holds the two together):
// compiling its repetitions at package initialization cost every start of every function
// about 0.1 ms.
func localeTag(s string) bool {
	parts := strings.Split(s, "-")
	if len(parts) > 4 || len(parts[0]) < 2 || len(parts[0]) > 3 {
		return false
	}
	for i, p := range parts {
		if i > 0 && (len(p) < 1 || len(p) > 8) {
			return false
		}
		for j := 0; j < len(p); j++ {
			c := p[j]
			letter := 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// NormalizeLocale maps "", "en", "en-GB", "de-AT" … to a supported locale.
func NormalizeLocale(locale string) (string, error) {
	if locale == "" {
		return "en", nil
	}
	if !localeTag(locale) {
		return "", ErrInvalidLocale
	}
	lang, _, _ := strings.Cut(strings.ToLower(locale), "-")
	for _, l := range Locales {
		if lang == l {
			return l, nil
		}
	}
	return "", ErrInvalidLocale
}

// NewSecurityCode returns 9 uniformly random digits.
func NewSecurityCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000_000))
	if err != nil {
		return "", fmt.Errorf("security code: %w", err)
	}
	return fmt.Sprintf("%09d", n.Int64()), nil
}

// FormatCode shows 9 digits the way the technician reads them out: 123-456-789.
func FormatCode(digits string) string {
	if len(digits) != 9 {
		return digits
	}
	return digits[0:3] + "-" + digits[3:6] + "-" + digits[6:9]
}

// ParseCode accepts what a person types for a security code — "123-456-789",
// "123 456 789", "123456789", with spaces around — and returns its 9 digits.
func ParseCode(typed string) (string, error) {
	var b strings.Builder
	for _, r := range strings.TrimSpace(typed) {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == ' ':
		default:
			return "", ErrInvalidCode
		}
		if b.Len() > 9 {
			return "", ErrInvalidCode
		}
	}
	if b.Len() != 9 {
		return "", ErrInvalidCode
	}
	return b.String(), nil
}

// The reservation rules of an invitation (DESIGN.md): a technician has at most one open
// session; the account has a number of slots, each open session holding one; and the
// company cap bounds the ad-hoc sessions open at once.
var (
	ErrTechnicianBusy = errors.New("technician already has a session")
	ErrNoFreeSlot     = errors.New("no free slot")
	ErrCapReached     = errors.New("ad-hoc cap reached")
)

// CheckReservation applies the reservation rules to a technician and an account's counts,
// in the order the API reports them: the technician's own open session first, then the
// slots, then the cap. The store enforces the same rules atomically with conditional
// writes (two technicians racing for the last slot); this is the rule itself, and what
// tells which one a refused write broke.
func CheckReservation(technicianBusy bool, used, slots, adhocInUse, adhocCap int) error {
	switch {
	case technicianBusy:
		return ErrTechnicianBusy
	case used >= slots:
		return ErrNoFreeSlot
	case adhocInUse >= adhocCap:
		return ErrCapReached
	}
	return nil
}
