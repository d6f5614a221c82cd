package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestFunctionsAreTheFolders: the list the stack deploys is the folders `make build`
// builds, each with its main.
func TestFunctionsAreTheFolders(t *testing.T) {
	entries, err := os.ReadDir(filepath.Join("..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var folders []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if _, err := os.Stat(filepath.Join("..", "..", "functions", e.Name(), "main.go")); err != nil {
			t.Errorf("functions/%s has no main.go", e.Name())
		}
		folders = append(folders, e.Name())
	}
	want := slices.Sorted(slices.Values(Functions))
	if !slices.Equal(folders, want) {
		t.Errorf("folders under functions/ %v, deploy.Functions %v", folders, want)
	}
}
