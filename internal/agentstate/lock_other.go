//go:build !(aix || darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || windows)

package agentstate

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// tryLock is not available here: the agent could not keep a second one of
// its owner from starting, so it does not start.
func tryLock(f *os.File) error {
	return fmt.Errorf("locking on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}

func unlock(*os.File) error { return nil }
