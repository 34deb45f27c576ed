package gitverify

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// ErrNotACheckout is wrapped by Head's error for a folder in no git
// checkout.
var ErrNotACheckout = errors.New("not in a git checkout")

// Revision is the commit a spec folder's checkout is at.
type Revision struct {
	// Commit is the checked-out commit.
	Commit *object.Commit
	// Top is the top of the checkout (its worktree), links resolved.
	Top string
	// Sub is the spec folder relative to Top, slash-separated; "." for
	// Top itself.
	Sub string
}

// Hash returns the commit's id.
func (r *Revision) Hash() string { return r.Commit.Hash.String() }

// Head returns the commit the checkout holding dir is at. dir may be the
// checkout's top or a folder in it, and may lead there through symbolic
// links: git-sync publishes each commit as a worktree of its own
// (<root>/.worktrees/<hash>) and swaps a link over to it. Linked worktrees
// (a .git file naming the repository) are followed to the repository's
// common folder. It reads the repository with go-git and never runs git.
func Head(dir string) (*Revision, error) {
	resolved, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil, fmt.Errorf("spec folder: %w", err)
	}
	if resolved, err = filepath.Abs(resolved); err != nil {
		return nil, err
	}
	top := resolved
	for {
		if _, err := os.Lstat(filepath.Join(top, ".git")); err == nil {
			break
		}
		parent := filepath.Dir(top)
		if parent == top {
			return nil, fmt.Errorf("spec folder %s is %w; --verify-signatures needs a git checkout or git-sync worktree", dir, ErrNotACheckout)
		}
		top = parent
	}
	sub, err := filepath.Rel(top, resolved)
	if err != nil {
		return nil, err
	}
	repo, err := git.PlainOpenWithOptions(top, &git.PlainOpenOptions{EnableDotGitCommonDir: true})
	if err != nil {
		return nil, fmt.Errorf("open the git checkout %s: %w", top, err)
	}
	ref, err := repo.Head()
	if err != nil {
		return nil, fmt.Errorf("the git checkout %s: HEAD: %w", top, err)
	}
	c, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("the git checkout %s: commit %s: %w", top, ref.Hash(), err)
	}
	return &Revision{Commit: c, Top: top, Sub: filepath.ToSlash(sub)}, nil
}

// Tree returns the spec folder's content in the commit, as a read-only
// fs.FS. It fails when the commit does not hold the folder.
func (r *Revision) Tree() (fs.FS, error) {
	t, err := r.Commit.Tree()
	if err != nil {
		return nil, fmt.Errorf("revision %s: %w", short(r.Hash()), err)
	}
	if r.Sub != "." {
		if t, err = t.Tree(r.Sub); err != nil {
			return nil, fmt.Errorf("revision %s has no folder %s: %w", short(r.Hash()), r.Sub, err)
		}
	}
	return treeFS{t: t, when: r.Commit.Committer.When}, nil
}

// treeFS is a git tree as an fs.FS. Every entry has the commit's time as
// its modification time.
type treeFS struct {
	t    *object.Tree
	when time.Time
}

var (
	_ fs.ReadDirFS  = treeFS{}
	_ fs.ReadFileFS = treeFS{}
	_ fs.StatFS     = treeFS{}
)

func (f treeFS) entry(op, name string) (*object.TreeEntry, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return nil, nil
	}
	e, err := f.t.FindEntry(name)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return e, nil
}

func (f treeFS) Stat(name string) (fs.FileInfo, error) {
	e, err := f.entry("stat", name)
	if err != nil {
		return nil, err
	}
	if e == nil {
		return entryInfo{name: ".", mode: fs.ModeDir | 0o555, when: f.when}, nil
	}
	return f.info(path.Dir(name), e)
}

// info describes e, an entry of the folder dir.
func (f treeFS) info(dir string, e *object.TreeEntry) (fs.FileInfo, error) {
	fi := entryInfo{name: e.Name, when: f.when}
	switch e.Mode {
	case filemode.Dir:
		fi.mode = fs.ModeDir | 0o555
	case filemode.Regular, filemode.Deprecated, filemode.Executable:
		fi.mode = 0o444
		file, err := f.t.File(path.Join(dir, e.Name))
		if err != nil {
			return nil, &fs.PathError{Op: "stat", Path: path.Join(dir, e.Name), Err: err}
		}
		fi.size = file.Size
	case filemode.Symlink:
		fi.mode = fs.ModeSymlink | 0o444
	default: // a submodule
		fi.mode = fs.ModeIrregular
	}
	return fi, nil
}

func (f treeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	t := f.t
	if name != "." {
		e, err := f.entry("readdir", name)
		if err != nil {
			return nil, err
		}
		if e.Mode != filemode.Dir {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a folder")}
		}
		if t, err = f.t.Tree(name); err != nil {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
		}
	}
	sub := treeFS{t: t, when: f.when}
	out := make([]fs.DirEntry, 0, len(t.Entries))
	for i := range t.Entries {
		fi, err := sub.info(".", &t.Entries[i])
		if err != nil {
			return nil, err
		}
		out = append(out, fs.FileInfoToDirEntry(fi))
	}
	return out, nil
}

func (f treeFS) ReadFile(name string) ([]byte, error) {
	e, err := f.entry("read", name)
	if err != nil {
		return nil, err
	}
	if e == nil || e.Mode == filemode.Dir || e.Mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("not a file")}
	}
	file, err := f.t.File(name)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	r, err := file.Reader()
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	defer r.Close()
	return io.ReadAll(r)
}

// Open opens a file for reading; folders are listed with ReadDir.
func (f treeFS) Open(name string) (fs.File, error) {
	fi, err := f.Stat(name)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		entries, err := f.ReadDir(name)
		if err != nil {
			return nil, err
		}
		return &openDir{fi: fi, entries: entries}, nil
	}
	data, err := f.ReadFile(name)
	if err != nil {
		return nil, err
	}
	return &openFile{fi: fi, data: data}, nil
}

type entryInfo struct {
	name string
	size int64
	mode fs.FileMode
	when time.Time
}

func (i entryInfo) Name() string       { return i.name }
func (i entryInfo) Size() int64        { return i.size }
func (i entryInfo) Mode() fs.FileMode  { return i.mode }
func (i entryInfo) ModTime() time.Time { return i.when }
func (i entryInfo) IsDir() bool        { return i.mode.IsDir() }
func (i entryInfo) Sys() any           { return nil }

type openFile struct {
	fi   fs.FileInfo
	data []byte
	off  int
}

func (f *openFile) Stat() (fs.FileInfo, error) { return f.fi, nil }
func (f *openFile) Close() error               { return nil }
func (f *openFile) Read(b []byte) (int, error) {
	if f.off >= len(f.data) {
		return 0, io.EOF
	}
	n := copy(b, f.data[f.off:])
	f.off += n
	return n, nil
}

type openDir struct {
	fi      fs.FileInfo
	entries []fs.DirEntry
}

func (d *openDir) Stat() (fs.FileInfo, error) { return d.fi, nil }
func (d *openDir) Close() error               { return nil }
func (d *openDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.fi.Name(), Err: errors.New("is a folder")}
}
func (d *openDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}
