package spec

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestLoadPathsIsLoad edits a folder at random, the ways people and tools
// do (rewrites, half-written files, removals, renames, folders removed
// and made, links, files that are not specs), and after each batch of
// edits reads it twice: with LoadPaths, told only the paths the edits
// named, and with Load, which walks the whole folder. Both must give the
// same snapshot, and each the one the folder's files give when their
// names are resolved from scratch (resolveNames): the index the Loader
// keeps from one load to the next changes nothing of the outcome.
func TestLoadPathsIsLoad(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	steps := 120
	if testing.Short() {
		seeds, steps = seeds[:2], 60
	}
	links := canSymlink(t)
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			dir := t.TempDir()
			clock := newFakeClock()
			byPaths := NewLoader(dir, LoaderOptions{Now: clock.Now})
			byWalk := NewLoader(dir, LoaderOptions{Now: clock.Now})
			e := &folderEditor{t: t, dir: dir, rnd: rand.New(rand.NewPCG(seed, 7)), links: links}
			for range 6 {
				e.edit()
			}
			e.changed = nil
			check := func(step int, a, b *Snapshot) {
				t.Helper()
				if diff := snapshotDiff(a, b); diff != "" {
					t.Fatalf("step %d, after %s: LoadPaths(%q) and Load differ: %s", step, e.lastOps(), e.changed, diff)
				}
				for _, l := range []*Loader{byPaths, byWalk} {
					if diff := snapshotDiff(a, referenceSnapshot(l)); diff != "" {
						t.Fatalf("step %d, after %s: the index and resolveNames differ: %s", step, e.lastOps(), diff)
					}
				}
			}
			a, b := mustLoad(t, byPaths), mustLoad(t, byWalk)
			check(0, a, b)
			for step := 1; step <= steps; step++ {
				for range 1 + e.rnd.IntN(3) {
					e.edit()
				}
				var err error
				if e.rnd.IntN(10) == 0 {
					a, err = byPaths.Reload()
				} else {
					a, err = byPaths.LoadPaths(e.changed)
				}
				if err != nil {
					t.Fatal(err)
				}
				b = mustLoad(t, byWalk)
				check(step, a, b)
				e.changed, e.ops = nil, nil
				clock.Advance(time.Duration(e.rnd.IntN(1500)) * time.Millisecond)
			}
		})
	}
}

func canSymlink(t *testing.T) bool {
	dir := t.TempDir()
	if err := os.Symlink("x", filepath.Join(dir, "l")); err != nil {
		return false
	}
	writeFile(t, filepath.Join(dir, "x"), "x")
	_, err := os.Stat(filepath.Join(dir, "l"))
	return err == nil
}

// folderEditor makes random edits to a spec folder and records the paths
// they touch, as change notifications would name them.
type folderEditor struct {
	t       *testing.T
	dir     string
	rnd     *rand.Rand
	links   bool
	changed []string
	ops     []string
	gen     int
}

var (
	editorPaths = []string{"a.yaml", "b.yml", "a/x.yaml", "a/y.yaml", "a/c/z.yaml", "b/x.yaml", "b/c/w.yaml", "dup.yaml"}
	editorNames = []string{"web", "api", "db", "cache", "queue", "web"}
)

func (e *folderEditor) lastOps() string { return strings.Join(e.ops, "; ") }

func (e *folderEditor) touch(rel string) { e.changed = append(e.changed, rel) }

func (e *folderEditor) abs(rel string) string { return filepath.Join(e.dir, filepath.FromSlash(rel)) }

func (e *folderEditor) content() string {
	var docs []string
	for range 1 + e.rnd.IntN(3) {
		e.gen++
		name := editorNames[e.rnd.IntN(len(editorNames))]
		docs = append(docs, fmt.Sprintf("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: %s}\nspec: {image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022', command: [cmd, /c, echo, '%d']}\n", name, e.gen))
	}
	return strings.Join(docs, "---\n")
}

