package bench

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithymw "github.com/aws/smithy-go/middleware"

	"github.com/adhoc-support/adhoc-support/internal/store"
)

// Why this file exists: DynamoDB Local 1.25 does not report what DynamoDB bills for
// transactions. It answers ReturnConsumedCapacity with a flat 4 WCU for a TransactWriteItems
// of one to five items under 1 KB, where DynamoDB bills 2 WRU per item and KB (one write to
// prepare, one to commit). Reads and single-item writes it reports correctly. So the
// benchmark counts reads as DynamoDB Local reports them and prices writes itself, from the
// requests and the items before and after, by the rules of the DynamoDB developer guide:
//
//   - a write costs one WRU per started KB of the larger of the old and the new item, at
//     least one; in a transaction, twice that;
//   - a global secondary index costs one WRU per started KB of the index entry whenever an
//     entry is added, removed, or its projected attributes change (a key change is a
//     delete plus a put). Index writes are not doubled in transactions: DynamoDB
//     propagates them after the commit.

// AttrSize is the size DynamoDB counts for an attribute value.
func AttrSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return numberSize(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberSS:
		n := 0
		for _, s := range v.Value {
			n += len(s)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, s := range v.Value {
			n += numberSize(s)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, b := range v.Value {
			n += len(b)
		}
		return n
	case *types.AttributeValueMemberL:
		n := 3 + len(v.Value) // overhead plus one byte per element
		for _, e := range v.Value {
			n += AttrSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3 + len(v.Value)
		for k, e := range v.Value {
			n += len(k) + AttrSize(e)
		}
		return n
	}
	return 0
}

// numberSize approximates DynamoDB's number size: one byte per two significant digits,
// plus one.
func numberSize(s string) int {
	digits := strings.TrimLeft(strings.NewReplacer("-", "", ".", "", "+", "").Replace(s), "0")
	if i := strings.IndexAny(digits, "eE"); i >= 0 {
		digits = digits[:i]
	}
	digits = strings.TrimRight(digits, "0")
	n := (len(digits)+1)/2 + 1
	if strings.HasPrefix(s, "-") {
		n++
	}
	return n
}

// ItemSize is the size of an item: attribute names plus values.
func ItemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + AttrSize(v)
	}
	return n
}

// kUnits is how many started units of size unit n bytes takes, at least one.
func kUnits(n, unit int) float64 {
	return max(1, math.Ceil(float64(n)/float64(unit)))
}

// index is a global secondary index as far as its cost goes.
type index struct {
	name    string
	keys    []string // the index's key attributes
	all     bool     // projection ALL: the whole item
	include []string // the non-key attributes projected besides the keys (INCLUDE)
}

// schema is the table's keys and indexes, from the store's own table definition.
type schema struct {
	keys    []string
	indexes []index
}

func storeSchema() schema {
	in := store.CreateTableInput("x")
	var s schema
	for _, k := range in.KeySchema {
		s.keys = append(s.keys, aws.ToString(k.AttributeName))
	}
	for _, g := range in.GlobalSecondaryIndexes {
		ix := index{name: aws.ToString(g.IndexName), all: g.Projection.ProjectionType == types.ProjectionTypeAll,
			include: g.Projection.NonKeyAttributes}
		for _, k := range g.KeySchema {
			ix.keys = append(ix.keys, aws.ToString(k.AttributeName))
		}
		s.indexes = append(s.indexes, ix)
	}
	return s
}

// entry is what an index holds for an item: nil when the item is not in the index.
func (s schema) entry(ix index, item map[string]types.AttributeValue) map[string]types.AttributeValue {
	if item == nil {
		return nil
	}
	for _, k := range ix.keys {
		if _, ok := item[k]; !ok {
			return nil
		}
	}
	if ix.all {
		return item
	}
	e := map[string]types.AttributeValue{}
	for _, k := range append(append(append([]string{}, s.keys...), ix.keys...), ix.include...) {
		if v, ok := item[k]; ok {
			e[k] = v
		}
	}
	return e
}

// tableSchema is the store's table.
var tableSchema = storeSchema()

// WriteUnits is what DynamoDB bills for changing an item of the store's table from old to
// new (nil = absent), table and indexes, in or outside a transaction.
func WriteUnits(old, new map[string]types.AttributeValue, transactional bool) float64 {
	return tableSchema.WriteUnits(old, new, transactional)
}

