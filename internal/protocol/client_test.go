package protocol

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// recorded is one request as the stub server saw it.
type recorded struct {
	path, auth, ua, contentType string
	body                        map[string]any
}

// stub answers every request with status and body, and records what it got.
func stub(t *testing.T, status int, contentType, body string) (*Client, *[]recorded) {
	t.Helper()
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			t.Errorf("method %s, want POST", r.Method)
		}
		rec := recorded{path: r.URL.Path, auth: r.Header.Get("Authorization"), ua: r.Header.Get("User-Agent"), contentType: r.Header.Get("Content-Type")}
		if err := json.NewDecoder(r.Body).Decode(&rec.body); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		got = append(got, rec)
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c := NewClient(srv.URL+"/", srv.Client())
	c.Version = "1.2.3"
	return c, &got
}

func TestClientRequests(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		status   int
		body     string
		call     func(c *Client) (any, error)
		path     string
		auth     string
		wantBody map[string]any
		check    func(t *testing.T, out any)
	}{
		{
			name: "hello", status: 200, body: `{"status":"app_started","interval":5}`,
			call: func(c *Client) (any, error) {
				return c.Hello(ctx, HelloRequest{InviteToken: tok, Platform: PlatformWindows, OSVersion: "Windows 11 Pro", Hostname: "PC1", AgentVersion: "1.2.3", MachineID: "m-1"})
			},
			path: PathHello,
			wantBody: map[string]any{"inviteToken": tok, "platform": "windows", "osVersion": "Windows 11 Pro",
				"hostname": "PC1", "agentVersion": "1.2.3", "machineId": "m-1"},
			check: func(t *testing.T, out any) {
				if r := out.(*HelloResponse); r.Status != StatusAppStarted || r.Interval != 5 {
					t.Errorf("hello answer %+v", r)
				}
			},
		},
		{
			name: "pair", status: 200,
			body: `{"agentToken":"at","sessionId":"s1","expiresAt":"2030-01-02T03:04:05Z","account":{"username":"AdHocRemoteUser","password":"pw"},"interval":30}`,
			call: func(c *Client) (any, error) {
				return c.Pair(ctx, PairRequest{InviteToken: tok, SecurityCode: "123456789", Platform: PlatformWindows, OSVersion: "W", Hostname: "PC1", MachineID: "m-1", Nonce: "8f14e45fceea167a5a36dedd4bea2543"})
			},
			path: PathPair,
			wantBody: map[string]any{"inviteToken": tok, "securityCode": "123456789", "platform": "windows", "osVersion": "W",
				"hostname": "PC1", "machineId": "m-1", "nonce": "8f14e45fceea167a5a36dedd4bea2543"},
			check: func(t *testing.T, out any) {
				r := out.(*PairResponse)
				want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
				if r.AgentToken != "at" || r.SessionID != "s1" || !r.ExpiresAt.Equal(want) || r.Account.Username != "AdHocRemoteUser" || string(r.Account.Password) != "pw" || r.Interval != 30 {
					t.Errorf("pair answer %+v", r)
				}
			},
		},
		{
			name: "poll", status: 200, body: `{"status":"active","expiresAt":"2030-01-02T03:04:05Z","interval":30}`,
			call: func(c *Client) (any, error) { return c.Poll(ctx, "agent-token") },
			path: PathPoll, auth: "Bearer agent-token", wantBody: map[string]any{},
			check: func(t *testing.T, out any) {
				if r := out.(*PollResponse); r.Status != StatusActive || r.Interval != 30 || r.ExpiresAt.IsZero() {
					t.Errorf("poll answer %+v", r)
				}
			},
		},
		{
			name: "end", status: 200, body: `{"status":"ended"}`,
			call: func(c *Client) (any, error) { return c.End(ctx, "agent-token") },
			path: PathEnd, auth: "Bearer agent-token", wantBody: map[string]any{},
			check: func(t *testing.T, out any) {
				if r := out.(*EndResponse); r.Status != StatusEnded {
					t.Errorf("end answer %+v", r)
				}
			},
		},
		{
			name: "removed", status: 204,
			call: func(c *Client) (any, error) { return nil, c.Removed(ctx, "agent-token") },
			path: PathRemoved, auth: "Bearer agent-token", wantBody: map[string]any{},
			check: func(t *testing.T, out any) {},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, got := stub(t, tt.status, "application/json", tt.body)
			out, err := tt.call(c)
			if err != nil {
				t.Fatalf("call: %v", err)
			}
			tt.check(t, out)
			if len(*got) != 1 {
				t.Fatalf("%d requests, want 1", len(*got))
			}
			r := (*got)[0]
			if r.path != tt.path || r.auth != tt.auth || r.ua != "SupportSession/1.2.3" || r.contentType != "application/json" {
				t.Errorf("request path=%q auth=%q ua=%q ct=%q", r.path, r.auth, r.ua, r.contentType)
			}
			if len(r.body) != len(tt.wantBody) {
				t.Errorf("body %v, want %v", r.body, tt.wantBody)
			}
			for k, v := range tt.wantBody {
				if r.body[k] != v {
					t.Errorf("body[%s] = %v, want %v", k, r.body[k], v)
				}
			}
		})
	}
}

