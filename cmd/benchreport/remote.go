package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
	"github.com/adhoc-support/adhoc-support/internal/measure/remotebench"
)

// Remote access's goals (issue 13): click to prompt ≤ 1.5 s, keystroke echo through TURN
// ≤ 30 ms, transfers through TURN ≥ 20 MB/s, the exe ≤ 12 MB.
const (
	goalToPrompt   = 1500 * time.Millisecond
	goalEcho       = 30 * time.Millisecond
	goalThroughput = 20e6 // bytes a second
	goalExeBytes   = 12e6
)

// runRemote measures remote access: the figures on the local stack, the app's memory,
// the exe's size, one connection's calls on the rig and the cost of an hour.
func runRemote(ctx context.Context, rep *Report, o options, ddb, ses string, newLiveRig func(string) (*bench.Rig, error)) error {
	progress("remote access: %d connections through the local stack and its TURN server", o.connects)
	if raw, err := os.ReadFile("/proc/loadavg"); err == nil {
		if f := strings.Fields(string(raw)); len(f) > 0 {
			rep.RemoteLoad = f[0]
		}
	}
	r, err := remotebench.RemoteAccess(ctx, remotebench.RemoteOptions{DynamoDBEndpoint: ddb, SESEndpoint: ses, Table: "bench-remote", Connects: o.connects})
	if err != nil {
		return err
	}
	rep.Remote = &r

	progress("remote access: the app's remote code alone, its memory with a terminal open")
	dir, err := os.MkdirTemp("", "benchreport-remote-*")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	m, err := remotebench.MeasureAppMemory(ctx, remotebench.AppMemoryOptions{Root: root, Dir: dir})
	if err != nil {
		return err
	}
	rep.AppMemory = &m

	rep.AgentExe = o.agentExe
	if fi, err := os.Stat(o.agentExe); err == nil {
		rep.AgentExeBytes = fi.Size()
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}

	progress("remote access: one connection's calls")
	rig, err := newLiveRig("bench-remotecalls")
	if err != nil {
		return err
	}
	if rep.RemoteCalls, err = rig.RemoteCalls(ctx); err != nil {
		return err
	}
	pl := bench.DefaultPrices()
	in := bench.RemoteHourInput{Calls: rep.RemoteCalls, MemoryMB: rep.MemoryMB,
		ConsoleCandidates: r.Signals.ConsoleCandidates, AppCandidates: r.Signals.AppCandidates, Bytes: bench.RemoteHourBytes}
	rep.RemoteHourP2P = pl.Bill(bench.RemoteHour(in))
	in.Relayed = true
	rep.RemoteHourRelayed = pl.Bill(bench.RemoteHour(in))
	return nil
}

