package hcs

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil/winimage"
	"github.com/isoagent/isoagent/winbuild"
)

// unpacker is a layerImporter that unpacks a Windows layer's tar into its
// folder, refusing what HCS's import refuses: a layer with entries outside
// Files\, Hives\ and UtilityVM\, or a base layer without Files\ and
// Hives\. It records each import.
type unpacker struct {
	mu      sync.Mutex
	imports []string // base name of the folder, then its parents' base names
}

func (u *unpacker) Import(_ context.Context, r io.Reader, path string, parents []string) (int64, error) {
	tr := tar.NewReader(r)
	var n int64
	seen := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		top, _, _ := strings.Cut(h.Name, "/")
		if top != "Files" && top != "Hives" && top != "UtilityVM" {
			return n, fmt.Errorf("The parameter is incorrect. (%s is not in a Windows layer)", h.Name)
		}
		seen[top] = true
		dst := filepath.Join(path, filepath.FromSlash(h.Name))
		if h.Typeflag == tar.TypeDir {
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return n, err
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return n, err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return n, err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return n, err
		}
		n += int64(len(b))
	}
	if len(parents) == 0 && (!seen["Files"] || !seen["Hives"]) {
		return n, errors.New("The parameter is incorrect. (a base layer needs Files and Hives)")
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	rec := filepath.Base(path)
	for _, p := range parents {
		rec += " " + filepath.Base(p)
	}
	u.imports = append(u.imports, rec)
	return n, nil
}

func (u *unpacker) Destroy(path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	return os.RemoveAll(path)
}

func (u *unpacker) count() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.imports)
}

func diffID(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }

// layer is a pulled layer of tar b; closeErr is what its Close says (a
// diff ID mismatch, say).
func layer(b []byte, closeErr error) driver.PulledLayer {
	return driver.PulledLayer{DiffID: diffID(b), Size: int64(len(b)), Open: func() (io.ReadCloser, error) {
		return readCloser{bytes.NewReader(b), closeErr}, nil
	}}
}

type readCloser struct {
	io.Reader
	err error
}

func (r readCloser) Close() error { return r.err }

func pulledImg(ref, digest string, layers ...driver.PulledLayer) driver.PulledImage {
	return driver.PulledImage{Ref: imageref.MustParse(ref), Digest: digest, Layers: layers,
		Config: driver.ImageConfig{OS: "windows", OSVersion: driver.OSVersion{Major: 10, Build: winbuild.LTSC2022}, Cmd: []string{"cmd.exe"}}}
}

func digestOf(s string) string { return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(s))) }

func newTestPulled(t *testing.T) (*PulledStore, *unpacker) {
	t.Helper()
	u := &unpacker{}
	s, err := newPulledStore(t.TempDir(), u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, u
}

var (
	baseTar = winimage.LayerTar(map[string]string{"Windows/System32/cmd.exe": "MZ"}, true)
	appTar  = winimage.LayerTar(map[string]string{"app/app.exe": "MZ app"}, false)
	app2Tar = winimage.LayerTar(map[string]string{"app/app.exe": "MZ app 2"}, false)
)

// Layers are imported once each, by chain ID, with the layers below as
// parents nearest first; images share them, and resolve to their folders
// topmost first.
func TestPulledStoreImportsEachLayerOnce(t *testing.T) {
	s, u := newTestPulled(t)
	ctx := context.Background()
	d1, d2 := digestOf("one"), digestOf("two")
	if err := s.Import(ctx, pulledImg("registry.example/app:1", d1, layer(baseTar, nil), layer(appTar, nil))); err != nil {
		t.Fatal(err)
	}
	if err := s.Import(ctx, pulledImg("registry.example/app:2", d2, layer(baseTar, nil), layer(app2Tar, nil))); err != nil {
		t.Fatal(err)
	}
	chain1 := ChainIDs([]string{diffID(baseTar), diffID(appTar)})
	hex := func(c string) string { return strings.TrimPrefix(c, "sha256:") }
	if u.count() != 3 {
		t.Errorf("imports %q, want the shared base once and each top layer", u.imports)
	}
	if want := hex(chain1[1]) + " " + hex(chain1[0]); !slices.Contains(u.imports, want) {
		t.Errorf("imports %q, want %q: the top layer with the base as its parent", u.imports, want)
	}
	for _, ref := range []string{"registry.example/app:1", "registry.example/app@" + d1} {
		im, err := s.Resolve(ctx, imageref.MustParse(ref))
		if err != nil {
			t.Fatal(err)
		}
		if len(im.Layers) != 2 || filepath.Base(im.Layers[0]) != hex(chain1[1]) || filepath.Base(im.Layers[1]) != hex(chain1[0]) || im.Digest != d1 {
			t.Errorf("Resolve(%s) = %+v, want the top layer's folder first, the base's last, digest %s", ref, im, d1)
		}
		if _, err := os.Stat(filepath.Join(im.Layers[0], "Files", "app", "app.exe")); err != nil {
			t.Errorf("the top layer's file is not in its folder: %v", err)
		}
	}
	if _, err := s.Resolve(ctx, imageref.MustParse("registry.example/other:1")); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Resolve of an image not pulled: %v, want ErrNotFound", err)
	}
	// Pulling the same image again reads nothing.
	if err := s.Import(ctx, pulledImg("registry.example/app:latest", d1, layer(baseTar, nil), layer(appTar, nil))); err != nil {
		t.Fatal(err)
	}
	if u.count() != 3 {
		t.Errorf("imports after importing an image the store has: %q", u.imports)
	}
}

