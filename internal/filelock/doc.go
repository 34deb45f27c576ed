// Package filelock takes the operating system's exclusive lock on an open
// file without waiting: flock on Unix, LockFileEx on Windows. The lock
// belongs to the open file, so it ends with the process that holds it,
// however that process ends (kill -9 and crashes included); nothing stale
// is left to clean up. Go opens files close-on-exec and non-inheritable,
// so no child process keeps it.
package filelock

import "errors"

// ErrHeld is TryLock's error when another open file holds the lock.
var ErrHeld = errors.New("lock held by another process")
