package setup

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// baseEnv is what every function needs; no call reaches AWS: FromAWS only builds clients.
func baseEnv() map[string]string {
	return map[string]string{
		envRegion: "eu-central-1", envAccessKeyID: "local", envSecretAccessKey: "local",
		deploy.EnvTableName: "t", deploy.EnvEventBusName: "b",
	}
}

func TestFromAWSLiveChannel(t *testing.T) {
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
		{name: "a local stand-in", endpoint: "http://127.0.0.1:4567", url: "ws://localhost:8080/live", wantLive: true},
		{name: "endpoint alone", endpoint: endpoint, wantErr: "go together"},
		{name: "URL alone", url: wss, wantErr: "go together"},
		{name: "URL given as the endpoint", endpoint: wss, url: wss, wantErr: deploy.EnvLiveEndpoint},
		{name: "endpoint given as the URL", endpoint: endpoint, url: endpoint, wantErr: deploy.EnvLiveURL},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the function's environment WHEN the service is wired THEN it pushes and
			// tells the URL exactly when both live variables are set and well-formed.
			env := baseEnv()
			env[deploy.EnvLiveEndpoint], env[deploy.EnvLiveURL] = c.endpoint, c.url
			a, err := FromAWS(func(k string) string { return env[k] })
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

func TestFromAWSRequires(t *testing.T) {
	cases := []struct {
		name    string
		drop    []string
		wantErr []string
	}{
		{"table and bus", []string{deploy.EnvTableName, deploy.EnvEventBusName}, []string{deploy.EnvTableName, deploy.EnvEventBusName}},
		{"region", []string{envRegion}, []string{envRegion}},
		{"credentials", []string{envSecretAccessKey}, []string{envAccessKeyID, envSecretAccessKey}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := baseEnv()
			for _, k := range c.drop {
				delete(env, k)
			}
			_, err := FromAWS(func(k string) string { return env[k] })
			for _, want := range c.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("error %v, want one naming %s", err, want)
				}
			}
		})
	}
}

func TestWithoutPartsTheServiceRefuses(t *testing.T) {
	// GIVEN a function with no parts (expiry, live) WHEN its service would seal, open,
	// MAC or mail THEN it fails loudly instead of calling what its role may not.
	env := baseEnv()
	a, err := FromAWS(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, sealErr := a.Service.Sealer.Seal(ctx, []byte("pw"), []byte("id"))
	_, openErr := a.Service.Sealer.Open(ctx, []byte("x"), []byte("id"))
	_, macErr := a.Service.Codes.MAC(ctx, "123456789")
	mailErr := a.Service.Mail.SendInvitation(ctx, support.InvitationMail{})
	for name, err := range map[string]error{"seal": sealErr, "open": openErr, "mac": macErr, "mail": mailErr} {
		if !errors.Is(err, errNotHere) {
			t.Errorf("%s: err = %v, want errNotHere", name, err)
		}
	}
	if a.Downloads != nil {
		t.Error("a function without s3app hands out the app")
	}
}
