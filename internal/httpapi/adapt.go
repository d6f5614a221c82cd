package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
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
	r, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return problemResponse(badRequest("The request's path is not valid."))
	}
	r.RequestURI = target
	for k, v := range req.Headers {
		r.Header.Set(k, v)
	}
	w := &recorder{header: http.Header{}}
	h.ServeHTTP(w, r)
	headers := map[string]string{}
	for k, vs := range w.header {
		headers[k] = strings.Join(vs, ", ")
	}
	body := w.body.Bytes()
	out := events.APIGatewayV2HTTPResponse{StatusCode: w.status(), Headers: headers}
	if utf8.Valid(body) {
		out.Body = string(body)
	} else {
		out.Body, out.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return out
}

// recorder is the http.ResponseWriter serveHTTP hands the handler: it keeps the status,
// the headers and the body for the API Gateway response. (net/http/httptest would do the
// same, but it is a testing package and must not ship in a bootstrap.)
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (w *recorder) Header() http.Header { return w.header }

func (w *recorder) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *recorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *recorder) status() int {
	if w.code == 0 {
		return http.StatusOK
	}
	return w.code
}
