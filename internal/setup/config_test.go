package setup

import (
	"strings"
	"testing"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
)

func TestSettings(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := Settings(env())
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionTTL != 24*time.Hour || c.InviteTTL != 24*time.Hour || c.ActiveInterval != 30*time.Second ||
		c.PendingInterval != 5*time.Second || c.LiveInterval != 15*time.Minute || c.Limits.Slots != 5 || c.Limits.AdhocCap != 5 || c.Username != "AdHocRemoteUser" {
		t.Fatalf("defaults: %+v", c)
	}
	c, err = Settings(env(deploy.EnvSessionTTL, "60s", deploy.EnvInviteTTL, "5m", deploy.EnvPollActive, "10s", deploy.EnvDefaultSlots, "12",
		deploy.EnvDefaultCap, "3", deploy.EnvHiddenUsername, "SupportAdmin", deploy.EnvPublicBaseURL, "https://support.example.com", deploy.EnvPollLive, "10m"))
	if err != nil {
		t.Fatal(err)
	}
	if c.SessionTTL != time.Minute || c.InviteTTL != 5*time.Minute || c.ActiveInterval != 10*time.Second ||
		c.Limits.Slots != 12 || c.Limits.AdhocCap != 3 || c.Username != "SupportAdmin" || c.PublicBaseURL != "https://support.example.com" || c.LiveInterval != 10*time.Minute {
		t.Fatalf("overrides: %+v", c)
	}
	for _, bad := range [][]string{
		{deploy.EnvSessionTTL, "24"}, {deploy.EnvSessionTTL, "1s"}, {deploy.EnvInviteTTL, "-5m"}, {deploy.EnvPollActive, "0s"}, {deploy.EnvPollLive, "15"},
		{deploy.EnvDefaultSlots, "five"}, {deploy.EnvDefaultCap, "-1"}, {deploy.EnvHiddenUsername, strings.Repeat("x", 21)},
	} {
		if _, err := Settings(env(bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%s=%q: error %v, want one naming the variable", bad[0], bad[1], err)
		}
	}
}
