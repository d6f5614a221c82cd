package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/lambdatest"
	"github.com/adhoc-support/adhoc-support/internal/views"
)

// rigLiveURL is where the rig's service says the live channel is. Nothing listens there:
// the rig hands the live function the events API Gateway would send.
const rigLiveURL = "wss://live.example.com/live"

// wsMessageStep is the size step in which API Gateway meters WebSocket messages: a
// message of 33 KB is billed as two.
const wsMessageStep = 32 << 10

// messageUnits is how many messages API Gateway bills for one message of n bytes.
func messageUnits(n int) int64 {
	return max(1, int64((n+wsMessageStep-1)/wsMessageStep))
}

// Pusher is the rig's stand-in for @connections: it takes every POST the service makes,
// delivers it to a connection the rig holds open (or answers ErrGone, as the real API's
// 410 does), and counts it. A POST costs no invocation; what it delivers is billed as
// WebSocket messages.
type Pusher struct {
	counts *Counts

	mu   sync.Mutex
	open map[string]time.Time // connection id → when its $connect succeeded (rig clock)
	got  map[string][][]byte  // what each connection was sent, in order
}

// Push implements support.Pusher.
func (p *Pusher) Push(_ context.Context, connectionID string, message []byte) error {
	p.counts.Pushes.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.open[connectionID]; !ok {
		p.counts.PushesGone.Add(1)
		return support.ErrGone
	}
	p.counts.PushUnits.Add(messageUnits(len(message)))
	p.counts.PushBytes.Add(int64(len(message)))
	p.got[connectionID] = append(p.got[connectionID], slices.Clone(message))
	return nil
}

// Received returns what a connection has been sent so far.
func (p *Pusher) Received(connectionID string) [][]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got[connectionID])
}

func (p *Pusher) opened(id string, at time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open[id] = at
}

func (p *Pusher) closed(id string) (since time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	since, ok = p.open[id]
	delete(p.open, id)
	return since, ok
}

// LiveConn is a live connection the rig holds open.
type LiveConn struct {
	ID         string
	Kind       string    // support.PeerApp or support.PeerConsole
	Since      time.Time // its $connect, on the rig's clock
	authorizer map[string]any
}

// Names of the live function's events, as the tables show them.
const (
	LiveAuthorizer = "authorizer, "  // + kind
	LiveConnect    = "$connect, "    // + kind
	LiveDisconnect = "$disconnect, " // + kind
	LivePing       = "ping"
)

// newConnectionID makes an id of the form API Gateway gives ("L0SM9cOFvHcCIhw=").
func newConnectionID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

func (r *Rig) requestContext(c *LiveConn, route, eventType string) events.APIGatewayWebsocketProxyRequestContext {
	now := r.Clock.Now()
	return events.APIGatewayWebsocketProxyRequestContext{
		AccountID: "123456789012", APIID: "liveapi", Stage: "prod", DomainName: "live.example.com",
		ConnectionID: c.ID, RouteKey: route, EventType: eventType, MessageDirection: "IN",
		RequestID:        fmt.Sprintf("rig-%d", r.seq.Add(1)),
		ConnectedAt:      c.Since.UnixMilli(),
		RequestTimeEpoch: now.UnixMilli(),
		RequestTime:      now.Format("02/Jan/2006:15:04:05 -0700"),
		Identity:         events.APIGatewayRequestIdentity{SourceIP: "203.0.113.10", UserAgent: "SupportSession/1.0.0"},
		Authorizer:       c.authorizer,
	}
}

// invokeLive calls the live function as Lambda does: the event as JSON in, the answer as
// JSON back into answer.
func (r *Rig) invokeLive(ctx context.Context, event, answer any) error {
	if r.Live == nil {
		return errors.New("the rig has no live channel (RigOptions.Live)")
	}
	raw, err := json.Marshal(event)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	out, err := r.Live(ctx, raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return fmt.Errorf("encode answer: %w", err)
	}
	return json.Unmarshal(b, answer)
}

// measureLive runs one event of the live function and collects its figures; do returns
// the route's status.
func (r *Rig) measureLive(ctx context.Context, name, route string, wsIn int, do func() (int, error)) (Figures, error) {
	f, err := r.measured(ctx, name, deploy.Live, TriggerWebSocket, func() (int, int, error) {
		status, err := do()
		return status, 0, err
	})
	f.ReqRoute, f.WSIn = route, wsIn
	return f, err
}

