package adminonly

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInside(t *testing.T) {
	root := t.TempDir()
	specs := filepath.Join(root, "specs")
	other := filepath.Join(root, "other")
	for _, d := range []string{filepath.Join(specs, "sub"), other} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(specs, link); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	// Under Wine a link os.Symlink makes does not resolve; the rows that
	// go through it are Linux's and Windows' own.
	resolves := false
	if r, err := filepath.EvalSymlinks(link); err == nil {
		rs, _ := filepath.EvalSymlinks(specs)
		resolves = r == rs
	}
	tests := []struct {
		path, dir string
		want      bool
	}{
		{filepath.Join(specs, "keys.asc"), specs, true},
		{filepath.Join(specs, "sub", "keys.asc"), specs, true},
		{specs, specs, true},
		{filepath.Join(other, "keys.asc"), specs, false},
		{filepath.Join(root, "specs-keys.asc"), specs, false},
		{filepath.Join(link, "keys.asc"), specs, true},
		{filepath.Join(specs, "keys.asc"), link, true},
		{filepath.Join(specs, "..", "other", "keys"), specs, false},
	}
	for _, tt := range tests {
		if !resolves && (strings.HasPrefix(tt.path, link) || tt.dir == link) {
			continue
		}
		if got := Inside(tt.path, tt.dir); got != tt.want {
			t.Errorf("Inside(%s, %s) = %v, want %v", tt.path, tt.dir, got, tt.want)
		}
	}
}
