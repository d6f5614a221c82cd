package bench

// Quota is a default AWS service quota (or a setting of this product's stack) that a
// large deployment can run into.
type Quota struct {
	Key     string  `json:"key"`
	Name    string  `json:"name"`
	Default float64 `json:"default"`
	Unit    string  `json:"unit"`
	Source  string  `json:"source"`
}

// Quota keys.
const (
	QuotaLambdaConcurrency = "lambda.concurrency"
	QuotaLambdaInvokeRate  = "lambda.invoke-rps"
	QuotaAPIRate           = "apigw.account-rps"
	QuotaStageRate         = "stack.stage-rps"
	QuotaDynamoRead        = "dynamodb.table-rru"
	QuotaDynamoWrite       = "dynamodb.table-wru"
	QuotaSESDaily          = "ses.sandbox-daily"
	QuotaSchedules         = "scheduler.schedules"
	QuotaWSConnectRate     = "apigw.websocket-connect-rps"
	QuotaWSConcurrent      = "apigw.websocket-concurrent"
)

// wsConnectionCap is API Gateway's cap on one WebSocket connection, 2 hours, and
// wsConnectRate its default rate of new connections per account and Region.
const (
	wsConnectionCap = 2 * 3600 // seconds
	wsConnectRate   = 500      // connections/s
)

// MassReconnect is the window the scale model gives every live connection to come back
// after all of them dropped at once (a network or service event): the apps reconnect with
// jitter, and until they are back they poll every 30 s.
const MassReconnect = 10 * 60 // seconds

// Quotas are the defaults the scale model checks (us-east-1; several smaller Regions have
// lower API Gateway defaults).
var Quotas = []Quota{
	{QuotaLambdaConcurrency, "Lambda concurrent executions per Region", 1000, "executions", "AWS Lambda developer guide, Lambda quotas (new accounts start lower)"},
	// Each execution environment serves at most 10 requests a second, so a Region's
	// invocation rate is capped at 10 × its concurrency quota however short the functions
	// run: with millisecond handlers this cap binds long before concurrency does.
	{QuotaLambdaInvokeRate, "Lambda invocations per Region (10 × the concurrency quota)", 10000, "requests/s", "AWS Lambda developer guide, Lambda quotas (each execution environment serves up to 10 requests/s); raised with the concurrency quota"},
	// One throttle for everything API Gateway serves in the account and Region: HTTP API
	// requests, WebSocket messages from clients and @connections calls alike.
	{QuotaAPIRate, "API Gateway throttle per account and Region (HTTP API requests, WebSocket messages in, @connections calls)", 10000, "requests/s", "Amazon API Gateway developer guide, API Gateway quotas (across HTTP, REST, WebSocket and WebSocket callback APIs; burst 5,000)"},
	{QuotaStageRate, "this stack's HTTP API stage throttle", 100, "requests/s", "infra/stack/config.go DefaultConfig APIRateLimit, context apiRateLimit (burst 200)"},
	{QuotaDynamoRead, "DynamoDB on-demand table read throughput", 40000, "RRU/s", "Amazon DynamoDB developer guide, Quotas (on-demand, per table)"},
	{QuotaDynamoWrite, "DynamoDB on-demand table write throughput", 40000, "WRU/s", "Amazon DynamoDB developer guide, Quotas (on-demand, per table)"},
	{QuotaSESDaily, "SES sending quota (sandbox; production is set per account)", 200, "emails/24 h", "Amazon SES developer guide, Service quotas in Amazon SES"},
	{QuotaSchedules, "EventBridge Scheduler schedules per Region", 10_000_000, "schedules", "EventBridge Scheduler user guide, Quotas"},
	// Per account and Region across all WebSocket APIs: a second API does not add to it.
	{QuotaWSConnectRate, "API Gateway new WebSocket connections per account and Region (all WebSocket APIs together)", wsConnectRate, "connections/s", "Amazon API Gateway developer guide, Quotas for configuring and running a WebSocket API (can be increased)"},
	// There is no quota on open connections: a connection lives at most 2 hours, so the
	// connection rate bounds them (500/s × 7,200 s).
	{QuotaWSConcurrent, "API Gateway concurrent WebSocket connections (no quota of its own: the connection rate × 2 hours)", wsConnectRate * wsConnectionCap, "connections", "Amazon API Gateway developer guide, Quotas for configuring and running a WebSocket API (\"API Gateway doesn't enforce a quota on concurrent connections\")"},
}

// ScaleInput is what the scale model starts from.
type ScaleInput struct {
	Sessions float64 // active sessions at any moment
	// SessionDay is one active session for one day: the 24 h lifecycle, whose setup
	// steps recur daily when every session lasts its full 24 hours.
	SessionDay Usage
	// PollsPerDay is how many of SessionDay's API requests are the app's polls.
	PollsPerDay float64
	// SchedulesPerSession is how many one-time schedules a session keeps pending.
	SchedulesPerSession float64
	// Fixed is what the deployment uses per day whatever the load: the sweep every 5
	// minutes, the KMS keys.
	Fixed Usage
}