// Connect opens a live connection as API Gateway does: the authorizer with the handshake
// (the app's agent token as a bearer header, or a console's ticket in the query), then
// $connect with the authorizer's context. It returns the figures of both.
func (r *Rig) Connect(ctx context.Context, kind, bearer, ticket string) (*LiveConn, []Figures, error) {
	c := &LiveConn{ID: newConnectionID(), Kind: kind, Since: r.Clock.Now()}
	req := liveapi.AuthorizerRequest{
		Type: "REQUEST", MethodArn: "arn:aws:execute-api:" + Region + ":123456789012:liveapi/prod/" + liveapi.RouteConnect,
		Headers: map[string]string{}, QueryStringParameters: map[string]string{},
		RequestContext: r.requestContext(c, liveapi.RouteConnect, "CONNECT"),
	}
	if bearer != "" {
		req.Headers["Authorization"] = "Bearer " + bearer
	}
	if ticket != "" {
		req.QueryStringParameters["ticket"] = ticket
	}
	var policy events.APIGatewayCustomAuthorizerResponse
	auth, err := r.measureLive(ctx, LiveAuthorizer+kind, liveapi.RouteConnect, 0, func() (int, error) {
		if err := r.invokeLive(ctx, req, &policy); err != nil {
			return http.StatusUnauthorized, fmt.Errorf("authorizer: %w", err)
		}
		return http.StatusOK, nil
	})
	if err != nil {
		return nil, nil, err
	}
	// API Gateway hands the policy's context to every later event of the connection.
	c.authorizer = map[string]any{"principalId": policy.PrincipalID}
	for k, v := range policy.Context {
		c.authorizer[k] = v
	}
	connect, err := r.measureLive(ctx, LiveConnect+kind, liveapi.RouteConnect, 1, func() (int, error) {
		var res events.APIGatewayProxyResponse
		ev := events.APIGatewayWebsocketProxyRequest{Headers: req.Headers, QueryStringParameters: req.QueryStringParameters,
			RequestContext: r.requestContext(c, liveapi.RouteConnect, "CONNECT")}
		if err := r.invokeLive(ctx, ev, &res); err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			return res.StatusCode, fmt.Errorf("$connect: status %d", res.StatusCode)
		}
		return res.StatusCode, nil
	})
	if err != nil {
		return nil, nil, err
	}
	connect.Connects = 1
	// The connection takes messages once $connect has answered.
	r.Pusher.opened(c.ID, c.Since)
	return c, []Figures{auth, connect}, nil
}

// Send is a client's message on the connection, routed as API Gateway's route selection
// on $request.body.action does.
func (r *Rig) Send(ctx context.Context, c *LiveConn, name, body string) (Figures, error) {
	route := liveRoute(body)
	return r.measureLive(ctx, name, route, int(messageUnits(len(body))), func() (int, error) {
		var res events.APIGatewayProxyResponse
		ev := events.APIGatewayWebsocketProxyRequest{Body: body, RequestContext: r.requestContext(c, route, "MESSAGE")}
		if err := r.invokeLive(ctx, ev, &res); err != nil {
			return 0, err
		}
		return res.StatusCode, nil
	})
}

// liveRoute is the route key a message selects: its action's route, or $default.
func liveRoute(body string) string {
	var a struct {
		Action any `json:"action"`
	}
	if json.Unmarshal([]byte(body), &a) == nil {
		if s, ok := a.Action.(string); ok && slices.Contains(liveapi.Routes, s) {
			return s
		}
	}
	return liveapi.RouteDefault
}

// Disconnect closes the connection (the client's close, or API Gateway's at the 2-hour
// cap) and runs $disconnect, which bills the connection's minutes.
func (r *Rig) Disconnect(ctx context.Context, c *LiveConn) (Figures, error) {
	since, ok := r.Pusher.closed(c.ID)
	if !ok {
		return Figures{}, fmt.Errorf("disconnect: connection %s is not open", c.ID)
	}
	f, err := r.measureLive(ctx, LiveDisconnect+c.Kind, liveapi.RouteDisconnect, 1, func() (int, error) {
		rc := r.requestContext(c, liveapi.RouteDisconnect, "DISCONNECT")
		reason := "Client closed the connection"
		rc.DisconnectStatusCode, rc.DisconnectReason = 1000, &reason
		var res events.APIGatewayProxyResponse
		if err := r.invokeLive(ctx, events.APIGatewayWebsocketProxyRequest{RequestContext: rc}, &res); err != nil {
			return 0, err
		}
		return res.StatusCode, nil
	})
	f.ConnMinutes = r.Clock.Now().Sub(since).Minutes()
	return f, err
}

