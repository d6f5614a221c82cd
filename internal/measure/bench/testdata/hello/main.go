// Command hello is the smallest aws-lambda-go function answering an API Gateway HTTP API
// event: the yardstick for the product's bootstraps' size and init time (bench.Bootstraps).
// It lives under testdata so that `go build ./...` and `go vet ./...` leave it alone.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "hello"}, nil
	})
}
