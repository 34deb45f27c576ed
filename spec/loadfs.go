package spec

import (
	"fmt"
	"io/fs"
	"sort"
)

// LoadFS reads the folder's spec files from fsys instead of the folder
// itself: fsys holds the folder's content as another source has it (the
// tree of a verified git commit, see package gitverify), and revision is
// the revision it is of. The rules are Load's: which names are read, the
// size limit, last-known-good specs of a file that turns invalid,
// conflicts. Paths in the snapshot are the folder's, as if read from
// there. Only regular files are read; a spec-named entry that is anything
// else (a symbolic link, a submodule) is reported, not followed. A file
// gone from fsys takes its specs with it at once: a revision is whole.
//
// A Loader should be given one source: Load and LoadFS share what the
// Loader remembers of each file. It returns an error, and no snapshot,
// only when fsys's top folder cannot be listed.
func (l *Loader) LoadFS(fsys fs.FS, revision string) (*Snapshot, error) {
	if _, err := fs.ReadDir(fsys, "."); err != nil {
		return nil, fmt.Errorf("spec folder at %s: %w", revision, err)
	}
	l.stats = LoadStats{}
	snap := &Snapshot{Dir: l.dir, Revision: revision, LoadedAt: l.opts.Now()}
	seen := map[string]bool{}
	var files []fileResult
	err := fs.WalkDir(fsys, ".", func(rel string, d fs.DirEntry, err error) error {
		if rel == "." {
			return err
		}
		if Ignored(d.Name()) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if err != nil {
			files = append(files, fileResult{rel: rel, File: File{Path: l.path(rel), Err: &Error{File: l.path(rel), Message: fmt.Sprintf("cannot read the folder: %v", err)}}})
			return fs.SkipDir
		}
		if d.IsDir() || !isSpecFile(d.Name()) {
			return nil
		}
		seen[rel] = true
		files = append(files, l.readFS(fsys, rel, d))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spec folder at %s: %w", revision, err)
	}
	for rel := range l.cache {
		if !seen[rel] {
			delete(l.cache, rel)
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	snap.Specs, snap.Conflicts = resolveNames(files)
	for _, f := range files {
		snap.Files = append(snap.Files, f.File)
	}
	return snap, nil
}

// readFS reads and parses the entry rel of fsys into the Loader's cache.
func (l *Loader) readFS(fsys fs.FS, rel string, d fs.DirEntry) fileResult {
	p := l.path(rel)
	cf := l.cache[rel]
	if cf == nil {
		cf = &cachedFile{}
		l.cache[rel] = cf
	}
	l.stats.Parsed++
	fail := func(msg string) fileResult {
		cf.specs, cf.err = nil, &Error{File: p, Message: msg}
		return l.result(rel, p, cf)
	}
	if !d.Type().IsRegular() {
		return fail(fmt.Sprintf("skipped: %s, not a regular file; of a revision only the files it holds are read", describeEntry(d.Type())))
	}
	fi, err := d.Info()
	if err != nil {
		return fail(fmt.Sprintf("cannot read the file: %v", err))
	}
	cf.size = fi.Size()
	if fi.Size() > l.opts.MaxFileSize {
		return fail(fmt.Sprintf("file is %s, larger than the limit of %s; split it into several files (or raise --max-file-size)", byteSize(fi.Size()), byteSize(l.opts.MaxFileSize)))
	}
	data, err := fs.ReadFile(fsys, rel)
	if err != nil {
		return fail(fmt.Sprintf("cannot read the file: %v", err))
	}
	specs, err := Parse(p, data)
	if err != nil {
		cf.specs, cf.err = nil, err
		return l.result(rel, p, cf)
	}
	cf.specs, cf.err, cf.lkg = specs, nil, specs
	return l.result(rel, p, cf)
}

func describeEntry(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a folder"
	}
	return "a submodule or special entry"
}
