package sim_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil/winimage"
	"github.com/isoagent/isoagent/winbuild"
)

// layer makes a pulled layer of a tar; closeErr is what its Close says
// (the puller's digest check).
func layer(tarBytes []byte, closeErr error) driver.PulledLayer {
	return driver.PulledLayer{
		DiffID: fmt.Sprintf("sha256:%x", sha256.Sum256(tarBytes)),
		Size:   int64(len(tarBytes)),
		Open: func() (io.ReadCloser, error) {
			return closer{bytes.NewReader(tarBytes), closeErr}, nil
		},
	}
}

type closer struct {
	io.Reader
	err error
}

func (c closer) Close() error { return c.err }

func pulledImage(ref, digest string, build uint16, layers ...driver.PulledLayer) driver.PulledImage {
	if len(layers) == 0 {
		layers = []driver.PulledLayer{layer(winimage.LayerTar(map[string]string{"app/app.exe": "MZ"}, true), nil)}
	}
	return driver.PulledImage{
		Ref: imageref.MustParse(ref), Digest: digest,
		Config: driver.ImageConfig{OS: "windows", Architecture: "amd64", OSVersion: driver.OSVersion{Major: 10, Build: build, Revision: 1}, Cmd: []string{`C:\app\app.exe`}},
		Layers: layers,
	}
}

func openSim(t *testing.T, dir string) *sim.Driver {
	t.Helper()
	d, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A pulled image lands in the catalog with the build its config gives,
// which wins over the build its tag names, and is found by its digest too;
// a second agent process sees it.
func TestPulledImageLandsInTheCatalogWithItsConfigsBuild(t *testing.T) {
	dir := t.TempDir()
	d := openSim(t, dir)
	ctx := context.Background()
	d1 := digestOf("one")
	if err := d.ImportImage(ctx, pulledImage("registry.example/app:ltsc2019", d1, winbuild.LTSC2022)); err != nil {
		t.Fatal(err)
	}
	again := openSim(t, dir)
	for _, ref := range []string{"registry.example/app:ltsc2019", "registry.example/app@" + d1} {
		img, err := again.Image(ctx, imageref.MustParse(ref))
		if err != nil {
			t.Fatalf("Image(%s): %v", ref, err)
		}
		if img.OSVersion.Build != winbuild.LTSC2022 || img.Digest != d1 || len(img.Command) != 1 || img.Command[0] != `C:\app\app.exe` {
			t.Errorf("Image(%s) = %+v, want build %d, digest %s and the config's command", ref, img, winbuild.LTSC2022, d1)
		}
	}
	images, err := again.PulledImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 1 || images[0].Digest != d1 || images[0].Size == 0 || images[0].PulledAt.IsZero() || len(images[0].Refs) != 1 {
		t.Errorf("PulledImages = %+v, want the one image with its size, time and reference", images)
	}
}

// A host that has only what was pulled lacks every other image, and a
// config naming a digest runs that image or none.
func TestPulledOnlyHostHasOnlyWhatWasPulled(t *testing.T) {
	d := openSim(t, t.TempDir())
	ctx := context.Background()
	if err := d.Model().SetPulledOnly(true); err != nil {
		t.Fatal(err)
	}
	ref := imageref.MustParse("registry.example/app:ltsc2022")
	if _, err := d.Image(ctx, ref); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("Image of an image never pulled: %v, want ErrNotFound", err)
	}
	cfg := driver.Config{ID: "app-1", Name: "app", Isolation: driver.Process, Image: ref, Hash: "h"}
	if err := d.Create(ctx, cfg); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("Create from an image never pulled: %v, want ErrNotFound", err)
	}
	d1, d2 := digestOf("one"), digestOf("two")
	if err := d.ImportImage(ctx, pulledImage(ref.String(), d1, winbuild.LTSC2022)); err != nil {
		t.Fatal(err)
	}
	cfg.ImageDigest = d2
	if err := d.Create(ctx, cfg); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("Create naming a digest not pulled: %v, want ErrNotFound", err)
	}
	cfg.ImageDigest = d1
	if err := d.Create(ctx, cfg); err != nil {
		t.Fatalf("Create naming the pulled digest: %v", err)
	}
	cs, err := d.List(ctx)
	if err != nil || len(cs) != 1 || cs[0].ImageDigest != d1 {
		t.Fatalf("List = %+v, %v; want the container with its image digest", cs, err)
	}
}

