package lambdatest

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

func TestEndpointEnv(t *testing.T) {
	// The names the SDK's configuration documents for the services the functions call.
	for id, want := range map[string]string{
		dynamodb.ServiceID:                "AWS_ENDPOINT_URL_DYNAMODB",
		sesv2.ServiceID:                   "AWS_ENDPOINT_URL_SESV2",
		eventbridge.ServiceID:             "AWS_ENDPOINT_URL_EVENTBRIDGE",
		scheduler.ServiceID:               "AWS_ENDPOINT_URL_SCHEDULER",
		kms.ServiceID:                     "AWS_ENDPOINT_URL_KMS",
		apigatewaymanagementapi.ServiceID: "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI",
		"DynamoDB Streams":                "AWS_ENDPOINT_URL_DYNAMODB_STREAMS",
	} {
		if got := EndpointEnv(id); got != want {
			t.Errorf("EndpointEnv(%q) = %q, want %q", id, got, want)
		}
	}
}
