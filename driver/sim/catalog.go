package sim

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/hresult"
)

// The catalog of images pulled into the simulated host (driver.ImageStore).
//
// A simulated host has every image whose tag names a build (ltsc2022,
// 1809, 10.0.17763.5206), with that build, unless it is told otherwise
// (SetImage, RemoveImage): drills need no registry. An image whose tag
// names no build it lacks until pulled, as a Windows host, which knows
// the build of every image it has from its config, lacks an image it
// never pulled.
// An image pulled into it lands in its catalog with the build its config
// gives, under its digest and the reference it was pulled by, and then
// wins over what the tag says. A host made to have only pulled images
// (SetPulledOnly) lacks every other image, as a fresh Windows host lacks
// what was never pulled; that is the host the pull tests run against.

// catalog is the host's pulled images; it lives in the state (state.Pulled).
type catalog struct {
	// Only: the host has no images but those pulled into it and those
	// SetImage named.
	Only bool `json:"only,omitempty"`
	// Images are the pulled images by manifest digest; Tags the digest
	// each pulled reference names, by imageKey.
	Images map[string]*pulledImage `json:"images,omitempty"`
	Tags   map[string]string       `json:"tags,omitempty"`
}

type pulledImage struct {
	Digest   string             `json:"digest"`
	Refs     []string           `json:"refs,omitempty"`
	Config   driver.ImageConfig `json:"config"`
	Layers   []string           `json:"layers"` // diff IDs, base first
	Size     int64              `json:"size"`
	PulledAt time.Time          `json:"pulledAt"`
	LastUsed time.Time          `json:"lastUsed,omitzero"`
}

func (p *pulledImage) image(ref imageref.Ref) driver.Image {
	cmd := p.Config.Command()
	if len(cmd) == 0 {
		cmd = slices.Clone(defaultCommand)
	}
	return driver.Image{Ref: ref, OSVersion: p.Config.OSVersion, Command: cmd, Digest: p.Digest, Healthcheck: p.Config.Healthcheck}
}

func (p *pulledImage) stored() driver.StoredImage {
	si := driver.StoredImage{Digest: p.Digest, Size: p.Size, OSVersion: p.Config.OSVersion, PulledAt: p.PulledAt, LastUsed: p.LastUsed}
	for _, r := range p.Refs {
		if ref, err := imageref.Parse(r); err == nil {
			si.Refs = append(si.Refs, ref)
		}
	}
	return si
}

// pulled returns the pulled image that ref names: by its digest when it
// has one, else by the reference it was pulled by; nil when none.
func (s *state) pulled(ref imageref.Ref) *pulledImage {
	if s.Pulled == nil {
		return nil
	}
	if ref.Digest != "" {
		if p := s.Pulled.Images[ref.Digest]; p != nil {
			return p
		}
	}
	if d, ok := s.Pulled.Tags[imageKey(ref.String())]; ok {
		return s.Pulled.Images[d]
	}
	return nil
}

func (s *state) pulledOnly() bool { return s.Pulled != nil && s.Pulled.Only }

// configImage returns the image a config runs: the pulled image of its
// digest when it names one, else what the host has under its reference.
func (s *state) configImage(cfg driver.Config) (driver.Image, *pulledImage, error) {
	if cfg.ImageDigest == "" {
		img, err := s.image(cfg.Image.String(), cfg.Image)
		return img, s.pulled(cfg.Image), err
	}
	var p *pulledImage
	if s.Pulled != nil {
		p = s.Pulled.Images[cfg.ImageDigest]
	}
	if p == nil {
		return driver.Image{}, nil, driver.MissingImage(hcsError("GetImage", cfg.Image.String()+"@"+cfg.ImageDigest, hresult.FileNotFound, driver.ErrNotFound,
			"The system cannot find the file specified."), cfg.Image.String()+"@"+cfg.ImageDigest)
	}
	return p.image(cfg.Image), p, nil
}

// uses reports whether container r was created from pulled image p.
func (s *state) uses(r *record, p *pulledImage) bool {
	if r.Config.ImageDigest != "" {
		return r.Config.ImageDigest == p.Digest
	}
	return s.Pulled.Tags[imageKey(r.Config.Image.String())] == p.Digest
}

// SetPulledOnly says whether the host has only the images pulled into it
// (and those SetImage named), as a fresh Windows host has only what was
// pulled, or, as a new simulated host, every image by its tag.
func (m *Model) SetPulledOnly(only bool) error {
	return m.update(func(s *state, _ time.Time) error {
		if s.Pulled == nil {
			s.Pulled = &catalog{}
		}
		s.Pulled.Only = only
		return nil
	})
}

// PulledOnly reports whether the host has only the images pulled into it.
func (m *Model) PulledOnly() (bool, error) {
	var only bool
	err := m.view(func(s *state) error { only = s.pulledOnly(); return nil })
	return only, err
}

// ImportImage implements driver.ImageStore: it reads every layer, as HCS's
// import does (a layer that is not a Windows layer, Files\ and Hives\ with
// a UtilityVM\ at most, is refused as HCS refuses it), and puts the image
// into the host's catalog under its digest and reference.
func (d *Driver) ImportImage(ctx context.Context, img driver.PulledImage) error {
	return d.model.ImportImage(ctx, img)
}

// PulledImages implements driver.ImageStore.
func (d *Driver) PulledImages(context.Context) ([]driver.StoredImage, error) {
	return d.model.PulledImages()
}

// RemovePulledImage implements driver.ImageStore.
func (d *Driver) RemovePulledImage(_ context.Context, digest string) (int64, error) {
	return d.model.RemovePulledImage(digest)
}