// A new pull of a reference moves it; the image it named before stays,
// found by its digest.
func TestPullMovesTheReference(t *testing.T) {
	d := openSim(t, t.TempDir())
	ctx := context.Background()
	const ref = "registry.example/app:ltsc2022"
	d1, d2 := digestOf("one"), digestOf("two")
	for _, dg := range []string{d1, d2} {
		if err := d.ImportImage(ctx, pulledImage(ref, dg, winbuild.LTSC2022)); err != nil {
			t.Fatal(err)
		}
	}
	if img, err := d.Image(ctx, imageref.MustParse(ref)); err != nil || img.Digest != d2 {
		t.Errorf("Image(%s) = %+v, %v; want the second pull, %s", ref, img, err, d2)
	}
	if img, err := d.Image(ctx, imageref.MustParse("registry.example/app@"+d1)); err != nil || img.Digest != d1 {
		t.Errorf("Image of the first pull by digest = %+v, %v", img, err)
	}
	images, _ := d.PulledImages(ctx)
	for _, im := range images {
		if im.Digest == d1 && len(im.Refs) != 0 {
			t.Errorf("the first pull still has references %v after the tag moved", im.Refs)
		}
	}
}

// The host refuses to store what HCS's import refuses: a layer that is not
// a Windows layer, a base layer without its hives, a layer whose stream
// fails its digest, and an image for another OS.
func TestImportRefusesWhatHCSRefuses(t *testing.T) {
	bad := []struct {
		name string
		img  driver.PulledImage
		want error
	}{
		{"not a Windows layer", pulledImage("a:1", digestOf("a"), winbuild.LTSC2022, layer(linuxTar(), nil)), driver.ErrInvalidConfig},
		{"base layer without hives", pulledImage("a:1", digestOf("a"), winbuild.LTSC2022, layer(winimage.LayerTar(map[string]string{"x": "y"}, false), nil)), driver.ErrInvalidConfig},
		{"digest mismatch", pulledImage("a:1", digestOf("a"), winbuild.LTSC2022, layer(winimage.LayerTar(nil, true), errDigest)), errDigest},
		{"linux image", func() driver.PulledImage {
			p := pulledImage("a:1", digestOf("a"), winbuild.LTSC2022)
			p.Config.OS = "linux"
			return p
		}(), driver.ErrNotSupported},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			d := openSim(t, "")
			err := d.ImportImage(context.Background(), tt.img)
			if !errors.Is(err, tt.want) {
				t.Fatalf("ImportImage: %v, want %v", err, tt.want)
			}
			if images, _ := d.PulledImages(context.Background()); len(images) != 0 {
				t.Errorf("a refused import left %v in the catalog", images)
			}
		})
	}
}

var errDigest = errors.New("layer digest mismatch")

// linuxTar is a layer of a Linux image.
func linuxTar() []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	const passwd = "root:x:0:0"
	tw.WriteHeader(&tar.Header{Name: "etc/passwd", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(passwd))})
	io.WriteString(tw, passwd)
	tw.Close()
	return b.Bytes()
}

// Removal frees what an image used, and refuses while a container of any
// owner was created from it.
func TestRemovePulledImageRefusesOneInUse(t *testing.T) {
	dir := t.TempDir()
	d := openSim(t, dir)
	other, err := sim.Open(dir, sim.Options{Owner: "someone-else"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	d1 := digestOf("one")
	img := pulledImage("registry.example/app:ltsc2022", d1, winbuild.LTSC2022)
	if err := d.ImportImage(ctx, img); err != nil {
		t.Fatal(err)
	}
	cfg := driver.Config{ID: "app-1", Name: "app", Isolation: driver.Process, Image: img.Ref, Hash: "h"}
	if err := other.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RemovePulledImage(ctx, d1); !errors.Is(err, driver.ErrInvalidState) {
		t.Fatalf("RemovePulledImage of an image in use: %v, want ErrInvalidState", err)
	}
	if err := other.Remove(ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	freed, err := d.RemovePulledImage(ctx, d1)
	if err != nil || freed <= 0 {
		t.Fatalf("RemovePulledImage = %d, %v; want its size freed", freed, err)
	}
	if _, err := d.RemovePulledImage(ctx, d1); !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("second RemovePulledImage: %v, want ErrNotFound", err)
	}
}
