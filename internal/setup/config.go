// Package setup builds the service from its environment: Settings reads the variables
// every runtime shares, AWS wires the Lambda functions to DynamoDB, SES, EventBridge,
// Scheduler and KMS. Local mode (internal/local/devstack) wires the same service to the local
// stand-ins.
package setup

import (
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/adhoc-support/adhoc-support/internal/session"
	"github.com/adhoc-support/adhoc-support/internal/support"
)

// Environment variables the functions and local mode read. The CDK stack sets the same
// names (infra).
const (
	EnvSessionTTL      = "SESSION_TTL" // e.g. 24h; local mode accepts 60s for demos
	EnvInviteTTL       = "INVITE_TTL"  // e.g. 24h
	EnvPendingInterval = "POLL_INTERVAL_PENDING"
	EnvActiveInterval  = "POLL_INTERVAL_ACTIVE"
	EnvLiveInterval    = "POLL_INTERVAL_LIVE" // the safety poll while the live connection is open
	EnvDefaultSlots    = "DEFAULT_SLOTS"
	EnvDefaultCap      = "DEFAULT_ADHOC_CAP"
	EnvUsername        = "HIDDEN_USERNAME"
	EnvPublicBaseURL   = "PUBLIC_BASE_URL"
	EnvLookupGrace     = "LOOKUP_GRACE"
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
		{EnvSessionTTL, &c.SessionTTL, 10 * time.Second},
		{EnvInviteTTL, &c.InviteTTL, 10 * time.Second},
		{EnvPendingInterval, &c.PendingInterval, time.Second},
		{EnvActiveInterval, &c.ActiveInterval, time.Second},
		{EnvLiveInterval, &c.LiveInterval, time.Second},
		{EnvLookupGrace, &c.LookupGrace, time.Minute},
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
	}{{EnvDefaultSlots, &c.Limits.Slots}, {EnvDefaultCap, &c.Limits.AdhocCap}}
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
	if v := getenv(EnvUsername); v != "" {
		if !session.ValidUsername(v) {
			return c, fmt.Errorf("%s=%q: not a Windows account name (1 to 20 characters, none of \"/\\[]:;|=,+*?<>@)", EnvUsername, v)
		}
		c.Username = v
	}
	if v := getenv(EnvPublicBaseURL); v != "" {
		c.PublicBaseURL = v
	}
	return c, nil
}
