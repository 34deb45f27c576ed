//go:build !windows

package atomicfile

import "os"

// rename is os.Rename: on Unix a rename over a file never waits on its
// readers.
func rename(from, to string) error { return os.Rename(from, to) }
