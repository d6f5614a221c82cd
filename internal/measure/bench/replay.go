package bench

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/store"
)

var rawSeq atomic.Int64

// Replay makes the same round trips as calls, raw: the same GetItem and Query requests
// (reads can be repeated), a transaction of as many fresh items of the same sizes for a
// TransactWriteItems, a PutItem of the same size for a single write, and a plain SES send
// for a mail. It returns how long they took: the floor under the handler's time.
func (r *Rig) Replay(ctx context.Context, calls []Call) (time.Duration, error) {
	var total time.Duration
	for _, c := range calls {
		var run func() error
		switch {
		case c.get != nil:
			in := *c.get
			in.ReturnConsumedCapacity = ""
			run = func() error { _, err := r.Raw.GetItem(ctx, &in); return err }
		case c.query != nil:
			in := *c.query
			in.ReturnConsumedCapacity = ""
			run = func() error { _, err := r.Raw.Query(ctx, &in); return err }
		case c.Op == "TransactWriteItems":
			items := make([]types.TransactWriteItem, len(c.writes))
			for i, w := range c.writes {
				items[i] = types.TransactWriteItem{Put: &types.Put{TableName: aws.String(r.Table), Item: scratchItem(w.size())}}
			}
			run = func() error {
				_, err := r.Raw.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
				return err
			}
		case len(c.writes) == 1:
			item := scratchItem(c.writes[0].size())
			run = func() error {
				_, err := r.Raw.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.Table), Item: item})
				return err
			}
		case c.Op == "SES.SendEmail":
			run = func() error { return r.sendRaw(ctx) }
		default:
			return total, fmt.Errorf("replay: no raw equivalent of %s", c.Op)
		}
		t0 := time.Now()
		err := run()
		total += time.Since(t0)
		if err != nil {
			return total, fmt.Errorf("replay %s: %w", c.Op, err)
		}
	}
	return total, nil
}

// scratchItem is an item of about size bytes under a key no product item uses.
func scratchItem(size int) map[string]types.AttributeValue {
	pk := fmt.Sprintf("BENCHRAW#%d", rawSeq.Add(1))
	item := map[string]types.AttributeValue{
		store.KeyPK: &types.AttributeValueMemberS{Value: pk},
		store.KeySK: &types.AttributeValueMemberS{Value: "RAW"},
	}
	if pad := size - ItemSize(item) - len("data"); pad > 0 {
		item["data"] = &types.AttributeValueMemberS{Value: strings.Repeat("x", pad)}
	}
	return item
}

// RoundTrips sums calls by operation, e.g. "GetItem×1 TransactWriteItems×1(4)", with the
// number of actions of each transaction in brackets.
func RoundTrips(calls []Call) string {
	var parts []string
	for _, c := range calls {
		p := c.Op
		if c.Op == "TransactWriteItems" {
			p = fmt.Sprintf("%s(%d)", c.Op, c.Items)
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}
