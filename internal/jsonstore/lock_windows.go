//go:build windows

package jsonstore

import (
	"os"

	"golang.org/x/sys/windows"
)

// lock takes an exclusive LockFileEx lock on the first byte of file name,
// creating it when needed, and returns the function that releases it.
func lock(name string) (unlock func() error, err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	h := windows.Handle(f.Fd())
	var ol windows.Overlapped
	if err := windows.LockFileEx(h, windows.LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ol); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		var ol windows.Overlapped
		err := windows.UnlockFileEx(h, 0, 1, 0, &ol)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	}, nil
}
