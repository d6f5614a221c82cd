package mail_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

var (
	_ support.Mailer    = (*mail.Mailer)(nil)
	_ mail.SendEmailAPI = (*sesv2.Client)(nil)
)

var expires = time.Date(2026, 3, 2, 14, 5, 0, 0, time.UTC) // a Monday

func sample(locale string) support.InvitationMail {
	return support.InvitationMail{
		To:              "user@example.com",
		Locale:          locale,
		JoinURL:         "https://support.example.com/join/AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_abcde",
		TechnicianName:  "Tina Technician",
		TechnicianEmail: "tina@example.com",
		InviteExpiresAt: expires,
		SessionHours:    24,
	}
}

func TestRender(t *testing.T) {
	tests := []struct {
		locale      string
		wantSubject string
		wantBoth    []string // in the HTML and the text body
		wantHTML    []string
	}{
		{
			locale:      "en",
			wantSubject: "Tina Technician invites you to a remote support session",
			wantBoth: []string{
				"Hello,", "Tina Technician", "(tina@example.com)", "invited you to a remote support session",
				"Support Session app", "security code", "by phone", "hidden administrator account",
				"removed automatically after 24 hours", "expires on", "Monday, 2 March 2026, at 14:05 UTC",
				"not expect this e-mail", "ignore it",
			},
			wantHTML: []string{`<html lang="en">`, "Start remote support"},
		},
		{
			locale:      "de",
			wantSubject: "Tina Technician lädt Sie zu einer Fernwartungssitzung ein",
			wantBoth: []string{
				"Guten Tag,", "Tina Technician", "(tina@example.com)", "Fernwartungssitzung",
				"Support Session", "Sicherheitscode", "am Telefon", "verborgenes Administratorkonto",
				"nach 24 Stunden", "automatisch entfernt", "läuft am", "Montag, 2. März 2026, um 14:05 Uhr (UTC)",
				"nicht erwartet", "ignorieren Sie sie",
			},
			wantHTML: []string{`<html lang="de">`, "Fernwartung starten"},
		},
		{
			// Regional variants map to their language.
			locale:      "de-AT",
			wantSubject: "Tina Technician lädt Sie zu einer Fernwartungssitzung ein",
			wantBoth:    []string{"Montag, 2. März 2026"},
			wantHTML:    []string{`<html lang="de">`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			m := sample(tt.locale)
			r, err := mail.Render(m)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", r.Subject, tt.wantSubject)
			}
			for _, s := range tt.wantBoth {
				if !strings.Contains(r.Text, s) {
					t.Errorf("text body lacks %q", s)
				}
				if !strings.Contains(r.HTML, s) {
					t.Errorf("HTML body lacks %q", s)
				}
			}
			for _, s := range tt.wantHTML {
				if !strings.Contains(r.HTML, s) {
					t.Errorf("HTML body lacks %q", s)
				}
			}
			// The link: as the button's target and as plain text, in both bodies.
			if n := strings.Count(r.HTML, `href="`+m.JoinURL+`"`); n != 2 {
				t.Errorf("HTML links the join URL %d times, want 2 (button and plain link)", n)
			}
			if !strings.Contains(r.HTML, ">"+m.JoinURL+"</a>") {
				t.Error("HTML does not show the join URL as text")
			}
			if !strings.Contains(r.Text, "\n"+m.JoinURL+"\n") {
				t.Error("text body does not carry the join URL on a line of its own")
			}
			for _, body := range []string{r.Text, r.HTML} {
				if strings.Contains(body, "{{") || strings.Contains(body, "<no value>") {
					t.Error("a template placeholder was left unfilled")
				}
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	m := sample("en")
	m.TechnicianName = `Eve <script>alert("x")</script> & "Co"`
	r, err := mail.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, "<script>") {
		t.Error("HTML body carries the technician's <script> unescaped")
	}
	if !strings.Contains(r.HTML, "Eve &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Co&#34;") {
		t.Error("HTML body does not show the name escaped")
	}
	// Subject and text are plain text: the name stays as typed there.
	if !strings.Contains(r.Subject, m.TechnicianName) || !strings.Contains(r.Text, m.TechnicianName) {
		t.Errorf("plain-text parts changed the name: subject %q", r.Subject)
	}
}

func TestRenderKeepsValuesOnOneLine(t *testing.T) {
	m := sample("en")
	m.TechnicianName = "Mallory\r\nBcc: victim@example.com\n\nInjected paragraph"
	r, err := mail.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n") {
		t.Errorf("subject spans lines: %q", r.Subject)
	}
	if !strings.Contains(r.Text, "Mallory Bcc: victim@example.com Injected paragraph (tina@example.com)") {
		t.Error("line breaks in the name reached the text body")
	}

	m = sample("de")
	m.TechnicianName = "  \t "
	r, err = mail.Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(r.Subject, "tina@example.com lädt Sie") {
		t.Errorf("without a name the subject should use the e-mail address: %q", r.Subject)
	}
}

// fakeSES counts calls, so invalid mails can be shown never to reach SES.
type fakeSES struct {
	calls []*sesv2.SendEmailInput
	err   error
}

func (f *fakeSES) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	f.calls = append(f.calls, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sesv2.SendEmailOutput{MessageId: aws.String("m-1")}, nil
}

func TestSendInvitationRefusesInvalidMail(t *testing.T) {
	tests := []struct {
		name   string
		change func(*support.InvitationMail)
	}{
		{"empty recipient", func(m *support.InvitationMail) { m.To = "" }},
		{"blank recipient", func(m *support.InvitationMail) { m.To = "   " }},
		{"recipient with CRLF", func(m *support.InvitationMail) { m.To = "user@example.com\r\nBcc: x@example.com" }},
		{"recipient with LF", func(m *support.InvitationMail) { m.To = "user@example.com\n" }},
		{"recipient with display name", func(m *support.InvitationMail) { m.To = "User <user@example.com>" }},
		{"two recipients", func(m *support.InvitationMail) { m.To = "a@example.com, b@example.com" }},
		{"not an address", func(m *support.InvitationMail) { m.To = "user" }},
		{"unknown locale", func(m *support.InvitationMail) { m.Locale = "fr" }},
		{"javascript link", func(m *support.InvitationMail) { m.JoinURL = "javascript:alert(1)" }},
		{"relative link", func(m *support.InvitationMail) { m.JoinURL = "/join/abc" }},
		{"link with space", func(m *support.InvitationMail) { m.JoinURL = "https://example.com/join/a b" }},
		{"no link", func(m *support.InvitationMail) { m.JoinURL = "" }},
		{"no technician e-mail", func(m *support.InvitationMail) { m.TechnicianEmail = "" }},
		{"technician e-mail with CRLF", func(m *support.InvitationMail) { m.TechnicianEmail = "t@example.com\r\nX: y" }},
		{"no expiry", func(m *support.InvitationMail) { m.InviteExpiresAt = time.Time{} }},
		{"no session hours", func(m *support.InvitationMail) { m.SessionHours = 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSES{}
			mailer := mail.New(fake, "Ad-hoc Support <noreply@example.com>")
			m := sample("en")
			tt.change(&m)
			err := mailer.SendInvitation(context.Background(), m)
			if !errors.Is(err, mail.ErrInvalidMail) {
				t.Fatalf("err = %v, want ErrInvalidMail", err)
			}
			if len(fake.calls) != 0 {
				t.Fatal("an invalid mail reached SES")
			}
		})
	}
}

func TestSendInvitationRequest(t *testing.T) {
	tests := []struct {
		name      string
		opts      []mail.Option
		configSet string
	}{
		{"plain", nil, ""},
		{"configuration set", []mail.Option{mail.WithConfigurationSet("adhoc-mail")}, "adhoc-mail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := &fakeSES{}
			mailer := mail.New(fake, "Ad-hoc Support <noreply@example.com>", tt.opts...)
			m := sample("de")
			if err := mailer.SendInvitation(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			if len(fake.calls) != 1 {
				t.Fatalf("calls = %d", len(fake.calls))
			}
			in := fake.calls[0]
			want, _ := mail.Render(m)
			simple := in.Content.Simple
			switch {
			case aws.ToString(in.FromEmailAddress) != "Ad-hoc Support <noreply@example.com>":
				t.Errorf("from = %q", aws.ToString(in.FromEmailAddress))
			case len(in.Destination.ToAddresses) != 1 || in.Destination.ToAddresses[0] != m.To || len(in.Destination.CcAddresses)+len(in.Destination.BccAddresses) != 0:
				t.Errorf("destination = %+v", in.Destination)
			case len(in.ReplyToAddresses) != 1 || in.ReplyToAddresses[0] != m.TechnicianEmail:
				t.Errorf("reply-to = %v, want the technician", in.ReplyToAddresses)
			case aws.ToString(in.ConfigurationSetName) != tt.configSet:
				t.Errorf("configuration set = %q, want %q", aws.ToString(in.ConfigurationSetName), tt.configSet)
			case in.Content.Raw != nil || in.Content.Template != nil || simple == nil:
				t.Errorf("content is not Simple: %+v", in.Content)
			case aws.ToString(simple.Subject.Data) != want.Subject || aws.ToString(simple.Body.Html.Data) != want.HTML || aws.ToString(simple.Body.Text.Data) != want.Text:
				t.Error("content differs from Render")
			case aws.ToString(simple.Subject.Charset) != "UTF-8" || aws.ToString(simple.Body.Html.Charset) != "UTF-8" || aws.ToString(simple.Body.Text.Charset) != "UTF-8":
				t.Error("charset is not UTF-8 everywhere")
			}
		})
	}
}

func TestSendInvitationWrapsSESError(t *testing.T) {
	boom := errors.New("MessageRejected: Email address is not verified")
	fake := &fakeSES{err: boom}
	mailer := mail.New(fake, "noreply@example.com")
	m := sample("en")
	err := mailer.SendInvitation(context.Background(), m)
	if !errors.Is(err, boom) || errors.Is(err, mail.ErrInvalidMail) {
		t.Fatalf("err = %v, want the SES error wrapped", err)
	}
	if strings.Contains(err.Error(), m.To) || strings.Contains(err.Error(), m.JoinURL) {
		t.Errorf("error %q carries the recipient or the link", err)
	}
}

func TestBadSender(t *testing.T) {
	tests := []struct {
		from string
		ok   bool
	}{
		{"noreply@example.com", true},
		{"Ad-hoc Support <noreply@example.com>", true},
		{"", false},
		{"not an address", false},
		{"a@example.com\r\nBcc: b@example.com", false},
	}
	for _, tt := range tests {
		fake := &fakeSES{}
		m := mail.New(fake, tt.from)
		if err := m.Check(); (err == nil) != tt.ok || err != nil && !errors.Is(err, mail.ErrInvalidMail) {
			t.Errorf("Check with sender %q: err = %v, want ok %v", tt.from, err, tt.ok)
		}
		err := m.SendInvitation(context.Background(), sample("en"))
		if (err == nil) != tt.ok || len(fake.calls) != map[bool]int{true: 1, false: 0}[tt.ok] {
			t.Errorf("send with sender %q: err = %v, SES calls %d", tt.from, err, len(fake.calls))
		}
	}
}
