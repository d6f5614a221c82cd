// Command loadgen is `make load`: it starts the product locally (DynamoDB Local in memory,
// aws-ses-v2-local, the gateway in process, all on loopback), drives it with hundreds of
// technicians and thousands of Support Session apps for a bounded time, prints latency per
// route, errors and the invariant check of the table, and stops everything it started. It
// exits 1 when an answer broke the protocol or the table breaks an invariant.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/measure/loadtest"
)

func main() {
	failed, err := run()
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func run() (failed bool, err error) {
	technicians := flag.Int("technicians", 300, "technicians, each running its apps one after another")
	apps := flag.Int("apps", 3000, "app lifecycles in the whole run")
	duration := flag.Duration("duration", 60*time.Second, "how long new requests start")
	poll := flag.Duration("poll", time.Second, "the polling interval of active apps the service hands out")
	ttl := flag.Duration("session-ttl", 10*time.Second, "the session length, short so that sessions expire during the run")
	perAccount := flag.Int("per-account", 10, "technicians per account (accounts get fewer slots than technicians)")
	ddbEndpoint := flag.String("dynamodb", "", "a running DynamoDB Local on loopback (default: start one in memory)")
	sesEndpoint := flag.String("ses", "", "a running aws-ses-v2-local on loopback (default: start one)")
	logFile := flag.String("log", "", "write the stack's log (warnings and errors) to this file (default: discard)")
	seed := flag.Uint64("seed", 0, "random seed (0: random)")
	ttlDeletion := flag.Bool("ttl-deletion", false, "keep DynamoDB Local's TTL deletion, which races the expiry scheduler with sessions of seconds")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var logOut io.Writer = io.Discard
	if *logFile != "" {
		f, err := os.Create(*logFile)
		if err != nil {
			return false, err
		}
		defer f.Close()
		logOut = f
	}
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))

	if *ddbEndpoint == "" {
		// In memory: the run measures the product, not the disk under DynamoDB Local.
		p, err := standins.StartDynamoDB(ctx, standins.DynamoDBOptions{Timeout: 90 * time.Second})
		if err != nil {
			return false, err
		}
		defer func() { _ = p.Stop() }()
		*ddbEndpoint = p.Endpoint
	}
	if *sesEndpoint == "" {
		p, err := standins.StartSES(ctx, standins.SESOptions{Timeout: 90 * time.Second})
		if err != nil {
			return false, err
		}
		defer func() { _ = p.Stop() }()
		*sesEndpoint = p.Endpoint
	}
	st, err := devstack.Start(ctx, devstack.Options{
		DynamoDBEndpoint: *ddbEndpoint,
		SESEndpoint:      *sesEndpoint,
		Table:            fmt.Sprintf("load-%d", time.Now().Unix()),
		Config:           loadtest.ServiceConfig(*poll, *ttl),
		SweepEvery:       15 * time.Second, // as `make run` does with a demo clock
		Log:              log,
	})
	if err != nil {
		return false, err
	}
	defer st.Close()
	if !*ttlDeletion {
		if err := loadtest.DisableTTLDeletion(ctx, st.DynamoDB, st.Table); err != nil {
			return false, err
		}
	}

	fmt.Fprintf(os.Stderr, "loadgen: stack up at %s; running %d technicians, %d apps for %s …\n", st.URL, *technicians, *apps, *duration)
	rep, err := loadtest.Run(ctx, loadtest.Config{
		BaseURL: st.URL, SESURL: st.SESURL, DynamoDB: st.DynamoDB, Table: st.Table,
		Technicians: *technicians, Apps: *apps, Duration: *duration, PollInterval: *poll,
		SessionTTL: *ttl, TechniciansPerAccount: *perAccount, Seed: *seed,
	})
	if rep != nil {
		if werr := rep.WriteTable(os.Stdout); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		return false, err
	}
	return rep.Failed(), nil
}
