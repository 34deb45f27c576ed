// Package atomicfile replaces files whole: a reader, or a process that
// dies half-way, sees the old content or the new, never part of one.
//
// It does not fsync: the state it guards is rebuilt or re-read by the
// agent, so surviving a crash of the process matters and surviving a power
// cut is left to the file system's own journal.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile writes data to a new file beside name and renames it over
// name. The folder must exist. The file gets perm (on Windows only its
// read-only bit counts).
func WriteFile(name string, data []byte, perm os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), perm)
	}
	if err == nil {
		err = rename(tmp.Name(), name)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
