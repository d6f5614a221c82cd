package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

// Figures are what one invocation did.
type Figures struct {
	Name       string        `json:"name"`
	Function   string        `json:"function"`
	Trigger    string        `json:"trigger"` // "api", "schedule" or "rule"
	Status     int           `json:"status,omitempty"`
	Duration   time.Duration `json:"durationNs"`
	RoundTrips int           `json:"roundTrips"`
	Ops        string        `json:"ops"`
	LocalRCU   float64       `json:"localRcu"` // as DynamoDB Local reports
	LocalWCU   float64       `json:"localWcu"`
	RRU        float64       `json:"rru"` // as DynamoDB bills (see capacity.go)
	WRU        float64       `json:"wru"`
	Counts     CountSnapshot `json:"counts"`
	LogBytes   int64         `json:"logBytes"`  // what the function logged
	RespBytes  int           `json:"respBytes"` // the answer, headers and body, as sent to the client
	ReqRoute   string        `json:"route,omitempty"`
	// The live channel's events: the messages the client sent that API Gateway bills
	// with this event (1 for $connect, $disconnect and a client message, 0 for the
	// authorizer), connections it opened, and the minutes of the connection it closed.
	WSIn        int     `json:"wsIn,omitempty"`
	Connects    int     `json:"connects,omitempty"`
	ConnMinutes float64 `json:"connectionMinutes,omitempty"`
}

// Triggers.
const (
	TriggerAPI      = "api"
	TriggerSchedule = "schedule"
	TriggerRule     = "rule"
	// TriggerWebSocket is an event of the WebSocket API: its authorizer, $connect,
	// $disconnect or a client's message.
	TriggerWebSocket = "websocket"
)

// logCounter counts what the handlers log, for the CloudWatch Logs line.
type logCounter struct{ n atomic.Int64 }

func (c *logCounter) Write(p []byte) (int, error) {
	c.n.Add(int64(len(p)))
	return len(p), nil
}

// measured runs do, timing it, and collects what it cost.
func (r *Rig) measured(ctx context.Context, name, function, trigger string, do func() (int, int, error)) (Figures, error) {
	before := r.Counts.snapshot()
	logsBefore := r.logs.n.Load()
	r.Meter.Take()
	r.Recorder.Take()
	t0 := time.Now()
	status, respBytes, err := do()
	d := time.Since(t0)
	calls := r.Recorder.Take()
	local := r.Meter.Take()
	if err != nil {
		return Figures{}, fmt.Errorf("%s: %w", name, err)
	}
	rru, wru, err := r.Recorder.Settle(ctx, r.Raw, calls)
	if err != nil {
		return Figures{}, fmt.Errorf("%s: %w", name, err)
	}
	trips := 0
	for _, c := range calls {
		if !strings.HasPrefix(c.Op, "SES.") {
			trips++
		}
	}
	return Figures{
		Name: name, Function: function, Trigger: trigger, Status: status, Duration: d,
		RoundTrips: trips, Ops: RoundTrips(calls),
		LocalRCU: local.RCU, LocalWCU: local.WCU, RRU: rru, WRU: wru,
		Counts:   r.Counts.snapshot().minus(before),
		LogBytes: r.logs.n.Load() - logsBefore, RespBytes: respBytes,
	}, nil
}

// Measure serves one API request and collects its figures.
func (r *Rig) Measure(ctx context.Context, name string, q Request) (Figures, events.APIGatewayV2HTTPResponse, error) {
	var res events.APIGatewayV2HTTPResponse
	f, err := r.measured(ctx, name, q.Function, TriggerAPI, func() (int, int, error) {
		var err error
		res, err = r.Serve(ctx, q)
		return res.StatusCode, responseBytes(res), err
	})
	f.ReqRoute = q.Event.RouteKey
	return f, res, err
}

// MeasureExpiry invokes the expiry function as the scheduler or the sweep rule does.
func (r *Rig) MeasureExpiry(ctx context.Context, name, trigger string, payload json.RawMessage) (Figures, error) {
	return r.measured(ctx, name, deploy.Expiry, trigger, func() (int, int, error) {
		_, err := r.Expiry(ctx, payload)
		return 0, 0, err
	})
}

// responseBytes approximates what API Gateway sends back: status line, headers, body.
func responseBytes(res events.APIGatewayV2HTTPResponse) int {
	n := len("HTTP/1.1 200 OK\r\n") + len(res.Body) + 2
	for k, v := range res.Headers {
		n += len(k) + len(v) + 4
	}
	return n
}

// AccessLogBytes is the size of one API Gateway access log line in the stack's format
// (infra/stack/api.go accessLogFormat: the same fields), filled with typical values.
func AccessLogBytes(f Figures) int {
	tech := "-"
	if f.Function == deploy.Invitation {
		tech = "3f1c2a9e-7b5d-4e0f-9a61-2c8d4b7e5f10" // a Cognito sub
	}
	line := map[string]string{
		"requestId":          "Jx2bWgPxFiAEJYw=",
		"time":               "25/Nov/2026:19:46:17 +0000",
		"ip":                 "203.0.113.10",
		"userAgent":          "SupportSession/1.0.0",
		"routeKey":           f.ReqRoute,
		"status":             strconv.Itoa(f.Status),
		"protocol":           "HTTP/1.1",
		"responseLength":     strconv.Itoa(f.RespBytes),
		"latency":            "12",
		"integrationStatus":  "200",
		"integrationLatency": "10",
		"integrationError":   "-",
		"authorizerError":    "-",
		"technician":         tech,
	}
	b, _ := json.Marshal(line)
	return len(b) + 1
}

// Usage is what an invocation costs in billed units, given each function's memory.
func (f Figures) Usage(memoryMB map[string]int) Usage {
	u := Usage{
		RRU: f.RRU, WRU: f.WRU,
		Events:      float64(f.Counts.Events),
		Mails:       float64(f.Counts.Mails),
		KMSRequests: float64(f.Counts.KMS),
		S3Requests:  float64(f.Counts.S3),
		LogBytes:    float64(f.LogBytes),
		KVSMessages: float64(f.Counts.ICE),
	}
	u.AddInvocation(memoryMB[f.Function], f.Duration)
	// Whatever triggered it, an invocation may push to live connections: each POST to
	// @connections counts against the account's throttle (no invocation of its own), and
	// what it delivered is billed as messages and sent out to the internet.
	u.WSMessages = float64(f.Counts.PushUnits)
	u.WSRequests = float64(f.Counts.Pushes)
	u.TransferBytes = float64(f.Counts.PushBytes)
	switch f.Trigger {
	case TriggerAPI:
		u.APIRequests = 1
		u.TransferBytes += float64(f.RespBytes)
		u.LogBytes += float64(AccessLogBytes(f))
	case TriggerSchedule:
		u.SchedulerInvocations = 1
	case TriggerWebSocket:
		u.WSMessages += float64(f.WSIn)
		u.WSRequests += float64(f.WSIn)
		u.WSConnects = float64(f.Connects)
		u.WSConnectionMinutes = f.ConnMinutes
		if f.WSIn > 0 {
			// The WebSocket stage's access log line, as the HTTP API's (the authorizer
			// runs inside the $connect request and has no line of its own).
			u.LogBytes += float64(AccessLogBytes(f))
		}
	}
	return u
}
