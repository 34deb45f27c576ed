package monitor

import (
	"errors"
	"fmt"
	"os"

	"github.com/isoagent/isoagent/internal/filelock"
)

// tryLock takes the exclusive lock on file name without waiting and
// returns the function that releases it; ErrRunning when someone holds
// it.
func tryLock(name string) (func() error, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("monitor lock: %w", err)
	}
	if err := filelock.TryLock(f); err != nil {
		f.Close()
		if errors.Is(err, filelock.ErrHeld) {
			return nil, ErrRunning
		}
		return nil, fmt.Errorf("monitor lock: %w", err)
	}
	return f.Close, nil
}

// lockHeld reports whether someone holds the lock on file name.
func lockHeld(name string) (bool, error) {
	if _, err := os.Stat(name); err != nil {
		return false, nil
	}
	unlock, err := tryLock(name)
	if err == ErrRunning {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	unlock()
	return false, nil
}
