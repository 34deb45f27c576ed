// Package safefile opens files that other programs own for reading, the
// way an agent that must never freeze and never lock out an editor has to:
//
//   - Only regular files are opened. The check is made on the opened
//     handle, not on the path, so a named pipe, device or socket swapped in
//     between a check and the open is refused too (ErrNotRegular).
//   - An open never blocks: on Unix files are opened with O_NONBLOCK, so a
//     named pipe without a writer is refused at once instead of waiting
//     for one; ReadAll bounds how long a read may wait.
//   - On Windows every file and folder is opened with FILE_SHARE_READ,
//     FILE_SHARE_WRITE and FILE_SHARE_DELETE, so an editor, git or Docker
//     renaming over or deleting a file the agent is reading does not fail
//     with "Access denied".
//   - A Root opens files inside one folder only: symbolic links are
//     followed while they stay inside it (ErrOutside otherwise).
//
// Everything is safe for concurrent use.
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"
)

// Errors, wrapped in an *fs.PathError.
var (
	// ErrNotRegular: the path names a folder, a named pipe, a device, a
	// socket or another file that is not a regular file.
	ErrNotRegular = errors.New("not a regular file")
	// ErrOutside: through symbolic links, the path leads out of the Root.
	ErrOutside = errors.New("a symbolic link leads outside the folder")
)

// TooLargeError is ReadAll's error for a file larger than its limit.
type TooLargeError struct {
	Size  int64 // bytes found: the file's size, or Limit+1 once it grew past the limit while read
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%d bytes, larger than the limit of %d", e.Size, e.Limit)
}

// ReadFile is os.ReadFile with Open's guarantees and no size limit.
func ReadFile(name string) ([]byte, error) {
	f, err := Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// ReadAll reads f, a file from Open or Root.Open, to its end, and returns
// it with what f said of itself before the read (its size and
// modification time tell what was read). It refuses a file larger than
// limit bytes with a *TooLargeError, before reading when the file's size
// says so, and while reading when the file grows. A read that waits for
// data (only special files such as the kernel's message log do, and only
// where they can be polled) fails with os.ErrDeadlineExceeded after
// timeout; zero means no bound.
func ReadAll(f *os.File, limit int64, timeout time.Duration) ([]byte, fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if fi.Size() > limit {
		return nil, nil, &TooLargeError{Size: fi.Size(), Limit: limit}
	}
	if timeout > 0 {
		// Regular files on disk cannot be polled and ignore this
		// (os.ErrNoDeadline); their reads do not wait for a writer.
		_ = f.SetReadDeadline(time.Now().Add(timeout))
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(data)) > limit {
		return nil, nil, &TooLargeError{Size: int64(len(data)), Limit: limit}
	}
	return data, fi, nil
}

// checkRegular closes f and returns an error naming path unless the file f
// has open is a regular file.
func checkRegular(f *os.File, path string) (*os.File, error) {
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w (%s)", ErrNotRegular, Describe(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

// Describe names the kind of file mode m is of, for messages: "a regular
// file", "a folder", "a named pipe", "a device", "a socket", "a symbolic
// link" or "a special file".
func Describe(m fs.FileMode) string {
	switch {
	case m.IsRegular():
		return "a regular file"
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0 || m&fs.ModeCharDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}

// cause is the error inside a *fs.PathError, so that it can be wrapped
// again with the path the caller knows.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
