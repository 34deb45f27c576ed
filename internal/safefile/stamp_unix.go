//go:build unix

package safefile

import (
	"io/fs"
	"os"
	"syscall"
)

// Stamp returns the Stamp of the file name inside the folder, given fi,
// what a listing of the folder or a Stat of name said of it (links
// followed). On Unix fi has all of it and nothing is looked up; on
// Windows the file is opened (links followed inside the folder only) to
// ask for its change time and file ID.
func (r *Root) Stamp(name string, fi fs.FileInfo) (Stamp, error) {
	return stampOf(fi), nil
}

// StampFile returns the Stamp of f, an open file, given fi, what f.Stat
// said of it.
func StampFile(f *os.File, fi fs.FileInfo) (Stamp, error) { return stampOf(fi), nil }

func stampOf(fi fs.FileInfo) Stamp {
	s := Stamp{Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Dev, s.Ino = uint64(st.Dev), uint64(st.Ino)
		s.Change = changeTime(st)
	}
	return s
}
