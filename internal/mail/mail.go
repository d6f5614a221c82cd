// Package mail sends the invitation mail with Amazon SES v2 (in local mode to
// aws-ses-v2-local, which speaks the same API). The mail is written in English or German
// (render.go); it never carries the password or the security code, and
// nothing here logs a mail's body.
package mail

import (
	"context"
	"errors"
	"fmt"
	netmail "net/mail"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var _ support.Mailer = (*Mailer)(nil)

// ErrInvalidMail is returned (wrapped) when a mail cannot be sent as asked: a bad
// recipient, link, locale or missing field. Such a mail is never handed to SES.
var ErrInvalidMail = errors.New("invalid mail")

// SendEmailAPI is the part of the SES v2 client the mailer uses; *sesv2.Client satisfies
// it.
type SendEmailAPI interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Mailer sends invitation mails through SES v2.
type Mailer struct {
	client    SendEmailAPI
	from      string
	configSet string
}

// Option configures a Mailer.
type Option func(*Mailer)

// WithConfigurationSet sends every mail with the SES configuration set name (for event
// publishing and suppression settings).
func WithConfigurationSet(name string) Option {
	return func(m *Mailer) { m.configSet = name }
}

// New returns a mailer sending from the address from (a verified SES identity; it may
// carry a display name: "Ad-hoc Support <support@example.com>"). A malformed sender makes
// every SendInvitation fail with ErrInvalidMail; Check reports it up front.
func New(client SendEmailAPI, from string, opts ...Option) *Mailer {
	m := &Mailer{client: client, from: from}
	for _, o := range opts {
		o(m)
	}
	return m
}

// Check reports whether the mailer's own configuration is usable, for start-up checks.
func (s *Mailer) Check() error {
	if _, err := netmail.ParseAddress(s.from); err != nil || strings.ContainsAny(s.from, "\r\n") {
		return fmt.Errorf("mailer: sender address %q: %w", s.from, ErrInvalidMail)
	}
	return nil
}

// Rendered is an invitation mail ready to send.
type Rendered struct {
	Subject string
	HTML    string
	Text    string
}

// Render validates m and writes the mail in its locale.
func Render(m support.InvitationMail) (Rendered, error) {
	if err := validRecipient(m.To); err != nil {
		return Rendered{}, err
	}
	locale, err := session.NormalizeLocale(m.Locale)
	if err != nil {
		return Rendered{}, fmt.Errorf("locale %q: %w", m.Locale, ErrInvalidMail)
	}
	if err := validJoinURL(m.JoinURL); err != nil {
		return Rendered{}, err
	}
	techEmail := oneLine(m.TechnicianEmail)
	if a, err := netmail.ParseAddress(techEmail); err != nil || a.Name != "" || a.Address != techEmail {
		return Rendered{}, fmt.Errorf("technician e-mail: %w", ErrInvalidMail)
	}
	if m.InviteExpiresAt.IsZero() {
		return Rendered{}, fmt.Errorf("no invite expiry: %w", ErrInvalidMail)
	}
	if m.SessionHours <= 0 {
		return Rendered{}, fmt.Errorf("session hours %d: %w", m.SessionHours, ErrInvalidMail)
	}
	name := oneLine(m.TechnicianName)
	if name == "" {
		name = techEmail
	}
	w, ok := wordings[locale]
	if !ok {
		return Rendered{}, fmt.Errorf("locale %q has no wording: %w", locale, ErrInvalidMail)
	}
	return w.render(view{
		TechnicianName:  name,
		TechnicianEmail: techEmail,
		JoinURL:         m.JoinURL,
		Expires:         formatTime(locale, m.InviteExpiresAt),
		SessionHours:    m.SessionHours,
	}), nil
}

// SendInvitation renders the mail and sends it. Replies go to the technician.
func (s *Mailer) SendInvitation(ctx context.Context, m support.InvitationMail) error {
	if err := s.Check(); err != nil {
		return err
	}
	r, err := Render(m)
	if err != nil {
		return fmt.Errorf("invitation mail: %w", err)
	}
	utf8 := aws.String("UTF-8")
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		ReplyToAddresses: []string{oneLine(m.TechnicianEmail)},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(r.Subject), Charset: utf8},
			Body: &types.Body{
				Html: &types.Content{Data: aws.String(r.HTML), Charset: utf8},
				Text: &types.Content{Data: aws.String(r.Text), Charset: utf8},
			},
		}},
	}
	if s.configSet != "" {
		in.ConfigurationSetName = aws.String(s.configSet)
	}
	// The error names neither the recipient nor the content: it may end up in a log.
	if _, err := s.client.SendEmail(ctx, in); err != nil {
		return fmt.Errorf("invitation mail: ses send email: %w", redacted{err})
	}
	return nil
}

// validRecipient accepts one bare address. SES would refuse an empty recipient list, but
// aws-ses-v2-local does not, so local mode must not be more lenient than AWS.
func validRecipient(to string) error {
	if strings.TrimSpace(to) == "" {
		return fmt.Errorf("no recipient: %w", ErrInvalidMail)
	}
	if strings.ContainsAny(to, "\r\n") {
		return fmt.Errorf("recipient contains a line break: %w", ErrInvalidMail)
	}
	a, err := netmail.ParseAddress(to)
	if err != nil || a.Name != "" || a.Address != to {
		return fmt.Errorf("recipient is not a bare e-mail address: %w", ErrInvalidMail)
	}
	return nil
}

// validJoinURL accepts an absolute http(s) link without spaces: anything else would make a
// broken button, or a link somewhere unexpected.
func validJoinURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.ContainsFunc(s, unicode.IsSpace) {
		return fmt.Errorf("join link is not an absolute http(s) URL: %w", ErrInvalidMail)
	}
	return nil
}

// oneLine replaces control characters (line breaks above all) with spaces and trims, so a
// value cannot break the subject or the layout of the text body.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

var (
	deWeekdays = [...]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"}
	deMonths   = [...]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"}
)

// formatTime writes t in UTC in the locale's usual form, saying that it is UTC: the mail
// does not know the reader's time zone.
func formatTime(locale string, t time.Time) string {
	t = t.UTC()
	switch locale {
	case "de":
		return fmt.Sprintf("%s, %d. %s %d, um %02d:%02d Uhr (UTC)", deWeekdays[t.Weekday()], t.Day(), deMonths[t.Month()-1], t.Year(), t.Hour(), t.Minute())
	default:
		return t.Format("Monday, 2 January 2006, at 15:04 UTC")
	}
}

// redacted hides an SES error's message, which may quote the addresses involved ("the
// following identities failed the check: …"), and keeps its code and its chain for
// errors.Is and errors.As. The error ends up in logs; an address must not.
type redacted struct{ err error }

func (r redacted) Error() string {
	var api smithy.APIError
	if errors.As(r.err, &api) {
		return "SES error " + api.ErrorCode()
	}
	var op *smithy.OperationError
	if errors.As(r.err, &op) {
		return "SES " + op.Operation() + " failed before an answer (network or timeout)"
	}
	return "SES request failed"
}

func (r redacted) Unwrap() error { return r.err }
