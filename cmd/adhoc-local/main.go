// Command adhoc-local runs the whole product on this machine (`make run`): DynamoDB Local,
// aws-ses-v2-local, the in-process bus and scheduler, the TURN server of remote access
// (127.0.0.1:3478, TURN_PORT), and the local gateway in front of the same handlers the
// Lambda functions run, with the live channel on the same port. Data lives in .local/ and
// survives a restart; Ctrl-C stops every process it started.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/local/devstack"
	"github.com/adhoc-support/adhoc-support/internal/local/standins"
	"github.com/adhoc-support/adhoc-support/internal/local/turn"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "adhoc-local:", err)
		os.Exit(1)
	}
}

func envPort(name string, def int) (int, error) {
	v := os.Getenv(name)
	if v == "" {
		return def, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s=%q is not a port number", name, v)
	}
	return p, nil
}

func run() error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	port, err := envPort("PORT", 8080)
	if err != nil {
		return err
	}
	sesPort, err := envPort("SES_PORT", 8005)
	if err != nil {
		return err
	}
	ddbPort, err := envPort("DYNAMODB_PORT", 8000)
	if err != nil {
		return err
	}
	turnPort, err := envPort("TURN_PORT", turn.DefaultPort)
	if err != nil {
		return err
	}
	cfg, err := setup.Settings(os.Getenv)
	if err != nil {
		return err
	}
	cfg.PublicBaseURL = fmt.Sprintf("http://localhost:%d", port)
	if v := os.Getenv(deploy.EnvPublicBaseURL); v != "" {
		cfg.PublicBaseURL = v
	}
	root, err := standins.RepoRoot()
	if err != nil {
		return err
	}
	dataDir := filepath.Join(root, ".local")
	if v := os.Getenv("LOCAL_DATA_DIR"); v != "" {
		dataDir = v
	}
	sweep := 5 * time.Minute
	if cfg.SessionTTL < time.Hour || cfg.InviteTTL < time.Hour {
		// A demo clock: sweep often enough to be seen working.
		sweep = 15 * time.Second
	}

	// The console's CSP admits the live channel the service hands out in tickets.
	liveURL := cfg.LiveURL
	if liveURL == "" {
		liveURL = devstack.LiveURLOf(fmt.Sprintf("http://localhost:%d", port))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Println("Starting Ad-hoc Support locally (data in " + dataDir + ") …")
	st, err := devstack.Start(ctx, devstack.Options{
		DataDir: dataDir, Addr: fmt.Sprintf("127.0.0.1:%d", port),
		DynamoDBPort: ddbPort, SESPort: sesPort, TURNPort: turnPort,
		Config: cfg, SweepEvery: sweep, Log: log,
		Console: console.Handler(console.Local, console.Config{HiddenUsername: cfg.Username, SessionTTL: cfg.SessionTTL, LiveURL: liveURL}),
	})
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Printf(`
Ad-hoc Support is running locally.
  Console and API   %s   (local mode: dev sign-in)
  Live channel      %s   (WebSocket: the app and the console)
  Mail viewer       %s   (aws-ses-v2-local: every mail sent)
  DynamoDB Local    %s
  TURN              %s:%d   (UDP and TCP: remote access relays through it)
  Health            %s/healthz
  Session length    %s, invitation expiry %s
Press Ctrl-C to stop.
`, st.URL, st.LiveURL, st.SESURL, st.DynamoDBURL, st.TURN.Host, st.TURN.Port, st.URL, cfg.SessionTTL, cfg.InviteTTL)
	<-ctx.Done()
	fmt.Println("\nStopping …")
	return nil
}
