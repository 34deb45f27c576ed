//go:build windows

package safefile

import (
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// Stamp returns the Stamp of the file name inside the folder, given fi,
// what a listing of the folder or a Stat of name said of it (links
// followed). On Windows the file is opened, following links inside the
// folder only and sharing it with every other access, to ask for its
// ChangeTime, volume serial number and file ID, which a listing does not
// carry; on Unix fi has all of it.
func (r *Root) Stamp(name string, fi fs.FileInfo) (Stamp, error) {
	f, err := r.open(name)
	if err != nil {
		return Stamp{}, err
	}
	defer f.Close()
	return StampFile(f, fi)
}

// StampFile returns the Stamp of f, an open file, given fi, what f.Stat
// said of it. On Windows f's handle is asked for the change time and file
// ID.
func StampFile(f *os.File, fi fs.FileInfo) (Stamp, error) {
	h := windows.Handle(f.Fd())
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return Stamp{}, &fs.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	var basic fileBasicInfo
	if err := windows.GetFileInformationByHandleEx(h, windows.FileBasicInfo, (*byte)(unsafe.Pointer(&basic)), uint32(unsafe.Sizeof(basic))); err != nil {
		return Stamp{}, &fs.PathError{Op: "stat", Path: f.Name(), Err: err}
	}
	return Stamp{
		Size:    int64(info.FileSizeHigh)<<32 | int64(info.FileSizeLow),
		ModTime: info.LastWriteTime.Nanoseconds(),
		Change:  fileTimeNanos(basic.ChangeTime),
		Dev:     uint64(info.VolumeSerialNumber),
		Ino:     uint64(info.FileIndexHigh)<<32 | uint64(info.FileIndexLow),
	}, nil
}

// fileBasicInfo is FILE_BASIC_INFO: times in 100-nanosecond intervals
// since 1601.
type fileBasicInfo struct {
	CreationTime, LastAccessTime, LastWriteTime, ChangeTime int64
	FileAttributes                                          uint32
	_                                                       uint32
}

func fileTimeNanos(t int64) int64 {
	if t == 0 {
		return 0
	}
	ft := windows.Filetime{LowDateTime: uint32(t), HighDateTime: uint32(t >> 32)}
	return ft.Nanoseconds()
}
