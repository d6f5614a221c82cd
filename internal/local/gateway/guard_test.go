package gateway_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
)

// TestRefusesForeignHostsOriginsAndForms: a web page must not reach the local gateway's
// routes through the developer's browser. DNS rebinding sends the page's own host name as
// Host; a cross-origin fetch or form sends its Origin; a form can post text/plain or a form
// encoding without a preflight. Each is refused before any route runs; the gateway's own
// pages, the app and tools (no Origin) keep working.
func TestRefusesForeignHostsOriginsAndForms(t *testing.T) {
	issuer, err := gateway.NewIssuer(bytes.Repeat([]byte("k"), 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	gw := &gateway.Gateway{Issuer: issuer, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(gw)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	own := "localhost:" + port
	const tokenBody = `{"email":"tom@example.com","account":"acme","admin":true}`
	const jsonCT = "application/json"

	cases := []struct {
		name, method, path, host, origin, ct, body string
		status                                     int
		code                                       string // of the problem, "" for a success
	}{
		{name: "localhost", method: "POST", path: "/v1/dev/token", host: own, ct: jsonCT, body: tokenBody, status: 200},
		{name: "127.0.0.1", method: "POST", path: "/v1/dev/token", host: "127.0.0.1:" + port, ct: jsonCT, body: tokenBody, status: 200},
		{name: "::1", method: "POST", path: "/v1/dev/token", host: "[::1]:" + port, ct: jsonCT, body: tokenBody, status: 200},
		{name: "JSON with a charset", method: "POST", path: "/v1/dev/token", host: own, ct: "application/json; charset=utf-8", body: tokenBody, status: 200},
		{name: "its own page's origin", method: "POST", path: "/v1/dev/token", host: own, origin: "http://" + own, ct: jsonCT, body: tokenBody, status: 200},
		{name: "its own page on the other loopback name", method: "POST", path: "/v1/dev/token", host: own, origin: "http://127.0.0.1:" + port, ct: jsonCT, body: tokenBody, status: 200},
		{name: "health", method: "GET", path: "/healthz", host: own, status: 200},
		{name: "a GET from another origin reads nothing it may not: allowed", method: "GET", path: "/healthz", host: own, origin: "https://evil.example", status: 200},

		{name: "DNS rebinding: another host name", method: "POST", path: "/v1/dev/token", host: "evil.example:" + port, ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_host"},
		{name: "DNS rebinding on a GET", method: "GET", path: "/healthz", host: "evil.example:" + port, status: 403, code: "forbidden_host"},
		{name: "a name that only starts like localhost", method: "POST", path: "/v1/dev/token", host: "localhost.evil.example:" + port, ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_host"},
		{name: "loopback, another port", method: "POST", path: "/v1/dev/token", host: "localhost:1", ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_host"},
		{name: "no port", method: "POST", path: "/v1/dev/token", host: "localhost", ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_host"},
		{name: "the machine's network address", method: "POST", path: "/v1/dev/token", host: "192.168.1.20:" + port, ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_host"},

		{name: "a cross-origin post", method: "POST", path: "/v1/dev/token", host: own, origin: "https://evil.example", ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_origin"},
		{name: "an opaque origin (sandboxed frame, file:)", method: "POST", path: "/v1/dev/token", host: own, origin: "null", ct: jsonCT, body: tokenBody, status: 403, code: "forbidden_origin"},
		{name: "a loopback origin of another port", method: "PUT", path: "/v1/dev/accounts/acme", host: own, origin: "http://localhost:1", ct: jsonCT, body: `{"slots":1,"adhocCap":1}`, status: 403, code: "forbidden_origin"},
		{name: "a cross-origin WebSocket handshake", method: "GET", path: "/live", host: own, origin: "https://evil.example", status: 403, code: "forbidden_origin"},

		{name: "a form post as text/plain", method: "POST", path: "/v1/dev/token", host: own, ct: "text/plain", body: tokenBody, status: 415, code: "unsupported_media_type"},
		{name: "a urlencoded form", method: "POST", path: "/v1/dev/token", host: own, ct: "application/x-www-form-urlencoded", body: "email=a@b", status: 415, code: "unsupported_media_type"},
		{name: "no Content-Type", method: "POST", path: "/v1/dev/token", host: own, body: tokenBody, status: 415, code: "unsupported_media_type"},
		{name: "dev account as text/plain", method: "PUT", path: "/v1/dev/accounts/acme", host: own, ct: "text/plain", body: `{"slots":1,"adhocCap":1}`, status: 415, code: "unsupported_media_type"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN a request as a browser or a tool would send it
			req, err := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = c.host
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			if c.path == "/live" {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
			}
			// WHEN the local gateway gets it
			res, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Code  string `json:"code"`
				Token string `json:"token"`
			}
			_ = json.NewDecoder(res.Body).Decode(&body)
			// THEN it is served or refused with the problem's code
			if res.StatusCode != c.status || body.Code != c.code {
				t.Fatalf("%s %s Host %s Origin %q: %d %q, want %d %q", c.method, c.path, c.host, c.origin, res.StatusCode, body.Code, c.status, c.code)
			}
			if c.path == "/v1/dev/token" && (c.status == 200) != (body.Token != "") {
				t.Errorf("token issued: %v, want %v", body.Token != "", c.status == 200)
			}
		})
	}
}
