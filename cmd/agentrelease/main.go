// Command agentrelease writes and checks the Windows app's release manifest
// (internal/release). `make agent` runs it:
//
//	agentrelease write -dir dist/agent -version 1.2.3 -server-url https://… -signing-cert cert.pem [-max-session-hours 24] [-timestamp-url URL]
//	agentrelease check -dir dist/agent -server-url https://… [-ca root.pem] [-tsa-ca root.pem] [-session-hours 24]
//
// check does what the CDK app does before it uploads the folder.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/adhoc-support/adhoc-support/internal/release"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "agentrelease:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("usage: agentrelease write|check -dir DIR …")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	dir := fs.String("dir", "", "the build folder")
	switch args[0] {
	case "write":
		version := fs.String("version", "", "AGENT_VERSION")
		serverURL := fs.String("server-url", "", "AGENT_SERVER_URL")
		maxHours := fs.Int("max-session-hours", release.DefaultMaxSessionHours, "AGENT_MAX_SESSION_HOURS")
		cert := fs.String("signing-cert", "", "the signing certificate (PEM)")
		tsa := fs.String("timestamp-url", "", "SIGNING_TSA, when the signatures are timestamped")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" || *version == "" || *serverURL == "" || *cert == "" {
			return errors.New("write needs -dir, -version, -server-url and -signing-cert")
		}
		pem, err := os.ReadFile(*cert)
		if err != nil {
			return err
		}
		signer, err := release.SignerOf(pem)
		if err != nil {
			return fmt.Errorf("%s: %w", *cert, err)
		}
		return release.Write(*dir, release.Manifest{
			Version: *version, ServerURL: *serverURL, MaxSessionHours: *maxHours, Signer: signer, TimestampURL: *tsa,
		})
	case "check":
		serverURL := fs.String("server-url", "", "the deployment's API URL")
		ca := fs.String("ca", "", "the roots the signatures must chain to (PEM); default: the system's")
		tsaCA := fs.String("tsa-ca", "", "the roots a timestamp must chain to (PEM); default: osslsigncode's")
		hours := fs.Int("session-hours", 0, "the deployment's session length")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		if *dir == "" {
			return errors.New("check needs -dir")
		}
		m, err := release.Check(*dir, release.Expect{ServerURL: *serverURL, CAFile: *ca, TSACAFile: *tsaCA, SessionHours: *hours})
		if err != nil {
			return err
		}
		fmt.Printf("  %s: release %s for %s, %d files, signed by %s\n", *dir, m.Version, m.ServerURL, len(m.Files), m.Signer.Subject)
		return nil
	}
	return fmt.Errorf("unknown command %q: write or check", args[0])
}
