package stack_test

import (
	"testing"

	"github.com/adhoc-support/adhoc-support/infra/stack"
	"github.com/adhoc-support/adhoc-support/internal/console"
	"github.com/adhoc-support/adhoc-support/internal/setup"
)

func TestEnvNamesMatchSetup(t *testing.T) {
	// GIVEN the variables the stack sets and the ones internal/setup reads WHEN compared
	// THEN they are the same names, so a function never starts without its configuration.
	cases := []struct{ stack, setup string }{
		{stack.EnvSessionTTL, setup.EnvSessionTTL},
		{stack.EnvInviteTTL, setup.EnvInviteTTL},
		{stack.EnvDefaultSlots, setup.EnvDefaultSlots},
		{stack.EnvDefaultCap, setup.EnvDefaultCap},
		{stack.EnvPublicBaseURL, setup.EnvPublicBaseURL},
		{stack.EnvPollActive, setup.EnvActiveInterval},
		{stack.EnvHiddenUser, setup.EnvUsername},
		{stack.EnvHiddenUser, console.EnvHiddenUsername},
		{stack.EnvTableName, setup.EnvTable},
		{stack.EnvEventBusName, setup.EnvEventBus},
		{stack.EnvKMSKeyID, setup.EnvPasswordKey},
		{stack.EnvMACKeyID, setup.EnvMACKey},
		{stack.EnvMailFrom, setup.EnvMailFrom},
		{stack.EnvSESConfigurationSet, setup.EnvConfigSet},
		{stack.EnvScheduleGroup, setup.EnvScheduleGroup},
		{stack.EnvSchedulerRoleARN, setup.EnvSchedulerRole},
		{stack.EnvExpiryFunctionARN, setup.EnvExpiryFunction},
		{stack.EnvExpiryDLQARN, setup.EnvExpiryDLQ},
		{stack.EnvAppBucket, setup.EnvAppBucket},
		{stack.EnvLiveEndpoint, setup.EnvLiveEndpoint},
		{stack.EnvLiveURL, setup.EnvLiveURL},
	}
	for _, c := range cases {
		if c.stack != c.setup {
			t.Errorf("stack sets %s, setup reads %s", c.stack, c.setup)
		}
	}
}
