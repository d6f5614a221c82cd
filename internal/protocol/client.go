package protocol

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxResponseBytes bounds what the client reads from any answer: the largest legitimate one
// (a pair answer) is well under a kilobyte, so a misbehaving server or a captive portal
// cannot make the app buffer megabytes.
const maxResponseBytes = 64 << 10

// ErrOffline marks errors where no HTTP answer arrived (DNS, connect, TLS, timeout). The
// app backs off and retries on these instead of stopping, so it must tell them apart
// from the server's refusals. The underlying *url.Error stays reachable with errors.As.
var ErrOffline = errors.New("support server unreachable")

// ProblemError is a non-2xx answer. When the server sent application/problem+json, Problem
// holds it and callers branch on Problem.Code; otherwise Code is empty and HTTPStatus tells
// what happened (for example a 502 from a proxy).
type ProblemError struct {
	Problem
	HTTPStatus int
}

func (e *ProblemError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("support server answered %d %s", e.HTTPStatus, e.Code)
	}
	return fmt.Sprintf("support server answered %d %s", e.HTTPStatus, http.StatusText(e.HTTPStatus))
}

// ProblemCode returns the problem code carried by err, or "" when err is not a server's
// problem answer.
func ProblemCode(err error) string {
	var pe *ProblemError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// Client speaks the agent routes of the API (DESIGN.md, "Agent routes").
type Client struct {
	base string
	http *http.Client
	// Version is sent as User-Agent: SupportSession/<Version>.
	Version string
}

// NewClient returns a client for the API at baseURL (scheme and host, optionally a path
// prefix, for example "https://support.example.com"). A nil httpClient means
// http.DefaultClient.
func NewClient(baseURL string, httpClient *http.Client) *Client {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: httpClient, Version: "dev"}
}

// BaseURL is the server address the client talks to.
func (c *Client) BaseURL() string { return c.base }

// Hello tells the server that the app has started on a PC.
func (c *Client) Hello(ctx context.Context, req HelloRequest) (*HelloResponse, error) {
	var out HelloResponse
	if err := c.do(ctx, PathHello, "", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Pair sends the security code; on success the app is activated.
func (c *Client) Pair(ctx context.Context, req PairRequest) (*PairResponse, error) {
	var out PairResponse
	if err := c.do(ctx, PathPair, "", req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Poll asks whether the session is still active.
func (c *Client) Poll(ctx context.Context, agentToken string) (*PollResponse, error) {
	var out PollResponse
	if err := c.do(ctx, PathPoll, agentToken, struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// End tells the server that the user ended the session.
func (c *Client) End(ctx context.Context, agentToken string) (*EndResponse, error) {
	var out EndResponse
	if err := c.do(ctx, PathEnd, agentToken, struct{}{}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Removed reports that the app has cleaned up the PC.
func (c *Client) Removed(ctx context.Context, agentToken string) error {
	return c.do(ctx, PathRemoved, agentToken, struct{}{}, nil)
}

// RemoteEnded reports the end of a remote connection (answered 204).
func (c *Client) RemoteEnded(ctx context.Context, agentToken string, req RemoteEndedRequest) error {
	return c.do(ctx, PathRemoteEnded, agentToken, req, nil)
}

func (c *Client) do(ctx context.Context, path, bearer string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("request %s: %w", path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, application/problem+json")
	// No compressed answers: net/http would decompress them through buffers of its own,
	// which keep a copy of the pair answer's password that readAnswer cannot wipe.
	req.Header.Set("Accept-Encoding", "identity")
	req.Header.Set("User-Agent", "SupportSession/"+c.Version)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			// Cancelled by the caller: not a network problem, and not worth a retry.
			return fmt.Errorf("%s: %w", path, ctx.Err())
		}
		// The *url.Error names the URL only, never the token or the body.
		return fmt.Errorf("%s: %w: %w", path, ErrOffline, err)
	}
	defer resp.Body.Close()
	data, err := readAnswer(resp.Body, maxResponseBytes, resp.ContentLength)
	// The pair answer holds the password: what is decoded from it (a Secret) is a copy the
	// caller wipes, and the answer itself is wiped here, whatever happens.
	defer Wipe(data)
	if err != nil {
		return fmt.Errorf("%s: read answer: %w: %w", path, ErrOffline, err)
	}
	if len(data) > maxResponseBytes {
		return fmt.Errorf("%s: answer larger than %d bytes", path, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s: %w", path, problemFrom(resp, data))
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		// A proxy's or captive portal's HTML page ends up here.
		return fmt.Errorf("%s: decode answer (%s): %w", path, resp.Header.Get("Content-Type"), err)
	}
	return nil
}

// readAnswer reads at most limit+1 bytes into one buffer. Unlike io.ReadAll, which leaves
// every buffer it outgrows to the garbage collector with its part of the answer in it, a
// buffer that is outgrown is wiped after its bytes have moved, so that wiping the result
// leaves no copy of the answer in memory that this client made. A Content-Length sizes the
// buffer at once.
func readAnswer(r io.Reader, limit int, size int64) ([]byte, error) {
	n := 1024
	if size >= 0 && size < int64(limit) {
		n = int(size) + 1 // one more, to see the end without growing
	}
	buf := make([]byte, 0, min(n, limit+1))
	for {
		if len(buf) == cap(buf) {
			if len(buf) > limit {
				return buf, nil
			}
			bigger := make([]byte, len(buf), min(2*cap(buf), limit+1))
			copy(bigger, buf)
			Wipe(buf)
			buf = bigger
		}
		m, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

func problemFrom(resp *http.Response, data []byte) *ProblemError {
	pe := &ProblemError{HTTPStatus: resp.StatusCode}
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt == "application/problem+json" || mt == "application/json" {
		var p Problem
		if json.Unmarshal(data, &p) == nil {
			pe.Problem = p
		}
	}
	if pe.Status == 0 {
		pe.Status = resp.StatusCode
	}
	if pe.Title == "" {
		pe.Title = http.StatusText(resp.StatusCode)
	}
	return pe
}

// IsOffline reports whether err means that no answer came from the server.
func IsOffline(err error) bool { return errors.Is(err, ErrOffline) }
