package monitor

import (
	"context"
	"errors"

	"golang.org/x/sys/unix"
)

// waitPID waits until process pid has exited, or gone reports it gone
// (its PID may have been reused). It is told of the exit by a pidfd, so
// it acts at once; ctx ends the wait.
func waitPID(ctx context.Context, pid int, gone func() bool) error {
	fd, err := unix.PidfdOpen(pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	if err != nil {
		return pollPID(ctx, pid, gone)
	}
	defer unix.Close(fd)
	// The PID is the monitor's only while it holds its lock.
	if gone() {
		return nil
	}
	var cancel [2]int
	if err := unix.Pipe2(cancel[:], unix.O_CLOEXEC); err != nil {
		return err
	}
	defer unix.Close(cancel[0])
	stop := context.AfterFunc(ctx, func() { unix.Write(cancel[1], []byte{0}) })
	defer func() {
		stop()
		unix.Close(cancel[1])
	}()
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}, {Fd: int32(cancel[0]), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if fds[0].Revents != 0 {
			return nil
		}
		if fds[1].Revents != 0 {
			return ctx.Err()
		}
	}
}
