// Package httpapi adapts API Gateway HTTP API events (payload format 2.0) to the use cases
// of internal/support: one handler per Lambda function (Invitation, Pairing). It decodes
// and checks requests, answers with the views of internal/views (technician routes) and
// the wire types of internal/protocol (the app's routes), maps refusals to RFC 9457
// problems with stable codes, and never returns a Go error to API Gateway (that would
// become a bare 502).
package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Handler is the signature of an API Gateway HTTP API Lambda handler.
type Handler func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// statusOf maps each stable problem code to its HTTP status (DESIGN.md, "HTTP API").
var statusOf = map[string]int{
	support.CodeInvalidRequest:      http.StatusBadRequest,
	support.CodeInvalidEmail:        http.StatusBadRequest,
	support.CodeWeakPassword:        http.StatusBadRequest,
	support.CodeUnauthorized:        http.StatusUnauthorized,
	support.CodeInvalidCode:         http.StatusUnauthorized,
	support.CodeInvalidToken:        http.StatusUnauthorized,
	support.CodeNotFound:            http.StatusNotFound,
	support.CodeSessionExists:       http.StatusConflict,
	support.CodeNoFreeSlot:          http.StatusConflict,
	support.CodeAdhocCapReached:     http.StatusConflict,
	support.CodeAlreadySupported:    http.StatusConflict,
	support.CodeAlreadyPaired:       http.StatusConflict,
	support.CodeNotActive:           http.StatusConflict,
	support.CodePCOffline:           http.StatusConflict,
	support.CodeRemoteBusy:          http.StatusConflict,
	support.CodeExpired:             http.StatusGone,
	support.CodeUnsupportedPlatform: http.StatusUnprocessableEntity,
	support.CodeLocked:              http.StatusLocked,
	support.CodeSlowDown:            http.StatusTooManyRequests,
	support.CodeMailFailed:          http.StatusBadGateway,
	codeMethodNotAllowed:            http.StatusMethodNotAllowed,
	codePayloadTooLarge:             http.StatusRequestEntityTooLarge,
	codeUnsupportedMediaType:        http.StatusUnsupportedMediaType,
	codeInternal:                    http.StatusInternalServerError,
}

const (
	codeMethodNotAllowed     = "method_not_allowed"
	codePayloadTooLarge      = "payload_too_large"
	codeUnsupportedMediaType = "unsupported_media_type"
	codeInternal             = "internal_error"
)

// maxBody bounds a JSON request body; every request of this API is far smaller.
const maxBody = 16 << 10

// securityHeaders go on every answer.
func securityHeaders(h map[string]string) map[string]string {
	h["X-Content-Type-Options"] = "nosniff"
	h["Cache-Control"] = "no-store"
	h["Referrer-Policy"] = "no-referrer"
	return h
}

func jsonResponse(status int, body any) events.APIGatewayV2HTTPResponse {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		// Only our own types are encoded here; failing to encode one is a bug.
		return problemResponse(&support.Error{Code: codeInternal, Detail: "The answer could not be encoded."})
	}
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    securityHeaders(map[string]string{"Content-Type": "application/json"}),
		Body:       buf.String(),
	}
}

func problemResponse(e *support.Error) events.APIGatewayV2HTTPResponse {
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	p := protocol.Problem{
		Type:         "urn:adhoc-support:problem:" + e.Code,
		Title:        http.StatusText(status),
		Status:       status,
		Detail:       e.Detail,
		Code:         e.Code,
		AttemptsLeft: e.AttemptsLeft,
		Interval:     seconds(e.Interval),
		SessionID:    e.SessionID,
	}
	out, _ := json.Marshal(p)
	return events.APIGatewayV2HTTPResponse{
		StatusCode: status,
		Headers:    securityHeaders(map[string]string{"Content-Type": "application/problem+json"}),
		Body:       string(out),
	}
}

