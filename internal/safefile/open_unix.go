//go:build unix

package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Flags of every open: O_NONBLOCK so that opening a named pipe does not
// wait for a writer (nor a device for its carrier), O_NOCTTY so that a
// terminal never becomes the agent's.
const (
	fileFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC
	dirFlags  = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_DIRECTORY | syscall.O_CLOEXEC
)

// Open opens the regular file at path for reading, following symbolic
// links. See the package documentation for what it guarantees.
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, fileFlags, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: notRegular(cause(err), func() (fs.FileInfo, error) { return os.Stat(path) })}
	}
	return checkRegular(f, path)
}

// notRegular turns the error of an open that never got a handle into
// ErrNotRegular when what is there is not a regular file: a socket cannot
// be opened at all (ENXIO).
func notRegular(err error, stat func() (fs.FileInfo, error)) error {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return err
	}
	if fi, serr := stat(); serr == nil && !fi.Mode().IsRegular() {
		return fmt.Errorf("%w (%s)", ErrNotRegular, Describe(fi.Mode()))
	}
	return err
}

// A Root is a folder whose files are opened with the guarantee that no
// symbolic link leads out of it: Open, ReadDir and Stat follow links that
// stay inside the folder (relative ones, and absolute ones that name a
// place inside it) and refuse the others with ErrOutside. Names are
// relative to the folder, in the platform's form or slash-separated.
type Root struct {
	name string
	abs  string // name made absolute; "" if that failed
	real string // abs with symbolic links resolved when opened; "" if that failed
	root *os.Root
}

// OpenRoot opens the folder dir, following symbolic links.
func OpenRoot(dir string) (*Root, error) {
	if dir == "" {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.ENOENT}
	}
	// The trailing slash makes the kernel refuse anything but a folder
	// before opening it: os.OpenRoot would wait on a named pipe.
	slashed := strings.TrimRight(dir, "/") + "/"
	root, err := os.OpenRoot(slashed)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: cause(err)}
	}
	r := &Root{name: dir, root: root}
	if abs, err := filepath.Abs(dir); err == nil {
		r.abs = abs
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			r.real = real
		}
	}
	return r, nil
}

// OpenRoot opens the folder name inside the folder as a Root of its own,
// for opening many files in it with fewer system calls. A link in it that
// leads out of it is ErrOutside there even when it stays inside r: ask r
// again then.
func (r *Root) OpenRoot(name string) (*Root, error) {
	sub, err := r.root.OpenRoot(name)
	if err != nil {
		return nil, r.explain(name, name, err)
	}
	s := &Root{name: r.path(name), root: sub}
	if r.abs != "" {
		s.abs = filepath.Join(r.abs, name)
	}
	if r.real != "" {
		s.real = filepath.Join(r.real, name)
	}
	return s, nil
}

// Name returns the folder's name as given to OpenRoot.
func (r *Root) Name() string { return r.name }

// Close closes the folder.
func (r *Root) Close() error { return r.root.Close() }

// Open opens the regular file name inside the folder for reading.
func (r *Root) Open(name string) (*os.File, error) {
	f, err := r.open(name, fileFlags)
	if err != nil {
		return nil, err
	}
	return checkRegular(f, r.path(name))
}

// ReadDir lists the folder name inside the folder ("." for itself), in
// the order the file system gives.
func (r *Root) ReadDir(name string) ([]fs.DirEntry, error) {
	f, err := r.open(name, dirFlags)
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
	fi, err := r.root.Stat(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		if rel, ok := r.rewrite(name); ok {
			fi, err = r.root.Stat(rel)
		}
	}
	if err != nil {
		return nil, r.explain(name, name, err)
	}
	return fi, nil
}

// Lstat describes the entry name inside the folder without following
// it when it is a link (links on the way to it are followed while they
// stay inside the folder).
func (r *Root) Lstat(name string) (fs.FileInfo, error) {
	fi, err := r.root.Lstat(name)
	if err != nil {
		return nil, r.explain(name, name, err)
	}
	return fi, nil
}

func (r *Root) path(name string) string { return filepath.Join(r.name, filepath.FromSlash(name)) }

func (r *Root) open(name string, flags int) (*os.File, error) {
	f, err := r.root.OpenFile(name, flags, 0)
	at := name
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		// os.Root never follows an absolute link; follow one that
		// names a place inside the folder, which the Root then checks.
		if rel, ok := r.rewrite(name); ok {
			at = rel
			f, err = r.root.OpenFile(rel, flags, 0)
		}
	}
	if err != nil {
		return nil, r.explain(name, at, err)
	}
	return f, nil
}

// maxLinks bounds the links rewrite follows, as the kernel's own limit.
const maxLinks = 40

// rewrite follows the links that name itself is (not those on the way to
// it) and returns the name, relative to the folder, that the chain leads
// to, with every absolute target that lies inside the folder made
// relative. ok is false when there was nothing to rewrite, or a target
// lies outside.
func (r *Root) rewrite(name string) (string, bool) {
	cur, changed := name, false
	for range maxLinks {
		fi, err := r.root.Lstat(cur)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			break
		}
		target, err := r.root.Readlink(cur)
		if err != nil {
			break
		}
		if !filepath.IsAbs(target) {
			cur = filepath.Join(filepath.Dir(cur), target)
			continue
		}
		rel, ok := r.relInside(filepath.Clean(target))
		if !ok {
			return "", false
		}
		cur, changed = rel, true
	}
	return cur, changed
}

// relInside returns the absolute path p relative to the folder, if it
// names a place in it (by the folder's name or its resolved path).
func (r *Root) relInside(p string) (string, bool) {
	for _, base := range []string{r.abs, r.real} {
		if base != "" && within(base, p) {
			rel, err := filepath.Rel(base, p)
			return rel, err == nil
		}
	}
	return "", false
}

// explain turns os.Root's error for name (opened as at) into one that
// names the path as the caller knows it and says what was wrong:
// ErrOutside for a link that leads out (os.Root's own refusal is the one
// error that is not the system's), ErrNotRegular for a socket, which
// cannot be opened at all.
func (r *Root) explain(name, at string, err error) error {
	c := cause(err)
	var errno syscall.Errno
	switch {
	case errors.Is(c, fs.ErrNotExist), errors.Is(c, fs.ErrInvalid):
	case !errors.As(c, &errno):
		c = ErrOutside
	default:
		c = notRegular(c, func() (fs.FileInfo, error) { return r.root.Stat(at) })
	}
	return &fs.PathError{Op: "open", Path: r.path(name), Err: c}
}

// within reports whether path lies in dir or under it; both are clean,
// absolute and with symbolic links resolved.
func within(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return false
	}
	return rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}
