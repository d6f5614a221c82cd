//go:build !adhocdev

package main

import "github.com/adhoc-support/adhoc-support/agent/app"

// testUI: a build without the tag adhocdev has no test hooks (devhooks_windows.go), so
// the person always answers.
func testUI() (app.UI, bool) { return nil, false }

// remoteDevHook: no remote-dev mode (devremote_windows.go) without the tag.
func remoteDevHook(string) (func() int, bool) { return nil, false }

// verifySignerDevHook: no signature-check hook (devhooks_windows.go) without the tag.
func verifySignerDevHook(string) (func() int, bool) { return nil, false }
