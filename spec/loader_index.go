package spec

import (
	"cmp"
	"slices"
	"strings"
)

// folderIndex is what a Loader has assembled of its folder: every file's
// outcome in path order, and which file's spec holds each name. It is
// kept up to date one file at a time, so that a load that read one file
// costs the names that file declares, not the whole folder: the rules are
// those of resolveNames, which LoadFiles uses and the tests compare with.
type folderIndex struct {
	// files are the files with an outcome, by path relative to the folder.
	files []*cachedFile
	// claims are, by spec name, the specs that declare it in the order
	// that picks the winner (see claimLess): files that are there before
	// removed ones, then by path, then document order. The first wins.
	claims map[string][]claim
	// specs are the winners, by name.
	specs []*Container
	// conflicted counts the files that lose a name they declare.
	conflicted int
	// recheck are the files a load that reads only what changed reads
	// anyway (see cachedFile.mustRecheck).
	recheck map[*cachedFile]struct{}

	// What the load in progress changed: names whose claims changed, with
	// their winner before it, and files whose names or conflicts must be
	// worked out again.
	touched map[string]claim
	redo    map[*cachedFile]struct{}
	// changed reports that the load in progress changed what a snapshot
	// says; gen counts the loads that did.
	changed bool
	gen     uint64
}

// claim is one document's spec declaring a name.
type claim struct {
	f   *cachedFile
	doc int
	c   *Container
}

func claimLess(a, b claim) int {
	if a.f.res.gone != b.f.res.gone {
		if a.f.res.gone {
			return 1
		}
		return -1
	}
	if c := strings.Compare(a.f.rel, b.f.rel); c != 0 {
		return c
	}
	return cmp.Compare(a.doc, b.doc)
}

func newFolderIndex() folderIndex {
	return folderIndex{claims: map[string][]claim{}, recheck: map[*cachedFile]struct{}{}}
}

// set records res as cf's outcome, cf being in the cache.
func (x *folderIndex) set(cf *cachedFile, res fileResult) {
	if !cf.indexed {
		cf.indexed = true
		i, _ := slices.BinarySearchFunc(x.files, cf.rel, func(f *cachedFile, rel string) int { return strings.Compare(f.rel, rel) })
		x.files = slices.Insert(x.files, i, cf)
		cf.res = fileResult{rel: cf.rel}
		x.changed = true
	}
	old := cf.res
	names := old.Names
	res.Names = nil
	sameClaims := old.gone == res.gone && slices.Equal(old.specs, res.specs)
	if !sameClaims {
		x.unclaim(cf)
	}
	if !sameFileOutcome(old.File, res.File) || !old.settleAt.Equal(res.settleAt) || !sameClaims {
		x.changed = true
	}
	cf.res = res
	cf.res.Names = names // worked out again below when the claims changed
	if !sameClaims {
		x.claim(cf)
	}
	if cf.mustRecheck() {
		x.recheck[cf] = struct{}{}
	} else {
		delete(x.recheck, cf)
	}
}

// remove forgets cf, which leaves the cache.
func (x *folderIndex) remove(cf *cachedFile) {
	if !cf.indexed {
		return
	}
	x.unclaim(cf)
	if i, ok := slices.BinarySearchFunc(x.files, cf.rel, func(f *cachedFile, rel string) int { return strings.Compare(f.rel, rel) }); ok {
		x.files = slices.Delete(x.files, i, i+1)
	}
	if len(cf.conflicts) > 0 {
		x.conflicted--
	}
	delete(x.recheck, cf)
	delete(x.redo, cf)
	cf.indexed, cf.res, cf.conflicts = false, fileResult{}, nil
	x.changed = true
}

// under returns the indexed files at rel or below it.
func (x *folderIndex) under(rel string) []*cachedFile {
	var out []*cachedFile
	i, _ := slices.BinarySearchFunc(x.files, rel, func(f *cachedFile, rel string) int { return strings.Compare(f.rel, rel) })
	for ; i < len(x.files); i++ {
		f := x.files[i]
		if f.rel != rel && !strings.HasPrefix(f.rel, rel+"/") {
			if strings.HasPrefix(f.rel, rel) {
				continue // "a.d" sorts between "a" and "a/"
			}
			break
		}
		out = append(out, f)
	}
	return out
}

func (x *folderIndex) touch(name string) {
	if x.touched == nil {
		x.touched = map[string]claim{}
	}
	if _, ok := x.touched[name]; ok {
		return
	}
	var w claim
	if cs := x.claims[name]; len(cs) > 0 {
		w = cs[0]
	}
	x.touched[name] = w
}

