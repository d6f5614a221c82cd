package standins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ToolsDir is where `make tools` puts downloaded tools: $ADHOC_TOOLS (the Makefile exports
// it), else the .tools folder of the repository that holds the working directory.
func ToolsDir() (string, error) {
	if d := os.Getenv("ADHOC_TOOLS"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".tools"), nil
}

// NPMDir is the folder of the repository that holds the npm tools (package.json,
// package-lock.json, node_modules; `make tools` runs npm ci there). Its name begins with
// "_" so that Go never looks into it: node_modules holds Go files (CDK's init templates).
// The Makefile's NPM_DIR names the same folder.
const NPMDir = "_npm"

// rootModule is the module path of the repository's root go.mod. infra/ is a module of its
// own (for the CDK), so "the nearest go.mod" is not always the repository's.
const rootModule = "github.com/adhoc-support/adhoc-support"

// RepoRoot is the nearest folder at or above the working directory whose go.mod is the root
// module's. Tests run in their package's folder, so this finds the repository from any
// package, also from the infra module's.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		raw, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		switch {
		case err == nil && modulePath(raw) == rootModule:
			return dir, nil
		case err != nil && !errors.Is(err, os.ErrNotExist):
			return "", fmt.Errorf("look for go.mod: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod of " + rootModule + " at or above the working directory: run from inside the repository")
		}
		dir = parent
	}
}

// modulePath is the path of go.mod's module directive, "" if it has none.
func modulePath(gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "module" {
			return strings.Trim(f[1], `"`)
		}
	}
	return ""
}
