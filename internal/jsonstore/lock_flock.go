//go:build aix || darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd

package jsonstore

import (
	"os"

	"golang.org/x/sys/unix"
)

// lock takes an exclusive flock on file name, creating it when needed, and
// returns the function that releases it.
func lock(name string) (unlock func() error, err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		err := unix.Flock(int(f.Fd()), unix.LOCK_UN)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
