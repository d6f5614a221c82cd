package remotebench_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/measure/remotebench"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestRemoteAccess runs the measurement on a few connections and small files. It checks
// what the figures are made of, not how fast they are (that is for make bench): every
// connection and keystroke gave one positive sample, the prompt comes after the channels,
// every transfer was timed, both ends relayed, and the set-up's signals were counted.
func TestRemoteAccess(t *testing.T) {
	_, table := testenv.Table(t)
	res, err := remotebench.RemoteAccess(context.Background(), remotebench.RemoteOptions{
		DynamoDBEndpoint: testenv.DynamoDBEndpoint(t), SESEndpoint: testenv.SES(t), Table: table,
		Connects: 3, Warmup: 1, Keystrokes: 10, Transfers: 2, TransferBytes: 300 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.ToConnected.N != 3 || res.ToPrompt.N != 3 || res.Echo.N != 10 {
		t.Errorf("samples: %d connected, %d prompt, %d echo; want 3, 3, 10", res.ToConnected.N, res.ToPrompt.N, res.Echo.N)
	}
	if res.ToConnected.Median <= 0 || res.ToPrompt.Median < res.ToConnected.Median || res.Echo.Median <= 0 {
		t.Errorf("times: connected %v, prompt %v, echo %v; want positive, the prompt after the channels", res.ToConnected.Median, res.ToPrompt.Median, res.Echo.Median)
	}
	for _, tr := range []remotebench.Throughput{res.Upload, res.Download} {
		if tr.N != 2 || tr.Bytes != 300<<10 || tr.Median <= 0 || tr.P95 <= 0 || tr.P95 > tr.Median {
			t.Errorf("%s: %+v, want 2 transfers of 300 KiB, the p95's rate at most the median's", tr.What, tr)
		}
	}
	if res.ConsoleCandType != "relay/udp" || res.AppCandType == "" {
		t.Errorf("pair: console %q, app %q; want the console relayed over UDP", res.ConsoleCandType, res.AppCandType)
	}
	s := res.Signals
	if s.ConsoleSent < 2 || s.AppSent < 2 || s.ConsoleCandidates < 1 || s.AppCandidates < 1 || s.ConsoleReceived < s.AppSent || s.Units < int64(s.ConsoleSent+s.AppSent) {
		t.Errorf("signals %+v: want an offer, an answer and candidates each way, each received by the other end", s)
	}
}

// TestMeasureAppMemory builds remoteapp and reads its memory: every step has a resident
// set, the terminal and the files add to the idle one, and the peak is the largest.
func TestMeasureAppMemory(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	m, err := remotebench.MeasureAppMemory(context.Background(), remotebench.AppMemoryOptions{Root: root, Dir: t.TempDir(), TransferBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", m)
	if m.BinaryBytes <= 0 || m.Idle <= 0 || m.TerminalOpen <= m.Idle || m.Transferred <= 0 || m.Ended <= 0 {
		t.Errorf("%+v: want a binary and a resident set at every step, more with a terminal open than idle", m)
	}
	if m.Peak < max(m.Idle, m.TerminalOpen, m.Transferred, m.Ended) {
		t.Errorf("peak %d below a step's resident set: %+v", m.Peak, m)
	}
}
