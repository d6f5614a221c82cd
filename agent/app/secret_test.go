//go:build !windows

package app_test

import (
	"context"
	"errors"
	"testing"

	"github.com/adhoc-support/adhoc-support/agent/app"
)

// TestPasswordIsWipedAfterUse: the hidden account's password reaches the app as bytes
// (protocol.Secret), is handed to the OS for the one call that creates the account, and
// is wiped when that call returns: on success, when the account cannot be made, and when
// a later step fails. (That the client leaves no copy of the answer it decoded it from is
// internal/protocol's TestPairAnswerLeavesNoCopy.)
func TestPasswordIsWipedAfterUse(t *testing.T) {
	cases := []struct {
		name    string
		failAt  string // a step of the fake PC that fails
		wantErr error
	}{
		{name: "set up"},
		{name: "the account cannot be made", failAt: "CreateUser", wantErr: app.ErrSetupFailed},
		{name: "a step after it fails", failAt: "AddToGroup", wantErr: app.ErrSetupFailed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			if c.failAt != "" {
				h.pc.FailAt(c.failAt, errors.New("access denied"))
			}
			err := h.app(app.English, h.inv.Code).Start(context.Background(), app.StartOptions{})
			if !errors.Is(err, c.wantErr) && (err != nil || c.wantErr != nil) {
				t.Fatalf("Start: %v, want %v\n%s", err, c.wantErr, h.ui.transcript())
			}
			handed := h.pc.Handed()
			if len(handed) != 1 {
				t.Fatalf("CreateUser was handed %d passwords, want 1", len(handed))
			}
			if users, _, _, _ := h.pc.Snapshot(); c.failAt == "" && users[h.inv.Username].Password != password {
				t.Errorf("the account was not made with the technician's password")
			}
			if len(handed[0]) != len(password) {
				t.Fatalf("the password handed over has %d bytes, want %d", len(handed[0]), len(password))
			}
			for _, b := range handed[0][:cap(handed[0])] {
				if b != 0 {
					t.Fatalf("the password handed to CreateUser was not wiped: %q", handed[0])
				}
			}
			h.assertNoPasswordOnDisk()
		})
	}
}
