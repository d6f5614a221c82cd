package bench_test

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
)

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

func TestBilledMillis(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want float64
	}{
		{0, 1},
		{200 * time.Microsecond, 1},
		{time.Millisecond, 1},
		{2300 * time.Microsecond, 3},
		{5 * time.Millisecond, 5},
		{time.Second + time.Nanosecond, 1001},
	}
	for _, tt := range tests {
		if got := bench.BilledMillis(tt.d); got != tt.want {
			t.Errorf("BilledMillis(%v) = %v, want %v", tt.d, got, tt.want)
		}
	}
}

// TestBill prices usages whose cost is worked out by hand from the us-east-1 list prices
// of the table (per million: API $1, WebSocket messages $1 and connection minutes $0.25,
// Lambda requests $0.20, RRU $0.125, WRU $0.625,
// events $1, scheduler $1, traces $5; per GB-s $0.0000133334; per 1,000 mails $0.10; per
// 10,000 KMS requests $0.03; per 1,000 S3 requests $0.0004; per GB logs $0.50, transfer
// $0.09; per key-month $1).
func TestBill(t *testing.T) {
	pl := bench.DefaultPrices()
	lambda := bench.Usage{}
	for range 1000 {
		lambda.AddInvocation(512, 2300*time.Microsecond) // billed 3 ms at 0.5 GB
	}
	tests := []struct {
		name  string
		usage bench.Usage
		want  float64
		line  map[string]float64 // price key → USD, where a line is checked too
	}{
		{"nothing", bench.Usage{}, 0, nil},
		{"two million API requests", bench.Usage{APIRequests: 2e6}, 2.00, map[string]float64{bench.PriceAPIRequest: 2.00}},
		// $1 per million messages, $0.25 per million connection minutes; connects and
		// requests against the throttle are not billed lines of their own.
		{"WebSocket", bench.Usage{WSMessages: 2e6, WSConnectionMinutes: 4e6, WSConnects: 1e6, WSRequests: 3e6}, 2.00 + 1.00,
			map[string]float64{bench.PriceWSMessage: 2.00, bench.PriceWSMinute: 1.00}},
		{"DynamoDB", bench.Usage{RRU: 8e6, WRU: 1.6e6}, 2.00, map[string]float64{bench.PriceDynamoRRU: 1.00, bench.PriceDynamoWRU: 1.00}},
		// 1,000 × $0.20/M = $0.0002; 1,000 × 0.5 GB × 0.003 s = 1.5 GB-s × $0.0000133334
		// = $0.0000200001; 1,000 × 5 % = 50 traces × $5/M = $0.00025.
		{"1,000 Lambda invocations of 2.3 ms at 512 MB", lambda, 0.0002 + 0.0000200001 + 0.00025,
			map[string]float64{bench.PriceLambdaReq: 0.0002, bench.PriceLambdaGBs: 0.0000200001, bench.PriceTrace: 0.00025}},
		{"messaging", bench.Usage{Mails: 1000, Events: 1e6, SchedulerInvocations: 2e6}, 0.10 + 1 + 2,
			map[string]float64{bench.PriceMail: 0.10, bench.PriceEvent: 1, bench.PriceSchedule: 2}},
		{"KMS", bench.Usage{KMSRequests: 10000, KMSKeyMonths: 2}, 0.03 + 2, map[string]float64{bench.PriceKMSRequest: 0.03}},
		{"bytes", bench.Usage{LogBytes: 2 * bench.GiB, TransferBytes: bench.GiB, S3Requests: 1e6}, 1.00 + 0.09 + 0.40,
			map[string]float64{bench.PriceLogGB: 1.00, bench.PriceTransferGB: 0.09, bench.PriceS3Request: 0.40}},
		// Kinesis Video Streams: $0.12 per 1,000 TURN minutes, $2.25 per million
		// signalling messages, $0.03 per active channel and month.
		{"KVS TURN", bench.Usage{TURNMinutes: 120, KVSMessages: 1e6, KVSChannelMonths: 2}, 0.0144 + 2.25 + 0.06,
			map[string]float64{bench.PriceTURNMinute: 0.0144, bench.PriceKVSMessage: 2.25, bench.PriceKVSChannel: 0.06}},
		// One poll-only session-day by hand: 2,880 requests ($0.00288 API + $0.000576
		// Lambda), 2,880 RRU ($0.00036), 1,440 writes of 2 WRU ($0.0018).
		{"a day of polls", bench.Usage{APIRequests: 2880, Invocations: 2880, RRU: 2880, WRU: 2880}, 0.00288 + 0.000576 + 0.00036 + 0.0018, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := pl.Bill(tt.usage)
			if !near(b.Total, tt.want) {
				t.Errorf("total $%.10f, want $%.10f", b.Total, tt.want)
			}
			if len(b.Lines) != len(bench.Prices) {
				t.Errorf("%d lines, want one per price (%d)", len(b.Lines), len(bench.Prices))
			}
			sum := 0.0
			for _, l := range b.Lines {
				sum += l.USD
				if want, ok := tt.line[l.Key]; ok && !near(l.USD, want) {
					t.Errorf("line %s: $%.10f, want $%.10f", l.Key, l.USD, want)
				}
			}
			if !near(sum, b.Total) {
				t.Errorf("lines add up to $%v, total says $%v", sum, b.Total)
			}
		})
	}
}

