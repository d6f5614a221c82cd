package standins

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// dataLockName is the file in a data folder that DynamoDB Local holds locked while it runs.
const dataLockName = ".dynamodb-local.lock"

// lockDataDir takes an exclusive flock on the data folder's lock file, waiting until ctx
// ends for a previous holder to let go. The returned file is handed to the child (see
// startOptions.inherit): the lock belongs to the open file, which the child shares, so it
// lasts exactly as long as the child does, even after our copy is closed.
//
// Why: DynamoDB Local writes its last changes to disk in its shutdown hook, after it has
// already closed its port. A `make run` that is killed and started again at once, or a test
// that does so, would otherwise open the database while the old process is still writing
// it and lose or tear those changes.
func lockDataDir(ctx context.Context, dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, dataLockName), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open data folder lock: %w", err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			_ = f.Close()
			return nil, fmt.Errorf("lock data folder: %w", err)
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, fmt.Errorf("data folder %s is still in use by another DynamoDB Local (%w); stop it first", dir, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
