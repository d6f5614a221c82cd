// Command benchreport measures what the product costs and prints one table: the handlers'
// overhead over raw DynamoDB round trips, round trips and capacity per API call and per
// 24-hour session, the price of such a session at AWS list prices, the bootstraps' size
// and init time against a hello-world function, a model of a million concurrent
// sessions, and the live channel's figures: the push latency on the local stack, the live
// function's calls, and a session's day with the live channel beside the polling day.
// `make bench` runs it; docs/cost.md explains the figures. Nothing here passes or fails on
// timing.
//
// It starts its own DynamoDB Local and aws-ses-v2-local (`make tools` installs them) and
// stops them when done.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/measure/remotebench"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

// BenchResult is one handler benchmark's outcome.
type BenchResult struct {
	Name       string  `json:"name"`
	What       string  `json:"what"`
	N          int     `json:"n"`
	HandlerNs  float64 `json:"handlerNsPerOp"`
	RawNs      float64 `json:"rawNsPerOp"`
	Overhead   float64 `json:"overhead"`
	RoundTrips float64 `json:"roundTripsPerOp"`
	// The handler time in units of one raw GetItem and one raw one-item TransactWriteItems.
	PerGetItem  float64 `json:"perGetItem"`
	PerTransact float64 `json:"perTransactWriteItems"`
}

// Report is everything benchreport measured and computed.
type Report struct {
	Date        string            `json:"date"`
	Machine     string            `json:"machine"`
	Region      string            `json:"region"`
	Benchmarks  []BenchResult     `json:"benchmarks"`
	PerCall     []bench.Figures   `json:"perCall"`
	Lifecycle   bench.Lifecycle   `json:"lifecycle"`
	Sweep       bench.Figures     `json:"sweep"`
	MemoryMB    map[string]int    `json:"memoryMb"`
	MemoryFrom  string            `json:"memoryFrom"`
	Session     bench.Bill        `json:"session"`         // one session's 24 hours
	Fixed       bench.Bill        `json:"fixedPerDay"`     // the deployment, whatever the load
	Alone       bench.Bill        `json:"aloneDay"`        // a deployment with one session
	ConsoleHour float64           `json:"consolePageHour"` // the technician's page left open
	Bootstraps  []bench.Bootstrap `json:"bootstraps"`
	Scale       bench.ScaleResult `json:"scale"`
	// The live channel: the live function's calls, the push latency on the local stack,
	// a session's day with the live channel, its bill and the scale model on it.
	LiveCalls   []bench.Figures   `json:"liveCalls"`
	Push        bench.PushResult  `json:"pushLatency"`
	LiveDay     bench.Lifecycle   `json:"liveDay"`
	LiveSession bench.Bill        `json:"liveSession"`
	LiveAlone   bench.Bill        `json:"liveAloneDay"`
	LiveScale   bench.ScaleResult `json:"liveScale"`
	// LiveConsoleHour is the technician's page left open on its live connection: an
	// hour's connection minutes and a ping every protocol.LivePingInterval.
	LiveConsoleHour float64 `json:"liveConsolePageHour"`
	// Remote access: the figures on loopback, the app's exe and memory, the calls of one
	// remote connection and an hour of it peer to peer and relayed.
	Remote            *remotebench.RemoteResult `json:"remote,omitempty"`
	RemoteLoad        string                    `json:"remoteLoadAverage"` // /proc/loadavg's 1-minute figure as remote access's run began
	AppMemory         *remotebench.AppMemory    `json:"appMemory,omitempty"`
	AgentExe          string                    `json:"agentExe"`
	AgentExeBytes     int64                     `json:"agentExeBytes"` // 0: not built
	RemoteCalls       []bench.Figures           `json:"remoteCalls,omitempty"`
	RemoteHourP2P     bench.Bill                `json:"remoteHourPeerToPeer"`
	RemoteHourRelayed bench.Bill                `json:"remoteHourRelayed"`
	Prices            []bench.Price             `json:"prices"`
	PricesDated       string                    `json:"pricesChecked"`
}

func main() {
	testing.Init() // testing.Benchmark reads -test.benchtime
	jsonOut := flag.Bool("json", false, "print the report as JSON")
	prices := flag.Bool("prices", false, "print the price table as docs/cost.md holds it, and exit")
	sessions := flag.Float64("sessions", 1e6, "concurrent active sessions in the scale model")
	initRuns := flag.Int("init-runs", 7, "emulator starts per bootstrap")
	pushRuns := flag.Int("push-runs", 200, "sessions timed for the push latency")
	template := flag.String("template", "cdk.out/AdhocSupport.template.json", "synthesized template to read the functions' memory from (if present)")
	only := flag.String("only", "", `run only one part: "remote" (remote access's figures and cost)`)
	connects := flag.Int("remote-connects", 20, "remote connections timed for click to prompt")
	agentExe := flag.String("agent-exe", "dist/agent/windows-amd64/SupportSession.exe", "the Windows app whose size to report (`make agent` builds it)")
	flag.Parse()
	if *only != "" && *only != "remote" {
		fmt.Fprintln(os.Stderr, "benchreport: -only takes \"remote\"")
		os.Exit(2)
	}
	if *prices {
		fmt.Print(bench.PriceTableMarkdown())
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	rep, err := run(ctx, options{sessions: *sessions, initRuns: *initRuns, pushRuns: *pushRuns, template: *template,
		remoteOnly: *only == "remote", connects: *connects, agentExe: *agentExe})
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
	if *jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(os.Stderr, "benchreport:", err)
			os.Exit(1)
		}
		return
	}
	if *only == "remote" {
		printRemote(os.Stdout, rep, "1")
		return
	}
	printReport(os.Stdout, rep)
}

// options are what the flags ask run for.
type options struct {
	sessions           float64
	initRuns, pushRuns int
	template           string
	remoteOnly         bool
	connects           int
	agentExe           string
}

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "benchreport: "+format+"\n", args...)
}

