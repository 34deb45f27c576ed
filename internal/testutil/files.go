package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// WriteFile replaces the file at path with content as an editor's save
// does: a new file renamed over the old one, so that a watcher never reads
// half of it.
func WriteFile(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// WriteSpec writes the spec file dir/file declaring one container, name,
// running image; each of extra is one more line under spec: ("isolation:
// process").
func WriteSpec(t testing.TB, dir, file, name, image string, extra ...string) {
	t.Helper()
	y := "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: " + name + "\nspec:\n  image: " + image + "\n"
	for _, e := range extra {
		y += "  " + e + "\n"
	}
	if err := os.WriteFile(filepath.Join(dir, file), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
}
