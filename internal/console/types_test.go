package console

import (
	"io/fs"
	"testing"
)

// TestEveryFileHasItsType: each embedded file is served with a type of the table, so a
// file type added to static/ without its entry fails here, not in a browser.
func TestEveryFileHasItsType(t *testing.T) {
	n := 0
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		n++
		if f := newFile(p, nil); f.contentType == "application/octet-stream" {
			t.Errorf("%s: no content type in contentTypes", p)
		}
		return nil
	})
	if err != nil || n == 0 {
		t.Fatalf("walked %d files: %v", n, err)
	}
}
