package driver

import (
	"errors"
	"fmt"
	"testing"
)

// A hint keeps the error's class, and an error gets one hint, however
// many layers add theirs.
func TestHints(t *testing.T) {
	base := fmt.Errorf("create web: %w", ErrHostPathNotFound)
	err := MissingFolder(base, `D:\sites\web`)
	if !errors.Is(err, ErrHostPathNotFound) {
		t.Errorf("%v lost its class", err)
	}
	want := `create web: mapped host path not found; the host has no folder D:\sites\web: create it, or fix the spec's mounts`
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	again := MissingPipe(fmt.Errorf("reconcile: %w", err), `\\.\pipe\x`)
	if again.Error() != "reconcile: "+want {
		t.Errorf("a second hint was added: %q", again)
	}
	if MissingImage(nil, "x:1") != nil {
		t.Error("a hint made an error of nil")
	}
}
