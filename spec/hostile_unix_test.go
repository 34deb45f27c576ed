//go:build unix

package spec

import (
	"net"
	"path/filepath"
	"syscall"
	"testing"
)

// specialFiles makes, in dir, a named pipe (prefix+"fifo.yaml"), a socket
// and, where the test may, a device (the null device), and returns their
// names.
func specialFiles(t *testing.T, dir, prefix string) []string {
	t.Helper()
	names := []string{prefix + "fifo.yaml", prefix + "socket.yaml"}
	if err := syscall.Mkfifo(filepath.Join(dir, names[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", filepath.Join(dir, names[1]))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	if syscall.Mknod(filepath.Join(dir, prefix+"device.yaml"), syscall.S_IFCHR|0o644, 1<<8|3) == nil {
		names = append(names, prefix+"device.yaml")
	}
	return names
}
