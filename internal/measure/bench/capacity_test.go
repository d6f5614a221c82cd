package bench_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/measure/ddbmeter"
	"github.com/adhoc-support/adhoc-support/internal/store"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

type item = map[string]types.AttributeValue

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }

func TestItemSize(t *testing.T) {
	tests := []struct {
		name string
		item item
		want int
	}{
		{"string", item{"pk": s("abc")}, 2 + 3},
		{"number: one byte per two digits, plus one", item{"n": n("123")}, 1 + 3},
		{"number: leading and trailing zeros do not count", item{"n": n("1200")}, 1 + 2},
		{"negative number", item{"n": n("-7")}, 1 + 3},
		{"binary", item{"b": &types.AttributeValueMemberB{Value: make([]byte, 32)}}, 1 + 32},
		{"bool and null", item{"t": &types.AttributeValueMemberBOOL{Value: true}, "z": &types.AttributeValueMemberNULL{Value: true}}, 2 + 2},
		{"list: 3 bytes, 1 per element", item{"l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("a"), s("bc")}}}, 1 + 3 + 2 + 3},
		{"map: 3 bytes, 1 per element, names", item{"m": &types.AttributeValueMemberM{Value: item{"k": s("v")}}}, 1 + 3 + 1 + 2},
		{"string set", item{"ss": &types.AttributeValueMemberSS{Value: []string{"a", "bb"}}}, 2 + 3},
	}
	for _, tt := range tests {
		if got := bench.ItemSize(tt.item); got != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, got, tt.want)
		}
	}
}

// session is an item like the store's session: in both indexes while not terminal.
func session(lastSeen, dueAt string, pad int) item {
	it := item{
		store.KeyPK: s("SESSION#x"), store.KeySK: s("SESSION"),
		store.AttrAccountPK: s("ACCOUNT#a"), store.AttrCreatedSK: s("2026-11-25#x"),
		"lastSeenAt": s(lastSeen), "hostname": s(strings.Repeat("x", pad)),
	}
	if dueAt != "" {
		it[store.AttrDuePK], it[store.AttrDueAt] = s(store.DuePartition), n(dueAt)
	}
	return it
}

// TestWriteUnits prices writes by the rules of the DynamoDB developer guide: 1 WRU per
// started KB of the larger item, doubled in a transaction, plus one write per changed
// index entry (byDue is KEYS_ONLY, byAccount INCLUDE store.ByAccountAttributes()).
func TestWriteUnits(t *testing.T) {
	small := item{store.KeyPK: s("LOCK#x"), store.KeySK: s("LOCK")}
	sealed := session("t1", "100", 100)
	sealed["sealedPassword"] = &types.AttributeValueMemberB{Value: make([]byte, 1500)}
	tests := []struct {
		name     string
		old, new item
		tx       bool
		want     float64
	}{
		{"new small item, no index", nil, small, false, 1},
		{"the same in a transaction", nil, small, true, 2},
		{"delete it in a transaction", small, nil, true, 2},
		{"new session: table ×2, enters both indexes", nil, session("t1", "100", 100), true, 2 + 1 + 1},
		{"lastSeenAt only: byAccount changes, byDue keys and projection do not", session("t1", "100", 100), session("t2", "100", 100), true, 2 + 1},
		{"dueAt moves: byDue delete + put; byAccount leaves dueAt out", session("t1", "100", 100), session("t1", "200", 100), true, 2 + 2},
		{"terminal: leaves byDue", session("t1", "100", 100), session("t2", "", 100), true, 2 + 1 + 1},
		{"unchanged item rewritten: table only", session("t1", "100", 100), session("t1", "100", 100), true, 2},
		{"1.5 KB item: two units each", nil, session("t1", "", 1500), true, 2*2 + 2},
		{"erasing what byAccount leaves out: table only, at the larger size", sealed, session("t1", "100", 100), true, 2 * 2},
		{"old item larger than the new one counts", session("t1", "", 1500), session("t2", "", 100), false, 2 + 2},
	}
	for _, tt := range tests {
		if got := bench.WriteUnits(tt.old, tt.new, tt.tx); got != tt.want {
			t.Errorf("%s: %v WRU, want %v", tt.name, got, tt.want)
		}
	}
}

// TestRecorderPricesTransactions writes transactions of one to five small items to
// DynamoDB Local: the recorder bills 2 WRU per item, whatever DynamoDB Local reports (it
// reports a flat figure for such transactions, which is why the recorder exists).
func TestRecorderPricesTransactions(t *testing.T) {
	_, table := testenv.Table(t)
	rec := bench.NewRecorder()
	meter := &ddbmeter.Meter{}
	endpoint := testenv.DynamoDBEndpoint(t)
	db := standins.DynamoDBClient(endpoint, meter.Option, rec.Option)
	raw := standins.DynamoDBClient(endpoint)
	ctx := context.Background()
	for items := 1; items <= 5; items++ {
		var actions []types.TransactWriteItem
		for i := range items {
			actions = append(actions, types.TransactWriteItem{Put: &types.Put{TableName: aws.String(table), Item: item{
				store.KeyPK: s(fmt.Sprintf("T#%d#%d", items, i)), store.KeySK: s("X"), "v": s("small"),
			}}})
		}
		if _, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: actions}); err != nil {
			t.Fatal(err)
		}
		calls := rec.Take()
		if len(calls) != 1 || calls[0].Op != "TransactWriteItems" || calls[0].Items != items {
			t.Fatalf("recorded %+v, want one TransactWriteItems of %d", calls, items)
		}
		_, wru, err := rec.Settle(ctx, raw, calls)
		if err != nil {
			t.Fatal(err)
		}
		local := meter.Take()
		t.Logf("%d items: recorder %v WRU, DynamoDB Local reports %v WCU", items, wru, local.WCU)
		if want := float64(2 * items); wru != want {
			t.Errorf("%d items: %v WRU, want %v", items, wru, want)
		}
	}
	// An update of one of them reads the item back after the fact.
	_, err := db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{{Update: &types.Update{
		TableName: aws.String(table), Key: item{store.KeyPK: s("T#1#0"), store.KeySK: s("X")},
		UpdateExpression: aws.String("SET big = :b"), ExpressionAttributeValues: item{":b": s(strings.Repeat("y", 1500))},
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, wru, err := rec.Settle(ctx, raw, rec.Take())
	if err != nil {
		t.Fatal(err)
	}
	if wru != 4 { // the item grew past 1 KB: 2 units, doubled
		t.Errorf("update to 1.5 KB: %v WRU, want 4", wru)
	}
}
