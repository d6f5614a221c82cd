// Command invitation is the Lambda function behind the technician routes and the console.
// It only wires things up: the rules live in internal/support, the HTTP glue in
// internal/httpapi. It seals the password and MACs the code (KMS), sends the mail (SES)
// and hands out the TURN servers of remote connections (Kinesis Video Streams); the other
// clients are every function's (internal/setup).
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
	"github.com/adhoc-support/adhoc-support/internal/setup/kmskeys"
	"github.com/adhoc-support/adhoc-support/internal/setup/kvsice"
	"github.com/adhoc-support/adhoc-support/internal/setup/sesmail"
)

func main() {
	a, err := setup.FromAWS(os.Getenv, kmskeys.Part, sesmail.Part, kvsice.Part)
	if err != nil {
		fmt.Fprintln(os.Stderr, "invitation: configuration:", err)
		os.Exit(1)
	}
	ccfg := console.ConfigFromEnv(os.Getenv)
	ccfg.SessionTTL = a.Service.Config.SessionTTL
	if err := ccfg.Validate(console.AWS); err != nil {
		fmt.Fprintln(os.Stderr, "invitation: configuration:", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Invitation(a.Service, console.Handler(console.AWS, ccfg), a.Log))
}
