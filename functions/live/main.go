// Command live is the Lambda function behind the live channel's WebSocket API: the REQUEST
// authorizer of $connect, the $connect and $disconnect routes, and the client messages.
// It is a function of its own, not a route of pairing or invitation: its events are the
// WebSocket API's, not the HTTP API's; its role needs neither KMS nor SES; and the app's
// pairing path stays as lean as it is. Like expiry it adds no setup part, so it links no
// KMS, SES or S3 client. It only wires things up: the rules live in internal/support, the
// WebSocket glue in internal/liveapi.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/adhoc-support/adhoc-support/internal/liveapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

func main() {
	a, err := setup.FromAWS(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "live: configuration:", err)
		os.Exit(1)
	}
	lambda.Start(liveapi.New(a.Service, a.Log))
}
