package bench_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The benchmarks share one rig and table: a benchmark function runs several times (for
// growing b.N), and a table per run would cost more than the runs.
var shared struct {
	once sync.Once
	rig  *bench.Rig
	err  error
}

func benchRig(b *testing.B) *bench.Rig {
	b.Helper()
	ddb, ses := testenv.DynamoDBEndpoint(b), testenv.SES(b)
	shared.once.Do(func() {
		ctx := context.Background()
		shared.rig, shared.err = bench.NewRig(ctx, bench.RigOptions{
			DynamoDBEndpoint: ddb, SESEndpoint: ses, Table: fmt.Sprintf("bench-%d", os.Getpid()),
		})
		if shared.err == nil {
			shared.err = shared.rig.PrepareBenchmarks(ctx)
		}
	})
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.rig
}

func run(b *testing.B, name string) {
	for _, bm := range benchRig(b).Benchmarks() {
		if bm.Name == name {
			bm.Run(b)
			return
		}
	}
	b.Fatalf("no benchmark %s", name)
}

// BenchmarkPollIdle is an idle app's poll: one GetItem.
func BenchmarkPollIdle(b *testing.B) { run(b, "PollIdle") }

// BenchmarkPollSeen is a poll that writes lastSeenAt: GetItem and a one-item transaction.
func BenchmarkPollSeen(b *testing.B) { run(b, "PollSeen") }

// BenchmarkPair is a successful pairing.
func BenchmarkPair(b *testing.B) { run(b, "Pair") }

// BenchmarkCreate is a new invitation, mail included.
func BenchmarkCreate(b *testing.B) { run(b, "Create") }
