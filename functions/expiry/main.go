// Command expiry is the Lambda function that ends sessions on time: one-time EventBridge
// Scheduler schedules call it for one session, and a rule every 5 minutes calls it to
// sweep every overdue session. It only wires things up.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/adhoc-support/adhoc-support/internal/expiryapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

func main() {
	a, err := setup.FromAWS(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "expiry: configuration:", err)
		os.Exit(1)
	}
	lambda.Start(expiryapi.Handler(a.Service, a.Log))
}
