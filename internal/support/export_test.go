package support

import "time"

// ShortenRollbackWaits makes the pauses between attempts to undo a reservation a
// millisecond, for the whole test binary (set before the tests run: they run in
// parallel).
func ShortenRollbackWaits() {
	rollbackWaits = []time.Duration{time.Millisecond, time.Millisecond}
}