// QuotaCheck compares what the load needs with a quota.
type QuotaCheck struct {
	Quota
	Needed float64 `json:"needed"`
	Raise  bool    `json:"raise"`
	// Peak is what a known peak needs where the model has one (the new-connection rate
	// at a mass reconnect), else 0; RaiseForPeak says it is above the default.
	Peak         float64 `json:"peak,omitempty"`
	RaiseForPeak bool    `json:"raiseForPeak,omitempty"`
}

// ScaleResult is the model's answer.
type ScaleResult struct {
	Sessions          float64 `json:"sessions"`
	PollsPerSecond    float64 `json:"pollsPerSecond"`
	RequestsPerSecond float64 `json:"requestsPerSecond"` // HTTP API
	// The live channel: messages billed both ways, what it adds to the account's
	// throttle, connections opened, and connections open on average.
	WSMessagesPerSecond     float64 `json:"wsMessagesPerSecond"`
	WSRequestsPerSecond     float64 `json:"wsRequestsPerSecond"`
	NewConnectionsPerSecond float64 `json:"newConnectionsPerSecond"`
	ConcurrentConnections   float64 `json:"concurrentConnections"`
	// ReconnectAllSeconds is how long all open connections take to come back after a
	// mass drop at the default new-connection rate.
	ReconnectAllSeconds float64      `json:"reconnectAllSeconds"`
	RRUPerSecond        float64      `json:"rruPerSecond"`
	WRUPerSecond        float64      `json:"wruPerSecond"`
	LambdaConcurrency   float64      `json:"lambdaConcurrency"` // Little's law: arrival rate × run time
	MailsPerDay         float64      `json:"mailsPerDay"`
	Day                 Usage        `json:"day"`
	Bill                Bill         `json:"bill"` // one day
	PerSessionDay       float64      `json:"perSessionDayUsd"`
	Quotas              []QuotaCheck `json:"quotas"`
}

const secondsPerDay = 86400

// Scale runs the model: everything per second is the daily figure spread evenly over the
// day (real traffic has peaks: keep headroom above these averages). X-Ray traces are
// counted for the whole day's invocations (SampledTraces).
func (pl PriceList) Scale(in ScaleInput) ScaleResult {
	day := in.SessionDay.Times(in.Sessions).Add(in.Fixed)
	day.Traces = SampledTraces(day.Invocations)
	r := ScaleResult{
		Sessions:                in.Sessions,
		PollsPerSecond:          in.Sessions * in.PollsPerDay / secondsPerDay,
		RequestsPerSecond:       day.APIRequests / secondsPerDay,
		WSMessagesPerSecond:     day.WSMessages / secondsPerDay,
		WSRequestsPerSecond:     day.WSRequests / secondsPerDay,
		NewConnectionsPerSecond: day.WSConnects / secondsPerDay,
		ConcurrentConnections:   day.WSConnectionMinutes / (secondsPerDay / 60),
		RRUPerSecond:            day.RRU / secondsPerDay,
		WRUPerSecond:            day.WRU / secondsPerDay,
		LambdaConcurrency:       day.LambdaSeconds / secondsPerDay,
		MailsPerDay:             day.Mails,
		Day:                     day,
		Bill:                    pl.Bill(day),
	}
	if in.Sessions > 0 {
		r.PerSessionDay = r.Bill.Total / in.Sessions
	}
	needed := map[string]float64{
		QuotaLambdaConcurrency: r.LambdaConcurrency,
		QuotaLambdaInvokeRate:  day.Invocations / secondsPerDay,
		QuotaAPIRate:           r.RequestsPerSecond + r.WSRequestsPerSecond,
		QuotaStageRate:         r.RequestsPerSecond,
		QuotaDynamoRead:        r.RRUPerSecond,
		QuotaDynamoWrite:       r.WRUPerSecond,
		QuotaSESDaily:          r.MailsPerDay,
		QuotaSchedules:         in.Sessions * in.SchedulesPerSession,
		QuotaWSConnectRate:     r.NewConnectionsPerSecond,
		QuotaWSConcurrent:      r.ConcurrentConnections,
	}
	peak := map[string]float64{QuotaWSConnectRate: r.ConcurrentConnections / MassReconnect}
	for _, q := range Quotas {
		n := needed[q.Key]
		c := QuotaCheck{Quota: q, Needed: n, Raise: n > q.Default, Peak: peak[q.Key]}
		c.RaiseForPeak = c.Peak > q.Default
		if q.Key == QuotaWSConnectRate {
			r.ReconnectAllSeconds = r.ConcurrentConnections / q.Default
		}
		r.Quotas = append(r.Quotas, c)
	}
	return r
}
