//go:build !windows

package monitor

import (
	"fmt"
	"os"
	"syscall"
)

// detached puts the monitor in a session of its own, so that a signal to
// the agent's process group (a terminal's ^C, a service manager stopping
// the agent's group) does not reach it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// withoutBreakaway is for Windows' jobs; Unix has none.
func withoutBreakaway(*syscall.SysProcAttr, error) (*syscall.SysProcAttr, bool) { return nil, false }

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
