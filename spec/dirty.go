package spec

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
)

// checkoutChanges returns the spec files of dir that differ from the
// commit the git checkout holding dir is at: modified, added, deleted,
// renamed or untracked, staged or not. They are slash-separated paths
// relative to dir, sorted, and only the files a Loader reads (spec
// extensions, no ignored name on the way). It returns nil when dir is in
// no checkout (a git-sync publication has no .git to ask, and is clean
// by construction).
//
// go-git reads the worktree's status (the index, HEAD's tree and the
// files): no git program is run.
func checkoutChanges(dir string) ([]string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	repo, err := git.PlainOpenWithOptions(abs, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("open the git checkout of %s: %w", dir, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, fmt.Errorf("the git checkout of %s: %w", dir, err)
	}
	st, err := wt.Status()
	if err != nil {
		return nil, fmt.Errorf("the git status of %s: %w", dir, err)
	}
	root, err := filepath.EvalSymlinks(wt.Filesystem.Root())
	if err != nil {
		return nil, err
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, err
	}
	prefix, err := filepath.Rel(root, real)
	if err != nil || prefix == ".." || strings.HasPrefix(prefix, ".."+string(filepath.Separator)) {
		return nil, nil
	}
	prefix = filepath.ToSlash(prefix)
	var out []string
	for p, fs := range st {
		if fs.Staging == git.Unmodified && fs.Worktree == git.Unmodified {
			continue
		}
		rel := p
		if prefix != "." {
			var ok bool
			if rel, ok = strings.CutPrefix(p, prefix+"/"); !ok {
				continue
			}
		}
		if readsAsSpec(rel) {
			out = append(out, rel)
		}
	}
	slices.Sort(out)
	return out, nil
}

// readsAsSpec reports whether a Loader reads the file at rel, a
// slash-separated path in its folder.
func readsAsSpec(rel string) bool {
	for _, e := range strings.Split(rel, "/") {
		if Ignored(e) {
			return false
		}
	}
	return isSpecFile(path.Base(rel))
}

// dirtyCache remembers the last checkout status a Loader asked for, with
// what it depended on: the revision and every spec file's size, time and
// presence.
// The status reads every file of the checkout, so it is asked again only
// when one of those changed, not on every rescan.
type dirtyCache struct {
	key   string
	files []string
}

// changes returns checkoutChanges for snap, from the cache when nothing
// it depends on changed. A status that cannot be read counts as no
// change: the revision is then reported as it is.
func (l *Loader) changes(snap *Snapshot) []string {
	rels := make([]string, 0, len(l.cache))
	for rel := range l.cache {
		rels = append(rels, rel)
	}
	slices.Sort(rels)
	var b strings.Builder
	b.WriteString(snap.Revision)
	for _, rel := range rels {
		cf := l.cache[rel]
		fmt.Fprintf(&b, "\x00%s\x00%d\x00%d\x00%t", rel, cf.size, cf.modTime.UnixNano(), cf.goneSince.IsZero())
	}
	key := b.String()
	if key == l.dirty.key {
		return l.dirty.files
	}
	l.dirty.key = key
	files, err := checkoutChanges(l.dir)
	if err != nil {
		files = nil
	}
	l.dirty.files = files
	return files
}
