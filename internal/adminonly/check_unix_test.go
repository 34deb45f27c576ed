//go:build !windows

package adminonly

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckModes(t *testing.T) {
	tests := []struct {
		name    string
		dirMode os.FileMode
		mode    os.FileMode
		private bool
		ok      bool
	}{
		{"owner only, private", 0o700, 0o600, true, true},
		{"readable by others, not private", 0o755, 0o644, false, true},
		{"readable by others, private", 0o755, 0o644, true, false},
		{"group writable", 0o755, 0o664, false, false},
		{"world writable", 0o755, 0o606, false, false},
		{"folder world writable", 0o777, 0o600, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "d")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			f := filepath.Join(dir, "keys")
			if err := os.WriteFile(f, []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			// Chmod, not the create mode, so the umask does not interfere.
			if err := os.Chmod(f, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, tt.dirMode); err != nil {
				t.Fatal(err)
			}
			err := Check(f, tt.private)
			if tt.ok && err != nil {
				t.Fatalf("Check = %v, want nil", err)
			}
			if !tt.ok && !errors.Is(err, ErrNotAdminOnly) {
				t.Fatalf("Check = %v, want ErrNotAdminOnly", err)
			}
		})
	}
}
