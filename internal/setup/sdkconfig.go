package setup

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// The SDK's own environment variables that sdkConfig reads, as config.LoadDefaultConfig
// names them.
const (
	envRegion            = "AWS_REGION"
	envDefaultRegion     = "AWS_DEFAULT_REGION"
	envAccessKeyID       = "AWS_ACCESS_KEY_ID"
	envSecretAccessKey   = "AWS_SECRET_ACCESS_KEY"
	envSessionToken      = "AWS_SESSION_TOKEN"
	envEndpointURL       = "AWS_ENDPOINT_URL" // and AWS_ENDPOINT_URL_<SERVICE ID>
	envIgnoreEndpointURL = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"
)

// sdkConfig is a Lambda function's SDK configuration from the environment Lambda gives
// it: what config.LoadDefaultConfig finds there, without the rest of the default chain.
// Lambda hands the execution role's credentials in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which LoadDefaultConfig too reads first, as
// static credentials, and the region in AWS_REGION. The rest of the chain (shared config
// files, SSO, web identity, credential processes, container and instance metadata) never
// applies in Lambda, but the config package links the STS, SSO, SSO OIDC and Sign-In
// clients for it, and runs their package initialization in every start: about 1.7 MB and
// a millisecond of init per bootstrap (docs/cost.md, section 5).
//
// Endpoints are the SDK's own, with LoadDefaultConfig's precedence (TestSDKConfigAsDefault
// compares the two): AWS_ENDPOINT_URL_<SERVICE ID> for one service, AWS_ENDPOINT_URL for
// all, neither when AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true. The SDK's other settings
// (AWS_RETRY_MODE, AWS_MAX_ATTEMPTS, AWS_USE_FIPS_ENDPOINT, …) are not read: the stack sets
// none of them.
func sdkConfig(getenv func(string) string) (aws.Config, error) {
	region := getenv(envRegion)
	if region == "" {
		region = getenv(envDefaultRegion)
	}
	if region == "" {
		return aws.Config{}, fmt.Errorf("aws config: no region in %s (Lambda sets it)", envRegion)
	}
	id, secret := getenv(envAccessKeyID), getenv(envSecretAccessKey)
	if id == "" || secret == "" {
		return aws.Config{}, fmt.Errorf("aws config: no credentials in %s and %s (Lambda sets them)", envAccessKeyID, envSecretAccessKey)
	}
	endpoints, err := newEnvEndpoints(getenv)
	if err != nil {
		return aws.Config{}, err
	}
	cfg := aws.Config{
		Region:        region,
		Credentials:   aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(id, secret, getenv(envSessionToken))),
		DefaultsMode:  aws.DefaultsModeLegacy, // LoadDefaultConfig's default, too
		ConfigSources: []any{endpoints},
	}
	if v := getenv(envEndpointURL); v != "" && !endpoints.ignore {
		cfg.BaseEndpoint = aws.String(v)
	}
	return cfg, nil
}

// envEndpoints answers the service clients' question for a configured endpoint (the
// SDK's internal configsources interfaces, which its EnvConfig implements too).
type envEndpoints struct {
	getenv func(string) string
	ignore bool
}

func newEnvEndpoints(getenv func(string) string) (envEndpoints, error) {
	e := envEndpoints{getenv: getenv}
	switch v := getenv(envIgnoreEndpointURL); {
	case v == "" || strings.EqualFold(v, "false"):
	case strings.EqualFold(v, "true"):
		e.ignore = true
	default:
		return e, fmt.Errorf("aws config: %s=%q: want true or false", envIgnoreEndpointURL, v)
	}
	return e, nil
}

// GetServiceBaseEndpoint returns AWS_ENDPOINT_URL_<SERVICE ID>: the id in capitals, with
// spaces as underscores ("DynamoDB Streams" → DYNAMODB_STREAMS).
func (e envEndpoints) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	if e.ignore {
		return "", false, nil
	}
	v := e.getenv(envEndpointURL + "_" + strings.ReplaceAll(strings.ToUpper(sdkID), " ", "_"))
	return v, v != "", nil
}

// GetIgnoreConfiguredEndpoints reports AWS_IGNORE_CONFIGURED_ENDPOINT_URLS.
func (e envEndpoints) GetIgnoreConfiguredEndpoints(context.Context) (bool, bool, error) {
	return e.ignore, e.ignore, nil
}
