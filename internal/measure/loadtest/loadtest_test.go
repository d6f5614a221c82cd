package loadtest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/testing/logbuf"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestShortLoad is `make load` in small: 50 technicians and 300 apps for 15 s against the
// product on DynamoDB Local and aws-ses-v2-local. It fails on any answer the protocol does
// not allow and on any broken invariant; the latencies are printed, never asserted.
func TestShortLoad(t *testing.T) {
	const (
		poll = time.Second
		ttl  = 5 * time.Second
	)
	_, table := testenv.Table(t)
	logs := &logbuf.Buffer{}
	st, err := devstack.Start(context.Background(), devstack.Options{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t),
		SESEndpoint:      testenv.SES(t),
		Table:            table,
		Config:           ServiceConfig(poll, ttl),
		SweepEvery:       3 * time.Second, // the sweep runs under load too
		AppDir:           t.TempDir(),
		Log:              slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		t.Fatalf("start the local stack: %v", err)
	}
	t.Cleanup(st.Close)
	if err := DisableTTLDeletion(context.Background(), st.DynamoDB, st.Table); err != nil {
		t.Fatal(err)
	}

	rep, err := Run(context.Background(), Config{
		BaseURL: st.URL, SESURL: st.SESURL, DynamoDB: st.DynamoDB, Table: st.Table,
		Technicians: 50, Apps: 300, Duration: 15 * time.Second, PollInterval: poll, SessionTTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := rep.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	t.Log("\n" + out.String())
	if rep.ErrorCount() > 0 {
		t.Errorf("%d answers the protocol does not allow: %v", rep.ErrorCount(), rep.Errors)
	}
	if inv := rep.Invariants; inv == nil || len(inv.Violations) > 0 || !inv.Settled {
		t.Errorf("broken invariants, or a table that never settled: %+v", inv)
	}
	if warnings := logs.String(); warnings != "" {
		t.Logf("the stack warned:\n%s", firstLines(warnings, 20))
	}

	// The run must have done what it claims, or the checks above prove little. How many apps
	// finish in 15 s depends on the machine (about 150 on two idle cores, 70 to 80 with a CPU hog
	// beside it), so the bar is low and the ending kinds below carry the weight.
	if rep.AppsFinished < 30 {
		t.Errorf("only %d apps finished", rep.AppsFinished)
	}
	for _, e := range endingNames {
		if rep.Endings[e] == 0 {
			t.Errorf("no session ended by %q: %v", e, rep.Endings)
		}
	}
	refusedForSlots := rep.Refusals[routeCreate+" → 409 no_free_slot"] + rep.Refusals[routeCreate+" → 409 adhoc_cap_reached"]
	if refusedForSlots == 0 {
		t.Error("no invitation waited for a slot: the accounts' limits were never reached")
	}
	seen := map[string]bool{}
	for _, rs := range rep.Routes {
		seen[rs.Route] = rs.Count > 0
	}
	for _, r := range []string{routeCreate, routeGet, routeList, routeCancel, routeComputers, routeAccount, routeHello, routePair, routePoll, routeEnd, routeRemoved} {
		if !seen[r] {
			t.Errorf("the run never called %s", r)
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}

func TestRunRefusesWhatIsNotLoopback(t *testing.T) {
	base := Config{BaseURL: "http://127.0.0.1:1", SESURL: "http://localhost:2", Technicians: 1, Apps: 1, Duration: time.Second, PollInterval: time.Second}
	cases := []struct {
		name   string
		change func(*Config)
		isErr  error
	}{
		{"remote gateway", func(c *Config) { c.BaseURL = "http://192.0.2.10:8080" }, errNotLoopback},
		{"remote mail server", func(c *Config) { c.SESURL = "http://example.com:8005" }, errNotLoopback},
		{"https", func(c *Config) { c.BaseURL = "https://127.0.0.1:8080" }, nil},
		{"no technicians", func(c *Config) { c.Technicians = 0 }, nil},
		{"too many apps", func(c *Config) { c.Apps = MaxApps + 1 }, nil},
		{"endless", func(c *Config) { c.Duration = 2 * MaxDuration }, nil},
		{"no poll interval", func(c *Config) { c.PollInterval = 0 }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.change(&c)
			_, err := Run(context.Background(), c)
			if err == nil {
				t.Fatal("Run accepted the configuration")
			}
			if tc.isErr != nil && !errors.Is(err, tc.isErr) {
				t.Fatalf("error %v, want %v", err, tc.isErr)
			}
		})
	}
	// The dialer itself refuses a name that resolves elsewhere, whatever the URL said.
	c := loopbackClient(1, time.Second)
	_, err := c.Get("http://192.0.2.10:9/")
	if !errors.Is(err, errNotLoopback) {
		t.Fatalf("dialing a remote address: %v, want %v", err, errNotLoopback)
	}
}

// TestCheckInvariantsFindsBrokenStates writes each impossible state into a table and
// checks that CheckInvariants reports it: a check that cannot fail proves nothing.
func TestCheckInvariantsFindsBrokenStates(t *testing.T) {
	const ttl = time.Hour
	at := "2030-01-02T03:04:05.000000000Z"
	later := "2030-01-02T04:04:05.000000000Z" // at + ttl
	session := func(id, account, tech, status string, extra map[string]any) map[string]any {
		m := map[string]any{"pk": "SESSION#" + id, "sk": "SESSION", "kind": "session", "id": id,
			"account": account, "technician": tech, "status": status, "accountPk": "ACCOUNT#" + account, "createdSk": at + "#" + id}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	due := map[string]any{"duePk": "DUE", "dueAt": 1}
	account := func(name string, slots, cap, used int) map[string]any {
		return map[string]any{"pk": "ACCOUNT#" + name, "sk": "ACCOUNT", "kind": "account", "account": name,
			"slots": slots, "adhocCap": cap, "used": used, "adhocInUse": used}
	}
	lock := func(kind, pk, id string) map[string]any {
		return map[string]any{"pk": pk, "sk": "LOCK", "kind": kind, "sessionId": id}
	}
	activeOK := func(id, account, tech string) []map[string]any {
		return []map[string]any{
			session(id, account, tech, "active", map[string]any{"activatedAt": at, "expiresAt": later, "machineHash": "m" + id, "duePk": "DUE", "dueAt": 1}),
			lock("techLock", "TECH#"+account+"#"+tech, id),
			lock("machineLock", "MACHINE#m"+id, id),
		}
	}
	cases := []struct {
		name  string
		items []map[string]any
		want  string // in a violation; "" = none
	}{
		{"consistent", append(activeOK("s1", "a", "t1"), account("a", 1, 1, 1)), ""},
		{"oversold", append(append(activeOK("s1", "a", "t1"), activeOK("s2", "a", "t2")...), account("a", 1, 5, 2)), "oversold"},
		{"slot leaked", append(activeOK("s1", "a", "t1"), account("a", 5, 5, 2)), "but 1 open sessions"},
		{"two per technician", append(append(activeOK("s1", "a", "t1"), activeOK("s2", "a", "t1")...), account("a", 5, 5, 2)), "has 2 open sessions"},
		{"wrong expiry", []map[string]any{
			session("s1", "a", "t1", "active", map[string]any{"activatedAt": at, "expiresAt": at, "machineHash": "m", "duePk": "DUE", "dueAt": 1}),
			lock("techLock", "TECH#a#t1", "s1"), lock("machineLock", "MACHINE#m", "s1"), account("a", 1, 1, 1)}, "expires 0s after"},
		{"expired early", []map[string]any{
			session("s1", "a", "t1", "expired", map[string]any{"activatedAt": at, "expiresAt": later, "endedAt": at, "endReason": "expired"}),
			account("a", 1, 1, 0)}, "was expired 1h0m0s before its end"},
		{"ended after expiry", []map[string]any{
			session("s1", "a", "t1", "removed", map[string]any{"activatedAt": at, "expiresAt": later, "endedAt": "2030-01-02T05:00:00.000000000Z", "endReason": "ended_by_user"}),
			account("a", 1, 1, 0)}, "was ended_by_user 55m55s after it had expired"},
		{"terminal holds a lock", []map[string]any{session("s1", "a", "t1", "ended", nil), lock("techLock", "TECH#a#t1", "s1"), account("a", 1, 1, 0)}, "still holds its technician's lock"},
		{"terminal holds the PC", []map[string]any{session("s1", "a", "t1", "expired", nil), lock("machineLock", "MACHINE#m", "s1"), account("a", 1, 1, 0)}, "still holds its machine lock"},
		{"terminal still due", []map[string]any{session("s1", "a", "t1", "cancelled", due), account("a", 1, 1, 0)}, "still in the byDue index"},
		{"open but not due", []map[string]any{session("s1", "a", "t1", "invited", nil), lock("techLock", "TECH#a#t1", "s1"), account("a", 1, 1, 1)}, "missing from the byDue index"},
		{"cap exceeded", []map[string]any{account("a", 5, 0, 0), {"pk": "ACCOUNT#b", "sk": "ACCOUNT", "kind": "account", "account": "b", "slots": 5, "adhocCap": 1, "used": 0, "adhocInUse": 2}}, "adhocInUse 2 > adhocCap 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db, table := testenv.Table(t)
			for _, it := range tc.items {
				av, err := attributevalue.MarshalMap(it)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := db.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: av}); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			inv, err := checkOnce(ctx, db, table, ttl)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join(inv.Violations, "\n")
			switch {
			case tc.want == "" && got != "":
				t.Fatalf("violations in a consistent table:\n%s", got)
			case tc.want != "" && !strings.Contains(got, tc.want):
				t.Fatalf("violations %q do not mention %q", got, tc.want)
			}
		})
	}
}