func (e *folderEditor) write(rel, content string) {
	p := e.abs(rel)
	if fi, err := os.Lstat(filepath.Dir(p)); err == nil && !fi.IsDir() {
		return // a link or file where the folder would be
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return
	}
	if fi, err := os.Lstat(p); err == nil && fi.IsDir() {
		return
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	e.touch(rel)
	// Make the new content visible to size and time checks even on a file
	// system with a coarse clock, as the loader tests do.
	next := time.Now().Add(time.Duration(e.gen) * time.Second)
	os.Chtimes(p, next, next)
}

func (e *folderEditor) edit() {
	rel := editorPaths[e.rnd.IntN(len(editorPaths))]
	p := e.abs(rel)
	old, _ := os.ReadFile(p)
	op := e.rnd.IntN(13)
	switch op {
	case 0, 1, 2:
		e.write(rel, e.content())
	case 3:
		e.write(rel, "apiVersion: isoagent/v1\nkind: [\n")
	case 4: // half-written: a beginning of what was there
		if len(old) > 2 {
			e.write(rel, string(old[:e.rnd.IntN(len(old)-1)+1]))
		}
	case 5:
		e.write(rel, "")
	case 6:
		if os.Remove(p) == nil {
			e.touch(rel)
		}
	case 7: // a folder goes, with what is in it
		d := []string{"a/c", "b", "a"}[e.rnd.IntN(3)]
		if os.RemoveAll(e.abs(d)) == nil {
			e.touch(d)
		}
	case 8: // renamed over another
		to := editorPaths[e.rnd.IntN(len(editorPaths))]
		if to != rel && os.MkdirAll(filepath.Dir(e.abs(to)), 0o755) == nil && os.Rename(p, e.abs(to)) == nil {
			e.touch(rel)
			e.touch(to)
		}
	case 9: // a link to another spec file, inside the folder
		if e.links {
			target := editorPaths[e.rnd.IntN(len(editorPaths))]
			link := "link" + fmt.Sprint(e.rnd.IntN(2)) + ".yaml"
			os.Remove(e.abs(link))
			rt, err := filepath.Rel(e.dir, e.abs(target))
			if err == nil && os.Symlink(rt, e.abs(link)) == nil {
				e.touch(link)
			}
		}
	case 10: // rewritten as it was: a new file, the same content
		if old != nil {
			tmp := p + ".new"
			if os.WriteFile(tmp, old, 0o644) == nil && os.Rename(tmp, p) == nil {
				e.touch(rel)
				e.touch(rel + ".new")
			}
		}
	case 11: // files that are not specs, and folders
		junk := []string{"notes.txt", ".hidden.yaml", "a/.git/x.yaml", "a/c/new", "..data/x.yaml"}[e.rnd.IntN(5)]
		if strings.HasSuffix(junk, "new") {
			if os.MkdirAll(e.abs(junk), 0o755) == nil {
				e.touch(junk)
			}
		} else {
			e.write(junk, e.content())
		}
	case 12: // a spec file moved to a new folder
		to := "m" + fmt.Sprint(e.rnd.IntN(2)) + "/" + filepath.Base(rel)
		if os.MkdirAll(filepath.Dir(e.abs(to)), 0o755) == nil && os.Rename(p, e.abs(to)) == nil {
			e.touch(rel)
			e.touch(filepath.Dir(to))
		}
	}
	e.ops = append(e.ops, fmt.Sprintf("op %d on %s", op, rel))
}

// referenceSnapshot is what l's cache gives when every file's outcome is
// put together from scratch, as Load did before the index: resolveNames
// over the files in path order.
func referenceSnapshot(l *Loader) *Snapshot {
	var files []fileResult
	for _, cf := range l.cache {
		files = append(files, l.result(cf))
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	snap := &Snapshot{Dir: l.dir}
	snap.Specs, snap.Conflicts = resolveNames(files)
	for _, f := range files {
		if f.gone && len(f.Names) == 0 {
			continue
		}
		snap.Files = append(snap.Files, f.File)
		if !f.settleAt.IsZero() && (snap.SettleAt.IsZero() || f.settleAt.Before(snap.SettleAt)) {
			snap.SettleAt = f.settleAt
		}
	}
	return snap
}

// snapshotDiff says how two snapshots differ in what they declare.
func snapshotDiff(a, b *Snapshot) string {
	var d []string
	if len(a.Specs) != len(b.Specs) {
		d = append(d, fmt.Sprintf("specs %s / %s", specNames(a), specNames(b)))
	} else {
		for i := range a.Specs {
			if !reflect.DeepEqual(a.Specs[i], b.Specs[i]) {
				d = append(d, fmt.Sprintf("spec %s: %+v / %+v", a.Specs[i].Name(), a.Specs[i], b.Specs[i]))
			}
		}
	}
	fa, fb := describeFiles(a), describeFiles(b)
	if !slices.Equal(fa, fb) {
		d = append(d, fmt.Sprintf("files\n  %s\n/\n  %s", strings.Join(fa, "\n  "), strings.Join(fb, "\n  ")))
	}
	if !reflect.DeepEqual(a.Conflicts, b.Conflicts) && (len(a.Conflicts) > 0 || len(b.Conflicts) > 0) {
		d = append(d, fmt.Sprintf("conflicts %+v / %+v", a.Conflicts, b.Conflicts))
	}
	if !a.SettleAt.Equal(b.SettleAt) {
		d = append(d, fmt.Sprintf("settleAt %v / %v", a.SettleAt, b.SettleAt))
	}
	return strings.Join(d, "; ")
}

func describeFiles(s *Snapshot) []string {
	var out []string
	for _, f := range s.Files {
		out = append(out, fmt.Sprintf("%s size=%d mod=%d names=%v stale=%v pending=%v err=%q",
			filepath.ToSlash(f.Path), f.Size, f.ModTime.UnixNano(), f.Names, f.Stale, f.Pending, errString(f.Err)))
	}
	return out
}
