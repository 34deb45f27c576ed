//go:build windows

package agentstate

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffsetHigh places the locked byte the locked byte lies, far beyond the record: a
// LockFileEx lock keeps other processes from reading the bytes it covers,
// and the agent it refuses reads the record to say who holds it.
const lockOffsetHigh = 0x40000000

// tryLock takes an exclusive LockFileEx lock on one byte of f without
// waiting. Windows releases it when the process ends; Go opens the file
// non-inheritable, so no child process keeps it.
func tryLock(f *os.File) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	err := windows.LockFileEx(windows.Handle(f.Fd()), windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return errHeld
	}
	return err
}

func unlock(f *os.File) error {
	ol := windows.Overlapped{OffsetHigh: lockOffsetHigh}
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, &ol)
}
