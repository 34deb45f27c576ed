package spec

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/internal/safefile"
)

// LoadPaths is Load for when change notifications name what changed:
// only the paths given (slash-separated, relative to the folder; a file,
// or a folder whose whole tree is read again, or a path that is gone) are
// looked at, and besides them the files a Loader cannot take on trust: a
// change held back to settle, a removal not confirmed yet, a file read
// too soon after it changed to tell the next change (safefile.Stamp.
// Racy), a symbolic link (its target may change under another name), a
// file in a folder that could not be read. Every other file is as the
// last load left it. A path a walk of the folder does not reach (under an
// Ignored name, through a link to a folder) is ignored.
//
// The result is what Load would return if every change since the last
// load is named, under the same rules. Before the first Load or Reload,
// and for "" or ".", it walks the folder as Load does.
func (l *Loader) LoadPaths(paths []string) (*Snapshot, error) {
	if !l.walked || slices.ContainsFunc(paths, func(p string) bool { return cleanRel(p) == "" }) {
		return l.load(false)
	}
	root, err := l.openFolder()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	l.stats = LoadStats{}
	now := l.opts.Now()
	targets := make([]string, 0, len(paths)+len(l.idx.recheck))
	for _, p := range paths {
		targets = append(targets, cleanRel(p))
	}
	for cf := range l.idx.recheck {
		targets = append(targets, cf.rel)
	}
	slices.Sort(targets)
	targets = slices.Compact(targets)
	l.loads++
	load := l.loads
	var walked []string // folders whose tree was read: paths under them are done
	for _, rel := range targets {
		if slices.ContainsFunc(walked, func(w string) bool { return strings.HasPrefix(rel, w+"/") }) {
			continue
		}
		if l.loadPath(root, rel, now, load) {
			walked = append(walked, rel)
		}
	}
	return l.snapshot(now), nil
}

// cleanRel makes p a clean slash-separated relative path; "" for the
// folder itself or a path that leaves it.
func cleanRel(p string) string {
	p = path.Clean(strings.ReplaceAll(p, `\`, "/"))
	if p == "." || p == ".." || strings.HasPrefix(p, "../") || path.IsAbs(p) {
		return ""
	}
	return p
}

// loadPath looks at rel as a walk would find it, and reports whether it
// read a folder's whole tree.
func (l *Loader) loadPath(root *safefile.Root, rel string, now time.Time, load uint64) (tree bool) {
	parts := strings.Split(rel, "/")
	if slices.ContainsFunc(parts, Ignored) {
		return false // no walk reaches it
	}
	if len(parts) > maxDepth+1 {
		return false // beyond a walk's depth: left to the walks
	}
	// Open the folders on the way as the walk does: each must be a
	// folder, not a link to one.
	dir := root
	for i, name := range parts[:len(parts)-1] {
		at := strings.Join(parts[:i+1], "/")
		fi, err := dir.Lstat(name)
		if err == nil && !fi.IsDir() {
			err = fs.ErrNotExist // a walk does not go in
		}
		var sub *safefile.Root
		if err == nil {
			sub, err = dir.OpenRoot(name)
		}
		if err != nil {
			if dir != root {
				dir.Close()
			}
			if errors.Is(err, fs.ErrNotExist) {
				l.gone(at, false, now, load)
			} else {
				l.badFolder(badDir{at, &Error{File: l.path(at), Message: fmt.Sprintf("cannot read the folder: %v", err)}}, load)
			}
			return false
		}
		if dir != root {
			dir.Close()
		}
		dir = sub
	}
	if dir != root {
		defer dir.Close()
	}
	name := parts[len(parts)-1]
	fi, err := dir.Lstat(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		l.gone(rel, true, now, load)
		return false
	case err != nil:
		// What cannot be looked at now is kept as it is; the next
		// event or resync looks again.
		for _, cf := range l.idx.under(rel) {
			cf.looked = load
		}
		return false
	case fi.IsDir():
		sub, err := dir.OpenRoot(name)
		if err == nil {
			err = walkIn(sub, rel, len(parts), func(child string, d fs.DirEntry, in *safefile.Root) {
				if d.IsDir() || !isSpecFile(d.Name()) {
					return
				}
				l.visit(specEntry(root, in, child, l.path(child), d), false, now).looked = load
			}, func(child string, err error) {
				l.badFolder(badDir{child, &Error{File: l.path(child), Message: fmt.Sprintf("cannot read the folder: %v", err)}}, load)
			})
			sub.Close()
		}
		if err != nil {
			l.badFolder(badDir{rel, &Error{File: l.path(rel), Message: fmt.Sprintf("cannot read the folder: %v", err)}}, load)
			return true
		}
		l.gone(rel, true, now, load) // what was under it and is not now, or a file it replaced
		return true
	}
	if isSpecFile(name) {
		l.visit(specEntry(root, dir, rel, l.path(rel), fs.FileInfoToDirEntry(fi)), false, now).looked = load
	}
	l.gone(rel, true, now, load) // a folder that became a file, or a file that is not a spec file
	return false
}

// gone handles the files under rel (and rel itself, with self) that this
// load did not see.
func (l *Loader) gone(rel string, self bool, now time.Time, load uint64) {
	for _, cf := range l.idx.under(rel) {
		if cf.rel == rel && !self {
			continue
		}
		if cf.looked != load {
			cf.looked = load
			l.missing(cf, now)
		}
	}
}
