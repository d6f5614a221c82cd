package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithymw "github.com/aws/smithy-go/middleware"
	"github.com/coder/websocket"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/gateway"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// The push latency: how long a session's change takes from its commit to a live client,
// on the whole local stack (internal/local/devstack: the local gateway, the same handlers,
// DynamoDB Local, aws-ses-v2-local), with real WebSocket clients on /live and the
// @connections calls going over HTTP to the gateway's stand-in, as in AWS.
//
// The clock starts when the conditional write that stores the session's new status
// returns to the store: an SDK middleware in the service's DynamoDB client, at the
// outermost (Initialize) step, takes the time after the TransactWriteItems or PutItem
// call has come back with success and its answer is decoded, before the store's own code
// continues. Everything the product does after the commit is inside the figure: the rest
// of the store's commit (the machine lock's DeleteItem at an end), the push's encoding,
// the console connections' Query, the @connections POST, the gateway's write to the
// socket, the client's read. The clock stops in the client's reader goroutine when its
// Read returns the message. Both times are the same process's monotonic clock.

// PushOptions configure PushLatency.
type PushOptions struct {
	DynamoDBEndpoint, SESEndpoint string
	Table                         string // created if missing
	Runs                          int    // timed sessions; default 200
	Warmup                        int    // sessions run first and not counted; default 10
}

// Latency is a distribution of delays.
type Latency struct {
	What   string        `json:"what"`
	N      int           `json:"n"`
	Median time.Duration `json:"medianNs"`
	P95    time.Duration `json:"p95Ns"`
	P99    time.Duration `json:"p99Ns"`
	Max    time.Duration `json:"maxNs"`
}

// Distribution summarises samples; percentiles are nearest-rank.
func Distribution(what string, samples []time.Duration) Latency {
	s := slices.Clone(samples)
	slices.Sort(s)
	l := Latency{What: what, N: len(s), Median: median(s)}
	if len(s) == 0 {
		return l
	}
	rank := func(p float64) time.Duration { return s[max(0, int(math.Ceil(p/100*float64(len(s))))-1)] }
	l.P95, l.P99, l.Max = rank(95), rank(99), s[len(s)-1]
	return l
}

// PushResult is what PushLatency measured.
type PushResult struct {
	Runs   int       `json:"runs"`
	Warmup int       `json:"warmup"`
	Kinds  []Latency `json:"latencies"`
}

// What the push latency benchmark measures.
const (
	PushAppEnd        = "technician ends the session → the app's status: ended"
	PushConsoleEnd    = "technician ends the session → the console's session: ended"
	PushConsoleActive = "pairing → the console's session: active"
)

// PushLatency runs sessions through the local stack, one after another, each with a fresh
// invitation (a session ends once), and times the pushes of its pairing and its end. A
// technician's console connection stays open throughout; each session's app opens its
// live connection after pairing and closes it after the end. Everything but the interval
// from commit to receipt is preparation and is not timed.
func PushLatency(ctx context.Context, o PushOptions) (PushResult, error) {
	if o.Runs <= 0 {
		o.Runs = 200
	}
	if o.Warmup <= 0 {
		o.Warmup = 10
	}
	res := PushResult{Runs: o.Runs, Warmup: o.Warmup}
	commits := &commitClock{at: map[string]time.Time{}}
	st, err := devstack.Start(ctx, devstack.Options{
		DynamoDBEndpoint: o.DynamoDBEndpoint, SESEndpoint: o.SESEndpoint, Table: o.Table,
		SweepEvery:      -1, // nothing is due in this run; a sweep would only add noise
		Log:             slog.New(slog.NewJSONHandler(io.Discard, nil)),
		DynamoDBOptions: []func(*dynamodb.Options){commits.option},
	})
	if err != nil {
		return res, fmt.Errorf("push latency: %w", err)
	}
	defer st.Close()
	c := &pushClient{st: st, http: &http.Client{Timeout: 30 * time.Second}}
	tech, err := st.Issuer.Issue(gateway.DevUser{Email: "push-bench@example.com", Account: "push-bench"})
	if err != nil {
		return res, fmt.Errorf("push latency: %w", err)
	}
	var ticket struct {
		URL string `json:"url"`
	}
	if err := c.call(ctx, http.MethodPost, "/v1/live/tickets", tech, nil, http.StatusCreated, &ticket); err != nil {
		return res, fmt.Errorf("push latency: ticket: %w", err)
	}
	console, err := dialLive(ctx, ticket.URL, nil)
	if err != nil {
		return res, fmt.Errorf("push latency: the console's connection: %w", err)
	}
	defer console.close()

	var appEnd, consoleEnd, consoleActive []time.Duration
	for i := range o.Warmup + o.Runs {
		d, err := c.run(ctx, i, tech, console, commits)
		if err != nil {
			return res, fmt.Errorf("push latency, session %d: %w", i+1, err)
		}
		if i >= o.Warmup {
			appEnd, consoleEnd, consoleActive = append(appEnd, d.appEnd), append(consoleEnd, d.consoleEnd), append(consoleActive, d.consoleActive)
		}
	}
	res.Kinds = []Latency{
		Distribution(PushAppEnd, appEnd),
		Distribution(PushConsoleEnd, consoleEnd),
		Distribution(PushConsoleActive, consoleActive),
	}
	return res, nil
}