func TestUsageArithmetic(t *testing.T) {
	a := bench.Usage{APIRequests: 1, RRU: 2, WRU: 3, Mails: 1, TransferBytes: 10, TURNMinutes: 60}
	b := bench.Usage{APIRequests: 4, RRU: 0.5, KMSKeyMonths: 1, KVSMessages: 1, KVSChannelMonths: 1}
	got := a.Add(b).Times(2)
	want := bench.Usage{APIRequests: 10, RRU: 5, WRU: 6, Mails: 2, TransferBytes: 20, KMSKeyMonths: 2, TURNMinutes: 120, KVSMessages: 2, KVSChannelMonths: 2}
	if got != want {
		t.Errorf("(a+b)×2 = %+v, want %+v", got, want)
	}
}

// TestScale runs the scale model on a session-day worked out by hand: a million sessions,
// each 2,900 requests and invocations of 4 ms, 3,000 RRU, 4,500 WRU and one mail a day.
func TestScale(t *testing.T) {
	day := bench.Usage{APIRequests: 2900, Invocations: 2900, LambdaSeconds: 2900 * 0.004, RRU: 3000, WRU: 4500, Mails: 1}
	r := bench.DefaultPrices().Scale(bench.ScaleInput{Sessions: 1e6, SessionDay: day, PollsPerDay: 2880, SchedulesPerSession: 1})
	figures := []struct {
		name      string
		got, want float64
	}{
		{"polls/s", r.PollsPerSecond, 1e6 * 2880 / 86400.0},         // 33,333.3
		{"requests/s", r.RequestsPerSecond, 2.9e9 / 86400},          // 33,564.8
		{"RRU/s", r.RRUPerSecond, 3e9 / 86400},                      // 34,722.2
		{"WRU/s", r.WRUPerSecond, 4.5e9 / 86400},                    // 52,083.3
		{"Lambda concurrency", r.LambdaConcurrency, 11.6e6 / 86400}, // 134.3
		{"mails/day", r.MailsPerDay, 1e6},
		// 86,400 traces from the reservoir, 5 % of the other 2,899,913,600: 145,082,080
		// traces × $5/M = $725.4104.
		{"traces", r.Day.Traces, 145_082_080},
		{"cost/day", r.Bill.Total, 2900 + 580 + 375 + 2812.5 + 100 + 725.4104}, // $7,492.91
		{"cost/session-day", r.PerSessionDay, 7492.9104 / 1e6},
		{"RRU billed", r.Day.RRU, 3e9},
		{"Lambda requests billed", r.Day.Invocations, 2.9e9},
		{"API requests billed", r.Bill.Lines[0].Quantity, 2.9e9},
		{"API line", r.Bill.Lines[0].USD, 2900},
		{"WRU line", lineUSD(r.Bill, bench.PriceDynamoWRU), 2812.5},
		{"mail line", lineUSD(r.Bill, bench.PriceMail), 100},
		{"Lambda request line", lineUSD(r.Bill, bench.PriceLambdaReq), 580},
	}
	for _, f := range figures {
		if !near(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	raise := map[string]bool{}
	for _, q := range r.Quotas {
		raise[q.Key] = q.Raise
	}
	wantRaise := map[string]bool{
		bench.QuotaLambdaConcurrency: false, // 134 < 1,000
		bench.QuotaLambdaInvokeRate:  true,  // 33,565 invocations/s > 10 × 1,000
		bench.QuotaAPIRate:           true,  // 33,565 > 10,000
		bench.QuotaStageRate:         true,  // > 100
		bench.QuotaDynamoRead:        false, // 34,722 < 40,000
		bench.QuotaDynamoWrite:       true,  // 52,083 > 40,000
		bench.QuotaSESDaily:          true,  // 1,000,000 > 200
		bench.QuotaSchedules:         false, // 1,000,000 < 10,000,000
		bench.QuotaWSConnectRate:     false, // no live channel in this day
		bench.QuotaWSConcurrent:      false,
	}
	if len(raise) != len(wantRaise) {
		t.Errorf("%d quotas checked, want %d", len(raise), len(wantRaise))
	}
	for k, want := range wantRaise {
		if raise[k] != want {
			t.Errorf("quota %s: raise %v, want %v", k, raise[k], want)
		}
	}
}

// TestScaleLive runs the scale model on a live session-day worked out by hand: 100 HTTP
// requests, 13 connections open 1,443 minutes in all, 380 messages billed and 400
// requests (messages in and @connections calls) against the account's throttle.
func TestScaleLive(t *testing.T) {
	day := bench.Usage{APIRequests: 100, Invocations: 400, WSMessages: 380, WSRequests: 400, WSConnects: 13, WSConnectionMinutes: 1443}
	r := bench.DefaultPrices().Scale(bench.ScaleInput{Sessions: 1e6, SessionDay: day, PollsPerDay: 96, SchedulesPerSession: 1})
	figures := []struct {
		name      string
		got, want float64
	}{
		{"HTTP requests/s", r.RequestsPerSecond, 1e8 / 86400},           // 1,157
		{"WebSocket requests/s", r.WSRequestsPerSecond, 4e8 / 86400},    // 4,630
		{"messages/s", r.WSMessagesPerSecond, 3.8e8 / 86400},            // 4,398
		{"new connections/s", r.NewConnectionsPerSecond, 1.3e7 / 86400}, // 150.5
		{"open connections", r.ConcurrentConnections, 1443e6 / 1440},    // 1,002,083
		{"reconnecting them all at 500/s", r.ReconnectAllSeconds, 1443e6 / 1440 / 500},
		// $1 per million messages, $0.25 per million connection minutes
		{"message line", lineUSD(r.Bill, bench.PriceWSMessage), 380},
		{"connection-minute line", lineUSD(r.Bill, bench.PriceWSMinute), 1443 * 0.25},
	}
	for _, f := range figures {
		if !near(f.got, f.want) {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
	checks := map[string]bench.QuotaCheck{}
	for _, q := range r.Quotas {
		checks[q.Key] = q
	}
	tests := []struct {
		key         string
		needed      float64
		raise, peak bool
	}{
		{bench.QuotaAPIRate, 5e8 / 86400, false, false},          // 5,787 of 10,000
		{bench.QuotaWSConnectRate, 1.3e7 / 86400, false, true},   // 150/s, but 1,670/s to bring them all back in 10 minutes
		{bench.QuotaWSConcurrent, 1443e6 / 1440, false, false},   // 1,002,083 of 3,600,000
		{bench.QuotaStageRate, 1e8 / 86400, true, false},         // the HTTP stage alone
		{bench.QuotaLambdaInvokeRate, 4e8 / 86400, false, false}, // 4,630 of 10,000
	}
	for _, tt := range tests {
		c := checks[tt.key]
		if !near(c.Needed, tt.needed) || c.Raise != tt.raise || c.RaiseForPeak != tt.peak {
			t.Errorf("quota %s: needed %v, raise %v, for a peak %v (peak %v); want %v, %v, %v", tt.key, c.Needed, c.Raise, c.RaiseForPeak, c.Peak, tt.needed, tt.raise, tt.peak)
		}
	}
}

// TestScaleAddsFixed: the deployment's fixed daily use counts once, not per session.
func TestScaleAddsFixed(t *testing.T) {
	fixed := bench.Usage{KMSKeyMonths: 3, Invocations: 288}
	r := bench.DefaultPrices().Scale(bench.ScaleInput{Sessions: 10, SessionDay: bench.Usage{Invocations: 1}, Fixed: fixed})
	if r.Day.Invocations != 298 || r.Day.KMSKeyMonths != 3 {
		t.Errorf("day = %+v, want 298 invocations and 3 key-months", r.Day)
	}
	// $3 for the keys, 298 × $0.20/M for the requests and, at less than one request a
	// second, 298 traces × $5/M, shared by 10 sessions.
	if want := (3 + 298*0.2e-6 + 298*5e-6) / 10; !near(r.PerSessionDay, want) {
		t.Errorf("per session-day $%v, want $%v", r.PerSessionDay, want)
	}
}

func TestSampledTraces(t *testing.T) {
	tests := []struct{ invocations, want float64 }{
		{0, 0},
		{2880, 2880},    // a poll every 30 s: all recorded
		{86400, 86400},  // one a second: the reservoir takes them all
		{172800, 90720}, // two a second: 86,400 + 5 % of 86,400
	}
	for _, tt := range tests {
		if got := bench.SampledTraces(tt.invocations); !near(got, tt.want) {
			t.Errorf("SampledTraces(%v) = %v, want %v", tt.invocations, got, tt.want)
		}
	}
}

func lineUSD(b bench.Bill, key string) float64 {
	for _, l := range b.Lines {
		if l.Key == key {
			return l.USD
		}
	}
	return math.NaN()
}

// TestPricesMatchDocs keeps docs/cost.md's price table the same as the Go table.
func TestPricesMatchDocs(t *testing.T) {
	root, err := standins.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(root, "docs", "cost.md"))
	if err != nil {
		t.Fatal(err)
	}
	if table := bench.PriceTableMarkdown(); !strings.Contains(string(raw), table) {
		t.Errorf("docs/cost.md does not hold the price table of internal/measure/bench/prices.go; put this in (go run ./cmd/benchreport -prices):\n%s", table)
	}
}

func TestMedian(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var out []time.Duration
		for _, x := range v {
			out = append(out, time.Duration(x)*time.Millisecond)
		}
		return out
	}
	tests := []struct {
		in   []time.Duration
		want time.Duration
	}{
		{nil, 0},
		{ms(7), 7 * time.Millisecond},
		{ms(30, 10, 20), 20 * time.Millisecond},
		{ms(40, 10, 30, 20), 25 * time.Millisecond},
		{ms(5, 100, 6, 7, 8), 7 * time.Millisecond}, // one slow start does not move it
	}
	for _, tt := range tests {
		if got := bench.Median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 33333.4: "33,333", 1234567: "1,234,567"} {
		if got := bench.Thousands(v); got != want {
			t.Errorf("Thousands(%v) = %q, want %q", v, got, want)
		}
	}
}