// fail turns an error from a use case into an answer: a refusal becomes its problem, any
// other error is logged (without secrets: errors never carry them) and answered as 500.
func fail(ctx context.Context, log *slog.Logger, route string, err error) events.APIGatewayV2HTTPResponse {
	if e, ok := support.AsError(err); ok {
		return problemResponse(e)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		log.WarnContext(ctx, "request timed out", "route", route, "error", err)
	} else {
		log.ErrorContext(ctx, "request failed", "route", route, "error", err)
	}
	return problemResponse(&support.Error{Code: codeInternal, Detail: "Something went wrong on our side; try again."})
}

func badRequest(detail string) *support.Error {
	return &support.Error{Code: support.CodeInvalidRequest, Detail: detail}
}

// decode reads a JSON body strictly: one object, known fields only, bounded size. The
// Content-Type is not checked: no route takes anything but JSON, and the bearer tokens
// (not cookies) mean a browser form cannot forge a request.
func decode(req events.APIGatewayV2HTTPRequest, into any) *support.Error {
	body := req.Body
	if req.IsBase64Encoded {
		return &support.Error{Code: codeUnsupportedMediaType, Detail: "Send the body as JSON text."}
	}
	if len(body) > maxBody {
		return &support.Error{Code: codePayloadTooLarge, Detail: fmt.Sprintf("The body is larger than %d bytes.", maxBody)}
	}
	if strings.TrimSpace(body) == "" {
		return badRequest("The request needs a JSON body.")
	}
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return badRequest("The body is not valid JSON for this request: " + jsonProblem(err))
	}
	if dec.More() {
		return badRequest("The body must hold exactly one JSON object.")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input (it may hold a secret).
func jsonProblem(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type", typ.Field)
	case strings.HasPrefix(err.Error(), "json: unknown field"):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed"
}

// header reads a request header case-insensitively (API Gateway lower-cases them, but
// other callers may not).
func header(req events.APIGatewayV2HTTPRequest, name string) string {
	if v, ok := req.Headers[name]; ok {
		return v
	}
	for k, v := range req.Headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// route is the method and path of a request, whatever API Gateway put in RouteKey.
func route(req events.APIGatewayV2HTTPRequest) (method, path string) {
	method = req.RequestContext.HTTP.Method
	path = req.RawPath
	if path == "" {
		path = req.RequestContext.HTTP.Path
	}
	if method == "" || path == "" {
		if m, p, ok := strings.Cut(req.RouteKey, " "); ok {
			method, path = m, p
		}
	}
	return strings.ToUpper(method), path
}

// match reports whether path matches pattern ("/v1/sessions/{id}") and returns the values
// of its {parameters}.
func match(pattern, path string) (map[string]string, bool) {
	ps := strings.Split(strings.Trim(pattern, "/"), "/")
	xs := strings.Split(strings.Trim(path, "/"), "/")
	if len(ps) != len(xs) {
		return nil, false
	}
	params := map[string]string{}
	for i, p := range ps {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			if xs[i] == "" {
				return nil, false
			}
			params[p[1:len(p)-1]] = xs[i]
			continue
		}
		if p != xs[i] {
			return nil, false
		}
	}
	return params, true
}

// endpoint is one route of a handler.
type endpoint struct {
	method, pattern string
	serve           func(ctx context.Context, req events.APIGatewayV2HTTPRequest, params map[string]string) events.APIGatewayV2HTTPResponse
}

// dispatch finds the endpoint for a request; an unknown path is 404 and a known path with
// another method 405.
func dispatch(ctx context.Context, req events.APIGatewayV2HTTPRequest, eps []endpoint) events.APIGatewayV2HTTPResponse {
	method, path := route(req)
	known := false
	for _, ep := range eps {
		params, ok := match(ep.pattern, path)
		if !ok {
			continue
		}
		known = true
		if ep.method == method || ep.method == http.MethodGet && method == http.MethodHead {
			return ep.serve(ctx, req, params)
		}
	}
	if known {
		return problemResponse(&support.Error{Code: codeMethodNotAllowed, Detail: "This method is not allowed here."})
	}
	return problemResponse(&support.Error{Code: support.CodeNotFound, Detail: "There is nothing at this address."})
}
