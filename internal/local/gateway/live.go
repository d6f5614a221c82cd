package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// PathLive is where the local gateway serves the live channel (ws://localhost:8080/live),
// on the API's port; PathConnections is its stand-in for the @connections management API.
const (
	PathLive        = "/live"
	PathConnections = "/@connections/"
)

// LiveLimits are the WebSocket API's limits the local gateway enforces. The zero value
// means AWS's: 128 KB a message, 10 minutes idle, 2 hours a connection.
type LiveLimits struct {
	MaxMessage  int64
	IdleTimeout time.Duration
	MaxAge      time.Duration
}

func (l LiveLimits) withDefaults() LiveLimits {
	if l.MaxMessage <= 0 {
		l.MaxMessage = protocol.MaxLiveMessage
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = protocol.LiveIdleTimeout
	}
	if l.MaxAge <= 0 {
		l.MaxAge = protocol.MaxLiveConnection
	}
	return l
}

// Live is local mode's stand-in for the API Gateway WebSocket API: the handshake runs the
// live function's authorizer and then its $connect route, each message goes to the route
// its "action" selects, a closed connection to $disconnect, all with the events API
// Gateway sends; and answers and pushes come in through the @connections endpoint, which
// the same management API client talks to as in AWS.
type Live struct {
	Handler liveapi.Handler
	Limits  LiveLimits
	Log     *slog.Logger

	mu    sync.Mutex
	conns map[string]*liveConn
	seq   atomic.Int64
}

// liveConn is one open connection.
type liveConn struct {
	id         string
	ws         *websocket.Conn
	authorizer map[string]any
	sourceIP   string
	userAgent  string
	domain     string
	connected  time.Time
	lastActive atomic.Int64 // unix nanoseconds of the last message either way
	activity   chan struct{}
	done       chan struct{} // closed once the connection has ended
	// ready is closed once the upgrade is done (ws is set, or nil if it failed): the
	// connection is registered before the upgrade, as API Gateway knows it once $connect
	// has answered, and a push that comes in meanwhile waits for it.
	ready chan struct{}
}

// Stage is the name the local API's stage goes by in the events.
const Stage = "local"

func (l *Live) log() *slog.Logger {
	if l.Log != nil {
		return l.Log
	}
	return slog.Default()
}

// Open reports how many connections are open (tests).
func (l *Live) Open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// CloseAll drops every connection as a network failure would (tests): no close
// handshake, but $disconnect runs, as API Gateway does when a client vanishes.
func (l *Live) CloseAll() {
	l.mu.Lock()
	conns := make([]*liveConn, 0, len(l.conns))
	for _, c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		// A connection whose upgrade is still under way (its client may already hold the
		// answer) is dropped as soon as it is done.
		if c.upgraded(5 * time.Second) {
			_ = c.ws.CloseNow()
		}
	}
}

// newConnectionID makes an id of the form API Gateway uses ("L0SM9cOFvHcCIhw=").
func newConnectionID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (l *Live) requestContext(c *liveConn, route, eventType string) events.APIGatewayWebsocketProxyRequestContext {
	now := time.Now()
	return events.APIGatewayWebsocketProxyRequestContext{
		AccountID: "000000000000", APIID: "local", Stage: Stage, DomainName: c.domain,
		ConnectionID: c.id, RouteKey: route, EventType: eventType, MessageDirection: "IN",
		RequestID:         fmt.Sprintf("live-%d-%d", now.UnixNano(), l.seq.Add(1)),
		ExtendedRequestID: fmt.Sprintf("live-%d", l.seq.Add(1)),
		ConnectedAt:       c.connected.UnixMilli(),
		RequestTimeEpoch:  now.UnixMilli(),
		RequestTime:       now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		Identity:          events.APIGatewayRequestIdentity{SourceIP: c.sourceIP, UserAgent: c.userAgent},
		Authorizer:        c.authorizer,
	}
}

