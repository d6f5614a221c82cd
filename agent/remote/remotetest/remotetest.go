// Package remotetest opens the technician's console of agent/internal/testconsole (a pion
// PeerConnection offering the `terminal` and `files` data channels and speaking their
// protocol) to the tests outside agent/: the end-to-end tests of internal/testing/e2e play
// the console with it through the real live channel, against the real remote.Manager.
// It only passes the names on, so the console stays defined once, where the app's own
// tests keep it.
package remotetest

import (
	"testing"

	"github.com/adhoc-support/adhoc-support/agent/internal/testconsole"
)

// Console is the technician's console; Options configure it.
type (
	Console = testconsole.Console
	Options = testconsole.Options
)

// New makes the console's peer connection and its two channels; Offer starts it.
func New(t testing.TB, o Options) *Console { return testconsole.New(t, o) }
