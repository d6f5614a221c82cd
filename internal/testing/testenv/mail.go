package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Mail is one mail as aws-ses-v2-local stored it (its GET /store answer).
type Mail struct {
	MessageID   string
	From        string
	ReplyTo     []string
	To, Cc, Bcc []string
	Subject     string
	HTML        string
	Text        string
	Headers     []MailHeader
	Attachments []MailAttachment
	// At is when it was sent, to the second (the server keeps no finer time).
	At time.Time
}

// MailHeader is an extra header the sender set.
type MailHeader struct {
	Name, Value string
}

// MailAttachment is an attached file; Content is base64 as the server keeps it.
type MailAttachment struct {
	Filename    string
	ContentType string
	Size        int
	Content     string
}

// storedMail is the JSON shape of one mail in GET /store.
type storedMail struct {
	MessageID   string   `json:"messageId"`
	From        string   `json:"from"`
	ReplyTo     []string `json:"replyTo"`
	Destination struct {
		To  []string `json:"to"`
		Cc  []string `json:"cc"`
		Bcc []string `json:"bcc"`
	} `json:"destination"`
	Subject string `json:"subject"`
	Body    struct {
		HTML string `json:"html"`
		Text string `json:"text"`
	} `json:"body"`
	Attachments []struct {
		Content     string `json:"content"`
		ContentType string `json:"contentType"`
		Filename    string `json:"filename"`
		Size        int    `json:"size"`
	} `json:"attachments"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
	At int64 `json:"at"` // epoch seconds
}

// FetchMails reads the mails sent at or after since from aws-ses-v2-local at endpoint,
// oldest first. The server keeps whole seconds, so a mail sent earlier in since's second
// is included too. It is the error-returning form of ReadMails.
func FetchMails(ctx context.Context, endpoint string, since time.Time) ([]Mail, error) {
	u := strings.TrimRight(endpoint, "/") + "/store"
	if !since.IsZero() {
		u += "?" + url.Values{"since": {strconv.FormatInt(since.Unix(), 10)}}.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("read mails: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read mails: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read mails: GET /store: %s", resp.Status)
	}
	var body struct {
		Emails []storedMail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("read mails: decode /store: %w", err)
	}
	mails := make([]Mail, 0, len(body.Emails))
	for _, e := range body.Emails {
		m := Mail{
			MessageID: e.MessageID,
			From:      e.From,
			ReplyTo:   e.ReplyTo,
			To:        e.Destination.To,
			Cc:        e.Destination.Cc,
			Bcc:       e.Destination.Bcc,
			Subject:   e.Subject,
			HTML:      e.Body.HTML,
			Text:      e.Body.Text,
			At:        time.Unix(e.At, 0),
		}
		for _, h := range e.Headers {
			m.Headers = append(m.Headers, MailHeader{Name: h.Name, Value: h.Value})
		}
		for _, a := range e.Attachments {
			m.Attachments = append(m.Attachments, MailAttachment{Filename: a.Filename, ContentType: a.ContentType, Size: a.Size, Content: a.Content})
		}
		mails = append(mails, m)
	}
	return mails, nil
}

// ReadMails returns the mails sent at or after since (to the second), oldest first.
func ReadMails(t testing.TB, endpoint string, since time.Time) []Mail {
	t.Helper()
	mails, err := FetchMails(t.Context(), endpoint, since)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return mails
}

// MailsTo returns the mails sent at or after since to address (To, Cc or Bcc; compared
// without regard to case), oldest first. Tests share the server, so each test should
// use recipients of its own.
func MailsTo(t testing.TB, endpoint, address string, since time.Time) []Mail {
	t.Helper()
	var out []Mail
	for _, m := range ReadMails(t, endpoint, since) {
		if m.SentTo(address) {
			out = append(out, m)
		}
	}
	return out
}

// SentTo reports whether address is among the mail's recipients. An entry may carry a
// display name ("Name <a@b>"), as the server keeps what the sender gave.
func (m Mail) SentTo(address string) bool {
	match := func(s string) bool {
		if i := strings.LastIndexByte(s, '<'); i >= 0 {
			s = strings.TrimSuffix(s[i+1:], ">")
		}
		return strings.EqualFold(strings.TrimSpace(s), address)
	}
	return slices.ContainsFunc(m.To, match) || slices.ContainsFunc(m.Cc, match) || slices.ContainsFunc(m.Bcc, match)
}

// WaitMail waits up to 10 s for the first mail to address sent at or after since and
// returns it; the test fails if none arrives. Use it when the mail is sent by something
// running concurrently with the test (a server under test).
func WaitMail(t testing.TB, endpoint, address string, since time.Time) Mail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if got := MailsTo(t, endpoint, address, since); len(got) > 0 {
			return got[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("testenv: no mail to %s since %s within 10 s", address, since.Format(time.RFC3339))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
