package atomicfile

import (
	"errors"
	"os"
	"time"

	"golang.org/x/sys/windows"
)

// renameFor bounds how long rename waits out the readers of the file it
// replaces.
const renameFor = 2 * time.Second

// rename is os.Rename, tried again for a while when the file replaced is
// open: Windows refuses to replace a file someone has open (access denied,
// or a sharing violation without FILE_SHARE_DELETE), and the readers of
// the files this package writes hold them for moments only. The Go
// toolchain does the same (cmd/go/internal/robustio).
func rename(from, to string) error {
	wait := time.Millisecond
	deadline := time.Now().Add(renameFor)
	for {
		err := os.Rename(from, to)
		if err == nil || !(errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
		wait = min(2*wait, 100*time.Millisecond)
	}
}
