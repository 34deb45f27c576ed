package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winbuild"
)

// Download is an image whose config and layers Fetch has put into a blob
// folder, each checked against its digest.
type Download struct {
	Resolved Resolved
	Config   driver.ImageConfig
	Layers   []DownloadedLayer
}

// DownloadedLayer is one layer of a Download, base first.
type DownloadedLayer struct {
	Digest    string // of the compressed blob
	DiffID    string // of the uncompressed tar, from the config
	MediaType types.MediaType
	Size      int64 // of the blob
	Path      string
}

// Image returns d as a driver imports it: each layer opened from its blob
// and uncompressed, its Close refusing a tar whose digest is not the
// config's diff ID.
func (d *Download) Image() driver.PulledImage {
	img := driver.PulledImage{Ref: d.Resolved.Ref, Digest: d.Resolved.Digest, Config: d.Config}
	for _, l := range d.Layers {
		img.Layers = append(img.Layers, driver.PulledLayer{DiffID: l.DiffID, Size: l.Size, Open: l.open})
	}
	return img
}

// Size is what the image's blobs take.
func (d *Download) Size() int64 {
	var n int64
	for _, l := range d.Layers {
		n += l.Size
	}
	return n
}

// FetchOptions configure Fetch.
type FetchOptions struct {
	// Dir is the blob folder: blobs/sha256/<hex> under it. Blobs already
	// there are used as they are.
	Dir string
	// Total, when set, is told the bytes the image's layers and config
	// take, once the manifest is in.
	Total func(bytes int64)
	// Progress is told every chunk read from the registry (and the size
	// of each blob found in Dir already). It must not block.
	Progress func(bytes int64)
}

// Fetch downloads the image r names, from the registry or mirror that
// resolved it, into opts.Dir. A blob that is not what its digest says is
// refused (ErrDigestMismatch) and not kept. The layers of a manifest are
// fetched from their URLs when the registry does not have them (foreign,
// non-distributable layers), as go-containerregistry does.
func (c *Client) Fetch(ctx context.Context, r Resolved, opts FetchOptions) (*Download, error) {
	if r.Digest == "" {
		return nil, fmt.Errorf("%w: image %s: nothing resolved to fetch", ErrInvalid, r.Ref)
	}
	ep := r.source
	if ep.ref == nil {
		eps, err := c.endpoints(r.Ref)
		if err != nil {
			return nil, err
		}
		ep = eps[len(eps)-1]
	}
	ropts, err := c.options(ctx, ep)
	if err != nil {
		return nil, err
	}
	img, err := remote.Image(ep.ref.Context().Digest(r.Digest), ropts...)
	if err != nil {
		return nil, classify(err)
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, classify(err)
	}
	if opts.Total != nil {
		total := m.Config.Size
		for _, l := range m.Layers {
			total += l.Size
		}
		opts.Total(total)
	}
	cf, err := configFile(ep, m.Config, ropts)
	if err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		opts.Progress(m.Config.Size)
	}
	cfg, err := imageConfig(r, cf)
	if err != nil {
		return nil, err
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		return nil, fmt.Errorf("%w: image %s: its config lists %d layers, its manifest %d", ErrInvalid, r.Ref, len(cf.RootFS.DiffIDs), len(m.Layers))
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, classify(err)
	}
	d := &Download{Resolved: r, Config: cfg}
	for i, l := range layers {
		desc := m.Layers[i]
		path := blobPath(opts.Dir, desc.Digest)
		if err := fetchBlob(ctx, l, desc, path, opts.Progress); err != nil {
			return nil, fmt.Errorf("image %s: layer %d of %d (%s): %w", r.Ref, i+1, len(layers), desc.Digest, err)
		}
		d.Layers = append(d.Layers, DownloadedLayer{
			Digest: desc.Digest.String(), DiffID: cf.RootFS.DiffIDs[i].String(),
			MediaType: desc.MediaType, Size: desc.Size, Path: path,
		})
	}
	return d, nil
}

func imageConfig(r Resolved, cf *v1.ConfigFile) (driver.ImageConfig, error) {
	v, err := configBuild(r.Ref, winbuild.Version{}, cf)
	if err != nil {
		return driver.ImageConfig{}, err
	}
	if r.OSVersion.Known() && v.Known() && v.Build != r.OSVersion.Build {
		// The list said one build and the config another: what admission
		// checked is not what would run.
		return driver.ImageConfig{}, fmt.Errorf("%w: image %s: its manifest list says build %d, its config %s", ErrInvalid, r.Ref, r.OSVersion.Build, v)
	}
	return driver.ImageConfig{
		OS: cf.OS, Architecture: cf.Architecture, OSVersion: v,
		Entrypoint: cf.Config.Entrypoint, Cmd: cf.Config.Cmd, ArgsEscaped: cf.Config.ArgsEscaped,
		WorkingDir: cf.Config.WorkingDir, Env: cf.Config.Env, User: cf.Config.User,
		Healthcheck: imageHealthcheck(cf.Config.Healthcheck),
	}, nil
}

