// Command agent is the Support Session app the end user downloads from the join page as
// SupportSession_<inviteToken>.exe. Run by a person it pairs the PC and sets up the
// session; run by the service manager ("service") it watches the session and cleans up;
// run with "end" (Settings → Apps → Uninstall) it ends the session and removes itself;
// run with "helper" (by the service, in the console's session) it is remote access's
// reach into the user's desktop.
//
// Environment variables. A release build reads ADHOC_LANG only: anything else that
// changes where the elevated app connects or what it is told would be a lever for a
// program running as the user. A development build (version "…-dev", the default of
// `make agent`) also reads the others, for the tests and the local stack:
//
//	ADHOC_LANG                "en" or "de" instead of the Windows display language
//	ADHOC_SERVER_URL          the API's base URL (default: set at build time)
//	ADHOC_INVITE_TOKEN        the invite token, when the file name lost it
//	ADHOC_TEST_SECURITY_CODE  TEST ONLY: the security code, typed by nobody; the app then
//	                          runs without any prompt and exits once set up
//
// The test hooks (ADHOC_TEST_*) are not only ignored by a release build but not compiled
// into it: they exist only with the build tag adhocdev (devhooks_windows.go), which
// `make agent` sets for a -dev version only, and the Wine test's own build sets.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/windows/svc"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/desktop"
	"github.com/adhoc-support/adhoc-support/agent/remote"
	"github.com/adhoc-support/adhoc-support/agent/winos"
)

// Set with -ldflags "-X main.version=… -X main.serverURL=… -X main.signer=…
// -X main.maxSessionHours=…" (`make agent`). signer is the SHA-256 of the signing
// certificate, which a release build checks its own signature against before it installs
// itself; maxSessionHours caps the session on this PC whatever the server says.
var (
	version         = "dev"
	serverURL       = "http://localhost:8080"
	signer          = ""
	maxSessionHours = "24"
)

// development reports whether this is a development build (see the package comment).
func development() bool { return version == "dev" || strings.HasSuffix(version, "-dev") }

// devEnv reads a development build's environment variable; a release build ignores it.
func devEnv(name string) (string, bool) {
	if !development() {
		return "", false
	}
	return os.LookupEnv(name)
}

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case winos.ServiceArg:
			os.Exit(runService())
		case desktop.HelperArg:
			// The service starts this in the console's session for the screen, the
			// input, the clipboard and the notice.
			os.Exit(winos.RunHelper())
		case winos.ShimArg:
			// The pseudo console of a remote terminal runs the shell through this.
			if len(os.Args) != 3 {
				os.Exit(2)
			}
			os.Exit(winos.RunShim(os.Args[2]))
		}
		if run, ok := remoteDevHook(os.Args[1]); ok {
			os.Exit(run())
		}
		if run, ok := verifySignerDevHook(os.Args[1]); ok {
			os.Exit(run())
		}
	}
	os.Exit(runInteractive())
}

func runInteractive() int {
	osys := winos.New(false, version)
	defer osys.Close()
	lang := winos.UILanguage()
	switch strings.ToLower(os.Getenv("ADHOC_LANG")) {
	case "de":
		lang = app.German
	case "en":
		lang = app.English
	}
	ui, testMode := testUI()
	if !testMode {
		ui = newConsoleUI()
	}
	url := serverURL
	if u, _ := devEnv("ADHOC_SERVER_URL"); u != "" {
		url = u
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, "own path:", err)
		return 1
	}
	a := app.New(app.Config{
		ServerURL:   url,
		Version:     version,
		HTTPClient:  winos.HTTPClient(""),
		Proxy:       winos.UserProxy(url),
		OS:          osys,
		UI:          ui,
		Store:       app.FileStore{Path: winos.StatePath()},
		Lang:        lang,
		ExePath:     exe,
		Development: development(),
		Signer:      signer,
		MaxSession:  maxSession(),
	})
	if !winos.IsAdmin() {
		a.NeedsAdmin()
		if !testMode {
			a.Pause()
		}
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if len(os.Args) > 1 && strings.EqualFold(os.Args[1], "end") {
		quiet := testMode || (len(os.Args) > 2 && strings.EqualFold(os.Args[2], "/quiet"))
		err = a.EndByUser(ctx, !quiet)
		if !quiet {
			a.Pause()
		}
	} else {
		// Interactive, Start keeps the window open until the person closes it.
		err = a.Start(ctx, app.StartOptions{InviteToken: inviteTokenFromEnv(), Interactive: !testMode})
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, app.ErrNoAnswer):
		return 3
	}
	osys.Log(app.LogError, "Support Session app: "+err.Error())
	return 2
}

