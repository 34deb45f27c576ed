//go:build !windows

package monitor

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// detached puts the monitor in a session of its own, so that a signal to
// the agent's process group (a terminal's ^C, a service manager stopping
// the agent's group) does not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// withoutBreakaway is for Windows' jobs; Unix has none.
func withoutBreakaway(*syscall.SysProcAttr, error) (*syscall.SysProcAttr, bool) { return nil, false }

// tryLock takes the exclusive lock on file name without waiting and
// returns the function that releases it; ErrRunning when someone holds
// it.
func tryLock(name string) (func() error, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("monitor lock: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err != unix.EINTR {
			break
		}
	}
	if err == unix.EWOULDBLOCK {
		f.Close()
		return nil, ErrRunning
	}
	if err != nil {
		f.Close()
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

// mkdirPrivate makes folder dir and its parents, readable by its owner
// only.
func mkdirPrivate(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("run folder: %w", err)
	}
	return nil
}
