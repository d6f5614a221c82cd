// Package liveapi is the `live` function: it adapts the events of API Gateway's WebSocket
// API to the live-channel use cases of internal/support. One handler takes all of them:
// the Lambda REQUEST authorizer of $connect (an agent token in Authorization, or a
// console's one-use ticket in ?ticket=), the $connect and $disconnect routes, and the
// messages, routed on $request.body.action (ping, signal, and $default for anything else).
// Answers to messages go back through @connections, as on API Gateway; the local gateway
// (internal/local/gateway) calls this very handler with the same events.
package liveapi

import (
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

// Route keys of the WebSocket API.
const (
	RouteConnect    = "$connect"
	RouteDisconnect = "$disconnect"
	RouteDefault    = "$default"
	RoutePing       = protocol.ActionPing
	RouteSignal     = protocol.ActionSignal
)

// Routes are the message routes besides $connect, $disconnect and $default: one per
// action the server knows. The CDK stack makes one route of each.
var Routes = []string{RoutePing, RouteSignal}

// ErrUnauthorized is what the authorizer returns for a refused handshake: a Lambda
// authorizer that fails with exactly this message makes API Gateway answer 401.
var ErrUnauthorized = errors.New("Unauthorized")

// AuthorizerRequest is the input of a WebSocket API's Lambda REQUEST authorizer. It is the
// REST API's request authorizer event with the WebSocket request context (aws-lambda-go
// has no type of its own for it).
type AuthorizerRequest struct {
	Type                            string                                        `json:"type"` // "REQUEST"
	MethodArn                       string                                        `json:"methodArn"`
	Headers                         map[string]string                             `json:"headers"`
	MultiValueHeaders               map[string][]string                           `json:"multiValueHeaders,omitempty"`
	QueryStringParameters           map[string]string                             `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string                           `json:"multiValueQueryStringParameters,omitempty"`
	StageVariables                  map[string]string                             `json:"stageVariables,omitempty"`
	RequestContext                  events.APIGatewayWebsocketProxyRequestContext `json:"requestContext"`
}

// Keys of the authorizer's context, which API Gateway hands to every later event of the
// connection as requestContext.authorizer. Values are strings: API Gateway passes
// strings, numbers and booleans, and strings read back the same everywhere.
const (
	ctxKind       = "kind"
	ctxSession    = "sessionId"
	ctxAccount    = "account"
	ctxTechnician = "technician"
	ctxAdmin      = "admin"
)

// LogHandshakeRefused is the message the live function logs (level INFO, as "msg") for
// every handshake it refuses. A refusal is a returned error, which Lambda counts in the
// function's Errors, so the CDK stack counts these lines to tell refusals (any scanner of
// the public endpoint, an app whose session is over) from failures.
const LogHandshakeRefused = "live: handshake refused"

// Handler is the live function's handler: raw events in, the authorizer's policy or a
// route's status out.
type Handler func(ctx context.Context, raw json.RawMessage) (any, error)

// New returns the live function's handler.
func New(svc *support.Service, log *slog.Logger) Handler {
	h := &handler{svc: svc, log: log}
	return h.handle
}

type handler struct {
	svc *support.Service
	log *slog.Logger
}

func (h *handler) handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var probe struct {
		Type      string `json:"type"`
		MethodArn string `json:"methodArn"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, fmt.Errorf("live: unreadable event: %w", err)
	}
	if probe.Type == "REQUEST" && probe.MethodArn != "" {
		var req AuthorizerRequest
		if err := json.Unmarshal(raw, &req); err != nil {
			return nil, fmt.Errorf("live: unreadable authorizer event: %w", err)
		}
		return h.authorize(ctx, req)
	}
	var ev events.APIGatewayWebsocketProxyRequest
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, fmt.Errorf("live: unreadable WebSocket event: %w", err)
	}
	return h.route(ctx, ev), nil
}

// authorize lets a handshake through with the peer in the policy's context, or fails with
// ErrUnauthorized. It never says why to the caller; the log does, without the secret.
func (h *handler) authorize(ctx context.Context, req AuthorizerRequest) (events.APIGatewayCustomAuthorizerResponse, error) {
	bearer := bearerToken(header(req.Headers, "authorization"))
	ticket := req.QueryStringParameters["ticket"]
	peer, err := h.svc.AuthorizeLive(ctx, bearer, ticket)
	if err != nil {
		if e, ok := support.AsError(err); ok {
			h.log.InfoContext(ctx, LogHandshakeRefused, "code", e.Code, "connection", req.RequestContext.ConnectionID)
		} else {
			h.log.ErrorContext(ctx, "live: authorizer failed", "error", err)
		}
		return events.APIGatewayCustomAuthorizerResponse{}, ErrUnauthorized
	}
	principal := peer.Technician
	if peer.Kind == support.PeerApp {
		principal = "app:" + peer.SessionID
	}
	return events.APIGatewayCustomAuthorizerResponse{
		PrincipalID: principal,
		PolicyDocument: events.APIGatewayCustomAuthorizerPolicy{
			Version: "2012-10-17",
			Statement: []events.IAMPolicyStatement{{
				Action: []string{"execute-api:Invoke"}, Effect: "Allow", Resource: []string{req.MethodArn},
			}},
		},
		Context: map[string]any{
			ctxKind: peer.Kind, ctxSession: peer.SessionID, ctxAccount: peer.Account,
			ctxTechnician: peer.Technician, ctxAdmin: fmt.Sprint(peer.Admin),
		},
	}, nil
}

