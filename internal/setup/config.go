// Package setup builds the service from its environment: Settings reads the variables
// every runtime shares, FromAWS wires a Lambda function to DynamoDB, EventBridge,
// Scheduler and @connections, and the parts in the packages below add what only some
// functions call: KMS (kmskeys), SES (sesmail), S3 (s3app). Local mode
// (internal/local/devstack) wires the same service to the local stand-ins.
package setup

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/deploy"
	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Settings reads the product settings from the environment on top of the defaults. A value
// that is present but malformed is an error, so a typo never silently becomes a default.
func Settings(getenv func(string) string) (support.Config, error) {
	if getenv == nil {
		getenv = os.Getenv
	}
	c := support.Defaults()
	durations := []struct {
		name string
		into *time.Duration
		min  time.Duration
	}{
		{deploy.EnvSessionTTL, &c.SessionTTL, 10 * time.Second},
		{deploy.EnvInviteTTL, &c.InviteTTL, 10 * time.Second},
		{deploy.EnvPollPending, &c.PendingInterval, time.Second},
		{deploy.EnvPollActive, &c.ActiveInterval, time.Second},
		{deploy.EnvPollLive, &c.LiveInterval, time.Second},
		{deploy.EnvLookupGrace, &c.LookupGrace, time.Minute},
	}
	for _, d := range durations {
		v := getenv(d.name)
		if v == "" {
			continue
		}
		parsed, err := time.ParseDuration(v)
		if err != nil || parsed < d.min {
			return c, fmt.Errorf("%s=%q: want a duration of at least %s, like 24h or 90s", d.name, v, d.min)
		}
		*d.into = parsed
	}
	ints := []struct {
		name string
		into *int
	}{{deploy.EnvDefaultSlots, &c.Limits.Slots}, {deploy.EnvDefaultCap, &c.Limits.AdhocCap}}
	for _, n := range ints {
		v := getenv(n.name)
		if v == "" {
			continue
		}
		parsed, err := strconv.Atoi(v)
		if err != nil || parsed < 0 {
			return c, fmt.Errorf("%s=%q: want a whole number ≥ 0", n.name, v)
		}
		*n.into = parsed
	}
	if v := getenv(deploy.EnvHiddenUsername); v != "" {
		if !session.ValidUsername(v) {
			return c, fmt.Errorf("%s=%q: not a Windows account name (1 to 20 characters, none of \"/\\[]:;|=,+*?<>@)", deploy.EnvHiddenUsername, v)
		}
		c.Username = v
	}
	if v := getenv(deploy.EnvPublicBaseURL); v != "" {
		c.PublicBaseURL = v
	}
	return c, nil
}
