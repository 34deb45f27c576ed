package safefile

import "time"

// A Stamp is what tells a file unchanged without reading it: its size,
// its modification time, its change time and its identity on the file
// system. Tools that copy a file over another (rsync -t, tar, cp -p) can
// keep its size and modification time, but not its change time (ctime on
// Unix, ChangeTime on Windows), which the system sets on every write and
// every change of its times; a file replaced by a rename has another
// identity (device and inode, or volume serial number and file ID). Two
// Stamps of one path that are equal mean the file was not written in
// between, unless both writes fell within one tick of the file system's
// clock: see Racy.
type Stamp struct {
	Size    int64
	ModTime int64 // Unix nanoseconds
	// Change is when the file's content or attributes last changed,
	// in Unix nanoseconds; 0 where the file system does not tell.
	Change int64
	// Dev and Ino identify the file: its device and inode, or its volume
	// serial number and file ID.
	Dev, Ino uint64
}

// RacyWindow is how long after a file's last change a Stamp taken of it
// may still not tell a later write: the coarsest clock of common file
// systems (FAT's two seconds).
const RacyWindow = 2 * time.Second

// Racy reports whether s, taken at readAt (before the file was read), may
// equal the Stamp of a later version of the file: the file changed less
// than RacyWindow before readAt (or after it, by a clock that runs
// ahead), so a second write in the same tick of the file system's clock,
// of the same size, would leave the Stamp as it is. A reader that cached
// what it read then must read the file again to know it is unchanged, as
// git does with the index's racy entries.
func (s Stamp) Racy(readAt time.Time) bool {
	changed := s.Change
	if changed == 0 {
		changed = s.ModTime
	}
	return readAt.UnixNano()-changed < int64(RacyWindow)
}
