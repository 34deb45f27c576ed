//go:build windows

package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// Open opens the regular file at path for reading, following symbolic
// links. See the package documentation for what it guarantees.
func Open(path string) (*os.File, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	return checkRegular(f, path)
}

// open opens path, a file or a folder, for reading, sharing it with every
// other kind of access. FILE_FLAG_BACKUP_SEMANTICS is what lets CreateFile
// open a folder; the caller checks what it got.
func open(path string) (*os.File, error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	h, err := windows.CreateFile(p, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE,
		nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return os.NewFile(uintptr(h), path), nil
}

// A Root is a folder whose files are opened with the guarantee that no
// symbolic link leads out of it: Open, ReadDir and Stat follow links
// (symbolic links and junctions) whose target is inside the folder and
// refuse the others with ErrOutside. Names are relative to the folder,
// in the platform's form or slash-separated.
//
// On Windows the check is made on the opened handle: the path Windows
// resolved it to must lie in the folder as Windows resolved it at
// OpenRoot. Nothing is read from a file before that check.
type Root struct {
	name  string
	final string // the folder's final path, no trailing separator
}

// OpenRoot opens the folder dir, following symbolic links.
func OpenRoot(dir string) (*Root, error) {
	f, err := open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a folder")
		}
		return nil, &fs.PathError{Op: "open", Path: dir, Err: cause(err)}
	}
	final, err := finalPath(f)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: err}
	}
	return &Root{name: dir, final: strings.TrimRight(final, `\`)}, nil
}

// OpenRoot opens the folder name inside the folder as a Root of its own,
// for opening many files in it with fewer system calls. A link in it that
// leads out of it is ErrOutside there even when it stays inside r: ask r
// again then. (On Windows links are checked against r's folder still.)
func (r *Root) OpenRoot(name string) (*Root, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		if err == nil {
			err = errors.New("not a folder")
		}
		return nil, &fs.PathError{Op: "open", Path: r.path(name), Err: cause(err)}
	}
	return &Root{name: r.path(name), final: r.final}, nil
}

// Name returns the folder's name as given to OpenRoot.
func (r *Root) Name() string { return r.name }

// Close releases the Root. No handle stays open between calls on Windows,
// so that the folder can be renamed or removed at any time.
func (r *Root) Close() error { return nil }

// Open opens the regular file name inside the folder for reading.
func (r *Root) Open(name string) (*os.File, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	return checkRegular(f, r.path(name))
}

// ReadDir lists the folder name inside the folder ("." for itself), in
// the order the file system gives.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: r.path(name), Err: cause(err)}
	}
	return entries, nil
}

// Stat describes the file name inside the folder, following links.
func (r *Root) Stat(name string) (fs.FileInfo, error) {
	f, err := r.open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: r.path(name), Err: cause(err)}
	}
	return fi, nil
}

// Lstat describes the entry name inside the folder without following
// it when it is a link. (On Windows the folders on the way are taken as
// they are: a caller that needs them inside the folder checks each.)
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	return os.Lstat(r.path(name))
}

func (r *Root) path(name string) string { return filepath.Join(r.name, filepath.FromSlash(name)) }

// open opens name and keeps the handle only if Windows resolved it to a
// place inside the folder.
func (r *Root) open(name string) (*os.File, error) {
	path := r.path(name)
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	final, err := finalPath(f)
	if err == nil && !insideFinal(r.final, final) {
		err = ErrOutside
	}
	if err != nil {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	return f, nil
}

// insideFinal reports whether final is root or lies under it; both are
// final paths as finalPath returns them.
func insideFinal(root, final string) bool {
	if len(final) < len(root) || !strings.EqualFold(final[:len(root)], root) {
		return false
	}
	return len(final) == len(root) || final[len(root)] == '\\'
}

// finalPath returns the path Windows resolved the open file f to
// (\\?\C:\...), every link followed.
func finalPath(f *os.File) (string, error) {
	h := windows.Handle(f.Fd())
	buf := make([]uint16, windows.MAX_PATH)
	for {
		n, err := windows.GetFinalPathNameByHandle(h, &buf[0], uint32(len(buf)), 0 /* FILE_NAME_NORMALIZED|VOLUME_NAME_DOS */)
		if err != nil {
			return "", err
		}
		if int(n) < len(buf) {
			return windows.UTF16ToString(buf[:n]), nil
		}
		buf = make([]uint16, n) // n counts the terminating NUL
	}
}
