package bench

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/adhoc-support/adhoc-support/internal/store"
)

// Benchmark is one handler benchmark. Besides ns/op (the handler's time) it reports
// raw-ns/op (the same round trips made raw, in the same iteration), per-getitem-x and
// per-transact-x (the handler's time in units of one raw round trip), overhead-x (handler
// time ÷ raw time) and roundtrips/op.
type Benchmark struct {
	Name string
	What string // the call, for the report
	Run  func(b *testing.B)
}

// Metric names the benchmarks report.
const (
	MetricRaw        = "raw-ns/op"
	MetricOverhead   = "overhead-x"
	MetricRoundTrips = "roundtrips/op"
	// The handler's time in units of one raw round trip of the same run: one GetItem of a
	// 1 KB item, and one TransactWriteItems putting one 1 KB item.
	MetricPerGetItem  = "per-getitem-x"
	MetricPerTransact = "per-transact-x"
)

// Account is the account every benchmark session belongs to; Benchmarks lifts its limits.
const benchAccount = "bench"

// Benchmarks are the handler benchmarks on this rig: an idle poll (one GetItem), a poll
// that writes lastSeenAt (GetItem + a one-item transaction), a successful pairing, and an
// invitation (transaction + mail). Pairing is single-use, so each iteration first makes a
// fresh invitation and says hello, outside the timer.
func (r *Rig) Benchmarks() []Benchmark {
	return []Benchmark{
		{"PollIdle", "POST /v1/agent/poll, lastSeenAt fresh", func(b *testing.B) {
			defer r.withSeenEvery(24 * time.Hour)()
			s := r.activeSession(b)
			r.measure(b, func(context.Context) (Request, error) { return r.PollRequest(s), nil })
		}},
		{"PollSeen", "POST /v1/agent/poll, writes lastSeenAt", func(b *testing.B) {
			defer r.withSeenEvery(time.Nanosecond)()
			s := r.activeSession(b)
			r.measure(b, func(context.Context) (Request, error) { return r.PollRequest(s), nil })
		}},
		{"Pair", "POST /v1/agent/pair, right code", func(b *testing.B) {
			r.measure(b, func(ctx context.Context) (Request, error) {
				s, err := r.Create(ctx, benchAccount)
				if err != nil {
					return Request{}, err
				}
				if _, err := r.Serve(ctx, r.HelloRequest(s)); err != nil {
					return Request{}, err
				}
				return r.PairRequest(s, false), nil
			})
		}},
		{"Create", "POST /v1/sessions", func(b *testing.B) {
			r.measure(b, func(context.Context) (Request, error) {
				t := r.NewTechnician(benchAccount)
				return r.CreateRequest(t, "user-"+t.ID+"@example.org"), nil
			})
		}},
	}
}

// PrepareBenchmarks lifts the benchmark account's limits; call it once per rig.
func (r *Rig) PrepareBenchmarks(ctx context.Context) error { return r.Unlimited(ctx, benchAccount) }

// withSeenEvery sets how often polls write lastSeenAt, and polls may come as fast as the
// benchmark sends them (an interval of 1 s leaves no time for slow_down, see
// support.pollMemory); it returns the undo.
func (r *Rig) withSeenEvery(d time.Duration) func() {
	old := r.Service.Config
	r.Service.Config.SeenEvery, r.Service.Config.ActiveInterval = d, time.Second
	return func() { r.Service.Config = old }
}

func (r *Rig) activeSession(b *testing.B) *Session {
	b.Helper()
	ctx := context.Background()
	s, err := r.Create(ctx, benchAccount)
	if err != nil {
		b.Fatal(err)
	}
	if err := r.Activate(ctx, s); err != nil {
		b.Fatal(err)
	}
	return s
}

// measure times the handler on each request next prepares, then replays its round trips
// raw, and one GetItem and one TransactWriteItems as units, in the same iteration so that
// all meet the same machine load.
func (r *Rig) measure(b *testing.B, next func(ctx context.Context) (Request, error)) {
	b.Helper()
	ctx := context.Background()
	var handler, raw, get, transact time.Duration
	calls := 0
	unit := scratchItem(1000)
	if _, err := r.Raw.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(r.Table), Item: unit}); err != nil {
		b.Fatal(err)
	}
	unitKey := map[string]types.AttributeValue{store.KeyPK: unit[store.KeyPK], store.KeySK: unit[store.KeySK]}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		q, err := next(ctx)
		if err != nil {
			b.Fatal(err)
		}
		r.Recorder.Take()
		b.StartTimer()
		t0 := time.Now()
		_, err = r.Serve(ctx, q)
		d := time.Since(t0)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		cs := r.Recorder.Take()
		rd, err := r.Replay(ctx, cs)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if _, err := r.Raw.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(r.Table), Key: unitKey, ConsistentRead: aws.Bool(true)}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if _, err := r.Raw.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: aws.String(r.Table), Item: unit}}}}); err != nil {
			b.Fatal(err)
		}
		get += t2.Sub(t1)
		transact += time.Since(t2)
		handler += d
		raw += rd
		calls += len(cs)
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(raw.Nanoseconds())/n, MetricRaw)
	if raw > 0 {
		b.ReportMetric(float64(handler)/float64(raw), MetricOverhead)
	}
	b.ReportMetric(float64(calls)/n, MetricRoundTrips)
	if get > 0 && transact > 0 {
		b.ReportMetric(float64(handler)/float64(get), MetricPerGetItem)
		b.ReportMetric(float64(handler)/float64(transact), MetricPerTransact)
	}
}