// invoke calls the live function with an event, as Lambda would: the event as JSON in,
// the answer as JSON out.
func (l *Live) invoke(ctx context.Context, event, answer any) error {
	raw, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	out, err := l.Handler(ctx, raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	return json.Unmarshal(b, answer)
}

// ServeWebSocket runs a handshake on /live: the authorizer, then $connect, then the
// upgrade; a refusal at either step answers with its status and stores nothing.
func (l *Live) ServeWebSocket(w http.ResponseWriter, r *http.Request) {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		writeProblem(w, http.StatusUpgradeRequired, "upgrade_required", "The live channel is a WebSocket: connect with ws:// or wss://.")
		return
	}
	ip, _, _ := net.SplitHostPort(r.RemoteAddr)
	c := &liveConn{id: newConnectionID(), sourceIP: ip, userAgent: r.UserAgent(), domain: r.Host,
		connected: time.Now(), activity: make(chan struct{}, 1), done: make(chan struct{}), ready: make(chan struct{})}

	headers, multi := map[string]string{}, map[string][]string{}
	for k, vs := range r.Header {
		headers[k] = strings.Join(vs, ",")
		multi[k] = vs
	}
	query, multiQuery := map[string]string{}, map[string][]string{}
	for k, vs := range r.URL.Query() {
		query[k] = vs[len(vs)-1]
		multiQuery[k] = vs
	}
	methodArn := "arn:aws:execute-api:local:000000000000:local/" + Stage + "/" + liveapi.RouteConnect
	authReq := liveapi.AuthorizerRequest{
		Type: "REQUEST", MethodArn: methodArn, Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		RequestContext: l.requestContext(c, liveapi.RouteConnect, "CONNECT"),
	}
	var policy events.APIGatewayCustomAuthorizerResponse
	if err := l.invoke(r.Context(), authReq, &policy); err != nil {
		if err.Error() == liveapi.ErrUnauthorized.Error() {
			writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized")
			return
		}
		l.log().Error("live: authorizer failed", "error", err)
		writeProblem(w, http.StatusInternalServerError, "internal_error", "Internal Server Error")
		return
	}
	if !allows(policy, methodArn) {
		writeProblem(w, http.StatusForbidden, "forbidden", "Forbidden")
		return
	}
	c.authorizer = map[string]any{"principalId": policy.PrincipalID}
	for k, v := range policy.Context {
		c.authorizer[k] = v
	}

	var res events.APIGatewayProxyResponse
	connect := events.APIGatewayWebsocketProxyRequest{Headers: headers, MultiValueHeaders: multi,
		QueryStringParameters: query, MultiValueQueryStringParameters: multiQuery,
		RequestContext: l.requestContext(c, liveapi.RouteConnect, "CONNECT")}
	if err := l.invoke(r.Context(), connect, &res); err != nil {
		l.log().Error("live: $connect failed", "error", err)
		writeProblem(w, http.StatusBadGateway, "internal_error", "Internal Server Error")
		return
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		writeProblem(w, res.StatusCode, "refused", http.StatusText(res.StatusCode))
		return
	}

	l.mu.Lock()
	if l.conns == nil {
		l.conns = map[string]*liveConn{}
	}
	l.conns[c.id] = c
	l.mu.Unlock()
	ws, err := websocket.Accept(w, r, nil)
	if err != nil {
		close(c.ready)
		// The function has stored the connection: tell it that it is gone.
		l.disconnect(c, websocket.StatusAbnormalClosure, "handshake failed")
		return
	}
	limits := l.Limits.withDefaults()
	ws.SetReadLimit(limits.MaxMessage)
	c.ws = ws
	c.touch()
	close(c.ready)
	go l.watch(c, limits)
	l.read(c)
}

func allows(p events.APIGatewayCustomAuthorizerResponse, arn string) bool {
	allowed := false
	for _, st := range p.PolicyDocument.Statement {
		if !slices.Contains(st.Resource, arn) && !slices.Contains(st.Resource, "*") {
			continue
		}
		if st.Effect == "Deny" {
			return false
		}
		allowed = allowed || st.Effect == "Allow"
	}
	return allowed
}

// upgraded waits up to limit for the upgrade and reports whether it succeeded.
func (c *liveConn) upgraded(limit time.Duration) bool {
	select {
	case <-c.ready:
		return c.ws != nil
	default:
	}
	t := time.NewTimer(limit)
	defer t.Stop()
	select {
	case <-c.ready:
		return c.ws != nil
	case <-t.C:
		return false
	}
}

func (c *liveConn) touch() {
	c.lastActive.Store(time.Now().UnixNano())
	select {
	case c.activity <- struct{}{}:
	default:
	}
}

// watch closes the connection after the idle timeout and at its maximum age, with the
// close code API Gateway sends (1001, going away).
func (l *Live) watch(c *liveConn, limits LiveLimits) {
	maxAge := time.NewTimer(limits.MaxAge)
	defer maxAge.Stop()
	idle := time.NewTimer(limits.IdleTimeout)
	defer idle.Stop()
	for {
		select {
		case <-maxAge.C:
			_ = c.ws.Close(websocket.StatusGoingAway, "Going away")
			return
		case <-idle.C:
			last := time.Unix(0, c.lastActive.Load())
			if left := limits.IdleTimeout - time.Since(last); left > 0 {
				idle.Reset(left)
				continue
			}
			_ = c.ws.Close(websocket.StatusGoingAway, "Going away")
			return
		case <-c.activity:
		case <-c.done:
			return
		}
	}
}

