//go:build !(aix || darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package jsonstore

import (
	"errors"
	"fmt"
	"runtime"
)

// lock is not available here: a store could not be shared safely.
func lock(name string) (unlock func() error, err error) {
	return nil, fmt.Errorf("locking %s on %s: %w", name, runtime.GOOS, errors.ErrUnsupported)
}