// WriteUnits is what DynamoDB bills for changing an item from old to new (nil = absent),
// table and indexes, in or outside a transaction.
func (s schema) WriteUnits(old, new map[string]types.AttributeValue, transactional bool) float64 {
	wru := kUnits(max(ItemSize(old), ItemSize(new)), 1024)
	if transactional {
		wru *= 2
	}
	for _, ix := range s.indexes {
		o, n := s.entry(ix, old), s.entry(ix, new)
		switch {
		case o == nil && n == nil:
		case o == nil:
			wru += kUnits(ItemSize(n), 1024)
		case n == nil:
			wru += kUnits(ItemSize(o), 1024)
		case !sameValues(pick(o, ix.keys), pick(n, ix.keys)):
			wru += kUnits(ItemSize(o), 1024) + kUnits(ItemSize(n), 1024)
		case !sameValues(o, n):
			wru += kUnits(max(ItemSize(o), ItemSize(n)), 1024)
		}
	}
	return wru
}

func pick(item map[string]types.AttributeValue, names []string) map[string]types.AttributeValue {
	out := map[string]types.AttributeValue{}
	for _, n := range names {
		out[n] = item[n]
	}
	return out
}

func sameValues(a, b map[string]types.AttributeValue) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !sameValue(v, w) {
			return false
		}
	}
	return true
}

func sameValue(a, b types.AttributeValue) bool {
	return fmt.Sprintf("%#v", deref(a)) == fmt.Sprintf("%#v", deref(b))
}

// deref makes values comparable by content rather than by pointer.
func deref(v types.AttributeValue) any {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return "S:" + v.Value
	case *types.AttributeValueMemberN:
		return "N:" + v.Value
	case *types.AttributeValueMemberB:
		return "B:" + string(v.Value)
	case *types.AttributeValueMemberBOOL:
		return v.Value
	case *types.AttributeValueMemberNULL:
		return "NULL"
	case *types.AttributeValueMemberSS:
		return v.Value
	case *types.AttributeValueMemberNS:
		return v.Value
	case *types.AttributeValueMemberBS:
		return v.Value
	case *types.AttributeValueMemberL:
		out := make([]any, len(v.Value))
		for i, e := range v.Value {
			out[i] = deref(e)
		}
		return out
	case *types.AttributeValueMemberM:
		out := map[string]any{}
		for k, e := range v.Value {
			out[k] = deref(e)
		}
		return out
	}
	return nil
}

// Call is one round trip of the service to DynamoDB (or SES), as the recorder saw it.
type Call struct {
	Op    string // e.g. "GetItem", "TransactWriteItems", "SES.SendEmail"
	Items int    // actions of a transaction, 1 otherwise
	Err   bool
	RRU   float64 // read units of a GetItem or Query, see readUnits

	get    *dynamodb.GetItemInput
	query  *dynamodb.QueryInput
	writes []write
}

type writeKind int

const (
	writePut writeKind = iota
	writeUpdate
	writeDelete
	writeCheck
)

type write struct {
	kind          writeKind
	table         string
	key           map[string]types.AttributeValue
	item          map[string]types.AttributeValue // the new item of a Put
	transactional bool
}

// size is what a replay of this write should write: the Put's item, or a small item for
// the others (they touch the account counters, locks and lookups, all well under 1 KB).
func (w write) size() int {
	if w.item != nil {
		return ItemSize(w.item)
	}
	return 200
}

// Recorder notes every call a DynamoDB client makes, without adding any I/O to it: the
// benchmarks replay the calls raw to get a baseline, and Settle prices the writes
// afterwards.
type Recorder struct {
	mu     sync.Mutex
	calls  []Call
	schema schema
	// shadow is every item the recorded client wrote, as it stands now, by table and key:
	// the old item of the next write to it.
	shadow map[string]map[string]types.AttributeValue
}

// NewRecorder is a recorder for tables with the store's schema.
func NewRecorder() *Recorder {
	return &Recorder{schema: tableSchema, shadow: map[string]map[string]types.AttributeValue{}}
}

// Option installs the recorder on a DynamoDB client.
func (r *Recorder) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *smithymw.Stack) error {
		return stack.Initialize.Add(smithymw.InitializeMiddlewareFunc("bench-recorder", r.handle), smithymw.After)
	})
}

// Note records a call that is not DynamoDB's (the SES send), for the replay.
func (r *Recorder) Note(op string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, Call{Op: op, Items: 1})
}

// Take returns the calls since the last Take.
func (r *Recorder) Take() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.calls
	r.calls = nil
	return c
}

