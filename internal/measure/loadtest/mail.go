package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// mailbox reads the invitation mails back from aws-ses-v2-local, the way the end user
// gets the link: one goroutine asks the mail server for recent mails and hands each
// invitation's token to whoever waits for that recipient. Asking once for everybody keeps
// the mail server's work independent of the number of technicians.
type mailbox struct {
	url    string
	client *http.Client

	mu     sync.Mutex
	open   map[string]struct{} // recipients whose mail is awaited
	wanted int                 // len(open)
	tokens map[string]string   // recipient → invite token, until taken
	latest int64               // newest mail time seen, epoch seconds
}

func newMailbox(url string, client *http.Client) *mailbox {
	return &mailbox{url: strings.TrimRight(url, "/"), client: client, open: map[string]struct{}{}, tokens: map[string]string{}}
}

var joinLink = regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})`)

// run fetches new mails every fetchEvery until ctx ends.
func (m *mailbox) run(ctx context.Context, since time.Time) {
	const fetchEvery = 150 * time.Millisecond
	m.mu.Lock()
	m.latest = since.Unix()
	m.mu.Unlock()
	t := time.NewTicker(fetchEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if m.waiting() {
			_ = m.fetch(ctx) // a failed fetch is retried on the next tick; waiters time out
		}
	}
}

func (m *mailbox) waiting() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.wanted > 0
}

// storedMail is the part of a mail in GET /store that is needed here.
type storedMail struct {
	Destination struct {
		To []string `json:"to"`
	} `json:"destination"`
	Body struct {
		Text string `json:"text"`
	} `json:"body"`
	At int64 `json:"at"`
}

func (m *mailbox) fetch(ctx context.Context) error {
	m.mu.Lock()
	// The server keeps whole seconds and a mail's time is when it arrived: a margin of two
	// seconds catches mails that arrived in the same second as the newest one seen.
	since := m.latest - 2
	m.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.url+"/store?since="+strconv.FormatInt(since, 10), nil)
	if err != nil {
		return fmt.Errorf("read mails: %w", err)
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return fmt.Errorf("read mails: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("read mails: %s", resp.Status)
	}
	var body struct {
		Emails []storedMail `json:"emails"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("read mails: %w", err)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range body.Emails {
		m.latest = max(m.latest, e.At)
		link := joinLink.FindStringSubmatch(e.Body.Text)
		if link == nil {
			continue
		}
		for _, to := range e.Destination.To {
			if _, open := m.open[strings.ToLower(to)]; open {
				m.tokens[strings.ToLower(to)] = link[1]
			}
		}
	}
	return nil
}

var errNoMail = errors.New("no invitation mail")

// expect registers a recipient before its invitation is sent, so that fetch keeps only the
// mails somebody waits for.
func (m *mailbox) expect(to string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.open[strings.ToLower(to)] = struct{}{}
	m.wanted++
}

// forget drops a recipient whose invitation was refused or whose mail was read.
func (m *mailbox) forget(to string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.open[strings.ToLower(to)]; ok {
		delete(m.open, strings.ToLower(to))
		delete(m.tokens, strings.ToLower(to))
		m.wanted--
	}
}

// wait returns the invite token mailed to the recipient, waiting at most timeout.
func (m *mailbox) wait(ctx context.Context, to string, timeout time.Duration) (string, error) {
	defer m.forget(to)
	deadline := time.Now().Add(timeout)
	for {
		m.mu.Lock()
		tok, ok := m.tokens[strings.ToLower(to)]
		m.mu.Unlock()
		if ok {
			return tok, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("%w within %s", errNoMail, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
