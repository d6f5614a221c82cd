package apidoc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// TestRealHandlersMatchTheDocument sends requests to the real handlers behind the real
// local gateway and checks every answer against the document. It covers the answers that
// need no storage (the service has none here, so a request that reached it would fail the
// test); the end-to-end tests check the rest against DynamoDB Local.
func TestRealHandlersMatchTheDocument(t *testing.T) {
	v := load(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := &support.Service{Config: support.Defaults(), Log: log}
	issuer, err := gateway.NewIssuer(bytes.Repeat([]byte("k"), 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	healthy := true
	gw := &gateway.Gateway{
		Invitation: httpapi.Invitation(svc, console.Handler(console.Local, console.Config{}), log),
		Pairing:    httpapi.Pairing(svc, nil, log),
		Issuer:     issuer,
		Service:    svc,
		Log:        log,
		Health: func(context.Context) error {
			if !healthy {
				return errors.New("table not found")
			}
			return nil
		},
	}
	srv := httptest.NewServer(gw)
	defer srv.Close()

	send := func(t *testing.T, method, path, bearer, contentType, body string, header http.Header) *http.Response {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, vs := range header {
			req.Header[k] = vs
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(res.Body)
		_ = res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := v.ValidateResponse(req, []byte(body), res.StatusCode, res.Header, raw); err != nil {
			t.Errorf("%v\nbody: %s", err, raw)
		}
		res.Body = io.NopCloser(bytes.NewReader(raw))
		return res
	}

	// A real technician token from the dev route.
	res := send(t, "POST", "/v1/dev/token", "", jsonCT, `{"email":"tom@example.com","account":"acme","admin":true}`, nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("dev token: %d", res.StatusCode)
	}
	var tok struct{ Token string }
	if err := jsonDecode(res.Body, &tok); err != nil || tok.Token == "" {
		t.Fatalf("dev token: %v", err)
	}
	page := send(t, "GET", "/", "", "", "", nil)
	etag := page.Header.Get("ETag")

	const badAgent = "jtxszy5e5zhefg6wi26ongmeze.not-a-token"
	cases := []struct {
		name                           string
		method, path, bearer, ct, body string
		header                         http.Header
		status                         int
		code                           string
	}{
		{name: "console", method: "GET", path: "/", status: 200},
		{name: "console HEAD", method: "HEAD", path: "/", status: 200},
		{name: "console not modified", method: "GET", path: "/", header: hdr("If-None-Match", etag), status: 304},
		{name: "console config", method: "GET", path: "/console/config.js", status: 200},
		{name: "console file missing", method: "GET", path: "/console/nope.js", status: 404},
		{name: "console POST", method: "POST", path: "/", status: 405},
		{name: "sessions without a token", method: "GET", path: "/v1/sessions", status: 401, code: "unauthorized"},
		{name: "invite to a bad address", method: "POST", path: "/v1/sessions", bearer: tok.Token, ct: jsonCT, body: `{"email":"nobody","password":"Corr3ct-Horse-Battery","locale":"en"}`, status: 400, code: "invalid_email"},
		{name: "invite with a weak password", method: "POST", path: "/v1/sessions", bearer: tok.Token, ct: jsonCT, body: `{"email":"anna@example.org","password":"short","locale":"en"}`, status: 400, code: "weak_password"},
		{name: "invite in Klingon", method: "POST", path: "/v1/sessions", bearer: tok.Token, ct: jsonCT, body: `{"email":"anna@example.org","password":"Corr3ct-Horse-Battery","locale":"tlh"}`, status: 400, code: "invalid_request"},
		{name: "invite with an unknown member", method: "POST", path: "/v1/sessions", bearer: tok.Token, ct: jsonCT, body: `{"email":"anna@example.org","admin":true}`, status: 400, code: "invalid_request"},
		{name: "invite as bytes", method: "POST", path: "/v1/sessions", bearer: tok.Token, ct: jsonCT, body: "\xff\xfe{}", status: 415, code: "unsupported_media_type"},
		{name: "invite too large", method: "POST", path: "/v1/sessions", bearer: tok.Token, ct: jsonCT, body: `{"email":"` + strings.Repeat("a", 17<<10) + `"}`, status: 413, code: "payload_too_large"},
		{name: "session with a malformed id", method: "GET", path: "/v1/sessions/nope", bearer: tok.Token, status: 404, code: "not_found"},
		{name: "audit with a malformed id", method: "GET", path: "/v1/sessions/nope/audit", bearer: tok.Token, status: 404, code: "not_found"},
		{name: "cancel with a malformed id", method: "DELETE", path: "/v1/sessions/nope", bearer: tok.Token, status: 404, code: "not_found"},
		{name: "computers of another group", method: "GET", path: "/v1/computers?group=all", bearer: tok.Token, status: 400, code: "invalid_request"},
		{name: "account with a wrong method", method: "PATCH", path: "/v1/account", bearer: tok.Token, status: 405, code: "method_not_allowed"},
		{name: "hello with a malformed token", method: "POST", path: "/v1/agent/hello", ct: jsonCT, body: `{"inviteToken":"x","platform":"windows","hostname":"PC","machineId":"m"}`, status: 400, code: "invalid_request"},
		{name: "hello with a wrong method", method: "GET", path: "/v1/agent/hello", status: 405, code: "method_not_allowed"},
		{name: "pair with a malformed code", method: "POST", path: "/v1/agent/pair", ct: jsonCT, body: `{"inviteToken":"` + inviteToken + `","securityCode":"12-34","platform":"windows","hostname":"PC","machineId":"m","nonce":"8f14e45fceea167a5a36dedd4bea2543"}`, status: 400, code: "invalid_request"},
		{name: "poll without a token", method: "POST", path: "/v1/agent/poll", status: 401, code: "invalid_token"},
		{name: "poll with a malformed token", method: "POST", path: "/v1/agent/poll", bearer: badAgent, status: 401, code: "invalid_token"},
		{name: "end with a malformed token", method: "POST", path: "/v1/agent/end", bearer: badAgent, status: 401, code: "invalid_token"},
		{name: "removed with a malformed token", method: "POST", path: "/v1/agent/removed", bearer: badAgent, status: 401, code: "invalid_token"},
		{name: "remote without a token", method: "POST", path: "/v1/sessions/" + sessionID + "/remote", status: 401, code: "unauthorized"},
		{name: "remote without remote access", method: "POST", path: "/v1/sessions/" + sessionID + "/remote", bearer: tok.Token, status: 404, code: "not_found"},
		{name: "remote with GET", method: "GET", path: "/v1/sessions/" + sessionID + "/remote", bearer: tok.Token, status: 405, code: "method_not_allowed"},
		{name: "remote ended without a token", method: "POST", path: "/v1/agent/remote/ended", ct: jsonCT, body: `{}`, status: 401, code: "invalid_token"},
		{name: "remote ended with a malformed token", method: "POST", path: "/v1/agent/remote/ended", bearer: badAgent, ct: jsonCT,
			body: `{"remoteId":"r-airjqervw6imh6nuv5y4fk3r2i","reason":"failed","channels":[],"durationMs":0,"bytesToPc":0,"bytesFromPc":0}`, status: 401, code: "invalid_token"},
		{name: "remote ended with an unknown member", method: "POST", path: "/v1/agent/remote/ended", bearer: badAgent, ct: jsonCT, body: `{"remoteId":"r-1","password":"x"}`, status: 400, code: "invalid_request"},
		{name: "join page of a malformed link", method: "GET", path: "/join/nope", header: hdr("Accept-Language", "de-DE"), status: 404},
		{name: "app of a malformed link", method: "GET", path: "/join/nope/app", status: 404, code: "not_found"},
		{name: "dev token without an account", method: "POST", path: "/v1/dev/token", ct: jsonCT, body: `{"email":"tom@example.com"}`, status: 400, code: "invalid_request"},
		{name: "dev token with GET", method: "GET", path: "/v1/dev/token", status: 405, code: "method_not_allowed"},
		{name: "dev account out of range", method: "PUT", path: "/v1/dev/accounts/acme", ct: jsonCT, body: `{"slots":-1,"adhocCap":1}`, status: 400, code: "invalid_request"},
		{name: "dev account with POST", method: "POST", path: "/v1/dev/accounts/acme", ct: jsonCT, body: `{}`, status: 405, code: "method_not_allowed"},
		{name: "dev token as a form", method: "POST", path: "/v1/dev/token", ct: "text/plain", body: `{"email":"tom@example.com","account":"acme"}`, status: 415, code: "unsupported_media_type"},
		{name: "dev account without a Content-Type", method: "PUT", path: "/v1/dev/accounts/acme", body: `{"slots":1,"adhocCap":1}`, status: 415, code: "unsupported_media_type"},
		{name: "health", method: "GET", path: "/healthz", status: 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res := send(t, c.method, c.path, c.bearer, c.ct, c.body, c.header)
			if res.StatusCode != c.status {
				b, _ := io.ReadAll(res.Body)
				t.Fatalf("status %d, want %d: %s", res.StatusCode, c.status, b)
			}
			if c.code != "" {
				var p struct{ Code string }
				if err := jsonDecode(res.Body, &p); err != nil || p.Code != c.code {
					t.Errorf("code %q (%v), want %q", p.Code, err, c.code)
				}
			}
		})
	}

	t.Run("health while starting", func(t *testing.T) {
		healthy = false
		defer func() { healthy = true }()
		if res := send(t, "GET", "/healthz", "", "", "", nil); res.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", res.StatusCode)
		}
	})
}

func jsonDecode(r io.Reader, into any) error { return json.NewDecoder(r).Decode(into) }
