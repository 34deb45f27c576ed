package spec

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadFS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "specs")
	l := NewLoader(dir, LoaderOptions{MaxFileSize: 512})
	rev1 := fstest.MapFS{
		"a.yaml":            {Data: []byte(specYAML("a"))},
		"sub/b.yml":         {Data: []byte(specYAML("b"))},
		"sub/c.yaml":        {Data: []byte(specYAML("c"))},
		".git/x.yaml":       {Data: []byte(specYAML("hidden"))},
		"notes.txt":         {Data: []byte("not a spec")},
		"d.yaml~":           {Data: []byte(specYAML("backup"))},
		"big.yaml":          {Data: []byte(specYAML("big") + "# " + strings.Repeat("x", 600) + "\n")},
		"link.yaml":         {Data: []byte("a.yaml"), Mode: fs.ModeSymlink},
		"dup/again.yaml":    {Data: []byte(specYAML("a"))},
		"sub/.hidden/e.yml": {Data: []byte(specYAML("e"))},
	}
	snap, err := l.LoadFS(rev1, "1111111111111111111111111111111111111111")
	if err != nil {
		t.Fatal(err)
	}
	if got := specNames(snap); got != "a,b,c" {
		t.Errorf("specs = %s, want a,b,c", got)
	}
	if snap.Revision != "1111111111111111111111111111111111111111" || snap.Dir != dir {
		t.Errorf("revision %q dir %q", snap.Revision, snap.Dir)
	}
	if f := fileByName(t, snap, "a.yaml"); f.Path != filepath.Join(dir, "a.yaml") || !f.Valid() {
		t.Errorf("a.yaml = %+v", f)
	}
	if f := fileByName(t, snap, "big.yaml"); f.Valid() || !strings.Contains(f.Err.Error(), "larger than the limit") {
		t.Errorf("big.yaml = %v, want the size limit", f.Err)
	}
	if f := fileByName(t, snap, "link.yaml"); f.Valid() || !strings.Contains(f.Err.Error(), "a symbolic link, not a regular file") {
		t.Errorf("link.yaml = %v, want skipped as a link", f.Err)
	}
	if len(snap.Conflicts) != 1 || snap.Conflicts[0].Name != "a" {
		t.Errorf("conflicts = %+v, want a in dup/again.yaml", snap.Conflicts)
	}

	// The next revision breaks c and removes b: c keeps its
	// last-known-good spec, b goes at once.
	rev2 := fstest.MapFS{
		"a.yaml":     {Data: []byte(specYAML("a"))},
		"sub/c.yaml": {Data: []byte("apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: c}\nspec: {imagee: x}\n")},
	}
	snap, err = l.LoadFS(rev2, "2222222222222222222222222222222222222222")
	if err != nil {
		t.Fatal(err)
	}
	if got := specNames(snap); got != "a,c" {
		t.Errorf("specs = %s, want a,c", got)
	}
	if f := fileByName(t, snap, "c.yaml"); f.Valid() || !f.Stale {
		t.Errorf("c.yaml = %+v, want invalid and stale", f)
	}
	if errs := Errors(fileByName(t, snap, "c.yaml").Err); len(errs) == 0 || errs[0].Line != 4 {
		t.Errorf("c.yaml errors = %v, want one at line 4", errs)
	}

	if _, err := l.LoadFS(fstest.MapFS{"x": {Mode: fs.ModeDir}}, "3"); err != nil {
		t.Errorf("a listable tree: %v", err)
	}
	if _, err := l.LoadFS(unlistable{}, "4"); err == nil {
		t.Error("an unlistable tree loaded")
	}
}

type unlistable struct{}

func (unlistable) Open(string) (fs.File, error) { return nil, fs.ErrPermission }
