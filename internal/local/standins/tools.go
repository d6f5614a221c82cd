package standins

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
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

// RepoRoot is the nearest folder at or above the working directory that holds go.mod. Tests
// run in their package's folder, so this finds the repository from any package.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", fmt.Errorf("look for go.mod: %w", err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod at or above the working directory: run from inside the repository")
		}
		dir = parent
	}
}
