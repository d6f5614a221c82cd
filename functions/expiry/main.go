// Command expiry is the Lambda function that ends sessions on time: one-time EventBridge
// Scheduler schedules call it for one session, and a rule every 5 minutes calls it to
// sweep every overdue session. It only wires things up, with no part beyond what every
// function has (internal/setup): it neither seals nor mails, so it links no KMS, SES or S3
// client.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

func main() {
	a, err := setup.FromAWS(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "expiry: configuration:", err)
		os.Exit(1)
	}
	lambda.Start(expiryapi.Handler(a.Service, a.Log))
}
