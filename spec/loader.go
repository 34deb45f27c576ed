package spec

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// DefaultMaxFileSize is the largest spec file a Loader reads by default.
const DefaultMaxFileSize = 1 << 20

// LoaderOptions tune a Loader. The zero value gives the defaults.
type LoaderOptions struct {
	// MaxFileSize is the largest file read, in bytes; a larger file is
	// invalid with an error saying so. Zero means DefaultMaxFileSize.
	MaxFileSize int64
	// Now returns the time stamped on snapshots as LoadedAt; nil means
	// time.Now.
	Now func() time.Time
}

// LoadStats counts what the last Load did with the files it saw.
type LoadStats struct {
	// Parsed is how many files were read and parsed.
	Parsed int
	// Reused is how many files were unchanged (same size and modification
	// time) and taken from the cache without being read.
	Reused int
}

// A Loader reads a spec folder into Snapshots, again and again: it
// remembers every file it read, so an unchanged file (same size and
// modification time) is not parsed again, and a file that was valid keeps
// its last-known-good specs in force, marked Stale, while it is invalid.
//
// Which files are read: every file ending in .yaml or .yml (any case) in
// the folder and its subfolders, except names starting with '.' (files
// and folders: .git, ..data) and editor leftovers (ending in '~', .swp,
// .swx, .tmp, .bak, or named #...#). The folder may be a symlink, and
// symlinked files are followed (ConfigMap volumes are made of them);
// symlinked subfolders are not, so links cannot make the walk loop.
//
// A Loader is not safe for concurrent use.
type Loader struct {
	dir   string
	opts  LoaderOptions
	cache map[string]*cachedFile // by slash-separated path relative to dir
	stats LoadStats
}

// cachedFile is what the Loader remembers of one file.
type cachedFile struct {
	size    int64
	modTime time.Time
	specs   []*Container // from the last read, nil when it was invalid
	err     error        // of the last read
	lkg     []*Container // last-known-good specs
}

// NewLoader returns a Loader of dir. It reads nothing until Load.
func NewLoader(dir string, opts LoaderOptions) *Loader {
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Loader{dir: dir, opts: opts, cache: map[string]*cachedFile{}}
}

// Load reads the folder and returns what it declares now. Problems with
// single files are reported in the snapshot's Files and never hide other
// files' specs. Load returns an error, and no snapshot, only when the
// folder itself is missing, not a folder, or unreadable; a caller must then
// keep acting on what it had, never treat it as empty.
func (l *Loader) Load() (*Snapshot, error) { return l.load(false) }

// Reload is Load without the cache: every file is read again, whatever its
// size and modification time, for when a change may have gone unnoticed.
// Last-known-good specs are kept.
func (l *Loader) Reload() (*Snapshot, error) { return l.load(true) }

// Stats returns what the last Load or Reload did.
func (l *Loader) Stats() LoadStats { return l.stats }

// Load reads dir once with a new Loader and the default options.
func Load(dir string) (*Snapshot, error) {
	return NewLoader(dir, LoaderOptions{}).Load()
}

// LoadFiles reads the given spec files, whatever their names, as one set:
// duplicate names among them are resolved as in a folder (first path in
// sort order wins). Every problem, unreadable files included, is reported
// in the snapshot's Files; Dir is empty and no revision is read. It is for
// tools that check files named on their command line.
func LoadFiles(paths []string, opts LoaderOptions) *Snapshot {
	l := NewLoader("", opts)
	sorted := slices.Clone(paths)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	var files []fileResult
	for _, p := range sorted {
		files = append(files, l.readFile(filepath.ToSlash(p), p, false))
	}
	snap := &Snapshot{LoadedAt: l.opts.Now()}
	snap.Specs, snap.Conflicts = resolveNames(files)
	for _, f := range files {
		snap.Files = append(snap.Files, f.File)
	}
	return snap
}

