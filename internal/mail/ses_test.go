package mail_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/mail"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSendInvitationThroughSES sends real mails to aws-ses-v2-local and reads them back
// as the mail viewer shows them.
func TestSendInvitationThroughSES(t *testing.T) {
	endpoint := testenv.SES(t)
	mailer := mail.New(testenv.SESClient(t), "Ad-hoc Support <noreply@example.com>")
	// The secrets the technician's request carries besides the mail: they must not
	// appear anywhere in it.
	const password = "Sup3r-Secret-Passw0rd!"
	code, err := session.NewSecurityCode()
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		locale      string
		wantSubject string
		wantText    []string
	}{
		{"en", "Tina Täschner invites you to a remote support session", []string{"Hello,", "expires on"}},
		{"de", "Tina Täschner lädt Sie zu einer Fernwartungssitzung ein", []string{"Guten Tag,", "läuft am"}},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			m := sample(tt.locale)
			m.To = fmt.Sprintf("user-%s-%d-%d@example.com", tt.locale, os.Getpid(), time.Now().UnixNano())
			m.TechnicianName = "Tina Täschner"
			since := time.Now()
			if err := mailer.SendInvitation(context.Background(), m); err != nil {
				t.Fatal(err)
			}
			got := testenv.MailsTo(t, endpoint, m.To, since)
			if len(got) != 1 {
				t.Fatalf("mails to %s: %d, want 1", m.To, len(got))
			}
			g := got[0]
			if g.Subject != tt.wantSubject {
				t.Errorf("subject = %q, want %q", g.Subject, tt.wantSubject)
			}
			if len(g.To) != 1 || !g.SentTo(m.To) || len(g.Cc)+len(g.Bcc) != 0 {
				t.Errorf("recipients to %v cc %v bcc %v, want only %s", g.To, g.Cc, g.Bcc, m.To)
			}
			if !strings.Contains(g.From, "noreply@example.com") {
				t.Errorf("from = %q", g.From)
			}
			if len(g.ReplyTo) != 1 || !strings.Contains(g.ReplyTo[0], m.TechnicianEmail) {
				t.Errorf("reply-to = %v, want the technician", g.ReplyTo)
			}
			if !strings.Contains(g.HTML, `href="`+m.JoinURL+`"`) {
				t.Error("HTML body lacks the join link")
			}
			if !strings.Contains(g.Text, m.JoinURL) {
				t.Error("text body lacks the join link")
			}
			for _, s := range append([]string{"Tina Täschner", "tina@example.com"}, tt.wantText...) {
				if !strings.Contains(g.HTML, s) || !strings.Contains(g.Text, s) {
					t.Errorf("a body lacks %q", s)
				}
			}
			for _, secret := range []string{password, code, session.FormatCode(code)} {
				if strings.Contains(g.Subject+g.HTML+g.Text, secret) {
					t.Errorf("the mail carries a secret")
				}
			}
		})
	}
}

// TestSESRefusedRecipientNeverSent shows that what aws-ses-v2-local would accept but SES
// would not is stopped before sending.
func TestSESRefusedRecipientNeverSent(t *testing.T) {
	endpoint := testenv.SES(t)
	mailer := mail.New(testenv.SESClient(t), "noreply@example.com")
	marker := fmt.Sprintf("Never-%d", time.Now().UnixNano())
	since := time.Now()
	m := sample("en")
	m.To = ""
	m.TechnicianName = marker
	if err := mailer.SendInvitation(context.Background(), m); err == nil {
		t.Fatal("sent a mail without recipient")
	}
	for _, g := range testenv.ReadMails(t, endpoint, since) {
		if strings.Contains(g.Subject, marker) {
			t.Fatalf("a mail without recipient reached the server: %q", g.Subject)
		}
	}
}