// TicketRequest is the console asking for a live ticket.
func (r *Rig) TicketRequest(t Technician) Request {
	return Request{deploy.Invitation, lambdatest.APIRequest(http.MethodPost, "/v1/live/tickets", "", t.claims(), nil), http.StatusCreated}
}

// ticketOf reads the ticket from the answer of TicketRequest.
func ticketOf(res events.APIGatewayV2HTTPResponse) (string, error) {
	var v views.TicketView
	if err := json.Unmarshal([]byte(res.Body), &v); err != nil || v.Ticket == "" {
		return "", fmt.Errorf("ticket: unreadable answer (%v)", err)
	}
	return v.Ticket, nil
}

// pushedTypes lists what a connection was sent: the type of each message, and for a
// session or status message its status too ("session:active", "status:expired").
func pushedTypes(msgs [][]byte, sessionID string) []string {
	var out []string
	for _, m := range msgs {
		var v struct {
			Type   string `json:"type"`
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if json.Unmarshal(m, &v) != nil {
			out = append(out, "unreadable")
			continue
		}
		switch v.Type {
		case protocol.TypeSession:
			if v.ID == sessionID {
				out = append(out, v.Type+":"+v.Status)
			}
		case protocol.TypeStatus:
			out = append(out, v.Type+":"+v.Status)
		default:
			out = append(out, v.Type)
		}
	}
	return out
}

// EndPushed is LiveCalls' name for the technician's end of a session whose app and
// console are connected: the commit and both pushes.
const EndPushed = "end, by the technician (app and console connected)"

// LiveCalls walks the live function's events once, as PerCall walks the API: a console
// takes a ticket and connects, a session is set up and its app connects, pings and sends
// an unknown action, the technician ends the session (pushed to both connections), and
// both disconnect. The rig needs RigOptions.Live and should be fresh.
func (r *Rig) LiveCalls(ctx context.Context) ([]Figures, error) {
	var out []Figures
	tech := r.NewTechnician("livecalls-" + r.run)
	f, res, err := r.Measure(ctx, TicketStep, r.TicketRequest(tech))
	if err != nil {
		return nil, err
	}
	out = append(out, f)
	ticket, err := ticketOf(res)
	if err != nil {
		return nil, err
	}
	console, fs, err := r.Connect(ctx, support.PeerConsole, "", ticket)
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	email := "user-" + tech.ID + "@example.org"
	_, res, err = r.Measure(ctx, "create", r.CreateRequest(tech, email))
	if err != nil {
		return nil, err
	}
	s, err := r.Created(tech, email, res)
	if err != nil {
		return nil, err
	}
	// Through Measure, as measuredSession does, to keep the recorder's picture whole.
	if err := r.measuredActivate(ctx, s); err != nil {
		return nil, err
	}
	app, fs, err := r.Connect(ctx, support.PeerApp, s.Agent, "")
	if err != nil {
		return nil, err
	}
	out = append(out, fs...)
	for _, m := range []struct{ name, body string }{
		{LivePing, pingMessage},
		{"unknown action (answered with an error)", `{"action":"dance"}`},
	} {
		f, err := r.Send(ctx, app, m.name, m.body)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	f, _, err = r.Measure(ctx, EndPushed, r.CancelRequest(s))
	if err != nil {
		return nil, err
	}
	out = append(out, f)
	for _, c := range []*LiveConn{app, console} {
		f, err := r.Disconnect(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// measuredActivate is Activate with every call through Measure.
func (r *Rig) measuredActivate(ctx context.Context, s *Session) error {
	if _, _, err := r.Measure(ctx, "hello", r.HelloRequest(s)); err != nil {
		return err
	}
	_, res, err := r.Measure(ctx, "pair", r.PairRequest(s, false))
	if err != nil {
		return err
	}
	if err := s.Paired(res); err != nil {
		return err
	}
	_, _, err = r.Measure(ctx, "poll", r.PollRequest(s))
	return err
}
