package apidoc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/adhoc-support/adhoc-support/api"
)

// productRoutes is every route the product serves (DESIGN.md "HTTP API" and "Local mode",
// internal/httpapi, internal/local/gateway, internal/console). The document must describe
// exactly these.
var productRoutes = []struct {
	route     string
	security  string // "technicianJwt", "agentToken" or "" for none
	localOnly bool
}{
	{"POST /v1/sessions", "technicianJwt", false},
	{"GET /v1/sessions", "technicianJwt", false},
	{"GET /v1/sessions/{id}", "technicianJwt", false},
	{"DELETE /v1/sessions/{id}", "technicianJwt", false},
	{"GET /v1/sessions/{id}/audit", "technicianJwt", false},
	{"GET /v1/computers", "technicianJwt", false},
	{"GET /v1/account", "technicianJwt", false},
	{"POST /v1/live/tickets", "technicianJwt", false},
	{"POST /v1/sessions/{id}/remote", "technicianJwt", false},
	{"POST /v1/agent/remote/ended", "agentToken", false},
	{"POST /v1/agent/hello", "", false},
	{"POST /v1/agent/pair", "", false},
	{"POST /v1/agent/poll", "agentToken", false},
	{"POST /v1/agent/end", "agentToken", false},
	{"POST /v1/agent/removed", "agentToken", false},
	{"GET /join/{inviteToken}", "", false},
	{"GET /join/{inviteToken}/app", "", false},
	{"GET /", "", false},
	// The console's static files: the page at / cannot work without them.
	{"GET /console/{asset}", "", false},
	{"POST /v1/dev/token", "", true},
	{"PUT /v1/dev/accounts/{account}", "", true},
	{"GET /healthz", "", true},
}

func load(t testing.TB) *Validator {
	t.Helper()
	v, err := Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return v
}

func TestDocumentIsValid(t *testing.T) {
	v := load(t)
	if v.doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q, want 3.1.0", v.doc.OpenAPI)
	}
	// Load skips the examples for speed; here every example of the document, down to the
	// schemas' own, must match its schema.
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation()); err != nil {
		t.Fatalf("the document is not valid: %v", err)
	}
	again, err := Load()
	if err != nil || again != v {
		t.Errorf("a second Load gave %p, %v; want the same validator %p", again, err, v)
	}
}

func TestNewRefusesBadDocuments(t *testing.T) {
	for _, c := range []struct{ name, doc string }{
		{"not YAML", "openapi: [3.1.0"},
		{"OpenAPI 3.0", "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths: {}\n"},
		{"dangling reference", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        '200':\n          $ref: '#/components/responses/Nope'\n"},
		{"no MethodNotAllowed", "openapi: 3.1.0\ninfo: {title: x, version: '1'}\npaths:\n  /x:\n    get:\n      responses:\n        '200': {description: ok}\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New([]byte(c.doc)); err == nil {
				t.Fatal("New accepted the document")
			}
		})
	}
}

func TestEveryRouteIsDocumentedAndNothingElse(t *testing.T) {
	v := load(t)
	docRoutes := map[string]*openapi3.Operation{}
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			docRoutes[method+" "+path] = op
		}
	}
	want := map[string]bool{}
	for _, r := range productRoutes {
		want[r.route] = true
		t.Run(r.route, func(t *testing.T) {
			op, ok := docRoutes[r.route]
			if !ok {
				t.Fatal("not in the document")
			}
			if op.OperationID == "" || op.Summary == "" {
				t.Error("no operationId or summary")
			}
			if op.Security == nil {
				t.Fatal("no security requirement; say `security: []` for none")
			}
			var got []string
			for _, req := range *op.Security {
				for name := range req {
					got = append(got, name)
				}
			}
			if r.security == "" && len(got) != 0 || r.security != "" && (len(got) != 1 || got[0] != r.security) {
				t.Errorf("security %v, want %q", got, r.security)
			}
			local, _ := op.Extensions["x-local-only"].(bool)
			if local != r.localOnly {
				t.Errorf("x-local-only = %v, want %v", local, r.localOnly)
			}
			if local && !strings.Contains(op.Description, "No Lambda") {
				t.Errorf("a local-only route must say that no Lambda serves it: %q", op.Description)
			}
		})
	}
	var extra []string
	for route := range docRoutes {
		if !want[route] {
			extra = append(extra, route)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("the document describes routes the product does not serve: %v", extra)
	}
}

