package testutil

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// Golden compares got with the golden file at path and fails t where they
// differ. With update (a test package's -update flag) it writes got to
// the file first, creating its folder, so the comparison then holds.
func Golden(t testing.TB, path string, got []byte, update bool) {
	t.Helper()
	want := ReadGolden(t, path, got, update)
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (rerun with -update if the change is intended):\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// ReadGolden returns the content of the golden file at path, for a test
// that compares it with got in its own way. With update it writes got to
// the file first, creating its folder. Line ends are returned as "\n",
// whatever a checkout on Windows made of them. A missing file fails t,
// saying how to create it.
func ReadGolden(t testing.TB, path string, got []byte, update bool) []byte {
	t.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to create it)", err)
	}
	return bytes.ReplaceAll(want, []byte("\r\n"), []byte("\n"))
}
