// Package gateway is local mode's stand-in for API Gateway: it turns HTTP requests into the
// same events.APIGatewayV2HTTPRequest values (payload format 2.0) that the HTTP API hands
// to the Lambda functions, checks technician tokens the way the JWT authorizer does, and
// calls the very same handlers. It also serves the local-only routes /healthz and
// /v1/dev/*, which no Lambda has.
package gateway

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Gateway routes requests to the functions like the HTTP API of the CDK stack does.
type Gateway struct {
	Invitation httpapi.Handler // technician routes (JWT) and the console
	Pairing    httpapi.Handler // agent routes and the join page (no JWT)
	// Live is the live channel (the WebSocket API and its @connections endpoint); nil
	// serves none.
	Live    *Live
	Issuer  *Issuer
	Service *support.Service // for the dev route that configures accounts
	Health  func(ctx context.Context) error
	Log     *slog.Logger
	// MaxBody mirrors API Gateway's payload limit (10 MB); requests above it get 413.
	MaxBody int64

	requests atomic.Int64
}

// ServeHTTP implements http.Handler.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if guard(w, r) {
		return
	}
	path := r.URL.Path
	switch {
	case path == "/healthz":
		g.health(w, r)
	case g.Live != nil && path == PathLive:
		g.Live.ServeWebSocket(w, r)
	case g.Live != nil && strings.HasPrefix(path, PathConnections):
		g.Live.ServeConnections(w, r)
	case path == "/v1/dev/token":
		g.devToken(w, r)
	case strings.HasPrefix(path, "/v1/dev/accounts/"):
		g.devAccount(w, r, strings.TrimPrefix(path, "/v1/dev/accounts/"))
	case strings.HasPrefix(path, "/v1/agent/") || path == "/join" || strings.HasPrefix(path, "/join/"):
		g.invoke(w, r, g.Pairing, nil)
	case strings.HasPrefix(path, "/v1/"):
		// The JWT authorizer answers 401 itself, before any function runs.
		claims, err := g.Issuer.Verify(bearerToken(r))
		if err != nil {
			writeProblem(w, http.StatusUnauthorized, support.CodeUnauthorized, "Sign in first: the request carries no valid technician token.")
			return
		}
		g.invoke(w, r, g.Invitation, claims)
	default:
		g.invoke(w, r, g.Invitation, nil) // the console's static files
	}
}

func bearerToken(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// invoke converts the request into the API Gateway event, calls the function's handler
// and writes its answer.
func (g *Gateway) invoke(w http.ResponseWriter, r *http.Request, h httpapi.Handler, claims map[string]string) {
	limit := g.MaxBody
	if limit <= 0 {
		limit = 10 << 20
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		writeProblem(w, http.StatusBadRequest, support.CodeInvalidRequest, "The request body could not be read.")
		return
	}
	if int64(len(body)) > limit {
		writeProblem(w, http.StatusRequestEntityTooLarge, "payload_too_large", "The request is larger than the gateway accepts.")
		return
	}
	ev := g.event(r, body, claims)
	res, err := h(r.Context(), ev)
	if err != nil {
		// What API Gateway does when a function fails: a bare 502.
		g.log().Error("function returned an error", "route", ev.RouteKey, "error", err)
		writeProblem(w, http.StatusBadGateway, "internal_error", "Internal Server Error")
		return
	}
	writeResponse(w, res)
}

func (g *Gateway) log() *slog.Logger {
	if g.Log != nil {
		return g.Log
	}
	return slog.Default()
}

// event builds the payload format 2.0 request.
func (g *Gateway) event(r *http.Request, body []byte, claims map[string]string) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	for k, vs := range r.Header {
		headers[strings.ToLower(k)] = strings.Join(vs, ",")
	}
	var cookies []string
	if c := headers["cookie"]; c != "" {
		cookies = strings.Split(c, "; ")
		delete(headers, "cookie")
	}
	query := map[string]string{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	now := time.Now().UTC()
	n := g.requests.Add(1)
	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              "$default",
		RawPath:               r.URL.Path,
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			AccountID:    "local",
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: "local",
			Stage:        "$default",
			RequestID:    fmt.Sprintf("local-%d-%d", now.UnixNano(), n),
			Time:         now.Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.URL.Path, Protocol: r.Proto, SourceIP: ip, UserAgent: r.UserAgent(),
			},
		},
	}
	if claims != nil {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return ev
}

func writeResponse(w http.ResponseWriter, res events.APIGatewayV2HTTPResponse) {
	for k, v := range res.Headers {
		w.Header().Set(k, v)
	}
	for k, vs := range res.MultiValueHeaders {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	for _, c := range res.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	body := []byte(res.Body)
	if res.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(res.Body); err != nil {
			writeProblem(w, http.StatusBadGateway, "internal_error", "Internal Server Error")
			return
		}
	}
	status := res.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeProblem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "urn:adhoc-support:problem:" + code, "title": http.StatusText(status),
		"status": status, "code": code, "detail": detail,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (g *Gateway) health(w http.ResponseWriter, r *http.Request) {
	if g.Health != nil {
		if err := g.Health(r.Context()); err != nil {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting", "error": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// decodeDev reads a dev route's JSON body strictly.
func decodeDev(w http.ResponseWriter, r *http.Request, into any) bool {
	dec := json.NewDecoder(io.LimitReader(r.Body, 4<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		writeProblem(w, http.StatusBadRequest, support.CodeInvalidRequest, "The body is not valid JSON for this request.")
		return false
	}
	return true
}

func (g *Gateway) devToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use POST.")
		return
	}
	var u DevUser
	if !decodeDev(w, r, &u) {
		return
	}
	u.Email, u.Account = strings.TrimSpace(u.Email), strings.TrimSpace(u.Account)
	if !strings.Contains(u.Email, "@") || u.Account == "" || len(u.Account) > 64 || strings.ContainsAny(u.Account+u.Email, "#\r\n") {
		writeProblem(w, http.StatusBadRequest, support.CodeInvalidRequest, "email (an address) and account (up to 64 characters, no #) are required.")
		return
	}
	tok, err := g.Issuer.Issue(u)
	if err != nil {
		writeProblem(w, http.StatusInternalServerError, "internal_error", "The token could not be issued.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"token": tok, "sub": u.Subject()})
}

func (g *Gateway) devAccount(w http.ResponseWriter, r *http.Request, account string) {
	if r.Method != http.MethodPut {
		writeProblem(w, http.StatusMethodNotAllowed, "method_not_allowed", "Use PUT.")
		return
	}
	var body struct {
		Slots    int `json:"slots"`
		AdhocCap int `json:"adhocCap"`
	}
	if !decodeDev(w, r, &body) {
		return
	}
	l := support.Limits{Slots: body.Slots, AdhocCap: body.AdhocCap}
	if account == "" || strings.ContainsAny(account, "/#") {
		writeProblem(w, http.StatusBadRequest, support.CodeInvalidRequest, "Name the account in the path.")
		return
	}
	if err := g.Service.SetLimits(r.Context(), account, l); err != nil {
		if e, ok := support.AsError(err); ok {
			writeProblem(w, http.StatusBadRequest, e.Code, e.Detail)
			return
		}
		g.log().Error("dev account", "error", err)
		writeProblem(w, http.StatusInternalServerError, "internal_error", "The account could not be configured.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": account, "slots": l.Slots, "adhocCap": l.AdhocCap})
}