// read serves the connection's messages until it closes, then runs $disconnect.
func (l *Live) read(c *liveConn) {
	ctx := context.Background()
	for {
		typ, data, err := c.ws.Read(ctx)
		if err != nil {
			code := websocket.CloseStatus(err)
			reason := "Connection closed"
			if code == -1 {
				code = websocket.StatusAbnormalClosure
				reason = "Connection lost"
			}
			l.disconnect(c, code, reason)
			return
		}
		c.touch()
		ev := events.APIGatewayWebsocketProxyRequest{RequestContext: l.requestContext(c, routeOf(data), "MESSAGE")}
		if typ == websocket.MessageBinary {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(data), true
			ev.RequestContext.RouteKey = liveapi.RouteDefault
		} else {
			ev.Body = string(data)
		}
		var res events.APIGatewayProxyResponse
		if err := l.invoke(ctx, ev, &res); err != nil {
			l.log().Error("live: message route failed", "route", ev.RequestContext.RouteKey, "error", err)
		}
	}
}

// routeOf is API Gateway's route selection on $request.body.action: the route named by
// the message's action, or $default.
func routeOf(data []byte) string {
	var a struct {
		Action any `json:"action"`
	}
	if json.Unmarshal(data, &a) != nil {
		return liveapi.RouteDefault
	}
	if s, ok := a.Action.(string); ok && slices.Contains(liveapi.Routes, s) {
		return s
	}
	return liveapi.RouteDefault
}

func (l *Live) disconnect(c *liveConn, code websocket.StatusCode, reason string) {
	l.mu.Lock()
	delete(l.conns, c.id)
	l.mu.Unlock()
	close(c.done)
	rc := l.requestContext(c, liveapi.RouteDisconnect, "DISCONNECT")
	rc.DisconnectStatusCode = int64(code)
	rc.DisconnectReason = &reason
	var res events.APIGatewayProxyResponse
	if err := l.invoke(context.Background(), events.APIGatewayWebsocketProxyRequest{RequestContext: rc}, &res); err != nil {
		l.log().Error("live: $disconnect failed", "error", err)
	}
}

func (l *Live) conn(id string) *liveConn {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.conns[id]
}

// ServeConnections is the stand-in for the @connections management API on the gateway's
// port: POST sends a message, DELETE closes the connection, GET describes it. Like the
// real one it wants a SigV4-signed request (any credentials) and answers an unknown
// connection with 410 GoneException.
func (l *Live) ServeConnections(w http.ResponseWriter, r *http.Request) {
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		writeAWSError(w, http.StatusForbidden, "ForbiddenException", "Missing Authentication Token")
		return
	}
	id := strings.TrimPrefix(r.URL.Path, PathConnections)
	c := l.conn(id)
	if c == nil || !c.upgraded(5*time.Second) {
		writeAWSError(w, http.StatusGone, "GoneException", "")
		return
	}
	switch r.Method {
	case http.MethodPost:
		limit := l.Limits.withDefaults().MaxMessage
		data, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			writeAWSError(w, http.StatusBadRequest, "BadRequestException", "unreadable body")
			return
		}
		if int64(len(data)) > limit {
			writeAWSError(w, http.StatusRequestEntityTooLarge, "PayloadTooLargeException", "Message too long")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
			writeAWSError(w, http.StatusGone, "GoneException", "")
			return
		}
		c.touch()
		w.WriteHeader(http.StatusOK)
	case http.MethodDelete:
		_ = c.ws.Close(websocket.StatusNormalClosure, "")
		w.WriteHeader(http.StatusNoContent)
	case http.MethodGet:
		writeJSON(w, http.StatusOK, map[string]any{
			"connectedAt":  c.connected.UTC().Format(time.RFC3339Nano),
			"lastActiveAt": time.Unix(0, c.lastActive.Load()).UTC().Format(time.RFC3339Nano),
			"identity":     map[string]string{"sourceIp": c.sourceIP, "userAgent": c.userAgent},
		})
	default:
		writeAWSError(w, http.StatusMethodNotAllowed, "BadRequestException", "method not allowed")
	}
}

// writeAWSError answers as an AWS REST JSON service does, so the SDK decodes the error
// into its typed exception.
func writeAWSError(w http.ResponseWriter, status int, errorType, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Amzn-ErrorType", errorType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"message": message})
}
