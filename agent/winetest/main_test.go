//go:build linux

package winetest

import (
	"testing"

	"github.com/adhoc-support/adhoc-support/internal/testing/testenv"
)

// The tests run against the real local stack (agent/internal/teststack), whose DynamoDB
// Local and aws-ses-v2-local testenv starts once per test binary.
func TestMain(m *testing.M) { testenv.Main(m) }
