package loadtest

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
)

// Invariants is what a scan of the table found: counts, and every state that must never
// exist (Violations, empty when all is well).
type Invariants struct {
	Sessions     map[string]int // by stored status
	Accounts     int
	TechLocks    int
	MachineLocks int
	Violations   []string
	Scans        int  // scans until the table settled; see CheckInvariants
	Settled      bool // two scans in a row read the same items
}

// item is the union of the attributes the checks read (internal/store/doc.go lists them).
type item struct {
	PK          string `dynamodbav:"pk"`
	Kind        string `dynamodbav:"kind"`
	ID          string `dynamodbav:"id"`
	Account     string `dynamodbav:"account"`
	Technician  string `dynamodbav:"technician"`
	Status      string `dynamodbav:"status"`
	ActivatedAt string `dynamodbav:"activatedAt"`
	ExpiresAt   string `dynamodbav:"expiresAt"`
	EndedAt     string `dynamodbav:"endedAt"`
	EndReason   string `dynamodbav:"endReason"`
	InviteExp   string `dynamodbav:"inviteExpiresAt"`
	MachineHash string `dynamodbav:"machineHash"`
	DuePK       string `dynamodbav:"duePk"`
	SessionID   string `dynamodbav:"sessionId"`
	Slots       int    `dynamodbav:"slots"`
	AdhocCap    int    `dynamodbav:"adhocCap"`
	Used        int    `dynamodbav:"used"`
	AdhocInUse  int    `dynamodbav:"adhocInUse"`
}

// CheckInvariants scans the whole table and checks the rules no load may break:
//   - no account has used > slots or adhocInUse > adhocCap, and both equal the number of
//     the account's non-terminal sessions (no slot oversold, none leaked);
//   - no technician has two non-terminal sessions, and each non-terminal session holds
//     its technician's lock while no lock belongs to a terminal session;
//   - every session ever activated has expiresAt = activatedAt + sessionTTL (when
//     sessionTTL is not 0); none was expired early, none ended by a person after its
//     expiry; an active session holds its machine lock, no terminal session holds one;
//   - the byDue index holds every non-terminal session and no terminal one.
//
// A scan is not a snapshot: on a table that still changes (schedules firing after the
// run) it can read one item of a transaction before it and another after it. So the table
// is scanned until two scans in a row read exactly the same items — then no write fell
// between them — and the rules are checked on that scan. A table that does not settle
// within maxSettle is checked anyway, and Settled says so.
func CheckInvariants(ctx context.Context, db *dynamodb.Client, table string, sessionTTL time.Duration) (Invariants, error) {
	const (
		maxSettle = time.Minute
		maxScans  = 60
		pause     = time.Second
	)
	deadline := time.Now().Add(maxSettle)
	var prev string
	for scan := 1; ; scan++ {
		items, due, err := scanTable(ctx, db, table)
		if err != nil {
			return Invariants{}, err
		}
		fp, err := fingerprint(items, due)
		if err != nil {
			return Invariants{}, err
		}
		settled := scan > 1 && fp == prev
		if settled || scan >= maxScans || time.Now().After(deadline) {
			inv, err := evaluate(items, due, sessionTTL)
			inv.Scans, inv.Settled = scan, settled
			return inv, err
		}
		prev = fp
		select {
		case <-ctx.Done():
			return Invariants{}, fmt.Errorf("check invariants: %w", ctx.Err())
		case <-time.After(pause):
		}
	}
}

func scanTable(ctx context.Context, db *dynamodb.Client, table string) (items, due []map[string]types.AttributeValue, err error) {
	items, err = scanAll(ctx, db, &dynamodb.ScanInput{TableName: aws.String(table), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, nil, err
	}
	due, err = scanAll(ctx, db, &dynamodb.ScanInput{TableName: aws.String(table), IndexName: aws.String(store.IndexByDue)})
	if err != nil {
		return nil, nil, err
	}
	return items, due, nil
}

// fingerprint is the scanned content in a canonical form, to tell whether two scans read
// the same items.
func fingerprint(scans ...[]map[string]types.AttributeValue) (string, error) {
	var lines []string
	for i, items := range scans {
		for _, raw := range items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(raw, &m); err != nil {
				return "", fmt.Errorf("check invariants: %w", err)
			}
			b, err := json.Marshal(m) // sorts the keys
			if err != nil {
				return "", fmt.Errorf("check invariants: %w", err)
			}
			lines = append(lines, fmt.Sprintf("%d %s", i, b))
		}
	}
	slices.Sort(lines)
	return strings.Join(lines, "\n"), nil
}

// checkOnce scans once and checks what it read (tests on a table nobody writes to).
func checkOnce(ctx context.Context, db *dynamodb.Client, table string, sessionTTL time.Duration) (Invariants, error) {
	items, due, err := scanTable(ctx, db, table)
	if err != nil {
		return Invariants{}, err
	}
	inv, err := evaluate(items, due, sessionTTL)
	inv.Scans = 1
	return inv, err
}

func evaluate(items, inDue []map[string]types.AttributeValue, sessionTTL time.Duration) (Invariants, error) {
	inv := Invariants{Sessions: map[string]int{}}
	bad := func(format string, args ...any) {
		inv.Violations = append(inv.Violations, fmt.Sprintf(format, args...))
	}
	sessions := map[string]item{}       // id → session
	byPK := map[string]item{}           // session pk → session
	accounts := map[string]item{}       // account → account item
	techLocks := map[string]string{}    // session id → lock pk
	machineLocks := map[string]string{} // session id → lock pk
	for _, raw := range items {
		var it item
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return Invariants{}, fmt.Errorf("check invariants: %w", err)
		}
		switch it.Kind {
		case "session":
			sessions[it.ID] = it
			byPK[it.PK] = it
			inv.Sessions[it.Status]++
		case "account":
			accounts[it.Account] = it
		case "techLock":
			inv.TechLocks++
			techLocks[it.SessionID] = it.PK
		case "machineLock":
			inv.MachineLocks++
			machineLocks[it.SessionID] = it.PK
		}
	}
	inv.Accounts = len(accounts)

	open := map[string]int{}    // account → non-terminal sessions
	perTech := map[string]int{} // account + technician → non-terminal sessions
	for _, s := range sorted(sessions) {
		terminal := session.State(s.Status).Terminal()
		_, holdsTech := techLocks[s.ID]
		_, holdsMachine := machineLocks[s.ID]
		switch {
		case !session.State(s.Status).Valid():
			bad("session %s has the unknown status %q", s.ID, s.Status)
		case terminal:
			if holdsTech {
				bad("%s session %s still holds its technician's lock", s.Status, s.ID)
			}
			if holdsMachine {
				bad("%s session %s still holds its machine lock", s.Status, s.ID)
			}
			if s.DuePK != "" {
				bad("%s session %s is still in the %s index", s.Status, s.ID, store.IndexByDue)
			}
		default:
			open[s.Account]++
			perTech[s.Account+"\x00"+s.Technician]++
			if !holdsTech {
				bad("%s session %s does not hold its technician's lock", s.Status, s.ID)
			}
			if s.DuePK == "" {
				bad("%s session %s is missing from the %s index: no sweep would end it", s.Status, s.ID, store.IndexByDue)
			}
		}
		if s.Status == string(session.Active) && !holdsMachine {
			bad("active session %s does not hold its machine lock", s.ID)
		}
		checkTimes(s, sessionTTL, bad)
	}
	for key, n := range perTech {
		if n > 1 {
			bad("technician %q has %d open sessions", key, n)
		}
	}
	for id := range techLocks {
		if _, ok := sessions[id]; !ok {
			bad("a technician lock names session %s, which does not exist", id)
		}
	}
	names := map[string]bool{}
	for name := range accounts {
		names[name] = true
	}
	for name := range open {
		names[name] = true
	}
	for _, name := range slices.Sorted(maps.Keys(names)) {
		a, ok := accounts[name]
		switch {
		case !ok:
			bad("account %s has %d open sessions but no account item", name, open[name])
			continue
		case a.Used > a.Slots:
			bad("account %s: used %d > slots %d (oversold)", name, a.Used, a.Slots)
		case a.AdhocInUse > a.AdhocCap:
			bad("account %s: adhocInUse %d > adhocCap %d", name, a.AdhocInUse, a.AdhocCap)
		}
		if a.Used != open[name] || a.AdhocInUse != open[name] {
			bad("account %s: used %d, adhocInUse %d, but %d open sessions", name, a.Used, a.AdhocInUse, open[name])
		}
	}
	for _, raw := range inDue {
		var it item
		if err := attributevalue.UnmarshalMap(raw, &it); err != nil {
			return Invariants{}, fmt.Errorf("check invariants: %w", err)
		}
		if s, ok := byPK[it.PK]; ok && session.State(s.Status).Terminal() {
			bad("the %s index still lists %s session %s", store.IndexByDue, s.Status, s.ID)
		}
	}
	return inv, nil
}

// checkTimes checks the times of a session that was activated: it ends exactly ttl after
// activation, expiry never came early, and an early end came before the planned one (after
// it, time had already expired the session).
func checkTimes(s item, ttl time.Duration, bad func(string, ...any)) {
	if s.ActivatedAt == "" {
		if s.Status == string(session.InviteExpired) && s.EndedAt < s.InviteExp {
			bad("session %s: invitation expired at %s, before its end %s", s.ID, s.EndedAt, s.InviteExp)
		}
		return
	}
	activated, err1 := time.Parse(time.RFC3339Nano, s.ActivatedAt)
	expires, err2 := time.Parse(time.RFC3339Nano, s.ExpiresAt)
	if err1 != nil || err2 != nil {
		bad("%s session %s has activatedAt %q and expiresAt %q", s.Status, s.ID, s.ActivatedAt, s.ExpiresAt)
		return
	}
	if ttl != 0 && !expires.Equal(activated.Add(ttl)) {
		bad("%s session %s expires %s after its activation, want %s", s.Status, s.ID, expires.Sub(activated), ttl)
	}
	if s.EndedAt == "" {
		return
	}
	ended, err := time.Parse(time.RFC3339Nano, s.EndedAt)
	switch {
	case err != nil:
		bad("%s session %s has endedAt %q", s.Status, s.ID, s.EndedAt)
	case s.EndReason == string(session.ReasonExpired) && ended.Before(expires):
		bad("session %s was expired %s before its end", s.ID, expires.Sub(ended))
	case s.EndReason != string(session.ReasonExpired) && !ended.Before(expires):
		bad("session %s was %s %s after it had expired", s.ID, s.EndReason, ended.Sub(expires))
	}
}

func scanAll(ctx context.Context, db *dynamodb.Client, in *dynamodb.ScanInput) ([]map[string]types.AttributeValue, error) {
	var out []map[string]types.AttributeValue
	p := dynamodb.NewScanPaginator(db, in)
	for page := 0; p.HasMorePages(); page++ {
		if page >= 100_000 {
			return nil, fmt.Errorf("scan %s: too many pages", aws.ToString(in.TableName))
		}
		res, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("scan %s: %w", aws.ToString(in.TableName), err)
		}
		out = append(out, res.Items...)
	}
	return out, nil
}

func sorted(m map[string]item) []item {
	out := make([]item, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
