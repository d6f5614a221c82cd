package setup

import (
	"context"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

func TestFromAWSLiveChannel(t *testing.T) {
	// No call reaches AWS: FromAWS only builds clients.
	t.Setenv("AWS_REGION", "eu-central-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	base := map[string]string{deploy.EnvTableName: "t", deploy.EnvEventBusName: "b", deploy.EnvPasswordKey: "k", deploy.EnvMACKey: "m"}
	const (
		endpoint = "https://abc123.execute-api.eu-central-1.amazonaws.com/live"
		wss      = "wss://abc123.execute-api.eu-central-1.amazonaws.com/live"
	)
	cases := []struct {
		name     string
		endpoint string
		url      string
		wantLive bool
		wantErr  string
	}{
		{name: "neither: no live channel"},
		{name: "both: pushes and the URL", endpoint: endpoint, url: wss, wantLive: true},
		{name: "the emulator test's fake", endpoint: "http://127.0.0.1:4567", url: "ws://localhost:8080/live", wantLive: true},
		{name: "endpoint alone", endpoint: endpoint, wantErr: "go together"},
		{name: "URL alone", url: wss, wantErr: "go together"},
		{name: "URL given as the endpoint", endpoint: wss, url: wss, wantErr: deploy.EnvLiveEndpoint},
		{name: "endpoint given as the URL", endpoint: endpoint, url: endpoint, wantErr: deploy.EnvLiveURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the function's environment WHEN the service is wired THEN it pushes and
			// tells the URL exactly when both live variables are set and well-formed.
			env := map[string]string{deploy.EnvLiveEndpoint: c.endpoint, deploy.EnvLiveURL: c.url}
			for k, v := range base {
				env[k] = v
			}
			a, err := FromAWS(context.Background(), func(k string) string { return env[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := a.Service.Live != nil; got != c.wantLive {
				t.Errorf("live pusher set: %v, want %v", got, c.wantLive)
			}
			if a.Service.Config.LiveURL != c.url {
				t.Errorf("LiveURL %q, want %q", a.Service.Config.LiveURL, c.url)
			}
		})
	}
}
