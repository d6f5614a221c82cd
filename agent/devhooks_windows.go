//go:build adhocdev

package main

// The app's test hooks, compiled only into development builds (build tag adhocdev): a
// release build carries none, not even an ignored one. releasehooks_windows.go is the
// release build's side.

import (
	"fmt"
	"io"

	"github.com/adhoc-support/adhoc-support/agent/app"
)

// testUI is the UI of a test run when ADHOC_TEST_SECURITY_CODE is set: the security code,
// typed by nobody; the app then runs without any prompt and exits once set up. A build with
// the tag but a release version still ignores it (devEnv).
func testUI() (app.UI, bool) {
	code, ok := devEnv("ADHOC_TEST_SECURITY_CODE")
	if !ok {
		return nil, false
	}
	return &scriptedUI{answer: code}, true
}

// scriptedUI answers the one question of a test run (the security code) and no other.
type scriptedUI struct {
	answer string
	used   bool
}

func (s *scriptedUI) Say(text string) { fmt.Println(text) }

func (s *scriptedUI) Ask(prompt string) (string, error) {
	fmt.Println(prompt)
	if s.used {
		return "", io.EOF
	}
	s.used = true
	return s.answer, nil
}