func run(ctx context.Context, o options) (*Report, error) {
	sessions, initRuns, pushRuns, template := o.sessions, o.initRuns, o.pushRuns, o.template
	rep := &Report{
		Date:        time.Now().UTC().Format("2006-01-02"),
		Machine:     fmt.Sprintf("%s/%s, %d CPUs", runtime.GOOS, runtime.GOARCH, runtime.NumCPU()),
		Region:      bench.Region,
		Prices:      bench.Prices,
		PricesDated: bench.PricesChecked,
		MemoryMB:    bench.DefaultMemoryMB,
		MemoryFrom:  "infra/stack/stack.go; no synthesized template",
	}
	if m, err := bench.MemoryFromTemplate(template); err == nil {
		rep.MemoryMB, rep.MemoryFrom = m, template
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	progress("starting DynamoDB Local and aws-ses-v2-local")
	ddb, err := standins.StartDynamoDB(ctx, standins.DynamoDBOptions{Timeout: 2 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer func() { _ = ddb.Stop() }()
	ses, err := standins.StartSES(ctx, standins.SESOptions{Timeout: 2 * time.Minute})
	if err != nil {
		return nil, err
	}
	defer func() { _ = ses.Stop() }()
	newRig := func(table string) (*bench.Rig, error) {
		return bench.NewRig(ctx, bench.RigOptions{DynamoDBEndpoint: ddb.Endpoint, SESEndpoint: ses.Endpoint, Table: table})
	}
	newLiveRig := func(table string) (*bench.Rig, error) {
		return bench.NewRig(ctx, bench.RigOptions{DynamoDBEndpoint: ddb.Endpoint, SESEndpoint: ses.Endpoint, Table: table, Live: true})
	}
	if o.remoteOnly {
		return rep, runRemote(ctx, rep, o, ddb.Endpoint, ses.Endpoint, newLiveRig)
	}

	progress("handler benchmarks")
	rig, err := newRig("bench-overhead")
	if err != nil {
		return nil, err
	}
	if err := rig.PrepareBenchmarks(ctx); err != nil {
		return nil, err
	}
	for _, bm := range rig.Benchmarks() {
		r := testing.Benchmark(bm.Run)
		if r.N == 0 {
			return nil, fmt.Errorf("benchmark %s failed (run `go test -run '^$' -bench %s ./internal/measure/bench/` to see why)", bm.Name, bm.Name)
		}
		rep.Benchmarks = append(rep.Benchmarks, BenchResult{
			Name: bm.Name, What: bm.What, N: r.N, HandlerNs: float64(r.NsPerOp()),
			RawNs: r.Extra[bench.MetricRaw], Overhead: r.Extra[bench.MetricOverhead], RoundTrips: r.Extra[bench.MetricRoundTrips],
			PerGetItem: r.Extra[bench.MetricPerGetItem], PerTransact: r.Extra[bench.MetricPerTransact],
		})
		progress("  %s: %d iterations", bm.Name, r.N)
	}

	progress("round trips and capacity per call")
	if rig, err = newRig("bench-percall"); err != nil {
		return nil, err
	}
	if rep.PerCall, err = rig.PerCall(ctx); err != nil {
		return nil, err
	}

	progress("a 24 h session")
	if rig, err = newRig("bench-lifecycle"); err != nil {
		return nil, err
	}
	if rep.Lifecycle, err = rig.Lifecycle(ctx, bench.LifecycleOptions{MemoryMB: rep.MemoryMB}); err != nil {
		return nil, err
	}
	if rep.Sweep, err = rig.MeasureExpiry(ctx, "sweep, nothing due", bench.TriggerRule, json.RawMessage(`{"sweep":true}`)); err != nil {
		return nil, err
	}

	progress("the live function's calls")
	live, err := newLiveRig("bench-livecalls")
	if err != nil {
		return nil, err
	}
	if rep.LiveCalls, err = live.LiveCalls(ctx); err != nil {
		return nil, err
	}
	progress("a 24 h session with the live channel")
	if live, err = newLiveRig("bench-liveday"); err != nil {
		return nil, err
	}
	if rep.LiveDay, err = live.LiveDay(ctx, bench.LiveDayOptions{MemoryMB: rep.MemoryMB}); err != nil {
		return nil, err
	}
	progress("push latency: %d sessions through the local stack", pushRuns)
	if rep.Push, err = bench.PushLatency(ctx, bench.PushOptions{
		DynamoDBEndpoint: ddb.Endpoint, SESEndpoint: ses.Endpoint, Table: "bench-push", Runs: pushRuns,
	}); err != nil {
		return nil, err
	}

	progress("bootstraps: build and init under the Runtime Interface Emulator")
	dir, err := os.MkdirTemp("", "benchreport-*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	rep.Bootstraps, err = bench.Bootstraps(ctx, bench.BootstrapOptions{
		Dir: dir, Runs: initRuns, DynamoDBEndpoint: ddb.Endpoint, SESEndpoint: ses.Endpoint, Table: rig.Table,
	})
	if err != nil {
		return nil, err
	}

	pl := bench.DefaultPrices()
	rep.Session = pl.Bill(rep.Lifecycle.Usage)
	fixed := bench.Fixed(rep.Sweep, rep.MemoryMB)
	rep.Fixed = pl.Bill(fixed)
	rep.Alone = pl.Bill(bench.Alone(rep.Lifecycle.Usage, fixed))
	for _, s := range rep.Lifecycle.Steps {
		if s.Name == bench.ConsoleStep && s.Count > 0 {
			perHour := float64(time.Hour / bench.ConsolePoll)
			rep.ConsoleHour = pl.Bill(s.Usage.Times(perHour / float64(s.Count))).Total
		}
	}
	rep.Scale = pl.Scale(bench.ScaleInput{
		Sessions: sessions, SessionDay: rep.Lifecycle.Usage, PollsPerDay: float64(rep.Lifecycle.Polls),
		SchedulesPerSession: 1, Fixed: fixed,
	})
	for _, s := range rep.LiveDay.Steps {
		if s.Name == bench.LivePing && s.Count > 0 {
			perHour := float64(time.Hour) / float64(protocol.LivePingInterval)
			u := s.Usage.Times(perHour / float64(s.Count))
			u.WSConnectionMinutes += 60
			rep.LiveConsoleHour = pl.Bill(u).Total
		}
	}
	if err := runRemote(ctx, rep, o, ddb.Endpoint, ses.Endpoint, newLiveRig); err != nil {
		return nil, err
	}
	rep.LiveSession = pl.Bill(rep.LiveDay.Usage)
	rep.LiveAlone = pl.Bill(bench.Alone(rep.LiveDay.Usage, fixed))
	rep.LiveScale = pl.Scale(bench.ScaleInput{
		Sessions: sessions, SessionDay: rep.LiveDay.Usage, PollsPerDay: float64(rep.LiveDay.Polls),
		SchedulesPerSession: 1, Fixed: fixed,
	})
	return rep, nil
}

func printReport(w io.Writer, rep *Report) {
	fmt.Fprintf(w, "Ad-hoc Support — cost and overhead figures, %s, %s, DynamoDB Local + aws-ses-v2-local on loopback\n", rep.Date, rep.Machine)
	left := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)

	section(w, "1. Handler time over raw round trips (same run, interleaved; KMS, EventBridge and Scheduler stand-ins cost no time)")
	fmt.Fprintln(left, "benchmark\tcall\thandler\tsame calls raw\toverhead\t÷ 1 GetItem\t÷ 1 TransactWriteItems\tcalls/op (DynamoDB+SES)\tn")
	for _, b := range rep.Benchmarks {
		fmt.Fprintf(left, "%s\t%s\t%s\t%s\t%.2f×\t%.1f×\t%.1f×\t%.0f\t%d\n", b.Name, b.What, ms(b.HandlerNs), ms(b.RawNs), b.Overhead, b.PerGetItem, b.PerTransact, b.RoundTrips, b.N)
	}
	left.Flush()

	section(w, "2. Round trips and capacity per API call (billed units; DynamoDB Local's own WCU figure for comparison)")
	fmt.Fprintln(left, "call\tfunction\tDynamoDB round trips: calls\tRRU\tWRU\tLocal WCU\tevents\tKMS\tschedules +/-\tmails\tms (one run)")
	for _, f := range rep.PerCall {
		fmt.Fprintf(left, "%s\t%s\t%d: %s\t%.1f\t%.0f\t%.0f\t%d\t%d\t%d/%d\t%d\t%.1f\n", f.Name, f.Function, f.RoundTrips, f.Ops, f.RRU, f.WRU, f.LocalWCU,
			f.Counts.Events, f.Counts.KMS, f.Counts.SchedulesCreated, f.Counts.SchedulesDeleted, f.Counts.Mails, float64(f.Duration)/1e6)
	}
	left.Flush()

	l := rep.Lifecycle
	section(w, fmt.Sprintf("3. One session's 24 hours: %d polls (every 30 s), %d of them write lastSeenAt; the technician's page polls for 3 minutes", l.Polls, l.PollWrites))
	fmt.Fprintln(left, "step\tcount\tround trips\tRRU\tWRU\tmean ms")
	for _, s := range l.Steps {
		fmt.Fprintf(left, "%s\t%d\t%d\t%.1f\t%.0f\t%.2f\n", s.Name, s.Count, s.Sum.RoundTrips, s.Sum.RRU, s.Sum.WRU, float64(s.Sum.Duration)/1e6/float64(s.Count))
	}
	u := l.Usage
	fmt.Fprintf(left, "total\t\t\t%.1f\t%.0f\t\n", u.RRU, u.WRU)
	left.Flush()
	fmt.Fprintf(w, "API requests %.0f, Lambda invocations %.0f (%.2f GB-s billed), events %.0f, scheduler invocations %.0f, KMS requests %.0f, mails %.0f\n",
		u.APIRequests, u.Invocations, u.GBSeconds, u.Events, u.SchedulerInvocations, u.KMSRequests, u.Mails)
	fmt.Fprintf(w, "the session item while active: %d bytes (a write costs a WRU per started KB, and one more for its byAccount entry)\n", l.ActiveItemBytes)
	fmt.Fprintf(w, "sweep (every 5 min, fixed per deployment): %d round trip(s) %s, %.1f RRU, %.1f ms\n", rep.Sweep.RoundTrips, rep.Sweep.Ops, rep.Sweep.RRU, float64(rep.Sweep.Duration)/1e6)

	section(w, fmt.Sprintf("4. Cost of one 24 h session at %s list prices (checked %s)", rep.Region, rep.PricesDated))
	fmt.Fprintf(w, "Lambda arm64, memory invitation %d MB, pairing %d MB, expiry %d MB (from %s), live %d MB (assumed unless the template has it); durations as measured here\n",
		rep.MemoryMB[deploy.Invitation], rep.MemoryMB[deploy.Pairing], rep.MemoryMB[deploy.Expiry], rep.MemoryFrom, rep.MemoryMB[deploy.Live])
	bill(left, rep.Session)
	fmt.Fprintf(w, "X-Ray is counted at 5 %% of requests, as in a deployment with more than one request a second.\n")
	fmt.Fprintf(w, "fixed per deployment and day (288 sweeps, %d KMS keys): $%.4f; one session alone in a deployment (every request traced): $%.4f a day\n",
		bench.KMSKeys, rep.Fixed.Total, rep.Alone.Total)
	fmt.Fprintf(w, "the technician's page left open polls every 2.5 s: $%.5f an hour\n", rep.ConsoleHour)

	section(w, "5. Bootstraps: arm64 size (deploy flags) and init under the Runtime Interface Emulator, against a hello-world aws-lambda-go function")
	fmt.Fprintln(left, "function\tarm64 size\t× hello\tinit median\t× hello\truns (ms)")
	for _, b := range rep.Bootstraps {
		var runs []string
		for _, d := range b.Inits {
			runs = append(runs, fmt.Sprintf("%.1f", float64(d)/1e6))
		}
		fmt.Fprintf(left, "%s\t%.1f MB\t%.2f×\t%.1f ms\t%.2f×\t%s\n", b.Name, float64(b.Bytes)/1e6, b.SizeRatio, float64(b.Init)/1e6, b.InitRatio, strings.Join(runs, " "))
	}
	left.Flush()

	s, v := rep.Scale, rep.LiveScale
	section(w, fmt.Sprintf("6. Scale model: %s concurrent active sessions, polling only and with the live channel (daily figures spread evenly; keep headroom for peaks)", count(s.Sessions)))
	fmt.Fprintln(left, "\tpolling only\twith the live channel")
	rows := []struct {
		name string
		p, l string
	}{
		{"app polls/s", count(s.PollsPerSecond), count(v.PollsPerSecond)},
		{"HTTP API requests/s", count(s.RequestsPerSecond), count(v.RequestsPerSecond)},
		{"WebSocket messages/s (billed, both ways)", count(s.WSMessagesPerSecond), count(v.WSMessagesPerSecond)},
		{"WebSocket messages in + @connections calls/s", count(s.WSRequestsPerSecond), count(v.WSRequestsPerSecond)},
		{"new WebSocket connections/s", count(s.NewConnectionsPerSecond), count(v.NewConnectionsPerSecond)},
		{"open WebSocket connections", count(s.ConcurrentConnections), count(v.ConcurrentConnections)},
		{"DynamoDB RRU/s", count(s.RRUPerSecond), count(v.RRUPerSecond)},
		{"DynamoDB WRU/s", count(s.WRUPerSecond), count(v.WRUPerSecond)},
		{"Lambda invocations/s", count(s.Day.Invocations / 86400), count(v.Day.Invocations / 86400)},
		{"Lambda concurrency (rate × duration)", fmt.Sprintf("%.0f", s.LambdaConcurrency), fmt.Sprintf("%.0f", v.LambdaConcurrency)},
		{"mails/day", count(s.MailsPerDay), count(v.MailsPerDay)},
		{"cost/day", "$" + count(s.Bill.Total), "$" + count(v.Bill.Total)},
		{"cost per session-day", fmt.Sprintf("$%.5f", s.PerSessionDay), fmt.Sprintf("$%.5f", v.PerSessionDay)},
	}
	for _, r := range rows {
		fmt.Fprintf(left, "%s\t%s\t%s\n", r.name, r.p, r.l)
	}
	left.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(left, "quota\tdefault\tneeded, polling\t\tneeded, live\t")
	for i, q := range s.Quotas {
		lq := v.Quotas[i]
		fmt.Fprintf(left, "%s\t%s %s\t%s\t%s\t%s\t%s\n", q.Name, count(q.Default), q.Unit, count(math.Ceil(q.Needed)), verdict(q), count(math.Ceil(lq.Needed)), verdict(lq))
	}
	left.Flush()
	fmt.Fprintf(w, "a mass reconnect: %s open connections take %s s to come back at the default rate of new connections (%s/s to do it within %d minutes); meanwhile the apps poll every 30 s\n",
		count(v.ConcurrentConnections), count(v.ReconnectAllSeconds), count(v.ConcurrentConnections/bench.MassReconnect), bench.MassReconnect/60)

	p := rep.Push
	section(w, fmt.Sprintf("7. Push latency on loopback: from the commit of the change to the client's receipt, %d sessions after %d not counted (the local stack, real WebSocket clients)", p.Runs, p.Warmup))
	fmt.Fprintln(left, "push\tn\tmedian\tp95\tp99\tmax")
	for _, l := range p.Kinds {
		fmt.Fprintf(left, "%s\t%d\t%s\t%s\t%s\t%s\n", l.What, l.N, msd(l.Median), msd(l.P95), msd(l.P99), msd(l.Max))
	}
	left.Flush()
	fmt.Fprintln(w, "from: the conditional write that stores the new status has returned to the store (SDK middleware, outermost step); to: the client's Read returned the message")

	section(w, "8. The live function's calls (round trips, billed units, @connections POSTs and WebSocket messages)")
	fmt.Fprintln(left, "call\tDynamoDB round trips: calls\tRRU\tWRU\tpushes (gone)\tmessages billed (in + out)\tms (one run)")
	for _, f := range rep.LiveCalls {
		fmt.Fprintf(left, "%s\t%d: %s\t%.1f\t%.0f\t%d (%d)\t%d + %d\t%.1f\n", f.Name, f.RoundTrips, f.Ops, f.RRU, f.WRU, f.Counts.Pushes, f.Counts.PushesGone,
			f.WSIn, f.Counts.PushUnits, float64(f.Duration)/1e6)
	}
	left.Flush()

	d := rep.LiveDay
	section(w, fmt.Sprintf("9. One session's 24 hours with the live channel: %d app connections, %d pings (every %s), %d polls (%d write lastSeenAt); the set-up page holds a connection for 3 minutes",
		d.Connections, d.Pings, protocol.LivePingInterval, d.Polls, d.PollWrites))
	fmt.Fprintln(left, "step\tcount\tround trips\tRRU\tWRU\tpushes\tmessages in\tmean ms")
	for _, st := range d.Steps {
		fmt.Fprintf(left, "%s\t%d\t%d\t%.1f\t%.0f\t%d\t%d\t%.2f\n", st.Name, st.Count, st.Sum.RoundTrips, st.Sum.RRU, st.Sum.WRU, st.Sum.Counts.Pushes, st.Sum.WSIn, float64(st.Sum.Duration)/1e6/float64(st.Count))
	}
	lu := d.Usage
	fmt.Fprintf(left, "total\t\t\t%.1f\t%.0f\t\t\t\n", lu.RRU, lu.WRU)
	left.Flush()
	fmt.Fprintf(w, "API requests %.0f, Lambda invocations %.0f (%.2f GB-s billed), WebSocket messages %.0f, connection minutes %.0f, new connections %.0f\n",
		lu.APIRequests, lu.Invocations, lu.GBSeconds, lu.WSMessages, lu.WSConnectionMinutes, lu.WSConnects)
	fmt.Fprintf(w, "the session item while active with its live connection on record: %d bytes\n", d.ActiveItemBytes)
	fmt.Fprintln(w)
	fmt.Fprintln(left, "item\tpolling only\tUSD\twith the live channel\tUSD\tshare of the live day")
	for i, pl := range rep.Session.Lines {
		ll := rep.LiveSession.Lines[i]
		if pl.Quantity == 0 && ll.Quantity == 0 {
			continue
		}
		fmt.Fprintf(left, "%s\t%s\t%.6f\t%s\t%.6f\t%.0f %%\n", pl.Name, qty(pl.Quantity), pl.USD, qty(ll.Quantity), ll.USD, 100*ll.USD/rep.LiveSession.Total)
	}
	fmt.Fprintf(left, "total\t\t%.6f\t\t%.6f\t\n", rep.Session.Total, rep.LiveSession.Total)
	left.Flush()
	fmt.Fprintf(w, "largest lines: polling %s; live %s\n", topLines(rep.Session, 3), topLines(rep.LiveSession, 3))
	fmt.Fprintf(w, "one session alone in a deployment (every request traced, the fixed $%.4f included): polling $%.4f, live $%.4f a day\n", rep.Fixed.Total, rep.Alone.Total, rep.LiveAlone.Total)
	fmt.Fprintf(w, "the technician's page left open: polling every 2.5 s $%.5f an hour; on its live connection, pinging every %s, $%.6f an hour\n", rep.ConsoleHour, protocol.LivePingInterval, rep.LiveConsoleHour)
	printRemote(w, rep, "10")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Not in the figures: S3 storage, CloudWatch alarms and log storage, the app download's own transfer (docs/cost.md), free tiers.")
}

// topLines names a bill's n dearest lines with their shares.
func topLines(b bench.Bill, n int) string {
	lines := slices.Clone(b.Lines)
	slices.SortStableFunc(lines, func(x, y bench.Line) int { return cmp.Compare(y.USD, x.USD) })
	var out []string
	for _, l := range lines[:min(n, len(lines))] {
		out = append(out, fmt.Sprintf("%s %.0f %%", l.Name, 100*l.USD/b.Total))
	}
	return strings.Join(out, ", ")
}

// verdict says whether a quota's default holds the load.
func verdict(q bench.QuotaCheck) string {
	switch share := q.Needed / q.Default; {
	case q.Raise:
		return fmt.Sprintf("RAISE (%.1f× the default)", share)
	case q.RaiseForPeak:
		return fmt.Sprintf("ok on average (%.0f %%); RAISE for peaks (%.1f× at a mass reconnect)", share*100, q.Peak/q.Default)
	case share > 0.8:
		return fmt.Sprintf("raise for peaks (%.0f %% of the default on average)", share*100)
	}
	return "ok"
}

// msd writes a delay in milliseconds.
func msd(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/1e6) }

func section(w io.Writer, title string) {
	fmt.Fprintf(w, "\n%s\n%s\n", title, strings.Repeat("-", min(len(title), 100)))
}

func bill(w *tabwriter.Writer, b bench.Bill) {
	fmt.Fprintln(w, "item\tquantity\tunit\tUSD")
	for _, l := range b.Lines {
		if l.Quantity == 0 {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%.6f\n", l.Name, qty(l.Quantity), l.Unit, l.USD)
	}
	fmt.Fprintf(w, "total\t\t\t%.6f\n", b.Total)
	w.Flush()
}

func ms(ns float64) string { return fmt.Sprintf("%.2f ms", ns/1e6) }

func qty(v float64) string {
	if v == float64(int64(v)) && v < 1e12 {
		return count(v)
	}
	return fmt.Sprintf("%.4g", v)
}

// count writes a number with thousands separators, and small fractions with two decimals.
func count(v float64) string {
	if v < 1000 && v != float64(int64(v)) {
		return fmt.Sprintf("%.2f", v)
	}
	return bench.Thousands(v)
}
