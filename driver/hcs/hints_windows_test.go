package hcs

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// HCS says a mapped path is missing without naming it; the driver names
// the folder in the sim's words, and leaves other errors as they are.
func TestMappedPathHint(t *testing.T) {
	dir := t.TempDir()
	here := winpath.MustParse(dir)
	gone := winpath.MustParse(filepath.Join(dir, "gone"))
	mount := func(p winpath.Path) driver.Mount {
		return driver.Mount{HostPath: p, ContainerPath: winpath.MustParse(`C:\data`)}
	}
	notFound := fmt.Errorf("create web: %w (hcsshim::CreateComputeSystem web: The system cannot find the path specified.)", driver.ErrHostPathNotFound)
	tests := []struct {
		name   string
		err    error
		mounts []driver.Mount
		want   string
	}{
		{"the second mount is missing", notFound, []driver.Mount{mount(here), mount(gone)}, notFound.Error() + "; " + driver.MissingFolderHint(gone.String())},
		{"every mount is there", notFound, []driver.Mount{mount(here)}, notFound.Error()},
		{"another class", fmt.Errorf("create web: %w", driver.ErrInvalidConfig), []driver.Mount{mount(gone)}, "create web: " + driver.ErrInvalidConfig.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mappedPathHint(tt.err, driver.Config{Mounts: tt.mounts})
			if err.Error() != tt.want {
				t.Errorf("error %q, want %q", err, tt.want)
			}
			if !errors.Is(err, errors.Unwrap(tt.err)) {
				t.Errorf("error %v lost its class", err)
			}
		})
	}
}

func TestImageHint(t *testing.T) {
	ref := imageref.MustParse("mcr.microsoft.com/windows/nanoserver:ltsc2022")
	missing := fmt.Errorf("image %s: %w in Docker's image store", ref, driver.ErrNotFound)
	if err := imageHint(missing, ref); err.Error() != missing.Error()+"; "+driver.MissingImageHint(ref.String()) || !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("imageHint = %v", err)
	}
	if err := imageHint(nil, ref); err != nil {
		t.Errorf("imageHint(nil) = %v", err)
	}
}
