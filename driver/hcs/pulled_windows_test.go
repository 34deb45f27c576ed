//go:build windows

package hcs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"
)

// A layer above a base is imported as on Windows: ociwclayer stages it
// in the legacy transport format and vmcompute's ImportLayer (the fake)
// writes it into its chain ID's folder; removing the image destroys both
// folders with DestroyLayer. The base layer cannot be imported under Wine
// (ociwclayer writes it with BackupWrite, which Wine does not implement),
// so it is put into the store as an earlier run would have left it.
func TestImportLayerAboveBase(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	ctx := context.Background()

	base, app := layer(baseTar, nil), layer(appTar, nil)
	chain := ChainIDs([]string{base.DiffID, app.DiffID})
	basePath := d.pulled.layerPath(chain[0])
	writeFile(t, filepath.Join(basePath, `Files\Windows\System32\cmd.exe`), "MZ")
	writeFile(t, filepath.Join(basePath, completeMarker), "")

	img := pulledImg("example.com/app:1", digestOf("app"), base, app)
	if err := d.ImportImage(ctx, img); err != nil {
		t.Fatalf("ImportImage: %v", err)
	}
	appPath := d.pulled.layerPath(chain[1])
	for name, want := range map[string]string{`Files\app\app.exe`: "MZ app", completeMarker: ""} {
		b, err := os.ReadFile(filepath.Join(appPath, name))
		if err != nil || string(b) != want {
			t.Errorf("layer folder's %s = %q, %v; want %q", name, b, err, want)
		}
	}
	if fi, err := os.Stat(filepath.Join(appPath, "Files", "app")); err != nil || !fi.IsDir() {
		t.Errorf("layer folder's Files\\app: %v, want a folder", err)
	}
	ims, err := d.PulledImages(ctx)
	if err != nil || len(ims) != 1 || ims[0].Size != int64(len("MZ app")) {
		t.Fatalf("PulledImages = %+v, %v; want the image with the app layer's %d bytes", ims, err, len("MZ app"))
	}
	im, err := d.resolve(ctx, img.Ref)
	if err != nil || len(im.Layers) != 2 || !strings.EqualFold(im.Layers[0], appPath) {
		t.Fatalf("resolve = %v, %v; want the app layer over the base", im.Layers, err)
	}

	if _, err := d.RemovePulledImage(ctx, img.Digest); err != nil {
		t.Fatalf("RemovePulledImage: %v", err)
	}
	for _, p := range []string{appPath, basePath} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("layer folder %s after the image's removal: %v, want it gone", p, err)
		}
	}
	h.assertClean(t)
}

