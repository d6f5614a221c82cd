package httpapi

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// serveHTTP runs a plain http.Handler (the console's static files) for an API Gateway
// event and turns its answer back into an API Gateway response.
func serveHTTP(ctx context.Context, h http.Handler, req events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	method, path := route(req)
	target := path
	if req.RawQueryString != "" {
		target += "?" + req.RawQueryString
	}
	r := httptest.NewRequestWithContext(ctx, method, target, nil)
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	headers := map[string]string{}
	for k, vs := range res.Header {
		headers[k] = strings.Join(vs, ", ")
	}
	body := w.Body.Bytes()
	out := events.APIGatewayV2HTTPResponse{StatusCode: res.StatusCode, Headers: headers}
	if utf8.Valid(body) {
		out.Body = string(body)
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return out
}
