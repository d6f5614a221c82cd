package setup

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/apigatewaymanagementapi"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/scheduler"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
)

// endpointsOf is the base endpoint each client the functions build resolves to with cfg
// ("" = the service's own).
func endpointsOf(cfg aws.Config) map[string]string {
	s := func(p *string) string { return aws.ToString(p) }
	return map[string]string{
		"dynamodb":    s(dynamodb.NewFromConfig(cfg).Options().BaseEndpoint),
		"eventbridge": s(eventbridge.NewFromConfig(cfg).Options().BaseEndpoint),
		"scheduler":   s(scheduler.NewFromConfig(cfg).Options().BaseEndpoint),
		"@conn":       s(apigatewaymanagementapi.NewFromConfig(cfg).Options().BaseEndpoint),
		"kms":         s(kms.NewFromConfig(cfg).Options().BaseEndpoint),
		"sesv2":       s(sesv2.NewFromConfig(cfg).Options().BaseEndpoint),
		"s3":          s(s3.NewFromConfig(cfg).Options().BaseEndpoint),
	}
}

// TestSDKConfigAsDefault: for the environments that matter, sdkConfig resolves the same
// region, credentials and endpoints as config.LoadDefaultConfig.
func TestSDKConfigAsDefault(t *testing.T) {
	cases := []struct {
		name string
		env  map[string]string
	}{
		{"Lambda's", map[string]string{envSessionToken: "token", "AWS_EXECUTION_ENV": "AWS_Lambda_provided.al2023", "AWS_LAMBDA_FUNCTION_NAME": "pairing"}},
		{"the default region only", map[string]string{envRegion: "", envDefaultRegion: "us-west-2"}},
		{"one service moved", map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}},
		{"the services the emulator test moves", map[string]string{
			"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000", "AWS_ENDPOINT_URL_SESV2": "http://127.0.0.1:8005",
			"AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_EVENTBRIDGE": "http://127.0.0.1:9000",
			"AWS_ENDPOINT_URL_SCHEDULER": "http://127.0.0.1:9000", "AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI": "http://127.0.0.1:9000",
		}},
		{"all services moved", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566"}},
		{"all, and one elsewhere", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:9000"}},
		{"moved, but ignored", map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:4566", "AWS_ENDPOINT_URL_KMS": "http://127.0.0.1:9000", envIgnoreEndpointURL: "true"}},
		{"moved, not ignored", map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000", envIgnoreEndpointURL: "FALSE"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the environment (the SDK reads the process's) WHEN both build a
			// configuration THEN the clients built from them agree.
			clean(t)
			env := map[string]string{envRegion: "eu-central-1", envAccessKeyID: "AKIDLOCAL", envSecretAccessKey: "secret"}
			for k, v := range c.env {
				env[k] = v
			}
			for k, v := range env {
				if v != "" {
					t.Setenv(k, v)
				} else {
					_ = os.Unsetenv(k)
				}
			}
			want, err := config.LoadDefaultConfig(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, err := sdkConfig(os.Getenv)
			if err != nil {
				t.Fatal(err)
			}
			if got.Region != want.Region {
				t.Errorf("region %q, LoadDefaultConfig %q", got.Region, want.Region)
			}
			gc, err1 := got.Credentials.Retrieve(context.Background())
			wc, err2 := want.Credentials.Retrieve(context.Background())
			if err1 != nil || err2 != nil || gc.AccessKeyID != wc.AccessKeyID || gc.SecretAccessKey != wc.SecretAccessKey || gc.SessionToken != wc.SessionToken {
				t.Errorf("credentials differ from LoadDefaultConfig's (%v, %v)", err1, err2)
			}
			if got.DefaultsMode != want.DefaultsMode || got.RuntimeEnvironment != want.RuntimeEnvironment || (got.HTTPClient == nil) != (want.HTTPClient == nil) {
				t.Errorf("defaults mode %q, runtime %+v, HTTP client %v; LoadDefaultConfig %q, %+v, %v",
					got.DefaultsMode, got.RuntimeEnvironment, got.HTTPClient, want.DefaultsMode, want.RuntimeEnvironment, want.HTTPClient)
			}
			ge, we := endpointsOf(got), endpointsOf(want)
			for svc, w := range we {
				if ge[svc] != w {
					t.Errorf("%s: endpoint %q, LoadDefaultConfig %q", svc, ge[svc], w)
				}
			}
		})
	}
}

// clean keeps this machine's AWS settings out of a test.
func clean(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			_ = os.Unsetenv(k)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
}

func TestSDKConfigRefuses(t *testing.T) {
	base := map[string]string{envRegion: "eu-central-1", envAccessKeyID: "a", envSecretAccessKey: "s"}
	cases := []struct {
		name, key, value, want string
	}{
		{"no region", envRegion, "", envRegion},
		{"no key id", envAccessKeyID, "", envAccessKeyID},
		{"no secret", envSecretAccessKey, "", envSecretAccessKey},
		{"a malformed ignore flag", envIgnoreEndpointURL, "yes", envIgnoreEndpointURL},
	}
	for _, c := range cases {
		env := map[string]string{}
		for k, v := range base {
			env[k] = v
		}
		env[c.key] = c.value
		if _, err := sdkConfig(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one naming %s", c.name, err, c.want)
		}
	}
}