// vmcompute's ImportLayer refuses what HCS refuses, with the HRESULT
// hcsshim turns into a Win32 error.
func TestImportLayerRefuses(t *testing.T) {
	h := newFakeHost(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	writeFile(t, filepath.Join(base, `Files\Windows\System32\cmd.exe`), "MZ")
	staged := func(t *testing.T, files map[string]string) string {
		p := filepath.Join(t.TempDir(), "staged")
		for n, c := range files {
			writeFile(t, filepath.Join(p, n), c)
		}
		return p
	}
	// A staged file is its attributes (4 bytes) and a backup stream.
	good := map[string]string{`Files\a.txt`: "\x80\x00\x00\x00"}
	tests := []struct {
		name    string
		layer   string
		staged  string
		parents []string
		want    syscall.Errno
	}{
		{"missing parent", filepath.Join(dir, "l1"), staged(t, good), []string{filepath.Join(dir, "nobase")}, windows.ERROR_PATH_NOT_FOUND},
		{"no parents", filepath.Join(dir, "l2"), staged(t, good), nil, windows.ERROR_INVALID_PARAMETER},
		{"relative layer path", `relative\l3`, staged(t, good), []string{base}, windows.ERROR_INVALID_PARAMETER},
		{"missing staging folder", filepath.Join(dir, "l4"), filepath.Join(dir, "nostaging"), []string{base}, windows.ERROR_PATH_NOT_FOUND},
		{"entry outside Files and Hives", filepath.Join(dir, "l5"), staged(t, map[string]string{`Other\a.txt`: "\x80\x00\x00\x00"}), []string{base}, windows.ERROR_INVALID_PARAMETER},
		{"file without its attributes", filepath.Join(dir, "l6"), staged(t, map[string]string{`Files\a.txt`: "\x80"}), []string{base}, windows.ERROR_INVALID_PARAMETER},
		{"garbled backup stream", filepath.Join(dir, "l7"), staged(t, map[string]string{`Files\a.txt`: "\x80\x00\x00\x00garbage"}), []string{base}, windows.ERROR_INVALID_PARAMETER},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hcsshim.ImportLayer(hcsshim.DriverInfo{}, tt.layer, tt.staged, tt.parents)
			if !errnoIs(err, tt.want) {
				t.Errorf("ImportLayer = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("good", func(t *testing.T) {
		l := filepath.Join(dir, "good")
		// A hive delta is staged as BackupWrite wrote it: the hive itself
		// (under Wine it cannot be staged so; see ociImporter).
		files := map[string]string{`Hives\System_Delta`: "regf delta", `Files\d.$wcidirs$`: "\x10\x00\x00\x00"}
		for n, c := range good {
			files[n] = c
		}
		if err := hcsshim.ImportLayer(hcsshim.DriverInfo{}, l, staged(t, files), []string{base}); err != nil {
			t.Fatalf("ImportLayer: %v", err)
		}
		if b, err := os.ReadFile(filepath.Join(l, `Files\a.txt`)); err != nil || len(b) != 0 {
			t.Errorf("Files\\a.txt = %q, %v; want an empty file", b, err)
		}
		if b, err := os.ReadFile(filepath.Join(l, `Hives\System_Delta`)); err != nil || string(b) != "regf delta" {
			t.Errorf("Hives\\System_Delta = %q, %v; want the staged hive", b, err)
		}
		if fi, err := os.Stat(filepath.Join(l, `Files\d`)); err != nil || !fi.IsDir() {
			t.Errorf("Files\\d: %v, want the staged folder", err)
		}
	})
	h.assertClean(t)
}

// DestroyLayer removes a layer folder whoever made it, and refuses a path
// that is no folder.
func TestDestroyLayer(t *testing.T) {
	newFakeHost(t)
	dir := t.TempDir()
	l := filepath.Join(dir, "layer")
	writeFile(t, filepath.Join(l, `Files\Windows\System32\cmd.exe`), "MZ")
	if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, l); err != nil {
		t.Fatalf("DestroyLayer of a folder made by hand: %v", err)
	}
	if _, err := os.Stat(l); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("layer folder after DestroyLayer: %v, want it gone", err)
	}
	if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, l); !errnoIs(err, windows.ERROR_FILE_NOT_FOUND) {
		t.Errorf("DestroyLayer of a missing folder = %v, want ERROR_FILE_NOT_FOUND", err)
	}
	f := filepath.Join(dir, "file")
	writeFile(t, f, "x")
	if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, f); !errnoIs(err, windows.ERROR_DIRECTORY) {
		t.Errorf("DestroyLayer of a file = %v, want ERROR_DIRECTORY", err)
	}
}

// errnoIs reports whether err, from hcsshim, carries the Win32 error want.
func errnoIs(err error, want syscall.Errno) bool {
	e, ok := errnoOf(err)
	return ok && e == want
}

// ProcessBaseImage and ProcessUtilityImage want the unpacked image's
// files: a base layer's Files folder, a utility VM's BCD store.
func TestProcessImage(t *testing.T) {
	newFakeHost(t)
	dir := t.TempDir()
	base, uvm := filepath.Join(dir, "base"), filepath.Join(dir, "base", "UtilityVM")
	writeFile(t, filepath.Join(base, `Files\Windows\System32\cmd.exe`), "MZ")
	writeFile(t, filepath.Join(uvm, `Files\EFI\Microsoft\Boot\BCD`), "regf")
	empty := filepath.Join(dir, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		process func(string) error
		path    string
		want    syscall.Errno // 0: success
	}{
		{"base", hcsshim.ProcessBaseLayer, base, 0},
		{"base without Files", hcsshim.ProcessBaseLayer, empty, windows.ERROR_PATH_NOT_FOUND},
		{"missing base", hcsshim.ProcessBaseLayer, filepath.Join(dir, "none"), windows.ERROR_PATH_NOT_FOUND},
		{"relative base", hcsshim.ProcessBaseLayer, "base", windows.ERROR_INVALID_PARAMETER},
		{"utility VM", hcsshim.ProcessUtilityVMImage, uvm, 0},
		{"utility VM without BCD", hcsshim.ProcessUtilityVMImage, empty, windows.ERROR_PATH_NOT_FOUND},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.process(tt.path)
			if tt.want == 0 && err != nil || tt.want != 0 && !errnoIs(err, tt.want) {
				t.Errorf("process %s = %v, want %v", tt.path, err, tt.want)
			}
		})
	}
}
