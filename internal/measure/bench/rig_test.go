package bench_test

import (
	"context"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/lambdatest"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func newRig(t *testing.T, cfg support.Config) *bench.Rig {
	t.Helper()
	_, table := testenv.Table(t)
	r, err := bench.NewRig(context.Background(), bench.RigOptions{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t), SESEndpoint: testenv.SES(t), Table: table, Config: cfg,
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestPerCall checks the measurement of single calls against what the store's design
// says (internal/store/doc.go) and, for a poll's write, against the size of the session
// item read independently.
func TestPerCall(t *testing.T) {
	r := newRig(t, support.Config{})
	figs, err := r.PerCall(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]bench.Figures{}
	for _, f := range figs {
		by[f.Name] = f
		t.Logf("%-30s %d trips %-45s RRU %.1f WRU %.1f (Local WCU %.1f) %v", f.Name, f.RoundTrips, f.Ops, f.RRU, f.WRU, f.LocalWCU, f.Counts)
	}
	tests := []struct {
		name             string
		trips            int
		rru              float64
		wru              bool // writes anything
		events, kms, sch int64
		mails            int64
	}{
		{"create session", 1, 0, true, 1, 2, 1, 1},
		{"get session", 1, 1, false, 0, 0, 0, 0},
		{"poll, idle", 1, 1, false, 0, 0, 0, 0},
		{"poll, writes lastSeenAt", 2, 1, true, 0, 0, 0, 0},
		{"pair", 4, 3, true, 1, 3, 2, 0}, // the session's end and the pairing retry window
		{"sweep, nothing due", 1, 0.5, false, 0, 0, 0, 0},
		{"expiry, one-time schedule", 3, 1, true, 1, 0, 0, 0},
	}
	for _, tt := range tests {
		f, ok := by[tt.name]
		if !ok {
			t.Errorf("no figures for %q", tt.name)
			continue
		}
		if f.RoundTrips != tt.trips || f.RRU != tt.rru || (f.WRU > 0) != tt.wru {
			t.Errorf("%s: %d round trips, %v RRU, %v WRU; want %d, %v, writes %v", tt.name, f.RoundTrips, f.RRU, f.WRU, tt.trips, tt.rru, tt.wru)
		}
		if f.Counts.Events != tt.events || f.Counts.KMS != tt.kms || f.Counts.SchedulesCreated != tt.sch || f.Counts.Mails != tt.mails {
			t.Errorf("%s: counts %+v, want %d events, %d KMS, %d schedules, %d mails", tt.name, f.Counts, tt.events, tt.kms, tt.sch, tt.mails)
		}
	}

}

// TestPollWriteUnits checks the pricing of a poll that writes lastSeenAt against the size
// of the session item, read independently afterwards: a conditional PutItem rewrites the
// item (1 WRU per started KB) and its byAccount index entry (1 WRU per started KB). As a
// one-item transaction it was 3 WRU per KB.
func TestPollWriteUnits(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, support.Config{})
	var sess *bench.Session
	steps := []func() (bench.Request, func(events.APIGatewayV2HTTPResponse) error){
		func() (bench.Request, func(events.APIGatewayV2HTTPResponse) error) {
			tech := r.NewTechnician("pollwrite")
			email := "user-" + tech.ID + "@example.org"
			return r.CreateRequest(tech, email), func(res events.APIGatewayV2HTTPResponse) (err error) {
				sess, err = r.Created(tech, email, res)
				return err
			}
		},
		func() (bench.Request, func(events.APIGatewayV2HTTPResponse) error) { return r.HelloRequest(sess), nil },
		func() (bench.Request, func(events.APIGatewayV2HTTPResponse) error) {
			return r.PairRequest(sess, false), func(res events.APIGatewayV2HTTPResponse) error { return sess.Paired(res) }
		},
		func() (bench.Request, func(events.APIGatewayV2HTTPResponse) error) { return r.PollRequest(sess), nil },
	}
	for _, step := range steps {
		q, then := step()
		_, res, err := r.Measure(ctx, "setup", q)
		if err != nil {
			t.Fatal(err)
		}
		if then != nil {
			if err := then(res); err != nil {
				t.Fatal(err)
			}
		}
	}
	r.Clock.Advance(time.Minute)
	f, _, err := r.Measure(ctx, "poll", r.PollRequest(sess))
	if err != nil {
		t.Fatal(err)
	}
	out, err := r.Raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.Table), ConsistentRead: aws.Bool(true),
		Key: item{"pk": s("SESSION#" + sess.ID), "sk": s("SESSION")}})
	if err != nil || out.Item == nil {
		t.Fatalf("read the session item: %v", err)
	}
	kb := math.Ceil(float64(bench.ItemSize(out.Item)) / 1024)
	if f.WRU != 2*kb || f.RoundTrips != 2 || f.RRU != 1 {
		t.Errorf("poll writing lastSeenAt: %d round trips, %v RRU, %v WRU; want 2, 1, %v for a %d-byte session item",
			f.RoundTrips, f.RRU, f.WRU, 2*kb, bench.ItemSize(out.Item))
	}
}