func (r *Recorder) handle(ctx context.Context, in smithymw.InitializeInput, next smithymw.InitializeHandler) (smithymw.InitializeOutput, smithymw.Metadata, error) {
	c := Call{Items: 1}
	switch p := in.Parameters.(type) {
	case *dynamodb.GetItemInput:
		c.Op, c.get = "GetItem", p
	case *dynamodb.QueryInput:
		c.Op, c.query = "Query", p
	case *dynamodb.PutItemInput:
		c.Op = "PutItem"
		c.writes = []write{{kind: writePut, table: aws.ToString(p.TableName), key: r.keyOf(p.Item), item: p.Item}}
	case *dynamodb.UpdateItemInput:
		c.Op = "UpdateItem"
		c.writes = []write{{kind: writeUpdate, table: aws.ToString(p.TableName), key: p.Key}}
	case *dynamodb.DeleteItemInput:
		c.Op = "DeleteItem"
		c.writes = []write{{kind: writeDelete, table: aws.ToString(p.TableName), key: p.Key}}
	case *dynamodb.TransactWriteItemsInput:
		c.Op, c.Items = "TransactWriteItems", len(p.TransactItems)
		for _, it := range p.TransactItems {
			switch {
			case it.Put != nil:
				c.writes = append(c.writes, write{kind: writePut, table: aws.ToString(it.Put.TableName), key: r.keyOf(it.Put.Item), item: it.Put.Item, transactional: true})
			case it.Update != nil:
				c.writes = append(c.writes, write{kind: writeUpdate, table: aws.ToString(it.Update.TableName), key: it.Update.Key, transactional: true})
			case it.Delete != nil:
				c.writes = append(c.writes, write{kind: writeDelete, table: aws.ToString(it.Delete.TableName), key: it.Delete.Key, transactional: true})
			case it.ConditionCheck != nil:
				c.writes = append(c.writes, write{kind: writeCheck, table: aws.ToString(it.ConditionCheck.TableName), key: it.ConditionCheck.Key, transactional: true})
			}
		}
	default:
		c.Op = fmt.Sprintf("%T", in.Parameters)
	}
	out, md, err := next.HandleInitialize(ctx, in)
	c.Err = err != nil
	if err == nil {
		c.RRU = readUnits(c, out.Result)
	}
	r.mu.Lock()
	r.calls = append(r.calls, c)
	r.mu.Unlock()
	return out, md, err
}

// readUnits is what a read is billed: as DynamoDB Local reports it (ddbmeter asks every
// call for its consumed capacity), but at least DynamoDB's minimum for a read, which
// Local leaves out for a Query that finds nothing: 1 unit strongly consistent, 0.5
// eventually consistent.
func readUnits(c Call, result any) float64 {
	var reported *types.ConsumedCapacity
	consistent := false
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		reported, consistent = out.ConsumedCapacity, aws.ToBool(c.get.ConsistentRead)
	case *dynamodb.QueryOutput:
		reported, consistent = out.ConsumedCapacity, aws.ToBool(c.query.ConsistentRead)
	default:
		return 0
	}
	floor := 0.5
	if consistent {
		floor = 1
	}
	if reported == nil || reported.CapacityUnits == nil {
		return floor
	}
	return max(floor, *reported.CapacityUnits)
}

func (r *Recorder) keyOf(item map[string]types.AttributeValue) map[string]types.AttributeValue {
	return pick(item, r.schema.keys)
}

func (r *Recorder) shadowKey(table string, key map[string]types.AttributeValue) string {
	parts := []string{table}
	for _, k := range r.schema.keys {
		parts = append(parts, fmt.Sprint(deref(key[k])))
	}
	return strings.Join(parts, "\x00")
}

// Settle prices the reads and writes among calls (in order) and brings the shadow up to
// date. It
// reads the items that Update and Delete actions touched through raw, after the fact, so
// the calls themselves ran as in production. A call that failed wrote nothing and is
// priced at nothing (DynamoDB does bill a transaction cancelled by a condition; the
// product's paths measured here do not cancel).
func (r *Recorder) Settle(ctx context.Context, raw *dynamodb.Client, calls []Call) (rru, wru float64, err error) {
	for _, c := range calls {
		if c.Err {
			continue
		}
		rru += c.RRU
		for _, w := range c.writes {
			if w.kind == writeCheck {
				continue
			}
			sk := r.shadowKey(w.table, w.key)
			r.mu.Lock()
			old := r.shadow[sk]
			r.mu.Unlock()
			var now map[string]types.AttributeValue
			switch w.kind {
			case writePut:
				now = w.item
			case writeUpdate, writeDelete:
				out, gerr := raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(w.table), Key: w.key, ConsistentRead: aws.Bool(true)})
				if gerr != nil {
					return rru, wru, fmt.Errorf("settle: read %s back: %w", c.Op, gerr)
				}
				now = out.Item
			}
			wru += r.schema.WriteUnits(old, now, w.transactional)
			r.mu.Lock()
			if now == nil {
				delete(r.shadow, sk)
			} else {
				r.shadow[sk] = now
			}
			r.mu.Unlock()
		}
	}
	return rru, wru, nil
}
