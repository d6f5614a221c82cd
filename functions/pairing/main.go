// Command pairing is the Lambda function behind the Support Session app's routes and the
// join page. It only wires things up: the rules live in internal/support, the HTTP glue
// in internal/httpapi.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

func main() {
	a, err := setup.FromAWS(context.Background(), os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pairing: configuration:", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Pairing(a.Service, a.Downloads, a.Log))
}