func (x *folderIndex) redoFile(f *cachedFile) {
	if x.redo == nil {
		x.redo = map[*cachedFile]struct{}{}
	}
	x.redo[f] = struct{}{}
}

func (x *folderIndex) unclaim(cf *cachedFile) {
	for _, c := range cf.res.specs {
		name := c.Name()
		x.touch(name)
		cs := x.claims[name]
		for _, o := range cs {
			x.redoFile(o.f)
		}
		cs = slices.DeleteFunc(cs, func(o claim) bool { return o.f == cf })
		if len(cs) == 0 {
			delete(x.claims, name)
		} else {
			x.claims[name] = cs
		}
	}
	x.redoFile(cf)
}

func (x *folderIndex) claim(cf *cachedFile) {
	for i, c := range cf.res.specs {
		name := c.Name()
		x.touch(name)
		cl := claim{f: cf, doc: i, c: c}
		cs := x.claims[name]
		at, _ := slices.BinarySearchFunc(cs, cl, claimLess)
		x.claims[name] = slices.Insert(cs, at, cl)
		for _, o := range x.claims[name] {
			x.redoFile(o.f)
		}
	}
	x.redoFile(cf)
}

// finish works out what the changes of this load did to the winners of
// names, to each file's names and to its conflicts.
func (x *folderIndex) finish() {
	for name, was := range x.touched {
		var now claim
		if cs := x.claims[name]; len(cs) > 0 {
			now = cs[0]
		}
		if now.c == was.c {
			continue
		}
		x.changed = true
		i, found := slices.BinarySearchFunc(x.specs, name, func(c *Container, name string) int { return strings.Compare(c.Name(), name) })
		switch {
		case now.c == nil:
			x.specs = slices.Delete(x.specs, i, i+1)
		case found:
			x.specs[i] = now.c
		default:
			x.specs = slices.Insert(x.specs, i, now.c)
		}
	}
	for f := range x.redo {
		if !f.indexed {
			continue
		}
		names, conflicts := x.resolve(f)
		if !slices.Equal(names, f.res.Names) {
			f.res.Names = names
			x.changed = true
		}
		if len(f.conflicts) > 0 {
			x.conflicted--
		}
		if !slices.Equal(conflicts, f.conflicts) {
			x.changed = true
		}
		f.conflicts = conflicts
		if len(f.conflicts) > 0 {
			x.conflicted++
		}
		if f.mustRecheck() {
			x.recheck[f] = struct{}{}
		} else {
			delete(x.recheck, f)
		}
	}
	// Dropped, not cleared: a map keeps the room it once needed, and
	// the first load touches every name and file; the next load that
	// changes something makes small ones again.
	x.touched, x.redo = nil, nil
	if x.changed {
		x.gen++
		x.changed = false
	}
}

// resolve works out the names f contributes and the conflicts it loses,
// in document order, as resolveNames does: a file being removed loses
// without a conflict.
func (x *folderIndex) resolve(f *cachedFile) (names []string, conflicts []Conflict) {
	for i, c := range f.res.specs {
		w := x.claims[c.Name()][0]
		if w.f == f && w.doc == i {
			names = append(names, c.Name())
			continue
		}
		if !f.res.gone {
			conflicts = append(conflicts, Conflict{Name: c.Name(), Loser: c.Source, Winner: w.c.Source})
		}
	}
	return names, conflicts
}

// fill puts what the index holds into snap.
func (x *folderIndex) fill(snap *Snapshot) {
	snap.Specs = slices.Clone(x.specs)
	if len(x.files) > 0 {
		snap.Files = make([]File, 0, len(x.files))
	}
	for _, f := range x.files {
		if f.hidden() {
			continue
		}
		snap.Files = append(snap.Files, f.res.File)
	}
	if x.conflicted > 0 {
		for _, f := range x.files {
			snap.Conflicts = append(snap.Conflicts, f.conflicts...)
		}
	}
	for f := range x.recheck {
		if at := f.res.settleAt; !at.IsZero() && !f.hidden() && (snap.SettleAt.IsZero() || at.Before(snap.SettleAt)) {
			snap.SettleAt = at
		}
	}
}

// sameFileOutcome reports whether two outcomes of one file say the same,
// as sameSnapshot compares them (Names aside, which the index works out).
func sameFileOutcome(a, b File) bool {
	return a.Path == b.Path && a.Size == b.Size && a.ModTime.Equal(b.ModTime) && a.Stale == b.Stale &&
		a.Pending == b.Pending && (a.Err == b.Err || errString(a.Err) == errString(b.Err))
}
