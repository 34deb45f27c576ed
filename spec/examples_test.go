package spec

import (
	"path/filepath"
	"testing"
)

// TestExamplesAreValid pins that the shipped example specs validate clean
// and that every image says its Windows build in its tag, so process
// isolation can be admitted without knowing the image.
func TestExamplesAreValid(t *testing.T) {
	s, err := Load(filepath.Join("..", "examples", "specs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Files {
		if !f.Valid() {
			t.Errorf("%s: %v", f.Path, f.Err)
		}
	}
	if len(s.Conflicts) != 0 {
		t.Errorf("conflicts: %+v", s.Conflicts)
	}
	if len(s.Specs) < 6 {
		t.Errorf("%d example specs, want at least 6", len(s.Specs))
	}
	for _, c := range s.Specs {
		if c.Spec.Image.Build() == 0 {
			t.Errorf("%s: image %s does not say its build", c.Name(), c.Spec.Image)
		}
	}
}

func TestLoadFilesResolvesDuplicatesAcrossFiles(t *testing.T) {
	bad := filepath.Join("..", "examples", "bad")
	s := LoadFiles([]string{filepath.Join(bad, "dup-b.yaml"), filepath.Join(bad, "dup-a.yaml"), filepath.Join(bad, "dup-a.yaml")}, LoaderOptions{})
	if len(s.Files) != 2 || len(s.Specs) != 1 || len(s.Conflicts) != 1 {
		t.Fatalf("snapshot = %+v", s)
	}
	if got := filepath.Base(s.Specs[0].Source.File); got != "dup-a.yaml" {
		t.Errorf("winner from %s, want dup-a.yaml (first in sort order)", got)
	}
	missing := LoadFiles([]string{filepath.Join(bad, "nope.yaml")}, LoaderOptions{})
	if len(missing.Files) != 1 || missing.Files[0].Valid() {
		t.Errorf("missing file = %+v, want one invalid file", missing.Files)
	}
}
