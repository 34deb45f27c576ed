//go:build windows

package safefile

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"unsafe"

	"golang.org/x/sys/windows"
)

// replace renames from over to with POSIX semantics, as tools that
// replace files atomically on Windows 10 1607 and later do (Rust's
// std::fs::rename, for one): the only rename Windows allows over a file
// another process has open, and only when that process opened it with
// FILE_SHARE_DELETE. os.Rename (MoveFileEx) fails over any open file. So
// does every rename under Wine 8, which refuses to replace an open file
// whatever its sharing and lacks FileRenameInfoEx: the test is skipped
// there, and the removal and rename-away cases are what Wine can pin.
func replace(t *testing.T, from, to string) {
	t.Helper()
	p, err := windows.UTF16PtrFromString(from)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(p, windows.DELETE|windows.SYNCHRONIZE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer windows.CloseHandle(h)
	name, err := windows.UTF16FromString(to)
	if err != nil {
		t.Fatal(err)
	}
	name = name[:len(name)-1]
	// FILE_RENAME_INFO: Flags, RootDirectory, FileNameLength, FileName.
	type renameInfo struct {
		flags   uint32
		root    windows.Handle
		nameLen uint32
	}
	const (
		fileRenameInfoEx = 22
		replaceIfExists  = 0x1 // FILE_RENAME_FLAG_REPLACE_IF_EXISTS
		posixSemantics   = 0x2 // FILE_RENAME_FLAG_POSIX_SEMANTICS
	)
	head := unsafe.Sizeof(renameInfo{})
	buf := make([]byte, head+2*uintptr(len(name))+2)
	*(*renameInfo)(unsafe.Pointer(&buf[0])) = renameInfo{flags: replaceIfExists | posixSemantics, nameLen: uint32(2 * len(name))}
	copy(unsafe.Slice((*uint16)(unsafe.Pointer(&buf[head])), len(name)), name)
	err = windows.SetFileInformationByHandle(h, fileRenameInfoEx, &buf[0], uint32(len(buf)))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) || errors.Is(err, windows.ERROR_NOT_SUPPORTED) {
		t.Skipf("no POSIX rename semantics here (Wine 8 has none): %v", err)
	}
	if err != nil {
		t.Fatalf("rename over the open file: %v", err)
	}
}

// specialKinds: a Windows folder holds no pipes, devices or sockets.
func specialKinds(t *testing.T, dir, outside string) []string { return nil }

// TestOpenRefusesDevicesAndPipes opens what Windows names outside of
// folders: the null device and a named pipe someone serves.
func TestOpenRefusesDevicesAndPipes(t *testing.T) {
	name := fmt.Sprintf(`\\.\pipe\isoagent-safefile-test-%d`, os.Getpid())
	p, err := windows.UTF16PtrFromString(name)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateNamedPipe(p, windows.PIPE_ACCESS_DUPLEX, windows.PIPE_TYPE_BYTE, 2, 4096, 4096, 0, nil)
	if err != nil {
		t.Fatalf("CreateNamedPipe: %v", err)
	}
	defer windows.CloseHandle(h)
	for _, path := range []string{"NUL", name} {
		f, err := bounded(t, "Open", func() (*os.File, error) { return Open(path) })
		if err == nil {
			f.Close()
		}
		if !errors.Is(err, ErrNotRegular) {
			t.Errorf("Open(%s) = %v, want ErrNotRegular", path, err)
		}
	}
}