// peerOf reads the authorizer's context back from a route's event.
func peerOf(rc events.APIGatewayWebsocketProxyRequestContext) (support.LivePeer, bool) {
	m, ok := rc.Authorizer.(map[string]any)
	if !ok {
		return support.LivePeer{}, false
	}
	s := func(k string) string {
		v, _ := m[k].(string)
		return v
	}
	admin := s(ctxAdmin) == "true"
	if b, ok := m[ctxAdmin].(bool); ok {
		admin = b
	}
	p := support.LivePeer{Kind: s(ctxKind), SessionID: s(ctxSession), Account: s(ctxAccount), Technician: s(ctxTechnician), Admin: admin}
	switch {
	case p.Kind == support.PeerApp && p.SessionID != "":
	case p.Kind == support.PeerConsole && p.Account != "" && p.Technician != "":
	default:
		return support.LivePeer{}, false
	}
	return p, true
}

func status(code int) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{StatusCode: code}
}

// statusOf maps the refusals of the connect and disconnect use cases.
func statusOf(err error) int {
	if e, ok := support.AsError(err); ok {
		switch e.Code {
		case support.CodeUnauthorized, support.CodeInvalidToken:
			return http.StatusUnauthorized
		case support.CodeExpired:
			return http.StatusGone
		case support.CodeNotFound:
			return http.StatusNotFound
		}
	}
	return http.StatusInternalServerError
}

func (h *handler) route(ctx context.Context, ev events.APIGatewayWebsocketProxyRequest) events.APIGatewayProxyResponse {
	rc := ev.RequestContext
	conn := rc.ConnectionID
	peer, ok := peerOf(rc)
	if !ok || conn == "" {
		// Only the authorizer lets a connection in, and it always sets the context.
		h.log.ErrorContext(ctx, "live: event without an authorized peer", "route", rc.RouteKey)
		return status(http.StatusUnauthorized)
	}
	switch rc.RouteKey {
	case RouteConnect:
		if err := h.svc.LiveConnected(ctx, peer, conn); err != nil {
			code := statusOf(err)
			if code == http.StatusInternalServerError {
				h.log.ErrorContext(ctx, "live: connect failed", "peer", peer.Kind, "error", err)
			}
			return status(code)
		}
		return status(http.StatusOK)
	case RouteDisconnect:
		if err := h.svc.LiveDisconnected(ctx, peer, conn); err != nil {
			h.log.WarnContext(ctx, "live: disconnect failed", "peer", peer.Kind, "error", err)
		}
		return status(http.StatusOK)
	}
	h.message(ctx, peer, conn, rc.RouteKey, ev.Body)
	return status(http.StatusOK)
}

// message serves a client message. Whatever goes wrong is answered with an error message
// on the same connection, which stays open.
func (h *handler) message(ctx context.Context, peer support.LivePeer, conn, routeKey, body string) {
	if len(body) > protocol.MaxLiveMessage {
		h.replyError(ctx, conn, protocol.LiveCodeTooLarge, "A message may have at most 128 KB.")
		return
	}
	var act protocol.LiveAction
	if err := json.Unmarshal([]byte(body), &act); err != nil || act.Action == "" {
		h.replyError(ctx, conn, protocol.LiveCodeMalformed, `Send a JSON object with a string "action".`)
		return
	}
	switch {
	case routeKey == RoutePing && act.Action == protocol.ActionPing:
		if err := h.svc.LiveSend(ctx, conn, protocol.Pong); err != nil && !errors.Is(err, support.ErrGone) {
			h.log.WarnContext(ctx, "live: pong failed", "error", err)
		}
	case routeKey == RouteSignal && act.Action == protocol.ActionSignal:
		h.signal(ctx, peer, conn, body)
	default:
		h.replyError(ctx, conn, protocol.LiveCodeUnknownAction, "Known actions: "+strings.Join(Routes, ", ")+".")
	}
}

// signal relays a remote connection's signal to its other end (support.Signal decides
// whether it may be relayed); what cannot be relayed is answered with an error.
func (h *handler) signal(ctx context.Context, peer support.LivePeer, conn, body string) {
	var a protocol.SignalAction
	dec := json.NewDecoder(strings.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil || dec.More() {
		h.replyError(ctx, conn, protocol.LiveCodeMalformed, "A signal is {\"action\":\"signal\",\"sessionId\",\"remoteId\",\"signal\"} as api/asyncapi.yaml describes it.")
		return
	}
	err := h.svc.Signal(ctx, peer, conn, a.SessionID, a.RemoteID, a.Signal)
	if err == nil {
		return
	}
	e, ok := support.AsError(err)
	switch {
	case ok && e.Code == support.CodeInvalidRequest:
		h.replyError(ctx, conn, protocol.LiveCodeMalformed, e.Detail)
	case ok && (e.Code == support.CodeNoRemote || e.Code == support.CodeNotFound):
		// The same answer whatever the reason: nobody learns of another's session.
		h.replyError(ctx, conn, protocol.LiveCodeNoRemote, "There is no remote connection to signal.")
	default:
		h.log.ErrorContext(ctx, "live: signal failed", "peer", peer.Kind, "error", err)
		h.replyError(ctx, conn, protocol.LiveCodeInternal, "The signal could not be relayed; try again.")
	}
}

func (h *handler) replyError(ctx context.Context, conn, code, message string) {
	raw, err := json.Marshal(protocol.LiveError{Type: protocol.TypeError, Code: code, Message: message})
	if err == nil {
		err = h.svc.LiveSend(ctx, conn, raw)
	}
	if err != nil && !errors.Is(err, support.ErrGone) {
		h.log.WarnContext(ctx, "live: error answer failed", "code", code, "error", err)
	}
}

func bearerToken(h string) string {
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// header reads a header case-insensitively: API Gateway keeps the client's spelling.
func header(headers map[string]string, name string) string {
	for k, v := range headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}
