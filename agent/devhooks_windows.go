//go:build adhocdev

package main

// The app's test hooks, compiled only into development builds (build tag adhocdev): a
// release build carries none, not even an ignored one. releasehooks_windows.go is the
// release build's side.

import (
	"fmt"
	"io"
	"os"

	"github.com/adhoc-support/adhoc-support/agent/app"
	"github.com/adhoc-support/adhoc-support/agent/winos"
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

// verifySignerDevArg runs the Windows layer's signature check on a file and prints its
// verdict, a test hook compiled only with the tag adhocdev (and run only in a development
// version): the Wine test calls it with signed, changed and unsigned copies, as a release
// build's check of its own copy (VerifySigner) cannot be reached from a development build.
//
//	SupportSession.exe verify-signer-dev <path> <certificate SHA-256>
const verifySignerDevArg = "verify-signer-dev"

// verifySignerDevHook returns the check for its argument.
func verifySignerDevHook(arg string) (func() int, bool) {
	if arg != verifySignerDevArg || !development() {
		return nil, false
	}
	return func() int {
		if len(os.Args) != 4 {
			fmt.Println("usage: verify-signer-dev <path> <certificate SHA-256>")
			return 2
		}
		var osys winos.OS
		if err := osys.VerifySigner(os.Args[2], os.Args[3]); err != nil {
			fmt.Println("refused:", err)
			return 1
		}
		fmt.Println("verified")
		return 0
	}, true
}