var _ driver.ImageStore = (*Driver)(nil)

// ImportImage stores img in the host's catalog; see Driver.ImportImage.
func (m *Model) ImportImage(ctx context.Context, img driver.PulledImage) error {
	if img.Digest == "" || img.Ref.IsZero() {
		return fmt.Errorf("import image: the image has no digest or reference: %w", driver.ErrInvalidConfig)
	}
	if img.Config.OS != "" && !strings.EqualFold(img.Config.OS, "windows") {
		return hcsError("ImportLayer", img.Ref.String(), hresult.NotSupported, driver.ErrNotSupported,
			"The request is not supported. (image %s is for %s, not Windows)", img.Ref, img.Config.OS)
	}
	if len(img.Layers) == 0 {
		return hcsError("ImportLayer", img.Ref.String(), hresult.InvalidArg, driver.ErrInvalidConfig, "The parameter is incorrect. (image %s has no layers)", img.Ref)
	}
	p := &pulledImage{Digest: img.Digest, Config: img.Config, PulledAt: m.clock()}
	for i, l := range img.Layers {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("import image %s: %w", img.Ref, err)
		}
		n, err := readLayer(l, i == 0)
		if err != nil {
			return fmt.Errorf("import image %s: layer %d of %d (%s): %w", img.Ref, i+1, len(img.Layers), l.DiffID, err)
		}
		p.Layers = append(p.Layers, l.DiffID)
		p.Size += n
	}
	return m.update(func(s *state, now time.Time) error {
		if s.Pulled == nil {
			s.Pulled = &catalog{}
		}
		c := s.Pulled
		if c.Images == nil {
			c.Images, c.Tags = make(map[string]*pulledImage), make(map[string]string)
		}
		if old := c.Images[p.Digest]; old != nil {
			p.Refs, p.PulledAt, p.LastUsed = old.Refs, old.PulledAt, old.LastUsed
		}
		key := imageKey(img.Ref.String())
		if prev, ok := c.Tags[key]; ok && prev != p.Digest {
			// The reference moves: the image it named keeps its other names.
			if o := c.Images[prev]; o != nil {
				o.Refs = slices.DeleteFunc(o.Refs, func(r string) bool { return imageKey(r) == key })
			}
		}
		if !slices.ContainsFunc(p.Refs, func(r string) bool { return imageKey(r) == key }) {
			p.Refs = append(p.Refs, img.Ref.String())
		}
		c.Images[p.Digest] = p
		c.Tags[key] = p.Digest
		return nil
	})
}

// readLayer reads a layer's tar whole, as HCS's import does, and returns
// its size. A base layer must hold Files\ and Hives\; no layer holds
// anything but Files\, Hives\ and UtilityVM\ (with the whiteouts of a
// layer above a base).
func readLayer(l driver.PulledLayer, base bool) (int64, error) {
	rc, err := l.Open()
	if err != nil {
		return 0, err
	}
	cr := &countingReader{r: rc}
	err = checkLayer(tar.NewReader(cr), base)
	// Close reads what is left and checks the layer's digest.
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	return cr.n, err
}

func checkLayer(tr *tar.Reader, base bool) error {
	var files, hives bool
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		name := strings.TrimPrefix(strings.ReplaceAll(h.Name, `\`, "/"), "./")
		top, _, _ := strings.Cut(name, "/")
		switch {
		case strings.EqualFold(top, "Files"):
			files = true
		case strings.EqualFold(top, "Hives"):
			hives = true
		case strings.EqualFold(top, "UtilityVM"):
		default:
			return hcsError("ImportLayer", name, hresult.InvalidArg, driver.ErrInvalidConfig,
				"The parameter is incorrect. (%s is not in a Windows layer: a Windows layer holds Files\\, Hives\\ and UtilityVM\\ only)", name)
		}
		if _, err := io.Copy(io.Discard, tr); err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
	}
	if base && (!files || !hives) {
		return hcsError("ProcessBaseImage", "", hresult.InvalidArg, driver.ErrInvalidConfig,
			"The parameter is incorrect. (a base layer holds Files\\ and Hives\\)")
	}
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// PulledImages lists the images pulled into the host, by digest.
func (m *Model) PulledImages() ([]driver.StoredImage, error) {
	var out []driver.StoredImage
	err := m.view(func(s *state) error {
		if s.Pulled == nil {
			return nil
		}
		for _, p := range s.Pulled.Images {
			out = append(out, p.stored())
		}
		return nil
	})
	slices.SortFunc(out, func(a, b driver.StoredImage) int { return strings.Compare(a.Digest, b.Digest) })
	return out, err
}

// RemovePulledImage removes a pulled image that no container of any owner
// was created from, and returns its size.
func (m *Model) RemovePulledImage(digest string) (int64, error) {
	var freed int64
	err := m.update(func(s *state, _ time.Time) error {
		var p *pulledImage
		if s.Pulled != nil {
			p = s.Pulled.Images[digest]
		}
		if p == nil {
			return hcsError("DestroyLayer", digest, hresult.FileNotFound, driver.ErrNotFound, "The system cannot find the file specified.")
		}
		for id, r := range s.Containers {
			if s.uses(r, p) {
				return hcsError("DestroyLayer", digest, hresult.SharingViolation, driver.ErrInvalidState,
					"The process cannot access the file because it is being used by another process. (container %s was created from it)", id)
			}
		}
		delete(s.Pulled.Images, digest)
		for k, d := range s.Pulled.Tags {
			if d == digest {
				delete(s.Pulled.Tags, k)
			}
		}
		freed = p.Size
		return nil
	})
	return freed, err
}
