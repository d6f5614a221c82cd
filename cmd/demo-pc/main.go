// Command demo-pc (`make demo-pc LINK=… CODE=…`) runs the real Support Session app on a
// Windows PC made of Wine and a virtual screen (Xvfb, 1280×800) against the local stack, as
// the user of a Windows PC would run it: it downloads nothing (the exe is `make agent`'s
// development build, named as the join page names it), pairs with the security code, and
// then keeps running as the session's service until the session ends and the app has
// removed itself, or until Ctrl-C, which stops Wine and the screen.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/local/winepc"
	"github.com/adhoc-support/adhoc-support/internal/protocol"
)

func main() {
	link := flag.String("link", os.Getenv("LINK"), "the join link from the invitation mail")
	code := flag.String("code", os.Getenv("CODE"), "the security code the technician reads out")
	dir := flag.String("dir", envOr("DEMO_PC_DIR", ".local/demo-pc"), "where the PC's Wine prefix lives (kept between runs)")
	exe := flag.String("exe", "dist/agent-dev/windows-amd64/SupportSession.exe", "the app, as `make agent` builds it (a development version)")
	flag.Parse()
	if err := run(*link, *code, *dir, *exe); err != nil {
		fmt.Fprintln(os.Stderr, "demo-pc:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// server reads the API's base URL and the invite token from a join link.
func server(link string) (base, token string, err error) {
	u, err := url.Parse(strings.TrimSpace(link))
	if err != nil || u.Host == "" {
		return "", "", errors.New("LINK must be the join link from the mail, like http://localhost:8080/join/<token>")
	}
	token, ok := protocol.InviteTokenFromLink(link)
	if !ok {
		return "", "", errors.New("LINK has no invite token: copy the whole link from the mail")
	}
	return u.Scheme + "://" + u.Host, token, nil
}

func run(link, code, dir, exe string) error {
	if link == "" || code == "" {
		return errors.New("usage: make demo-pc LINK='<join link from the mail>' CODE=<security code>")
	}
	base, token, err := server(link)
	if err != nil {
		return err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	fmt.Println("Preparing the Windows PC (Wine prefix in " + dir + ") …")
	pc, err := winepc.Prepare(ctx, dir)
	if err != nil {
		return err
	}
	defer func() {
		fmt.Println("Stopping Wine and the virtual screen …")
		pc.Stop()
	}()
	if err := pc.StartDisplay(ctx, 1280, 800); err != nil {
		return err
	}
	fmt.Printf("Virtual screen %s (1280×800).\n", pc.Display)

	// The app reads its invite token from its own file name, as the join page names it.
	download := filepath.Join(dir, protocol.AppFileName(token))
	if err := copyFile(exe, download); err != nil {
		return fmt.Errorf("the app (run `make agent` first): %w", err)
	}
	fmt.Println("Running the Support Session app and typing the security code …")
	app := pc.Command(ctx, download)
	// A development build reads these; a release build ignores them.
	app.Env = append(app.Env, "ADHOC_SERVER_URL="+base, "ADHOC_TEST_SECURITY_CODE="+code)
	app.Stdout, app.Stderr = os.Stdout, os.Stderr
	if err := app.Run(); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("the app did not set the PC up (%w); its messages are above", err)
	}
	fmt.Println("The PC is paired; the session's service runs under Wine. Ctrl-C stops the PC.")
	seen := false
	for started := time.Now(); ; {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
		running := len(pc.Processes("SupportSession.exe", " service")) > 0
		switch {
		case running:
			seen = true
		case seen:
			fmt.Println("The session is over: the app has removed the account and itself.")
			return nil
		case time.Since(started) > 30*time.Second:
			return errors.New("the session's service did not start under Wine")
		}
	}
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
