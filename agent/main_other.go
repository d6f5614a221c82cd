//go:build !windows

// Command agent is the Support Session app. It runs on Windows only; elsewhere it says so.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "The Support Session app runs on Windows only.")
	os.Exit(1)
}
