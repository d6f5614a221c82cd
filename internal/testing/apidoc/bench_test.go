package apidoc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/adhoc-support/adhoc-support/api"
)

// BenchmarkNew is what the first Load costs each test binary.
func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		if _, err := New(api.OpenAPI); err != nil {
			b.Fatal(err)
		}
	}
}

var benchAnswers = []struct {
	name, method, path, reqBody string
	status                      int
	header                      http.Header
	body                        string
}{
	{"problem", "POST", "/v1/agent/pair", "", 401, hdr("Content-Type", problemCT),
		`{"type":"urn:adhoc-support:problem:invalid_code","title":"Unauthorized","status":401,"detail":"The security code is not right.","code":"invalid_code","attemptsLeft":3}`},
	{"session", "GET", "/v1/sessions/" + sessionID, "", 200, hdr("Content-Type", jsonCT),
		`{"id":"` + sessionID + `","status":"active","technician":"tom@example.com","email":"anna@example.org","locale":"de","username":"AdHocRemoteUser","createdAt":"2026-05-04T09:30:00Z","inviteExpiresAt":"2026-05-05T09:30:00Z","activatedAt":"2026-05-04T09:41:12Z","expiresAt":"2026-05-05T09:41:12Z","attemptsLeft":5,"computer":{"hostname":"PC","osVersion":"Windows 11","online":true,"lastSeenAt":"2026-05-04T10:00:00Z"}}`},
	{"poll", "POST", "/v1/agent/poll", "", 200, hdr("Content-Type", jsonCT),
		`{"status":"active","expiresAt":"2026-05-05T09:41:12Z","interval":30}`},
}

// BenchmarkValidateResponse is the cost the end-to-end tests pay per answer.
func BenchmarkValidateResponse(b *testing.B) {
	v := load(b)
	for _, a := range benchAnswers {
		b.Run(a.name, func(b *testing.B) {
			req := httptest.NewRequest(a.method, "http://127.0.0.1:8080"+a.path, nil)
			req.Header.Set("Authorization", "Bearer "+agentToken)
			body := []byte(a.body)
			for b.Loop() {
				if err := v.ValidateResponse(req, nil, a.status, a.header, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkKinFilterResponse is the same check through kin-openapi's own filter, which
// compiles the 3.1 schema again on every call: the reason this package compiles once.
func BenchmarkKinFilterResponse(b *testing.B) {
	v := load(b)
	routed := *v.doc
	routed.Servers = nil
	router, err := legacy.NewRouter(&routed)
	if err != nil {
		b.Fatal(err)
	}
	for _, a := range benchAnswers {
		b.Run(a.name, func(b *testing.B) {
			req := httptest.NewRequest(a.method, "http://127.0.0.1:8080"+a.path, nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				b.Fatal(err)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route}
			for b.Loop() {
				err := openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
					RequestValidationInput: in, Status: a.status, Header: a.header,
					Body: io.NopCloser(bytes.NewReader([]byte(a.body))),
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