func (l *Loader) load(force bool) (*Snapshot, error) {
	fi, err := os.Stat(l.dir)
	if err != nil {
		return nil, fmt.Errorf("spec folder: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("spec folder %s is not a folder", l.dir)
	}
	w := walker{root: l.dir}
	if err := w.walk(""); err != nil {
		return nil, fmt.Errorf("spec folder: %w", err)
	}
	l.stats = LoadStats{}
	snap := &Snapshot{Dir: l.dir, LoadedAt: l.opts.Now()}
	seen := map[string]bool{}
	var files []fileResult
	for _, rel := range w.files {
		seen[rel] = true
		files = append(files, l.readFile(rel, l.path(rel), force))
	}
	// A subfolder that cannot be read keeps the last-known-good specs of
	// the files the Loader saw under it: it may be back on the next Load.
	for _, bad := range w.badDirs {
		kept := false
		for rel, cf := range l.cache {
			if !seen[rel] && strings.HasPrefix(rel, bad.rel+"/") {
				seen[rel] = true
				kept = true
				cf.err = bad.err
				cf.specs = nil
				files = append(files, l.result(rel, l.path(rel), cf))
			}
		}
		if !kept {
			files = append(files, fileResult{File: File{Path: l.path(bad.rel), Err: bad.err}, rel: bad.rel})
		}
	}
	for rel := range l.cache {
		if !seen[rel] {
			delete(l.cache, rel) // vanished: its specs go with it
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	snap.Specs, snap.Conflicts = resolveNames(files)
	for _, f := range files {
		snap.Files = append(snap.Files, f.File)
	}
	snap.Revision = gitRevision(l.dir)
	return snap, nil
}

// fileResult is one file's outcome and the specs it offers.
type fileResult struct {
	File
	rel   string
	specs []*Container
}

func (l *Loader) path(rel string) string { return filepath.Join(l.dir, filepath.FromSlash(rel)) }

// readFile reads and parses the file at path, cached under rel, or takes
// it from the cache when it has not changed.
func (l *Loader) readFile(rel, path string, force bool) fileResult {
	cf := l.cache[rel]
	if cf == nil {
		cf = &cachedFile{}
		l.cache[rel] = cf
	}
	fi, err := os.Stat(path)
	if err != nil {
		cf.size, cf.modTime = -1, time.Time{}
		cf.specs, cf.err = nil, &Error{File: path, Message: fmt.Sprintf("cannot read the file: %v", err)}
		l.stats.Parsed++
		return l.result(rel, path, cf)
	}
	if !force && !cf.modTime.IsZero() && cf.size == fi.Size() && cf.modTime.Equal(fi.ModTime()) {
		l.stats.Reused++
		return l.result(rel, path, cf)
	}
	l.stats.Parsed++
	cf.size, cf.modTime = fi.Size(), fi.ModTime()
	data, err := l.readCapped(path, fi.Size())
	if err == nil {
		var specs []*Container
		specs, err = Parse(path, data)
		if err == nil {
			cf.specs, cf.err, cf.lkg = specs, nil, specs
			return l.result(rel, path, cf)
		}
	}
	cf.specs, cf.err = nil, err
	return l.result(rel, path, cf)
}

// readCapped reads a file of at most MaxFileSize bytes. The limit is
// checked again while reading, as the file may grow after the stat.
func (l *Loader) readCapped(path string, size int64) ([]byte, error) {
	max := l.opts.MaxFileSize
	tooBig := func(n int64) error {
		return &Error{File: path, Message: fmt.Sprintf("file is %s, larger than the limit of %s; split it into several files (or raise --max-file-size)",
			byteSize(n), byteSize(max))}
	}
	if size > max {
		return nil, tooBig(size)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Message: fmt.Sprintf("cannot read the file: %v", err)}
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &Error{File: path, Message: fmt.Sprintf("cannot read the file: %v", err)}
	}
	if int64(len(data)) > max {
		return nil, tooBig(int64(len(data)))
	}
	return data, nil
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// result turns a cache entry into the file's outcome: its current specs
// when valid, else its last-known-good ones, marked stale.
func (l *Loader) result(rel, path string, cf *cachedFile) fileResult {
	r := fileResult{rel: rel, File: File{Path: path, Size: cf.size, ModTime: cf.modTime, Err: cf.err}}
	if r.Size < 0 {
		r.Size = 0
	}
	switch {
	case cf.err == nil:
		r.specs = cf.specs
	case cf.lkg != nil:
		r.specs = cf.lkg
		r.Stale = true
	}
	return r
}

// resolveNames picks one spec per name: the first in file order (files
// sorted by path, documents in file order). The others become conflicts
// naming the winner. It fills in each file's Names.
func resolveNames(files []fileResult) ([]*Container, []Conflict) {
	winners := map[string]*Container{}
	var specs []*Container
	var conflicts []Conflict
	for i := range files {
		f := &files[i]
		for _, c := range f.specs {
			if w, ok := winners[c.Name()]; ok {
				conflicts = append(conflicts, Conflict{Name: c.Name(), Loser: c.Source, Winner: w.Source})
				continue
			}
			winners[c.Name()] = c
			specs = append(specs, c)
			f.Names = append(f.Names, c.Name())
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name() < specs[j].Name() })
	return specs, conflicts
}

// walker lists the spec files under root.
type walker struct {
	root    string
	files   []string // slash-separated, relative to root
	badDirs []badDir
}

type badDir struct {
	rel string
	err error
}

// walk lists the folder rel (relative to root). Only the root folder's
// failure is returned; a subfolder's is recorded in badDirs.
func (w *walker) walk(rel string) error {
	dir := filepath.Join(w.root, filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	if err != nil {
		if rel == "" {
			return err
		}
		w.badDirs = append(w.badDirs, badDir{rel, &Error{File: dir, Message: fmt.Sprintf("cannot read the folder: %v", err)}})
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		if Ignored(name) {
			continue
		}
		child := name
		if rel != "" {
			child = rel + "/" + name
		}
		switch mode := e.Type(); {
		case mode.IsDir():
			if err := w.walk(child); err != nil {
				return err
			}
		case mode.IsRegular():
			if isSpecFile(name) {
				w.files = append(w.files, child)
			}
		case mode&os.ModeSymlink != 0:
			// Follow links to files only; the target is checked when read.
			if !isSpecFile(name) {
				continue
			}
			fi, err := os.Stat(filepath.Join(dir, name))
			if err != nil || fi.Mode().IsRegular() {
				w.files = append(w.files, child) // a dangling link is reported as unreadable
			}
		}
	}
	return nil
}

// Ignored reports whether a file or folder name is skipped when a spec
// folder is read: dot names (.git, ..data) and editor leftovers (name~,
// .swp, .swx, .tmp, .bak, #name#). The Watcher uses the same rule.
func Ignored(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		len(name) >= 2 && strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#") {
		return true
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".swp", ".swx", ".tmp", ".bak":
		return true
	}
	return false
}

// isSpecFile reports whether name is a spec file by its extension.
func isSpecFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml":
		return true
	}
	return false
}
