package support_test

import (
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/support"
	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// The use cases run against DynamoDB Local through the real store; only the mailer (for
// its failures: aws-ses-v2-local cannot fail on demand) and EventBridge Scheduler (which
// cannot run here) are fakes, behind the same ports as their adapters.
func TestMain(m *testing.M) {
	support.ShortenRollbackWaits()
	testenv.Main(m)
}