// imageHealthcheck copies a config's HEALTHCHECK; nil for none.
func imageHealthcheck(h *v1.HealthConfig) *driver.ImageHealthcheck {
	if h == nil || len(h.Test) == 0 {
		return nil
	}
	return &driver.ImageHealthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, StartPeriod: h.StartPeriod, Retries: h.Retries}
}

// BlobDir is where Fetch keeps the blobs of folder dir.
func blobPath(dir string, h v1.Hash) string {
	return filepath.Join(dir, "blobs", h.Algorithm, h.Hex)
}

// fetchBlob downloads layer l into path unless it is there: into a
// temporary file first, checked against its digest, then renamed, so that
// path is always a whole, checked blob.
func fetchBlob(ctx context.Context, l v1.Layer, desc v1.Descriptor, path string, progress func(int64)) error {
	if fi, err := os.Stat(path); err == nil && fi.Size() == desc.Size {
		if progress != nil {
			progress(desc.Size)
		}
		return nil
	}
	if desc.Digest.Algorithm != "sha256" {
		return fmt.Errorf("%w: digest algorithm %s", ErrInvalid, desc.Digest.Algorithm)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	rc, err := l.Compressed()
	if err != nil {
		return classify(err)
	}
	defer rc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+desc.Digest.Hex+".*.partial")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &progressReader{r: rc, ctx: ctx, progress: progress})
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	got := "sha256:" + hex.EncodeToString(h.Sum(nil))
	switch {
	case err != nil && n == desc.Size && got != desc.Digest.String():
		// go-containerregistry's own check failed at the end: say so
		// with the class.
		return fmt.Errorf("%w: the registry sent %d bytes whose digest is %s, not %s", ErrDigestMismatch, n, got, desc.Digest)
	case ctx.Err() != nil:
		return context.Cause(ctx)
	case err != nil:
		return classify(err)
	case got != desc.Digest.String() || n != desc.Size:
		return fmt.Errorf("%w: the registry sent %d bytes whose digest is %s, not %d bytes of %s", ErrDigestMismatch, n, got, desc.Size, desc.Digest)
	}
	return os.Rename(tmp.Name(), path)
}

type progressReader struct {
	r        io.Reader
	ctx      context.Context
	progress func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	if err := p.ctx.Err(); err != nil {
		return 0, context.Cause(p.ctx)
	}
	n, err := p.r.Read(b)
	if n > 0 && p.progress != nil {
		p.progress(int64(n))
	}
	return n, err
}

// open returns the layer's uncompressed tar from its blob; Close reads
// what is left and refuses a tar whose digest is not DiffID.
func (l DownloadedLayer) open() (io.ReadCloser, error) {
	want, err := v1.NewHash(l.DiffID)
	if err != nil || want.Algorithm != "sha256" {
		return nil, fmt.Errorf("%w: layer diff ID %q", ErrInvalid, l.DiffID)
	}
	cl, err := partial.CompressedToLayer(blobLayer{l})
	if err != nil {
		return nil, err
	}
	rc, err := cl.Uncompressed()
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", l.Digest, err)
	}
	return &diffIDReader{rc: rc, h: sha256.New(), want: want.String()}, nil
}

// blobLayer is a downloaded blob as go-containerregistry's layer, which
// uncompresses it (gzip, zstd, or none, as its first bytes say).
type blobLayer struct{ l DownloadedLayer }

func (b blobLayer) Digest() (v1.Hash, error)            { return v1.NewHash(b.l.Digest) }
func (b blobLayer) Compressed() (io.ReadCloser, error)  { return os.Open(b.l.Path) }
func (b blobLayer) Size() (int64, error)                { return b.l.Size, nil }
func (b blobLayer) MediaType() (types.MediaType, error) { return b.l.MediaType, nil }

type diffIDReader struct {
	rc   io.ReadCloser
	h    hash.Hash
	want string
}

func (d *diffIDReader) Read(p []byte) (int, error) {
	n, err := d.rc.Read(p)
	d.h.Write(p[:n])
	return n, err
}

// Close reads the rest of the tar (an importer stops at its end marker)
// and checks its digest.
func (d *diffIDReader) Close() error {
	_, err := io.Copy(d.h, d.rc)
	if cerr := d.rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("read layer: %w", err)
	}
	if got := "sha256:" + hex.EncodeToString(d.h.Sum(nil)); got != d.want {
		return fmt.Errorf("%w: the layer's tar has digest %s, its config says %s", ErrDigestMismatch, got, d.want)
	}
	return nil
}

// RemoveBlobs removes the blobs of d from its folder, once a driver has
// stored the image.
func (d *Download) RemoveBlobs() error {
	var errs []error
	for _, l := range d.Layers {
		if err := os.Remove(l.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// CleanPartial removes the half-downloaded blobs a stopped process left in
// dir.
func CleanPartial(dir string) error {
	root := filepath.Join(dir, "blobs", "sha256")
	entries, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".partial") {
			if err := os.Remove(filepath.Join(root, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
