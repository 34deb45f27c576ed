//go:build !windows

package monitor

import (
	"context"
	"errors"
	"syscall"
	"time"
)

// pollPID waits until process pid has exited, or gone reports it gone,
// looking every waitPoll: for systems without pidfds.
func pollPID(ctx context.Context, pid int, gone func() bool) error {
	tick := time.NewTicker(waitPoll)
	defer tick.Stop()
	for {
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) || gone() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
