package standins

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// Region is the region local clients claim; the stand-ins ignore it (DynamoDB Local runs
// with -sharedDb), but the SDK needs one to sign requests.
const Region = "eu-central-1"

// AWSConfig is an SDK configuration for a local stand-in at endpoint: static credentials
// (DynamoDB Local accepts any, as long as the access key id is letters and digits;
// aws-ses-v2-local only wants a signed request) and a fixed region, so that nothing from
// the developer's own AWS profile is read or used.
func AWSConfig(endpoint string) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
		BaseEndpoint: aws.String(endpoint),
	}
}

// DynamoDBClient is a DynamoDB client for DynamoDB Local at endpoint, with any further
// client options (a meter, say).
func DynamoDBClient(endpoint string, opts ...func(*dynamodb.Options)) *dynamodb.Client {
	return dynamodb.NewFromConfig(AWSConfig(endpoint), opts...)
}

// SESClient is an SES v2 client for aws-ses-v2-local at endpoint.
func SESClient(endpoint string) *sesv2.Client {
	return sesv2.NewFromConfig(AWSConfig(endpoint))
}