func printRemote(w io.Writer, rep *Report, number string) {
	r := rep.Remote
	if r == nil {
		return
	}
	left := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	section(w, fmt.Sprintf("%s. Remote access on loopback: the local stack, its TURN server, a pion console relaying over TURN/UDP, the app's remote code on a fake PC relaying over TURN/TCP (as under Wine)", number))
	fmt.Fprintf(w, "selected pair, as the console sees it: its own %s candidate, the app's %s one (the app, without UDP, reaches the TURN server over TCP); %d connections timed after %d not counted\n",
		r.ConsoleCandType, r.AppCandType, r.Connects, r.Warmup)
	if rep.RemoteLoad != "" {
		fmt.Fprintf(w, "the machine's load average as the run began: %s (%s); the console, the TURN server and the app share its CPUs, so the transfers' rates follow the load\n", rep.RemoteLoad, rep.Machine)
	}
	fmt.Fprintln(left, "figure\tn\tmedian\tp95\tmax\tgoal")
	for _, l := range []struct {
		d    bench.Latency
		goal string
	}{
		{r.ToConnected, ""},
		{r.ToPrompt, "≤ " + msd(goalToPrompt) + " " + met(r.ToPrompt.P95 <= goalToPrompt)},
		{r.Echo, "≤ " + msd(goalEcho) + " " + met(r.Echo.P95 <= goalEcho)},
	} {
		fmt.Fprintf(left, "%s\t%d\t%s\t%s\t%s\t%s\n", l.d.What, l.d.N, msd(l.d.Median), msd(l.d.P95), msd(l.d.Max), l.goal)
	}
	left.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(left, "transfer\tn × size\tmedian\tp95 (time's p95)\tgoal")
	for _, t := range []remotebench.Throughput{r.Upload, r.Download} {
		fmt.Fprintf(left, "%s\t%d × %.1f MB\t%.1f MB/s\t%.1f MB/s\t≥ %.0f MB/s %s\n", t.What, t.N, float64(t.Bytes)/1e6, t.Median/1e6, t.P95/1e6,
			goalThroughput/1e6, met(t.P95 >= goalThroughput))
	}
	left.Flush()
	s := r.Signals
	fmt.Fprintf(w, "one connection's set-up on the live channel: the console sent %d messages (%d candidates) and received %d; the app sent %d (%d candidates) and received %d; %d billed messages in all\n",
		s.ConsoleSent, s.ConsoleCandidates, s.ConsoleReceived, s.AppSent, s.AppCandidates, s.AppReceived, s.Units)
	fmt.Fprintln(w, "click to prompt: from the technician's POST …/remote (Connect sends it first) to the fake shell's prompt in the console's terminal, the password sent the moment both channels are open (the browser test adds a person's typing)")

	fmt.Fprintln(w)
	if rep.AgentExeBytes > 0 {
		n := float64(rep.AgentExeBytes)
		fmt.Fprintf(w, "the app's exe (signed): %s, %s bytes = %.2f MB = %.2f MiB; goal ≤ 12 MB: %s as 12,000,000 bytes, %s as 12 MiB\n",
			rep.AgentExe, bench.Thousands(n), n/1e6, n/(1<<20), met(n <= goalExeBytes), met(n <= 12<<20))
	} else {
		fmt.Fprintf(w, "the app's exe: %s is not built (`make agent`)\n", rep.AgentExe)
	}
	if m := rep.AppMemory; m != nil {
		fmt.Fprintf(w, "the app's remote code alone (internal/measure/remoteapp, Linux, %.1f MB stripped): resident %s idle, %s with a terminal open, %s after a %.0f MB download and upload, %s after Disconnect; peak %s\n",
			float64(m.BinaryBytes)/1e6, mb(m.Idle), mb(m.TerminalOpen), mb(m.Transferred), float64(m.Transfer)/1e6, mb(m.Ended), mb(m.Peak))
		fmt.Fprintln(w, "  (VmRSS/VmHWM of its own process; the Windows app adds its tray, service and live-channel code and Windows' libraries; its shell is a process of its own there)")
	}

	fmt.Fprintln(w)
	fmt.Fprintln(left, "one connection's call\tfunction\tDynamoDB round trips: calls\tRRU\tWRU\tpushes\tGetIceServerConfig\tms (one run)")
	for _, f := range rep.RemoteCalls {
		fmt.Fprintf(left, "%s\t%s\t%d: %s\t%.1f\t%.0f\t%d\t%d\t%.1f\n", f.Name, f.Function, f.RoundTrips, f.Ops, f.RRU, f.WRU, f.Counts.Pushes, f.Counts.ICE, float64(f.Duration)/1e6)
	}
	left.Flush()
	fmt.Fprintln(w)
	fmt.Fprintf(w, "one hour of remote access, one connection, %.0f MiB crossing it (%s list prices):\n", float64(bench.RemoteHourBytes)/bench.GiB*1024, rep.Region)
	fmt.Fprintln(left, "item\tpeer to peer\tUSD\trelayed (both ends on TURN)\tUSD")
	for i, p := range rep.RemoteHourP2P.Lines {
		q := rep.RemoteHourRelayed.Lines[i]
		if p.Quantity == 0 && q.Quantity == 0 {
			continue
		}
		fmt.Fprintf(left, "%s\t%s\t%.6f\t%s\t%.6f\n", p.Name, qty(p.Quantity), p.USD, qty(q.Quantity), q.USD)
	}
	fmt.Fprintf(left, "total\t\t%.6f\t\t%.6f\n", rep.RemoteHourP2P.Total, rep.RemoteHourRelayed.Total)
	left.Flush()
	transfer := bench.DefaultPrices()[bench.PriceTransferGB]
	channel := bench.DefaultPrices()[bench.PriceKVSChannel]
	fmt.Fprintf(w, "relayed: each further GB through TURN $%.2f (priced as data transfer out, an upper bound); TURN: %d allocation minutes an hour relayed, %d when a direct pair wins\n",
		transfer.PerUnit(), 2*60, 2*bench.TURNIdleMinutes)
	fmt.Fprintf(w, "not per hour: the account's signalling channel, $%.2f a month in a month with remote access", channel.PerUnit())
	if rep.LiveConsoleHour > 0 {
		fmt.Fprintf(w, "; the technician's page on its live connection, $%.6f an hour (section 9)", rep.LiveConsoleHour)
	}
	fmt.Fprintln(w)
}

// met says whether a goal is met.
func met(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(MISSED)"
}

func mb(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }
