package store_test

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// secretAttributes are the stored names of what byAccount must not hold: the sealed
// secrets and what checks an invite token, a code, an agent token or a retry.
var secretAttributes = []string{"sealedPassword", "sealedAgentToken", "inviteTokenHash", "codeMac", "agentTokenHash", "pairNonce"}

// pairedSession is a session right after pairing, as the service stores it: the sealed
// password and agent token still there, every other field set.
func pairedSession(id, account, technician string, created time.Time) (session.Session, support.Change) {
	s, c := activate(newSession(id, account, technician, created), "machine-"+id, created.Add(time.Minute))
	s.Sealing = session.SealedForInvitation
	s.SealedAgentToken = []byte("sealed-agent-token-" + id)
	s.PairNonce = "nonce-" + id
	s.FailedAttempts = 1
	s.LastSeenAt = created.Add(2 * time.Minute)
	s.LiveConnection, s.LiveSince = "conn-"+id+"=", created.Add(3*time.Minute)
	s.StartRemote(session.Remote{ID: "r-" + id, Technician: technician, TechnicianName: "Tina", Console: "console=",
		StartedAt: created.Add(4 * time.Minute), PendingUntil: created.Add(5 * time.Minute)})
	c.Session = s
	return s, c
}

// indexItems is what byAccount holds for the account, read past the store.
func indexItems(t *testing.T, client *dynamodb.Client, table, account string) []map[string]types.AttributeValue {
	t.Helper()
	out, err := client.Query(ctx(t), &dynamodb.QueryInput{TableName: &table, IndexName: aws.String(store.IndexByAccount),
		KeyConditionExpression:    aws.String("#apk = :apk"),
		ExpressionAttributeNames:  map[string]string{"#apk": store.AttrAccountPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":apk": &types.AttributeValueMemberS{Value: "ACCOUNT#" + account}}})
	if err != nil {
		t.Fatalf("Query byAccount: %v", err)
	}
	return out.Items
}

// assertNoSecretsIn fails for each secret attribute byAccount holds; it wants the session
// and its technician lock there, or the check would prove nothing.
func assertNoSecretsIn(t *testing.T, items []map[string]types.AttributeValue) {
	t.Helper()
	if len(items) < 2 {
		t.Fatalf("byAccount holds %d items, want the session and its technician lock", len(items))
	}
	for _, it := range items {
		for _, name := range secretAttributes {
			if _, ok := it[name]; ok {
				pk, _ := it[store.KeyPK].(*types.AttributeValueMemberS)
				t.Errorf("byAccount projects %s of %s", name, pk.Value)
			}
		}
	}
}

// listable is what ListSessions can know of s: everything but the secrets.
func listable(s session.Session) session.Session {
	s.InviteTokenHash, s.CodeMAC, s.SealedPassword, s.SealedAgentToken, s.AgentTokenHash, s.PairNonce = nil, nil, nil, nil, nil, ""
	return s
}

// TestByAccountHoldsNoSecrets: the index every listing reads projects neither the sealed
// password and agent token nor the hashes and MAC that check a pairing (issue 15, point 8);
// ListSessions and TechnicianLocks, which read it, still get every other field.
func TestByAccountHoldsNoSecrets(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	s, c := pairedSession("s-1", "acme", "tech-1", t0)
	f.invite(t, newSession("s-1", "acme", "tech-1", t0))
	if err := f.Commit(ctx(t), c); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	stored, err := f.GetSession(ctx(t), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.SealedPassword == nil || stored.SealedAgentToken == nil {
		t.Fatal("the table itself lost the sealed secrets: the test would prove nothing")
	}
	assertNoSecretsIn(t, indexItems(t, f.client, f.table, "acme"))

	list, err := f.ListSessions(ctx(t), "acme", support.ListFilter{Statuses: []session.State{session.Active}}, 10)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSessions = %d sessions, %v", len(list), err)
	}
	if want := listable(stored); !reflect.DeepEqual(list[0], want) {
		t.Errorf("ListSessions:\n got %+v\nwant %+v", list[0], want)
	}
	locks, err := f.TechnicianLocks(ctx(t), "acme")
	if err != nil || len(locks) != 1 || locks[0] != (support.TechnicianLock{Technician: "tech-1", SessionID: "s-1"}) {
		t.Errorf("TechnicianLocks = %v, %v", locks, err)
	}
}

// TestCreateTableMigratesByAccount: a table made before byAccount left the secrets out
// (local mode keeps its table between runs) gets the index rebuilt by CreateTable, which
// local mode calls at every start; its sessions are listed as before, without secrets.
func TestCreateTableMigratesByAccount(t *testing.T) {
	t.Parallel()
	client := testenv.DynamoDB(t)
	table := fmt.Sprintf("t%d-old-byAccount", os.Getpid())
	old := store.CreateTableInput(table)
	for i, g := range old.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == store.IndexByAccount {
			old.GlobalSecondaryIndexes[i].Projection = &types.Projection{ProjectionType: types.ProjectionTypeAll}
		}
	}
	if _, err := client.CreateTable(ctx(t), old); err != nil {
		t.Fatalf("CreateTable as before: %v", err)
	}
	t.Cleanup(func() { _, _ = client.DeleteTable(ctx(t), &dynamodb.DeleteTableInput{TableName: &table}) })
	f := &fixture{Store: store.New(client, table), client: client, table: table}
	s, c := pairedSession("s-1", "acme", "tech-1", t0)
	f.invite(t, newSession("s-1", "acme", "tech-1", t0))
	if err := f.Commit(ctx(t), c); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	before := indexItems(t, client, table, "acme")
	if len(before) == 0 || before[0]["sealedPassword"] == nil {
		t.Fatal("the old index does not project the sealed password: the test would prove nothing")
	}

	for range 2 { // the second call finds the index as it wants it
		if err := store.CreateTable(ctx(t), client, table); err != nil {
			t.Fatalf("CreateTable: %v", err)
		}
	}
	d, err := client.DescribeTable(ctx(t), &dynamodb.DescribeTableInput{TableName: &table})
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range d.Table.GlobalSecondaryIndexes {
		if aws.ToString(g.IndexName) == store.IndexByAccount && (g.Projection.ProjectionType != types.ProjectionTypeInclude ||
			!slices.Equal(slices.Sorted(slices.Values(g.Projection.NonKeyAttributes)), slices.Sorted(slices.Values(store.ByAccountAttributes())))) {
			t.Errorf("byAccount after the migration: %+v", g.Projection)
		}
	}
	assertNoSecretsIn(t, indexItems(t, client, table, "acme"))
	stored, err := f.GetSession(ctx(t), s.ID)
	if err != nil {
		t.Fatal(err)
	}
	list, err := f.ListSessions(ctx(t), "acme", support.ListFilter{}, 10)
	if err != nil || len(list) != 1 || !reflect.DeepEqual(list[0], listable(stored)) {
		t.Errorf("ListSessions after the migration = %+v, %v", list, err)
	}
}
