//go:build unix

package safefile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// replace renames from over to, as an editor saves.
func replace(t *testing.T, from, to string) {
	t.Helper()
	if err := os.Rename(from, to); err != nil {
		t.Fatalf("rename over the open file: %v", err)
	}
}

// specialKinds makes a named pipe, a socket and (where the test may) a
// device under the same names in dir and in outside, and returns the names.
func specialKinds(t *testing.T, dir, outside string) []string {
	t.Helper()
	var names []string
	for _, d := range []string{dir, outside} {
		if err := syscall.Mkfifo(filepath.Join(d, "fifo.yaml"), 0o644); err != nil {
			t.Fatal(err)
		}
		ln, err := net.Listen("unix", filepath.Join(d, "socket.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
	}
	names = append(names, "fifo.yaml", "socket.yaml")
	// The null device: harmless to open, if the test may make one.
	made := 0
	for _, d := range []string{dir, outside} {
		if syscall.Mknod(filepath.Join(d, "device.yaml"), syscall.S_IFCHR|0o644, 1<<8|3) == nil {
			made++
		}
	}
	if made == 2 {
		names = append(names, "device.yaml")
	}
	return names
}

// TestReadAllBoundsAWait reads from something that can be polled and has
// nothing to give, as the kernel's message log: the read gives up after
// its timeout, and a stream that grows past the limit is cut off.
func TestReadAllBoundsAWait(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	start := time.Now()
	_, err = bounded(t, "ReadAll", func() ([]byte, error) { b, _, err := ReadAll(pr, 1<<10, 50*time.Millisecond); return b, err })
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("ReadAll of a silent pipe = %v, want a deadline error", err)
	}
	if took := time.Since(start); took < 50*time.Millisecond {
		t.Errorf("gave up after %v, before its timeout", took)
	}
	go pw.Write(make([]byte, 4<<10))
	_, err = bounded(t, "ReadAll", func() ([]byte, error) { b, _, err := ReadAll(pr, 1<<10, time.Minute); return b, err })
	if tl := (*TooLargeError)(nil); !errors.As(err, &tl) || tl.Size != 1<<10+1 {
		t.Errorf("ReadAll of a growing stream = %v, want too large after the limit", err)
	}
}