// TestEveryProblemStatusNamesItsCodes checks that each problem answer of an operation pins
// `code` (and `status`) to what the handlers send for that status.
func TestEveryProblemStatusNamesItsCodes(t *testing.T) {
	v := load(t)
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for status, ref := range op.Responses.Map() {
				mt := ref.Value.Content.Get("application/problem+json")
				if mt == nil {
					continue
				}
				s := mt.Schema.Value
				var code, st *openapi3.Schema
				for _, part := range s.AllOf {
					if p := part.Value.Properties["code"]; p != nil {
						code = p.Value
					}
					if p := part.Value.Properties["status"]; p != nil && part.Ref == "" {
						st = p.Value
					}
				}
				if code == nil || (code.Const == nil && len(code.Enum) == 0) {
					t.Errorf("%s %s %s: the problem does not name its codes", method, path, status)
				}
				if st == nil || st.Const == nil || toString(st.Const) != status {
					t.Errorf("%s %s %s: the problem does not pin status to %s", method, path, status, status)
				}
			}
		}
	}
}

func toString(x any) string {
	b, _ := json.Marshal(x)
	return string(b)
}

// Sample values for the examples test: path parameters, and the headers an answer must
// carry, which the document's examples do not show.
var (
	samplePath = map[string]string{
		"id":          "jtxszy5e5zhefg6wi26ongmeze",
		"inviteToken": "0LNnMovJqIL7fzucR4_68jxTqwdWBlX4PyClDzxOvjw",
		"account":     "acme",
		"asset":       "app.js",
	}
	sampleCSP = "default-src 'none'"
	sampleTag = `"0123456789abcdef01234567"`
)

func sampleHeaders(status int) http.Header {
	h := http.Header{}
	h.Set("ETag", sampleTag)
	h.Set("Content-Security-Policy", sampleCSP)
	h.Set("Content-Disposition", `attachment; filename="SupportSession_0LNnMovJqIL7fzucR4_68jxTqwdWBlX4PyClDzxOvjw.exe"`)
	if status == http.StatusCreated {
		h.Set("Location", "/v1/sessions/jtxszy5e5zhefg6wi26ongmeze")
	} else {
		h.Set("Location", "https://downloads.example.com/SupportSession.exe?X-Amz-Expires=300")
	}
	return h
}

func expand(path string) string {
	for k, val := range samplePath {
		path = strings.ReplaceAll(path, "{"+k+"}", val)
	}
	return path
}

// requestFor builds a request the document calls valid for the operation, from its first
// request example.
func requestFor(t *testing.T, v *Validator, method, path string, op *openapi3.Operation) (*http.Request, []byte) {
	t.Helper()
	var body []byte
	if rb := op.RequestBody; rb != nil {
		mt := rb.Value.Content.Get("application/json")
		if mt == nil || len(mt.Examples) == 0 {
			t.Fatalf("%s %s: the request body has no example", method, path)
		}
		first := sortedKeys(mt.Examples)[0]
		b, err := json.Marshal(mt.Examples[first].Value.Value)
		if err != nil {
			t.Fatal(err)
		}
		body = b
	}
	req := httptest.NewRequest(method, "http://127.0.0.1:8080"+expand(path), strings.NewReader(string(body)))
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if needsBearer(v.doc, op) {
		req.Header.Set("Authorization", "Bearer token")
	}
	return req, body
}

// TestEveryExampleValidates sends every example answer of the document through
// ValidateResponse, and every example request through ValidateRequest.
func TestEveryExampleValidates(t *testing.T) {
	v := load(t)
	n := 0
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			req, body := requestFor(t, v, method, path, op)
			if err := v.ValidateRequest(req, body); err != nil {
				t.Errorf("request example: %v", err)
			}
			for code, ref := range op.Responses.Map() {
				status := atoi(t, code)
				for media, mt := range ref.Value.Content {
					for name, ex := range mt.Examples {
						n++
						raw, err := json.Marshal(ex.Value.Value)
						if err != nil {
							t.Fatal(err)
						}
						h := sampleHeaders(status)
						h.Set("Content-Type", media)
						if err := v.ValidateResponse(req, body, status, h, raw); err != nil {
							t.Errorf("%s %s %d example %q: %v", method, path, status, name, err)
						}
					}
				}
			}
		}
	}
	if n < 40 {
		t.Errorf("only %d response examples; every JSON answer should have one", n)
	}
}