// A layer refused by the import or by its digest check is not kept; a
// half-imported folder a stopped process left is imported again.
func TestPulledStoreKeepsOnlyWholeLayers(t *testing.T) {
	ctx := context.Background()
	errDigest := errors.New("digest mismatch")
	tests := []struct {
		name string
		img  driver.PulledImage
	}{
		{"not a Windows layer", pulledImg("registry.example/a:1", digestOf("a"), layer(winimage.LayerTar(nil, true), nil),
			layer(func() []byte {
				var b bytes.Buffer
				tw := tar.NewWriter(&b)
				tw.WriteHeader(&tar.Header{Name: "etc/passwd", Size: 0, Mode: 0o644})
				tw.Close()
				return b.Bytes()
			}(), nil))},
		{"base layer without hives", pulledImg("registry.example/a:1", digestOf("a"), layer(winimage.LayerTar(map[string]string{"x": "y"}, false), nil))},
		{"diff ID mismatch", pulledImg("registry.example/a:1", digestOf("a"), layer(baseTar, errDigest))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestPulled(t)
			if err := s.Import(ctx, tt.img); err == nil {
				t.Fatal("Import succeeded")
			}
			last := tt.img.Layers[len(tt.img.Layers)-1]
			chain := ChainIDs([]string{tt.img.Layers[0].DiffID, last.DiffID})
			if _, err := os.Stat(s.layerPath(chain[len(tt.img.Layers)-1])); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the refused layer's folder is there: %v", err)
			}
			if _, err := s.Resolve(ctx, tt.img.Ref); !errors.Is(err, driver.ErrNotFound) {
				t.Errorf("Resolve after a refused import: %v, want ErrNotFound", err)
			}
		})
	}
	t.Run("half imported", func(t *testing.T) {
		s, u := newTestPulled(t)
		path := s.layerPath(diffID(baseTar))
		if err := os.MkdirAll(filepath.Join(path, "Files"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := s.Import(ctx, pulledImg("registry.example/a:1", digestOf("a"), layer(baseTar, nil))); err != nil {
			t.Fatal(err)
		}
		if u.count() != 1 {
			t.Errorf("imports %q, want the half-imported layer imported again", u.imports)
		}
	})
}

// An image a container uses is not removed; an unused one goes with the
// layers only it had, and frees their size.
func TestPulledStoreRemove(t *testing.T) {
	s, _ := newTestPulled(t)
	ctx := context.Background()
	d1, d2 := digestOf("one"), digestOf("two")
	for _, img := range []driver.PulledImage{
		pulledImg("registry.example/app:1", d1, layer(baseTar, nil), layer(appTar, nil)),
		pulledImg("registry.example/app:2", d2, layer(baseTar, nil), layer(app2Tar, nil)),
	} {
		if err := s.Import(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	im1, _ := s.Resolve(ctx, imageref.MustParse("registry.example/app:1"))
	inUse := func(layers []string) string {
		if slices.Contains(layers, im1.Layers[0]) {
			return "web-1"
		}
		return ""
	}
	if _, err := s.Remove(d1, inUse); !errors.Is(err, driver.ErrInvalidState) {
		t.Errorf("Remove of an image in use: %v, want ErrInvalidState", err)
	}
	freed, err := s.Remove(d2, inUse)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(len("MZ app 2")); freed != want {
		t.Errorf("freed %d bytes, want %d: the top layer only, the base is shared", freed, want)
	}
	if _, err := os.Stat(im1.Layers[1]); err != nil {
		t.Errorf("the shared base layer went: %v", err)
	}
	list, err := s.List(func(string) time.Time { return time.Time{} })
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Digest != d1 {
		t.Errorf("images left %+v, want only %s", list, d1)
	}
	if _, err := s.Remove(d2, inUse); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("Remove of a removed image: %v, want ErrNotFound", err)
	}
}
