// Package ddbmeter counts what a DynamoDB client does: round trips per operation and the
// capacity they consume. It asks every request for ReturnConsumedCapacity TOTAL through
// SDK middleware, so the store's code stays as it runs in production, and the figures come
// from the database itself (DynamoDB Local reports capacity like DynamoDB does).
package ddbmeter

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	smithymw "github.com/aws/smithy-go/middleware"
)

// Meter collects the figures; the zero value is ready to use.
type Meter struct {
	mu    sync.Mutex
	calls map[string]int
	rcu   map[string]float64
	wcu   map[string]float64
}

// Figures are what a stretch of work cost.
type Figures struct {
	Calls map[string]int // round trips per operation, e.g. "GetItem": 2
	RCU   float64        // read capacity units consumed
	WCU   float64        // write capacity units consumed
}

// RoundTrips is the total number of calls.
func (f Figures) RoundTrips() int {
	n := 0
	for _, c := range f.Calls {
		n += c
	}
	return n
}

// String is e.g. "3 round trips (GetItem×2, TransactWriteItems×1), 1.0 RCU, 8.0 WCU".
func (f Figures) String() string {
	ops := make([]string, 0, len(f.Calls))
	for op, n := range f.Calls {
		ops = append(ops, fmt.Sprintf("%s×%d", op, n))
	}
	sort.Strings(ops)
	return fmt.Sprintf("%d round trips (%s), %.1f RCU, %.1f WCU", f.RoundTrips(), strings.Join(ops, ", "), f.RCU, f.WCU)
}

// Option installs the meter on a DynamoDB client: dynamodb.NewFromConfig(cfg, m.Option).
func (m *Meter) Option(o *dynamodb.Options) {
	o.APIOptions = append(o.APIOptions, func(stack *smithymw.Stack) error {
		return stack.Initialize.Add(smithymw.InitializeMiddlewareFunc("ddbmeter", m.handle), smithymw.After)
	})
}

// Take returns the figures since the last Take and starts again from zero.
func (m *Meter) Take() Figures {
	m.mu.Lock()
	defer m.mu.Unlock()
	f := Figures{Calls: map[string]int{}}
	for op, n := range m.calls {
		f.Calls[op] = n
	}
	for _, v := range m.rcu {
		f.RCU += v
	}
	for _, v := range m.wcu {
		f.WCU += v
	}
	m.calls, m.rcu, m.wcu = nil, nil, nil
	return f
}

func (m *Meter) handle(ctx context.Context, in smithymw.InitializeInput, next smithymw.InitializeHandler) (smithymw.InitializeOutput, smithymw.Metadata, error) {
	op := middleware.GetOperationName(ctx)
	askCapacity(in.Parameters)
	out, md, err := next.HandleInitialize(ctx, in)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.calls == nil {
		m.calls, m.rcu, m.wcu = map[string]int{}, map[string]float64{}, map[string]float64{}
	}
	m.calls[op]++
	for _, c := range consumed(out.Result) {
		if c.ReadCapacityUnits != nil || c.WriteCapacityUnits != nil {
			if c.ReadCapacityUnits != nil {
				m.rcu[op] += *c.ReadCapacityUnits
			}
			if c.WriteCapacityUnits != nil {
				m.wcu[op] += *c.WriteCapacityUnits
			}
			continue
		}
		// Only the total is known: reads and writes by the operation's kind.
		if c.CapacityUnits != nil {
			if isWrite(op) {
				m.wcu[op] += *c.CapacityUnits
			} else {
				m.rcu[op] += *c.CapacityUnits
			}
		}
	}
	return out, md, err
}

func isWrite(op string) bool {
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem":
		return true
	}
	return false
}

var total = types.ReturnConsumedCapacityTotal

func askCapacity(params any) {
	switch in := params.(type) {
	case *dynamodb.GetItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.PutItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.UpdateItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.DeleteItemInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.QueryInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.ScanInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.TransactWriteItemsInput:
		in.ReturnConsumedCapacity = total
	case *dynamodb.TransactGetItemsInput:
		in.ReturnConsumedCapacity = total
	}
}

func consumed(result any) []types.ConsumedCapacity {
	one := func(c *types.ConsumedCapacity) []types.ConsumedCapacity {
		if c == nil {
			return nil
		}
		return []types.ConsumedCapacity{*c}
	}
	switch out := result.(type) {
	case *dynamodb.GetItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.PutItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.UpdateItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.DeleteItemOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.QueryOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.ScanOutput:
		return one(out.ConsumedCapacity)
	case *dynamodb.TransactWriteItemsOutput:
		return out.ConsumedCapacity
	case *dynamodb.TransactGetItemsOutput:
		return out.ConsumedCapacity
	}
	return nil
}