// TestEveryJSONAnswerHasAnExample keeps the document useful to people: each JSON answer
// shows what it looks like.
func TestEveryJSONAnswerHasAnExample(t *testing.T) {
	v := load(t)
	for path, item := range v.doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code, ref := range op.Responses.Map() {
				for media, mt := range ref.Value.Content {
					if isJSON(media) && len(mt.Examples) == 0 && mt.Example == nil {
						t.Errorf("%s %s %s %s: no example", method, path, code, media)
					}
				}
			}
		}
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("response key %q: the document uses only exact status codes", s)
		}
		n = n*10 + int(c-'0')
	}
	return n
}

const (
	sessionID   = "jtxszy5e5zhefg6wi26ongmeze"
	inviteToken = "0LNnMovJqIL7fzucR4_68jxTqwdWBlX4PyClDzxOvjw"
	agentToken  = sessionID + ".zw3kbt0dUY2KZYRe8l6Rt7ry17TgXx0nlZE920_5Y2g"
	problemCT   = "application/problem+json"
	jsonCT      = "application/json"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

func TestValidateResponse(t *testing.T) {
	v := load(t)
	goodInvite := `{"email":"anna@example.org","password":"Corr3ct-Horse-Battery","locale":"en"}`
	invitation := `{"id":"` + sessionID + `","securityCode":"123-456-789","status":"invited","inviteExpiresAt":"2026-05-05T09:30:00.123456789Z","username":"AdHocRemoteUser"}`
	cases := []struct {
		name         string
		method, path string
		reqHeader    http.Header
		reqBody      string
		status       int
		header       http.Header
		body         string
		wantErr      string // "" = valid; else a part of the error
		sentinel     error  // the error must wrap it
	}{
		{name: "invitation created", method: "POST", path: "/v1/sessions", reqHeader: hdr("Authorization", "Bearer x", "Content-Type", jsonCT), reqBody: goodInvite,
			status: 201, header: hdr("Content-Type", jsonCT, "Location", "/v1/sessions/"+sessionID), body: invitation},
		{name: "201 without Location", method: "POST", path: "/v1/sessions", reqHeader: hdr("Authorization", "Bearer x", "Content-Type", jsonCT), reqBody: goodInvite,
			status: 201, header: hdr("Content-Type", jsonCT), body: invitation, wantErr: "header Location is missing"},
		{name: "201 for a request the document calls invalid", method: "POST", path: "/v1/sessions", reqHeader: hdr("Authorization", "Bearer x", "Content-Type", jsonCT), reqBody: `{"email":"anna@example.org"}`,
			status: 201, header: hdr("Content-Type", jsonCT, "Location", "/v1/sessions/"+sessionID), body: invitation, wantErr: "accepted a request"},
		{name: "a time that is not RFC 3339", method: "POST", path: "/v1/sessions", reqHeader: hdr("Authorization", "Bearer x", "Content-Type", jsonCT), reqBody: goodInvite,
			status: 201, header: hdr("Content-Type", jsonCT, "Location", "/v1/sessions/"+sessionID),
			body: strings.Replace(invitation, "2026-05-05T09:30:00.123456789Z", "05.05.2026 09:30", 1), wantErr: "does not match"},
		{name: "409 session_exists with sessionId", method: "POST", path: "/v1/sessions", status: 409, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:session_exists","title":"Conflict","status":409,"detail":"x","code":"session_exists","sessionId":"` + sessionID + `"}`},
		{name: "problem without code", method: "POST", path: "/v1/sessions", status: 409, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:no_free_slot","title":"Conflict","status":409,"detail":"x"}`, wantErr: "does not match"},
		{name: "code of another status", method: "POST", path: "/v1/sessions", status: 409, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:not_found","title":"Conflict","status":409,"code":"not_found"}`, wantErr: "does not match"},
		{name: "status member differs from the status", method: "POST", path: "/v1/sessions", status: 409, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:no_free_slot","title":"Conflict","status":400,"code":"no_free_slot"}`, wantErr: "does not match"},
		{name: "status member of the wrong type", method: "POST", path: "/v1/sessions", status: 409, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:no_free_slot","title":"Conflict","status":"409","code":"no_free_slot"}`, wantErr: "does not match"},
		{name: "undocumented member", method: "GET", path: "/v1/account", status: 200, reqHeader: hdr("Authorization", "Bearer x"), header: hdr("Content-Type", jsonCT),
			body: `{"account":"acme","slots":5,"used":0,"free":5,"adhocCap":5,"adhocInUse":0,"plan":"gold"}`, wantErr: "does not match"},
		{name: "account", method: "GET", path: "/v1/account", status: 200, reqHeader: hdr("Authorization", "Bearer x"), header: hdr("Content-Type", jsonCT+"; charset=utf-8"),
			body: `{"account":"acme","slots":5,"used":0,"free":5,"adhocCap":5,"adhocInUse":0}`},
		{name: "2xx without the bearer the operation needs", method: "GET", path: "/v1/account", status: 200, header: hdr("Content-Type", jsonCT),
			body: `{"account":"acme","slots":5,"used":0,"free":5,"adhocCap":5,"adhocInUse":0}`, wantErr: "Authorization"},
		{name: "wrong content type", method: "GET", path: "/v1/account", status: 200, reqHeader: hdr("Authorization", "Bearer x"), header: hdr("Content-Type", "text/plain"),
			body: `{}`, wantErr: "content type"},
		{name: "body that is not JSON", method: "GET", path: "/v1/account", status: 200, reqHeader: hdr("Authorization", "Bearer x"), header: hdr("Content-Type", jsonCT),
			body: `{"account":`, wantErr: "not JSON"},
		{name: "undocumented status", method: "GET", path: "/v1/account", status: 404, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:not_found","title":"Not Found","status":404,"code":"not_found"}`, wantErr: "not documented", sentinel: ErrUnknownStatus},
		{name: "teapot", method: "POST", path: "/v1/agent/poll", status: 418, header: hdr("Content-Type", "text/plain"), body: "no", wantErr: "not documented", sentinel: ErrUnknownStatus},
		{name: "unknown route", method: "GET", path: "/v1/nothing", status: 404, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:not_found","title":"Not Found","status":404,"code":"not_found"}`, wantErr: "route", sentinel: ErrUnknownRoute},
		{name: "405 on a known path", method: "PATCH", path: "/v1/sessions/" + sessionID, status: 405, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:method_not_allowed","title":"Method Not Allowed","status":405,"detail":"This method is not allowed here.","code":"method_not_allowed"}`},
		{name: "405 from the console", method: "POST", path: "/", status: 405, header: hdr("Content-Type", "text/plain; charset=utf-8", "Allow", "GET, HEAD"), body: "Method not allowed.\n"},
		{name: "405 with another code", method: "PATCH", path: "/v1/account", status: 405, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:not_found","title":"Method Not Allowed","status":405,"code":"not_found"}`, wantErr: "does not match"},
		{name: "405 on an unknown path", method: "PATCH", path: "/v1/nothing", status: 405, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:method_not_allowed","title":"Method Not Allowed","status":405,"code":"method_not_allowed"}`, wantErr: "route", sentinel: ErrUnknownRoute},
		{name: "invalid_code with attemptsLeft", method: "POST", path: "/v1/agent/pair", status: 401, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:invalid_code","title":"Unauthorized","status":401,"code":"invalid_code","attemptsLeft":2}`},
		{name: "invalid_code without attemptsLeft", method: "POST", path: "/v1/agent/pair", status: 401, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:invalid_code","title":"Unauthorized","status":401,"code":"invalid_code"}`, wantErr: "does not match"},
		{name: "slow_down without interval", method: "POST", path: "/v1/agent/poll", status: 429, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:slow_down","title":"Too Many Requests","status":429,"code":"slow_down"}`, wantErr: "does not match"},
		{name: "poll answer", method: "POST", path: "/v1/agent/poll", reqHeader: hdr("Authorization", "Bearer "+agentToken), status: 200, header: hdr("Content-Type", jsonCT),
			body: `{"status":"active","expiresAt":"2026-05-05T09:41:12Z","interval":30}`},
		{name: "poll status the app does not know", method: "POST", path: "/v1/agent/poll", reqHeader: hdr("Authorization", "Bearer "+agentToken), status: 200, header: hdr("Content-Type", jsonCT),
			body: `{"status":"app_started","expiresAt":"2026-05-05T09:41:12Z","interval":30}`, wantErr: "does not match"},
		{name: "removed", method: "POST", path: "/v1/agent/removed", reqHeader: hdr("Authorization", "Bearer "+agentToken), status: 204, header: hdr()},
		{name: "204 with a body", method: "POST", path: "/v1/agent/removed", reqHeader: hdr("Authorization", "Bearer "+agentToken), status: 204, header: hdr("Content-Type", jsonCT), body: `{}`, wantErr: "no body"},
		{name: "pair answer with a malformed agent token", method: "POST", path: "/v1/agent/pair", status: 200, header: hdr("Content-Type", jsonCT),
			reqHeader: hdr("Content-Type", jsonCT), reqBody: `{"inviteToken":"` + inviteToken + `","securityCode":"123456789","platform":"windows","hostname":"PC","machineId":"m","nonce":"8f14e45fceea167a5a36dedd4bea2543"}`,
			body: `{"agentToken":"nope","sessionId":"` + sessionID + `","expiresAt":"2026-05-05T09:41:12Z","account":{"username":"AdHocRemoteUser","password":"p"},"interval":30}`, wantErr: "does not match"},
		{name: "join page", method: "GET", path: "/join/" + inviteToken, status: 200, header: hdr("Content-Type", "text/html; charset=utf-8", "Content-Security-Policy", sampleCSP), body: "<!doctype html>"},
		{name: "join page for an unknown link", method: "GET", path: "/join/nope", status: 404, header: hdr("Content-Type", "text/html; charset=utf-8"), body: "<!doctype html>"},
		{name: "join page as JSON", method: "GET", path: "/join/" + inviteToken, status: 410, header: hdr("Content-Type", jsonCT), body: `{}`, wantErr: "content type"},
		{name: "HEAD of the join page", method: "HEAD", path: "/join/" + inviteToken, status: 200, header: hdr("Content-Type", "text/html; charset=utf-8", "Content-Security-Policy", sampleCSP)},
		{name: "app download", method: "GET", path: "/join/" + inviteToken + "/app", status: 200,
			header: hdr("Content-Type", "application/vnd.microsoft.portable-executable", "Content-Disposition", `attachment; filename="SupportSession_`+inviteToken+`.exe"`), body: "MZ\x90\x00"},
		{name: "app download with another name", method: "GET", path: "/join/" + inviteToken + "/app", status: 200,
			header: hdr("Content-Type", "application/vnd.microsoft.portable-executable", "Content-Disposition", `attachment; filename="setup.exe"`), body: "MZ", wantErr: "Content-Disposition"},
		{name: "app redirect", method: "GET", path: "/join/" + inviteToken + "/app?arch=arm64", status: 302, header: hdr("Location", "https://bucket.example.com/app.exe?sig=1")},
		{name: "app redirect without Location", method: "GET", path: "/join/" + inviteToken + "/app", status: 302, header: hdr(), wantErr: "Location"},
		{name: "app download refused for a bad arch", method: "GET", path: "/join/" + inviteToken + "/app?arch=sparc", status: 400, header: hdr("Content-Type", problemCT),
			body: `{"type":"urn:adhoc-support:problem:invalid_request","title":"Bad Request","status":400,"detail":"arch must be amd64 or arm64.","code":"invalid_request"}`},
		{name: "AWS authorizer's 401", method: "GET", path: "/v1/sessions", status: 401, header: hdr("Content-Type", jsonCT), body: `{"message":"Unauthorized"}`},
		{name: "console", method: "GET", path: "/", status: 200, header: hdr("Content-Type", "text/html; charset=utf-8", "ETag", sampleTag, "Content-Security-Policy", sampleCSP), body: "<!doctype html>"},
		{name: "console without ETag", method: "GET", path: "/", status: 200, header: hdr("Content-Type", "text/html; charset=utf-8", "Content-Security-Policy", sampleCSP), body: "<!doctype html>", wantErr: "ETag"},
		{name: "console not modified", method: "GET", path: "/", status: 304, header: hdr("ETag", sampleTag)},
		{name: "dev token", method: "POST", path: "/v1/dev/token", reqHeader: hdr("Content-Type", jsonCT), reqBody: `{"email":"tom@example.com","account":"acme"}`,
			status: 200, header: hdr("Content-Type", jsonCT), body: `{"token":"a.b.c","sub":"local-0123456789abcdef01234567"}`},
		{name: "health starting without error", method: "GET", path: "/healthz", status: 503, header: hdr("Content-Type", jsonCT), body: `{"status":"starting"}`, wantErr: "does not match"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "http://127.0.0.1:41234"+c.path, strings.NewReader(c.reqBody))
			for k, vs := range c.reqHeader {
				req.Header[k] = vs
			}
			var reqBody []byte
			if c.reqBody != "" {
				reqBody = []byte(c.reqBody)
			}
			err := v.ValidateResponse(req, reqBody, c.status, c.header, []byte(c.body))
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want an error about %q, got none", c.wantErr)
			}
			if !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("error %q does not mention %q", err, c.wantErr)
			}
			var de *Error
			if !errors.As(err, &de) || de.Status != c.status || de.Path != strings.Split(c.path, "?")[0] {
				t.Errorf("error %#v does not name the answer", err)
			}
			for _, s := range []error{ErrUnknownRoute, ErrUnknownStatus} {
				if errors.Is(err, s) != (s == c.sentinel) {
					t.Errorf("errors.Is(err, %v) = %v", s, !(s == c.sentinel))
				}
			}
		})
	}
}

func TestValidateRequest(t *testing.T) {
	v := load(t)
	hello := `{"inviteToken":"` + inviteToken + `","platform":"windows","osVersion":"Windows 11","hostname":"PC-1","agentVersion":"1.0.0","machineId":"m-1"}`
	cases := []struct {
		name         string
		method, path string
		header       http.Header
		body         string
		wantErr      string
	}{
		{"hello", "POST", "/v1/agent/hello", hdr("Content-Type", jsonCT), hello, ""},
		{"hello without hostname", "POST", "/v1/agent/hello", hdr("Content-Type", jsonCT), strings.Replace(hello, `"hostname":"PC-1",`, "", 1), "does not match"},
		{"hello with an unknown member", "POST", "/v1/agent/hello", hdr("Content-Type", jsonCT), strings.Replace(hello, "{", `{"admin":true,`, 1), "does not match"},
		{"hello with an over-long field", "POST", "/v1/agent/hello", hdr("Content-Type", jsonCT), strings.Replace(hello, "PC-1", strings.Repeat("x", 129), 1), "does not match"},
		{"hello as a form", "POST", "/v1/agent/hello", hdr("Content-Type", "application/x-www-form-urlencoded"), "a=b", "content type"},
		{"hello without a body", "POST", "/v1/agent/hello", hdr(), "", "missing"},
		{"poll with its token", "POST", "/v1/agent/poll", hdr("Authorization", "Bearer "+agentToken), "", ""},
		{"poll without a token", "POST", "/v1/agent/poll", hdr(), "", "Authorization"},
		{"invite with a weak password is still well-formed", "POST", "/v1/sessions", hdr("Authorization", "Bearer x", "Content-Type", jsonCT), `{"email":"a@example.org","password":"x"}`, ""},
		{"invite with a password of the wrong type", "POST", "/v1/sessions", hdr("Authorization", "Bearer x", "Content-Type", jsonCT), `{"email":"a@example.org","password":12}`, "does not match"},
		{"invite to something that is not an address", "POST", "/v1/sessions", hdr("Authorization", "Bearer x", "Content-Type", jsonCT), `{"email":"nobody","password":"Corr3ct-Horse-Battery"}`, "does not match"},
		{"computers of the ad-hoc group", "GET", "/v1/computers?group=adhoc", hdr("Authorization", "Bearer x"), "", ""},
		{"computers of another group", "GET", "/v1/computers?group=all", hdr("Authorization", "Bearer x"), "", "query parameter group"},
		{"app for arm64", "GET", "/join/" + inviteToken + "/app?arch=arm64", hdr(), "", ""},
		{"app for sparc", "GET", "/join/" + inviteToken + "/app?arch=sparc", hdr(), "", "query parameter arch"},
		{"limits out of range", "PUT", "/v1/dev/accounts/acme", hdr("Content-Type", jsonCT), `{"slots":-1,"adhocCap":1}`, "does not match"},
		{"unknown route", "GET", "/v2/sessions", hdr(), "", "route"},
		{"wrong method", "PUT", "/v1/sessions", hdr("Authorization", "Bearer x"), "{}", "route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, "http://localhost:8080"+c.path, strings.NewReader(c.body))
			for k, vs := range c.header {
				req.Header[k] = vs
			}
			err := v.ValidateRequest(req, []byte(c.body))
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("want valid, got %v", err)
			case c.wantErr != "" && err == nil:
				t.Fatalf("want an error about %q, got none", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Errorf("error %q does not mention %q", err, c.wantErr)
			}
		})
	}
}
