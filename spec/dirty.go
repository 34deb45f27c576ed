package spec

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

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

// changes returns the spec files of LoaderOptions.CheckoutChanges for
// snap, from the cache when nothing it depends on changed. A status that
// cannot be read counts as no change: the revision is then reported as it
// is.
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
	var files []string
	if changed, err := l.opts.CheckoutChanges(l.dir); err == nil {
		for _, rel := range changed {
			if readsAsSpec(rel) {
				files = append(files, rel)
			}
		}
		slices.Sort(files)
	}
	l.dirty.files = files
	return files
}
