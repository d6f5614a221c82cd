package logbuf

import (
	"strings"
	"sync"
	"testing"
)

func TestConcurrentWritesAreKeptWhole(t *testing.T) {
	var b Buffer
	var wg sync.WaitGroup
	const writers, lines = 8, 200
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range lines {
				_, _ = b.Write([]byte(strings.Repeat(string(rune('a'+w)), 10) + "\n"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(got) != writers*lines {
		t.Fatalf("got %d lines, want %d", len(got), writers*lines)
	}
	for _, line := range got {
		if len(line) != 10 || strings.Count(line, line[:1]) != 10 {
			t.Fatalf("a write was interleaved with another: %q", line)
		}
	}
}
