// Command pairing is the Lambda function behind the Support Session app's routes and the
// join page. It only wires things up: the rules live in internal/support, the HTTP glue
// in internal/httpapi. It opens the password, seals the agent token and MACs the code
// (KMS) and hands out the app (S3); it sends no mail.
package main

import (
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/adhoc-support/adhoc-support/internal/httpapi"
	"github.com/adhoc-support/adhoc-support/internal/setup"
	"github.com/adhoc-support/adhoc-support/internal/setup/kmskeys"
	"github.com/adhoc-support/adhoc-support/internal/setup/s3app"
)

func main() {
	a, err := setup.FromAWS(os.Getenv, kmskeys.Part, s3app.Part)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pairing: configuration:", err)
		os.Exit(1)
	}
	lambda.Start(httpapi.Pairing(a.Service, a.Downloads, a.Log))
}
