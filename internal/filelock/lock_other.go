//go:build !(aix || darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package filelock

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// TryLock is not available here: a caller that needs the lock to keep a
// second process out does not go on.
func TryLock(f *os.File) error {
	return fmt.Errorf("locking on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

// Unlock releases nothing here.
func Unlock(*os.File) error { return nil }
