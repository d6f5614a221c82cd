package lambdatest

import "strings"

// EndpointEnv is the AWS SDK's own variable that points one service's client elsewhere:
// AWS_ENDPOINT_URL_ and the service id (the SDK package's ServiceID, e.g.
// dynamodb.ServiceID) in capitals with spaces as underscores. aws-sdk-go-v2's
// config.LoadDefaultConfig reads it, and so does internal/setup's configuration of the
// functions, so the real bootstraps meet local stand-ins and FakeAWS without a variable
// of the product's own.
func EndpointEnv(serviceID string) string {
	return "AWS_ENDPOINT_URL_" + strings.ReplaceAll(strings.ToUpper(serviceID), " ", "_")
}
