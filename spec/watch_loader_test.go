package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// watchTestLoader is a small stand-in for the folder loader, enough to
// test the Watcher against: it walks the folder like the loader (dot names
// and editor leftovers ignored, symlinked files followed), decodes the
// name and image of each document, keeps the last-known-good specs of a
// file that turns invalid, re-reads only files whose size or modification
// time changed, and reads the revision from a git-sync style link target
// or .git/HEAD.
type watchTestLoader struct {
	dir   string
	cache map[string]watchTestFile
	loads int
}

type watchTestFile struct {
	size  int64
	mod   time.Time
	specs []*Container // last-known-good
	err   error
}

func newWatchTestLoader(dir string) *watchTestLoader {
	return &watchTestLoader{dir: dir, cache: make(map[string]watchTestFile)}
}

func (l *watchTestLoader) Load() (*Snapshot, error) {
	l.loads++
	root, err := filepath.EvalSymlinks(l.dir)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", l.dir, err)
	}
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", l.dir, err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("load %s: not a folder", l.dir)
	}
	snap := &Snapshot{Dir: l.dir, Revision: watchTestRevision(l.dir, root), LoadedAt: time.Now()}
	var paths []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || watchIgnoredName(name)) {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml")) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", l.dir, err)
	}
	seen := make(map[string]bool)
	for _, path := range paths {
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		fi, err := os.Stat(path)
		if err != nil {
			continue // vanished since the walk
		}
		seen[rel] = true
		c, ok := l.cache[rel]
		if !ok || c.size != fi.Size() || !c.mod.Equal(fi.ModTime()) {
			specs, err := watchTestDecode(path, rel)
			c = watchTestFile{size: fi.Size(), mod: fi.ModTime(), specs: c.specs, err: err}
			if err == nil {
				c.specs = specs
			}
			l.cache[rel] = c
		}
		f := File{Path: rel, Size: c.size, ModTime: c.mod, Err: c.err, Stale: c.err != nil && len(c.specs) > 0}
		for _, s := range c.specs {
			f.Names = append(f.Names, s.Name())
			snap.Specs = append(snap.Specs, s)
		}
		snap.Files = append(snap.Files, f)
	}
	for rel := range l.cache {
		if !seen[rel] {
			delete(l.cache, rel)
		}
	}
	sort.SliceStable(snap.Specs, func(i, j int) bool { return snap.Specs[i].Name() < snap.Specs[j].Name() })
	return snap, nil
}

func watchTestDecode(path, rel string) ([]*Container, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var specs []*Container
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		c := new(Container)
		if err := dec.Decode(c); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", rel, err)
		}
		if c.Kind != KindContainer || c.Metadata.Name == "" || c.Spec.Image == "" {
			return nil, fmt.Errorf("%s: not a container spec", rel)
		}
		c.Source = Source{File: rel}
		specs = append(specs, c)
	}
	return specs, nil
}

// watchTestRevision is the commit of a git-sync style link target (the
// target's base name) or of a checkout's HEAD.
func watchTestRevision(dir, root string) string {
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return filepath.Base(root)
	}
	head, err := os.ReadFile(filepath.Join(root, ".git", "HEAD"))
	if err != nil {
		return ""
	}
	ref, ok := strings.CutPrefix(strings.TrimSpace(string(head)), "ref: ")
	if !ok {
		return strings.TrimSpace(string(head))
	}
	b, err := os.ReadFile(filepath.Join(root, ".git", filepath.FromSlash(ref)))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
