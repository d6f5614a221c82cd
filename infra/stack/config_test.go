package stack_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/adhoc-support/adhoc-support/infra/stack"
	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/measure/bench"
)

func TestConfigFrom(t *testing.T) {
	withDefaults := func(change func(*stack.Config)) stack.Config {
		c := stack.DefaultConfig()
		change(&c)
		return c
	}
	cases := []struct {
		name    string
		context map[string]any
		want    stack.Config
		wantErr string
	}{
		{name: "nothing set gives the product defaults", want: stack.DefaultConfig()},
		{name: "cdk.json numbers and booleans", context: map[string]any{
			"mailFrom": "help@corp.example", "sessionHours": 12.0, "inviteHours": 48.0, "defaultSlots": 10.0, "adhocCap": 3.0, "createMailIdentity": false,
		}, want: withDefaults(func(c *stack.Config) {
			c.MailFrom, c.SessionHours, c.InviteHours, c.DefaultSlots, c.AdhocCap, c.CreateMailIdentity = "help@corp.example", 12, 48, 10, 3, false
		})},
		{name: "-c strings", context: map[string]any{
			"sessionHours": "8", "createMailIdentity": "false", "consoleCallbackUrls": "https://a.example/cb, http://localhost:8080/",
			"consoleOrigin": "https://console.corp.example", "authDomainPrefix": "corp-support", "alarmEmail": "ops@corp.example",
		}, want: withDefaults(func(c *stack.Config) {
			c.SessionHours, c.CreateMailIdentity = 8, false
			c.ConsoleCallbackURLs = []string{"https://a.example/cb", "http://localhost:8080/"}
			c.ConsoleOrigin, c.AuthDomainPrefix, c.AlarmEmail = "https://console.corp.example", "corp-support", "ops@corp.example"
		})},
		{name: "callback list from cdk.json", context: map[string]any{"consoleCallbackUrls": []any{"https://a.example/"}},
			want: withDefaults(func(c *stack.Config) { c.ConsoleCallbackURLs = []string{"https://a.example/"} })},
		{name: "throttle raised for a larger fleet", context: map[string]any{"apiRateLimit": 2000.0, "apiBurstLimit": "4000"},
			want: withDefaults(func(c *stack.Config) { c.APIRateLimit, c.APIBurstLimit = 2000, 4000 })},
		{name: "no throttle at all", context: map[string]any{"apiRateLimit": 0.0}, wantErr: "want 1 to"},
		{name: "live channel throttle raised", context: map[string]any{"liveRateLimit": 1000.0, "liveBurstLimit": "2000"},
			want: withDefaults(func(c *stack.Config) { c.LiveRateLimit, c.LiveBurstLimit = 1000, 2000 })},
		{name: "live channel unthrottled", context: map[string]any{"liveBurstLimit": "0"}, wantErr: "want 1 to"},
		{name: "public routes throttled harder", context: map[string]any{"publicRateLimit": 2.0, "publicBurstLimit": "5"},
			want: withDefaults(func(c *stack.Config) { c.PublicRateLimit, c.PublicBurstLimit = 2, 5 })},
		{name: "public routes above the stage", context: map[string]any{"publicRateLimit": 500.0}, wantErr: "cannot exceed the stage's"},
		{name: "the edge switched on", context: map[string]any{"edgeRateLimit": "300"},
			want: withDefaults(func(c *stack.Config) { c.EdgeRateLimit = 300 })},
		{name: "an edge limit WAF cannot count", context: map[string]any{"edgeRateLimit": 5.0}, wantErr: "at least 10"},
		{name: "slower polls and another account name", context: map[string]any{"pollIntervalSeconds": 60.0, "hiddenUsername": "CorpSupport"},
			want: withDefaults(func(c *stack.Config) { c.PollSeconds, c.HiddenUsername = 60, "CorpSupport" })},
		{name: "polling every second", context: map[string]any{"pollIntervalSeconds": "1"}, wantErr: "want 5 to 300"},
		{name: "account name with a slash", context: map[string]any{"hiddenUsername": "corp/support"}, wantErr: "not a Windows account name"},
		{name: "account name too long", context: map[string]any{"hiddenUsername": "ThisNameIsFarTooLongForWindows"}, wantErr: "not a Windows account name"},
		{name: "fractional hours", context: map[string]any{"sessionHours": 1.5}, wantErr: "whole number"},
		{name: "zero hours", context: map[string]any{"inviteHours": "0"}, wantErr: "want 1 to 720"},
		{name: "a month and a day", context: map[string]any{"sessionHours": 745.0}, wantErr: "want 1 to 720"},
		{name: "negative slots", context: map[string]any{"defaultSlots": -1.0}, wantErr: "want 0 to"},
		{name: "word for a number", context: map[string]any{"adhocCap": "five"}, wantErr: "whole number"},
		{name: "display name in the sender", context: map[string]any{"mailFrom": "Support <support@corp.example>"}, wantErr: "bare e-mail"},
		{name: "not an address", context: map[string]any{"mailFrom": "support"}, wantErr: "bare e-mail"},
		{name: "plain http callback", context: map[string]any{"consoleCallbackUrls": "http://console.corp.example/"}, wantErr: "https"},
		{name: "origin with a path", context: map[string]any{"consoleOrigin": "https://corp.example/console"}, wantErr: "https origin"},
		{name: "reserved word in the domain prefix", context: map[string]any{"authDomainPrefix": "my-cognito"}, wantErr: "cognito"},
		{name: "upper case domain prefix", context: map[string]any{"authDomainPrefix": "Corp"}, wantErr: "lower-case"},
		{name: "the default bus", context: map[string]any{"eventBusName": "default"}, wantErr: "custom bus"},
		{name: "boolean typo", context: map[string]any{"createMailIdentity": "yes please"}, wantErr: "true or false"},
		{name: "number where a string belongs", context: map[string]any{"mailFrom": 5.0}, wantErr: "want a string"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN the context values WHEN the config is read THEN it is the defaults
			// overlaid with them, or an error naming the bad value.
			got, err := stack.ConfigFrom(func(k string) any { return c.context[k] })
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("config\n got %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestCdkJSONMatchesDefaults(t *testing.T) {
	// GIVEN cdk.json WHEN its context is read as the config THEN it states the product
	// defaults (so the file documents them truthfully) and runs the Go app.
	ctx, err := cdkContext()
	if err != nil {
		t.Fatal(err)
	}
	got, err := stack.ConfigFrom(func(k string) any { return ctx[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, stack.DefaultConfig()) {
		t.Errorf("cdk.json config %+v, want the defaults %+v", got, stack.DefaultConfig())
	}
	raw, err := os.ReadFile(filepath.Join("..", "..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	// The CLI builds the bootstraps first, so `npx cdk synth` works on a fresh clone.
	if !strings.Contains(string(raw), `"app": "make -s build >&2 && go run ./infra"`) {
		t.Error(`cdk.json does not run "make -s build >&2 && go run ./infra"`)
	}
}

// TestScaleModelKnowsTheStageThrottle: the scale model (internal/measure/bench) checks a million
// sessions against this stack's default stage throttle; it must be the stack's value.
func TestScaleModelKnowsTheStageThrottle(t *testing.T) {
	for _, q := range bench.Quotas {
		if q.Key == bench.QuotaStageRate {
			if q.Default != float64(stack.DefaultConfig().APIRateLimit) {
				t.Errorf("bench quota %s = %v, the stack's default apiRateLimit is %v", q.Key, q.Default, stack.DefaultConfig().APIRateLimit)
			}
			return
		}
	}
	t.Errorf("bench.Quotas has no %s", bench.QuotaStageRate)
}

func TestCheckAssets(t *testing.T) {
	write := func(dir string, names []string, content string) {
		for _, n := range names {
			if err := os.MkdirAll(filepath.Join(dir, n), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, n, "bootstrap"), []byte(content), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	cases := []struct {
		name    string
		prepare func(dir string)
		wantErr string
	}{
		{"all built", func(dir string) { write(dir, deploy.Functions, "binary") }, ""},
		{"nothing built", func(string) {}, "make build"},
		{"expiry missing", func(dir string) { write(dir, deploy.Functions[:2], "binary") }, "function expiry"},
		{"empty bootstrap", func(dir string) { write(dir, deploy.Functions, "") }, "not a built binary"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// GIVEN an asset folder WHEN checked THEN a missing or empty bootstrap is named.
			dir := t.TempDir()
			c.prepare(dir)
			err := stack.CheckAssets(dir)
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("error %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Errorf("error %v, want one containing %q", err, c.wantErr)
			}
			if c.wantErr == "nothing built" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("error %v does not wrap ErrNotExist", err)
			}
		})
	}
}