func runService() int {
	osys := winos.New(true, version)
	defer osys.Close()
	store := app.FileStore{Path: winos.StatePath()}
	proxy := ""
	if st, err := store.Load(); err == nil && st != nil {
		proxy = st.Proxy
	}
	cfg := app.Config{
		Version:    version,
		HTTPClient: winos.HTTPClient(proxy),
		OS:         osys,
		UI:         logUI{osys},
		Store:      store,
		// The live URL comes from the server; only a development build may take a plain
		// ws:// one (the local stack's).
		Development: development(),
	}
	var host *desktop.Host
	if r, err := winos.NewRemote(func(msg string) { osys.Log(app.LogWarning, msg) }); err == nil {
		cfg.Remote = r
		host = desktop.NewHost(desktop.HostConfig{
			Launcher: &winos.HelperLauncher{Exe: r.Exe, Log: func(msg string) { osys.Log(app.LogInfo, msg) }},
			Log: func(level remote.Level, msg string) {
				kind := app.LogInfo
				if level == remote.Warning {
					kind = app.LogWarning
				}
				osys.Log(kind, msg)
			},
		})
		cfg.Desktop = host
	} else {
		osys.Log(app.LogWarning, "Remote access is not available: "+err.Error())
	}
	a := app.New(cfg)
	err := svc.Run(winos.ServiceName, &service{a: a, osys: osys, host: host})
	if host != nil {
		host.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "The service argument is for the Windows service manager only:", err)
		return 2
	}
	return 0
}

// service runs app.Serve under the service manager.
type service struct {
	a    *app.App
	osys *winos.OS
	host *desktop.Host // the remote-access helper's; nil without remote access
}

func (s *service) Execute(_ []string, requests <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.a.Serve(ctx) }()
	// Session changes (sign-in, sign-out, fast user switching, a remote session taking
	// the console) move the remote-access helper to the console's session.
	accepts := svc.AcceptStop | svc.AcceptShutdown | svc.AcceptSessionChange
	status <- svc.Status{State: svc.Running, Accepts: accepts}
	for {
		select {
		case err := <-done:
			return s.finish(err)
		case r := <-requests:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.SessionChange:
				if s.host != nil {
					go s.host.SessionChanged()
				}
			case svc.Stop, svc.Shutdown:
				// A clean-up in progress runs to its end; the hint keeps the service
				// manager patient meanwhile.
				status <- svc.Status{State: svc.StopPending, WaitHint: 120_000}
				cancel()
				err := <-done
				if errors.Is(err, context.Canceled) {
					err = nil
				}
				return s.finish(err)
			}
		}
	}
}

func (s *service) finish(err error) (bool, uint32) {
	switch {
	case err == nil:
		return false, 0
	case errors.Is(err, app.ErrNoSession):
		// A service without a session has nothing to do: tidy up what is left of it.
		s.osys.Log(app.LogWarning, "No support session on this PC; removing the service.")
		s.osys.RemoveUninstall()
		s.osys.RemoveService()
		s.osys.RemoveProgram(nil)
		return false, 0
	}
	s.osys.Log(app.LogError, "Support Session service failed: "+err.Error())
	// A non-zero exit code makes the service manager restart the service (recovery
	// actions), which resumes the clean-up.
	return true, 1
}

// maxSession is maxSessionHours as a duration; a build with a malformed value gets the
// product's 24 hours rather than no cap.
func maxSession() time.Duration {
	h, err := strconv.Atoi(maxSessionHours)
	if err != nil || h <= 0 {
		return app.DefaultMaxSession
	}
	return time.Duration(h) * time.Hour
}

func inviteTokenFromEnv() string {
	t, _ := devEnv("ADHOC_INVITE_TOKEN")
	return t
}
