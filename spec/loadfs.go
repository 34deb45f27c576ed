package spec

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"time"
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
	now := l.opts.Now()
	seen := map[string]bool{}
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
			seen[rel] = true
			cf := l.cached(rel, l.path(rel))
			cf.forget()
			cf.specs, cf.err, cf.lkg, cf.folder = nil, &Error{File: cf.path, Message: fmt.Sprintf("cannot read the folder: %v", err)}, nil, true
			l.idx.set(cf, fileResult{rel: rel, File: File{Path: cf.path, Err: cf.err}})
			return fs.SkipDir
		}
		if d.IsDir() || !isSpecFile(d.Name()) {
			return nil
		}
		seen[rel] = true
		cf := l.readFS(fsys, rel, d)
		l.idx.set(cf, l.result(cf))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("spec folder at %s: %w", revision, err)
	}
	for rel, cf := range l.cache {
		if !seen[rel] {
			l.drop(cf)
		}
	}
	l.idx.finish()
	snap := &Snapshot{Dir: l.dir, Revision: revision, LoadedAt: now}
	l.idx.fill(snap)
	return snap, nil
}

// readFS reads and parses the entry rel of fsys into the Loader's cache.
// Content the last read of rel found is not parsed again: its specs stay
// the same values, so a consumer sees what a new revision changed.
func (l *Loader) readFS(fsys fs.FS, rel string, d fs.DirEntry) *cachedFile {
	p := l.path(rel)
	cf := l.cached(rel, p)
	cf.folder, cf.badDir, cf.link, cf.goneSince = false, false, false, time.Time{}
	fail := func(msg string) *cachedFile {
		l.stats.Parsed++
		cf.parsed = false
		cf.specs, cf.err = nil, &Error{File: p, Message: msg}
		return cf
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
	sum := sha256.Sum256(data)
	if cf.parsed && sum == cf.sum {
		l.stats.Reused++
		return cf
	}
	l.stats.Parsed++
	cf.sum, cf.parsed = sum, true
	specs, err := Parse(p, data)
	if err != nil {
		cf.specs, cf.err = nil, LocateSyntax(err, data, l.opts.LocateSyntax)
		return cf
	}
	cf.specs, cf.err, cf.lkg = specs, nil, specs
	return cf
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
