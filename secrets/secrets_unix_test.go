//go:build !windows

package secrets

import (
	"errors"
	"os"
	"testing"

	"github.com/isoagent/isoagent/internal/adminonly"
)

// protectDir is a no-op here: the mode of a new folder is enough.
func protectDir(*testing.T, string) {}

func openStore(t *testing.T, dir string) *Store {
	t.Helper()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestOpenRefusesReadableFolder(t *testing.T) {
	dir := secretsDir(t, nil)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(dir); !errors.Is(err, adminonly.ErrNotAdminOnly) {
		t.Fatalf("Open = %v, want ErrNotAdminOnly", err)
	}
}

func TestProtectedValueOutsideWindows(t *testing.T) {
	dir := secretsDir(t, map[string]map[string]string{"db": {"PW": string(append(append([]byte{}, dpapiHeader...), 1, 2, 3))}})
	if _, err := openStore(t, dir).Get("db"); err == nil {
		t.Fatal("a DPAPI blob was read as a value outside Windows")
	}
}