// TestLifecycle runs a session's whole life on a short clock: 5 minutes at a 30 s
// interval are 10 polls; lastSeenAt is written by the first poll and then once a minute.
func TestLifecycle(t *testing.T) {
	cfg := support.Defaults()
	cfg.SessionTTL = 5 * time.Minute
	r := newRig(t, cfg)
	l, err := r.Lifecycle(context.Background(), bench.LifecycleOptions{SetupWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range l.Steps {
		t.Logf("%-40s ×%-4d %3d trips RRU %5.1f WRU %5.1f", s.Name, s.Count, s.Sum.RoundTrips, s.Sum.RRU, s.Sum.WRU)
	}
	count := map[string]int{}
	for _, s := range l.Steps {
		count[s.Name] = s.Count
	}
	u := l.Usage
	checks := []struct {
		name      string
		got, want float64
	}{
		{"polls", float64(l.Polls), 10},
		{"polls that write", float64(l.PollWrites), 5},
		{"technician's page polls (10 s / 2.5 s)", float64(count["technician's page polls the session"]), 4},
		{"expiries", float64(count["expiry, one-time schedule"]), 1},
		// create, 4 page polls, join, download, hello, pair, 10 polls, removed
		{"API requests", u.APIRequests, 1 + 4 + 3 + 1 + 10 + 1},
		{"Lambda invocations (the API's and the expiry)", u.Invocations, 20 + 1},
		{"scheduler invocations", u.SchedulerInvocations, 1},
		{"mails", u.Mails, 1},
		// invited, app started, activated, ended (expired), app removed
		{"events", u.Events, 5},
		// create: seal password + MAC code; pair: MAC + seal agent token + open password
		{"KMS requests", u.KMSRequests, 5},
		// join page and download each look for the build in S3
		{"S3 requests", u.S3Requests, 2},
		{"traces", u.Traces, 21 * bench.XRaySampling},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if u.RRU < float64(l.Polls) || u.WRU <= 0 || u.GBSeconds <= 0 || u.LogBytes <= 0 || u.TransferBytes <= 0 {
		t.Errorf("usage missing a dimension: %+v", u)
	}
	if r.Schedules.Pending() != 0 {
		t.Errorf("%d schedules left after the session ended", r.Schedules.Pending())
	}
}

// TestMemoryFromTemplate reads the memory sizes from a template of the stack's shape.
func TestMemoryFromTemplate(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) string {
		p := dir + "/t.json"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fn := func(name string, mb int) string {
		return `"` + name + `":{"Type":"AWS::Lambda::Function","Properties":{"Description":"Ad-hoc Support: ` + name + `","MemorySize":` + strconv.Itoa(mb) + `}}`
	}
	good := `{"Resources":{` + fn("invitation", 1024) + `,` + fn("pairing", 512) + `,` + fn("expiry", 128) + `,"T":{"Type":"AWS::DynamoDB::Table","Properties":{}}}}`
	got, err := bench.MemoryFromTemplate(write(good))
	if err != nil {
		t.Fatal(err)
	}
	if got["invitation"] != 1024 || got["pairing"] != 512 || got["expiry"] != 128 || got[deploy.Live] != bench.DefaultMemoryMB[deploy.Live] {
		t.Errorf("memory %v (the live function absent: its default)", got)
	}
	withLive := `{"Resources":{` + fn("invitation", 1024) + `,` + fn("pairing", 512) + `,` + fn("expiry", 128) + `,` + fn("live", 256) + `}}`
	if got, err := bench.MemoryFromTemplate(write(withLive)); err != nil || got[deploy.Live] != 256 {
		t.Errorf("memory %v, %v; want the live function's 256 MB from the template", got, err)
	}
	if _, err := bench.MemoryFromTemplate(write(`{"Resources":{` + fn("pairing", 512) + `}}`)); err == nil {
		t.Error("a template without all three functions was accepted")
	}
}

// TestAPIRequestRoute: the route key, which errors and the access log show, never holds
// the invite token of a join path.
func TestAPIRequestRoute(t *testing.T) {
	tests := []struct{ method, path, want string }{
		{"GET", "/join/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "GET /join/{inviteToken}"},
		{"GET", "/join/abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG/app", "GET /join/{inviteToken}/app"},
		{"GET", "/v1/sessions/s123", "GET /v1/sessions/{id}"},
		{"GET", "/v1/sessions/s123/audit", "GET /v1/sessions/{id}/audit"},
		{"POST", "/v1/sessions", "POST /v1/sessions"},
		{"POST", "/v1/agent/poll", "POST /v1/agent/poll"},
	}
	for _, tt := range tests {
		req := lambdatest.APIRequest(tt.method, tt.path, "", nil, nil)
		if req.RouteKey != tt.want || req.RawPath != tt.path {
			t.Errorf("%s %s: route key %q, raw path %q; want %q", tt.method, tt.path, req.RouteKey, req.RawPath, tt.want)
		}
	}
}
