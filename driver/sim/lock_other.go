//go:build !(aix || darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package sim

import (
	"errors"
	"fmt"
	"runtime"
)

// lock is not available here: a state folder could not be shared safely.
func lock(name string) (unlock func() error, err error) {
	return nil, fmt.Errorf("locking %s on %s: %w", name, runtime.GOOS, errors.ErrUnsupported)
}