// commitClock records when the write that first stored each session status returned (see
// the package comment on the push latency).
type commitClock struct {
	mu sync.Mutex
	at map[string]time.Time // "<session id>/<status>"
}

func (c *commitClock) option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *smithymw.Stack) error {
		return stack.Initialize.Add(smithymw.InitializeMiddlewareFunc("bench-commit-clock", c.handle), smithymw.Before)
	})
}

func (c *commitClock) handle(ctx context.Context, in smithymw.InitializeInput, next smithymw.InitializeHandler) (smithymw.InitializeOutput, smithymw.Metadata, error) {
	out, md, err := next.HandleInitialize(ctx, in)
	if err != nil {
		return out, md, err
	}
	done := time.Now()
	var puts []map[string]types.AttributeValue
	switch p := in.Parameters.(type) {
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range p.TransactItems {
			if it.Put != nil && it.Put.ConditionExpression != nil {
				puts = append(puts, it.Put.Item)
			}
		}
	case *dynamodb.PutItemInput:
		if p.ConditionExpression != nil {
			puts = append(puts, p.Item)
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, item := range puts {
		if attr(item, "kind") != "session" {
			continue
		}
		// The first write of a status is the transition; later ones (a poll's lastSeenAt,
		// a connection recorded) keep it.
		k := attr(item, "id") + "/" + attr(item, "status")
		if _, seen := c.at[k]; !seen {
			c.at[k] = done
		}
	}
	return out, md, err
}

func (c *commitClock) when(id, status string) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.at[id+"/"+status]
	return t, ok
}

func attr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

// received is one message a live client read, with the time its Read returned.
type received struct {
	at              time.Time
	typ, id, status string
}

// liveClient is a real WebSocket client of the local gateway's /live.
type liveClient struct {
	ws   *websocket.Conn
	msgs chan received
	done chan struct{}
	err  error
}

func dialLive(ctx context.Context, url string, header http.Header) (*liveClient, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(dctx, url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(protocol.MaxLiveMessage)
	c := &liveClient{ws: ws, msgs: make(chan received, 1024), done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			_, data, err := ws.Read(context.Background())
			at := time.Now()
			if err != nil {
				c.err = err
				return
			}
			var m struct{ Type, ID, Status string }
			_ = json.Unmarshal(data, &m)
			select {
			case c.msgs <- received{at: at, typ: m.Type, id: m.ID, status: m.Status}:
			default:
				c.err = errors.New("the client's buffer is full")
				_ = ws.CloseNow()
				return
			}
		}
	}()
	return c, nil
}

// wait returns the first message that matches, skipping the others.
func (c *liveClient) wait(match func(received) bool, limit time.Duration) (received, error) {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	for {
		select {
		case m := <-c.msgs:
			if match(m) {
				return m, nil
			}
		case <-c.done:
			return received{}, fmt.Errorf("the connection closed: %v", c.err)
		case <-deadline.C:
			return received{}, fmt.Errorf("no such message within %s", limit)
		}
	}
}

func (c *liveClient) close() {
	_ = c.ws.Close(websocket.StatusNormalClosure, "")
	<-c.done
}

// pushClient is the technician's and the app's HTTP side.
type pushClient struct {
	st   *devstack.Stack
	http *http.Client
}

// call sends a request and decodes the answer into out. An error names the status and
// the problem code, never the body: some answers hold secrets.
func (c *pushClient) call(ctx context.Context, method, path, bearer string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.st.URL+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return fmt.Errorf("%s: status %d, want %d: %s", method, res.StatusCode, want, problemCode(string(raw)))
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

var joinLink = regexp.MustCompile(`/join/([A-Za-z0-9_-]{43})`)

// inviteToken reads the join link from the invitation mail, as the user gets it.
func (c *pushClient) inviteToken(ctx context.Context, to string, since time.Time) (string, error) {
	for range 100 {
		mails, err := testenv.FetchMails(ctx, c.st.SESURL, since)
		if err != nil {
			return "", err
		}
		for _, m := range mails {
			if m.SentTo(to) {
				if mm := joinLink.FindStringSubmatch(m.Text); mm != nil {
					return mm[1], nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return "", fmt.Errorf("no invitation mail to %s", to)
}

type pushDelays struct{ appEnd, consoleEnd, consoleActive time.Duration }

// pair takes a fresh session from invitation to pairing, as the user and the app do: the
// technician's create, the join link from the mail, hello and pair.
func (c *pushClient) pair(ctx context.Context, i int, tech, prefix string) (created createdSession, paired protocol.PairResponse, err error) {
	user := fmt.Sprintf("%s-%d-%d@example.org", prefix, time.Now().UnixNano(), i)
	since := time.Now()
	if err := c.call(ctx, http.MethodPost, "/v1/sessions", tech, map[string]any{"email": user, "password": benchPassword, "locale": "en"}, http.StatusCreated, &created); err != nil {
		return created, paired, fmt.Errorf("create: %w", err)
	}
	token, err := c.inviteToken(ctx, user, since)
	if err != nil {
		return created, paired, err
	}
	pc := map[string]any{"inviteToken": token, "platform": protocol.PlatformWindows, "osVersion": "Windows 11 Pro 23H2",
		"hostname": fmt.Sprintf("PC-%d", i), "agentVersion": "1.0.0", "machineId": prefix + "-machine-" + created.ID}
	if err := c.call(ctx, http.MethodPost, protocol.PathHello, "", pc, http.StatusOK, nil); err != nil {
		return created, paired, fmt.Errorf("hello: %w", err)
	}
	pc["securityCode"], pc["nonce"] = created.SecurityCode, "nonce-"+created.ID
	if err := c.call(ctx, http.MethodPost, protocol.PathPair, "", pc, http.StatusOK, &paired); err != nil {
		return created, paired, fmt.Errorf("pair: %w", err)
	}
	return created, paired, nil
}

// createdSession is the part of POST /v1/sessions' answer the benchmarks use.
type createdSession struct {
	ID           string `json:"id"`
	SecurityCode string `json:"securityCode"`
}

// run takes one session from invitation to the technician's end and times its pushes.
func (c *pushClient) run(ctx context.Context, i int, tech string, console *liveClient, commits *commitClock) (pushDelays, error) {
	var d pushDelays
	created, paired, err := c.pair(ctx, i, tech, "push")
	if err != nil {
		return d, err
	}
	active, err := console.wait(func(m received) bool {
		return m.typ == protocol.TypeSession && m.id == created.ID && m.status == "active"
	}, 5*time.Second)
	if err != nil {
		return d, fmt.Errorf("the console's session active: %w", err)
	}
	if err := c.call(ctx, http.MethodPost, protocol.PathPoll, paired.AgentToken, nil, http.StatusOK, nil); err != nil {
		return d, fmt.Errorf("poll: %w", err)
	}
	app, err := dialLive(ctx, c.st.LiveURL, http.Header{"Authorization": {"Bearer " + paired.AgentToken}})
	if err != nil {
		return d, fmt.Errorf("the app's connection: %w", err)
	}
	defer app.close()
	if err := c.call(ctx, http.MethodDelete, "/v1/sessions/"+created.ID, tech, nil, http.StatusOK, nil); err != nil {
		return d, fmt.Errorf("end: %w", err)
	}
	appGot, err := app.wait(func(m received) bool { return m.typ == protocol.TypeStatus && m.status == protocol.StatusEnded }, 5*time.Second)
	if err != nil {
		return d, fmt.Errorf("the app's status ended: %w", err)
	}
	consoleGot, err := console.wait(func(m received) bool {
		return m.typ == protocol.TypeSession && m.id == created.ID && m.status == "ended"
	}, 5*time.Second)
	if err != nil {
		return d, fmt.Errorf("the console's session ended: %w", err)
	}
	activeAt, ok1 := commits.when(created.ID, "active")
	endedAt, ok2 := commits.when(created.ID, "ended")
	if !ok1 || !ok2 {
		return d, errors.New("the commit of the pairing or of the end was not seen")
	}
	d.consoleActive, d.appEnd, d.consoleEnd = active.at.Sub(activeAt), appGot.at.Sub(endedAt), consoleGot.at.Sub(endedAt)
	return d, nil
}