func TestClientProblems(t *testing.T) {
	tests := []struct {
		name         string
		status       int
		contentType  string
		body         string
		code         string
		attemptsLeft int // -1: absent
		interval     int
	}{
		{"wrong code", 401, "application/problem+json", `{"title":"Wrong code","status":401,"code":"invalid_code","attemptsLeft":3}`, CodeInvalidCode, 3, 0},
		{"last attempt", 401, "application/problem+json", `{"title":"Wrong code","status":401,"code":"invalid_code","attemptsLeft":1}`, CodeInvalidCode, 1, 0},
		{"slow down", 429, "application/problem+json", `{"title":"Slow down","status":429,"code":"slow_down","interval":35}`, CodeSlowDown, -1, 35},
		{"expired", 410, "application/problem+json", `{"title":"Expired","status":410,"code":"expired"}`, CodeExpired, -1, 0},
		{"locked", 423, "application/problem+json; charset=utf-8", `{"title":"Locked","status":423,"code":"locked"}`, CodeLocked, -1, 0},
		{"already supported", 409, "application/problem+json", `{"title":"x","status":409,"code":"already_supported"}`, CodeAlreadySupported, -1, 0},
		{"already paired", 409, "application/problem+json", `{"title":"x","status":409,"code":"already_paired"}`, CodeAlreadyPaired, -1, 0},
		{"unsupported platform", 422, "application/problem+json", `{"title":"x","status":422,"code":"unsupported_platform"}`, CodeUnsupportedPlatform, -1, 0},
		{"not found", 404, "application/problem+json", `{"title":"x","status":404,"code":"not_found"}`, CodeNotFound, -1, 0},
		{"invalid token", 401, "application/problem+json", `{"title":"x","status":401,"code":"invalid_token"}`, CodeInvalidToken, -1, 0},
		{"proxy error page", 502, "text/html", `<html>Bad gateway</html>`, "", -1, 0},
		{"broken problem body", 500, "application/problem+json", `{"title":`, "", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := stub(t, tt.status, tt.contentType, tt.body)
			_, err := c.Poll(context.Background(), "tok")
			var pe *ProblemError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) is not a *ProblemError", err, err)
			}
			if pe.HTTPStatus != tt.status || pe.Code != tt.code || ProblemCode(err) != tt.code {
				t.Errorf("problem %+v, want status %d code %q", pe, tt.status, tt.code)
			}
			if tt.attemptsLeft >= 0 && (pe.AttemptsLeft == nil || *pe.AttemptsLeft != tt.attemptsLeft) {
				t.Errorf("attemptsLeft %v, want %d", pe.AttemptsLeft, tt.attemptsLeft)
			}
			if tt.attemptsLeft < 0 && pe.AttemptsLeft != nil {
				t.Errorf("attemptsLeft %d, want absent", *pe.AttemptsLeft)
			}
			if pe.Interval != tt.interval {
				t.Errorf("interval %d, want %d", pe.Interval, tt.interval)
			}
			if pe.Title == "" || IsOffline(err) {
				t.Errorf("title %q offline %v", pe.Title, IsOffline(err))
			}
		})
	}
}

func TestClientOffline(t *testing.T) {
	// A port that was just free: nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c := NewClient("http://"+addr, nil)
	_, err = c.Poll(context.Background(), "secret-token")
	if !IsOffline(err) || !errors.Is(err, ErrOffline) {
		t.Fatalf("error %v is not offline", err)
	}
	var ue *url.Error
	if !errors.As(err, &ue) {
		t.Errorf("error %v does not carry the *url.Error", err)
	}
	if ProblemCode(err) != "" {
		t.Errorf("offline error has a problem code")
	}
	if strings.Contains(err.Error(), "secret-token") {
		t.Errorf("error text leaks the token: %v", err)
	}
}

func TestClientCancelledIsNotOffline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := NewClient(srv.URL, srv.Client()).Poll(ctx, "t")
	if err == nil || IsOffline(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v: want the context's deadline, not offline", err)
	}
}

func TestClientBoundsAnswer(t *testing.T) {
	huge := `{"status":"active","pad":"` + strings.Repeat("x", maxResponseBytes) + `"}`
	c, _ := stub(t, 200, "application/json", huge)
	if _, err := c.Poll(context.Background(), "t"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("error %v, want a size refusal", err)
	}
}

func TestClientRejectsNonJSONSuccess(t *testing.T) {
	// A captive portal answers 200 with its own page.
	c, _ := stub(t, 200, "text/html", "<html>Sign in to the Wi-Fi</html>")
	_, err := c.Poll(context.Background(), "t")
	if err == nil || IsOffline(err) || ProblemCode(err) != "" {
		t.Fatalf("error %v, want a decode error", err)
	}
}
