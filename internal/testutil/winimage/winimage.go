// Package winimage makes synthetic Windows container images for tests:
// layers with the Windows layout (Files\ and Hives\, as docker and
// hcsshim's ociwclayer write them), images whose configs say windows,
// amd64 and an os.version, and manifest lists of such images, all built
// with go-containerregistry so that they can be pushed to a real registry.
// They are small: a layer holds the few files a test names.
package winimage

import (
	"archive/tar"
	"bytes"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// modTime is the time of every entry, so that a layer's bytes, and so its
// digests, depend on its content alone.
var modTime = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// LayerTar returns the tar of a Windows layer holding files (paths under
// Files\, written with forward slashes, to their content) with the folders
// they need, and, with hives, the Hives\ folder with a registry delta as
// every base layer and most layers above it have.
func LayerTar(files map[string]string, hives bool) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	dirs := map[string]bool{}
	var mkdir func(string)
	mkdir = func(d string) {
		if d == "." || d == "" || dirs[d] {
			return
		}
		mkdir(path.Dir(d))
		dirs[d] = true
		must(tw.WriteHeader(&tar.Header{Name: d + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: modTime, Format: tar.FormatPAX}))
	}
	mkdir("Files")
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		name := "Files/" + strings.TrimPrefix(n, "/")
		mkdir(path.Dir(name))
		must(tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n])), ModTime: modTime, Format: tar.FormatPAX}))
		_, err := io.WriteString(tw, files[n])
		must(err)
	}
	if hives {
		mkdir("Hives")
		delta := "regf" + strings.Repeat("\x00", 60)
		must(tw.WriteHeader(&tar.Header{Name: "Hives/System_Delta", Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(delta)), ModTime: modTime, Format: tar.FormatPAX}))
		_, err := io.WriteString(tw, delta)
		must(err)
	}
	must(tw.Close())
	return b.Bytes()
}

func must(err error) {
	if err != nil {
		panic(fmt.Sprintf("winimage: %v", err))
	}
}

// Layer is LayerTar as a gzip-compressed image layer of Docker's media
// type (the one Windows images carry).
func Layer(t testing.TB, files map[string]string, hives bool) v1.Layer {
	t.Helper()
	return LayerOf(t, LayerTar(files, hives), types.DockerLayer)
}

// LayerOf makes a gzip-compressed layer of media type mt from a tar.
func LayerOf(t testing.TB, tarBytes []byte, mt types.MediaType) v1.Layer {
	t.Helper()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(tarBytes)), nil
	}, tarball.WithMediaType(mt))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Options shape an Image.
type Options struct {
	// Revision is the fourth part of os.version (10.0.<build>.<revision>):
	// the servicing update a tag such as ltsc2022 moves with each month.
	Revision int
	// Cmd is the image's default command; none gives cmd.exe.
	Cmd []string
	// OCI gives the image OCI media types instead of Docker's.
	OCI bool
	// OS overrides "windows", for an image of another platform.
	OS string
}

// Image returns an image for Windows build build (10.0.<build>), of
// layers, base first.
func Image(t testing.TB, build uint16, opts Options, layers ...v1.Layer) v1.Image {
	t.Helper()
	img := empty.Image
	if opts.OCI {
		img = mutate.MediaType(img, types.OCIManifestSchema1)
		img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	}
	img, err := mutate.AppendLayers(img, layers...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "windows", "amd64"
	if opts.OS != "" {
		cf.OS = opts.OS
	}
	cf.OSVersion = OSVersion(build, opts.Revision)
	cf.Config.Cmd = opts.Cmd
	if len(cf.Config.Cmd) == 0 {
		cf.Config.Cmd = []string{`c:\windows\system32\cmd.exe`}
	}
	cf.Created = v1.Time{Time: modTime}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// OSVersion is the os.version of build at a revision: 10.0.<build>.<rev>.
func OSVersion(build uint16, revision int) string {
	return fmt.Sprintf("10.0.%d.%d", build, revision)
}

// Index returns a manifest list of images, each entry with the platform
// its config says (windows/amd64 and its os.version), as the lists of
// Microsoft's images have; with oci, an OCI image index.
func Index(t testing.TB, oci bool, imgs ...v1.Image) v1.ImageIndex {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	if oci {
		idx = mutate.IndexMediaType(idx, types.OCIImageIndex)
	} else {
		idx = mutate.IndexMediaType(idx, types.DockerManifestList)
	}
	for _, img := range imgs {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add: img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{
				OS: cf.OS, Architecture: cf.Architecture, OSVersion: cf.OSVersion,
			}},
		})
	}
	return idx
}
