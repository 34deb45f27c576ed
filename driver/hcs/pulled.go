package hcs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/jsonstore"
)

// PulledStore keeps the images isoagent pulls itself (package pull), in
// the driver's state folder, as HCS runs them: each layer is imported
// once into its own folder, Layers\<chain ID>, shared by every image that
// has it, and an index (images.json) names the images by digest and by
// the references they were pulled by. It is an ImageStore; the driver asks
// it before Docker's store, which stays a source for the images Docker
// has.
//
// A layer folder's name is its chain ID because HCS derives the layer's
// GUID from the folder's name: it must be stable and unique, and a folder
// is never renamed once imported. A folder without its completion marker
// is half imported (the agent stopped during an import) and is destroyed
// before it is imported again.
type PulledStore struct {
	dir      string
	importer layerImporter
	index    *jsonstore.Store[pulledIndex]
	clock    func() time.Time
}

// layerImporter unpacks layer tars into layer folders, and destroys
// them: ociwclayer's ImportLayerFromTar and hcsshim's DestroyLayer on
// Windows (pulled_windows.go), a plain unpacking in tests.
type layerImporter interface {
	// Import unpacks the uncompressed layer tar r into folder path, whose
	// parents are parents (nearest first, base last), and returns its size.
	Import(ctx context.Context, r io.Reader, path string, parents []string) (int64, error)
	// Destroy removes a layer folder.
	Destroy(path string) error
}

// completeMarker is written into a layer folder once its import succeeded.
const completeMarker = ".isoagent-complete"

type pulledIndex struct {
	Images map[string]*pulledImage `json:"images,omitempty"` // by digest
	Tags   map[string]string       `json:"tags,omitempty"`   // reference -> digest
	// Sizes are the layers' sizes, by chain ID.
	Sizes map[string]int64 `json:"sizes,omitempty"`
}

type pulledImage struct {
	Digest string             `json:"digest"`
	Refs   []string           `json:"refs,omitempty"`
	Config driver.ImageConfig `json:"config"`
	// Chain is the chain ID of each layer, base first.
	Chain    []string  `json:"chain"`
	PulledAt time.Time `json:"pulledAt"`
}

// NewPulledStore returns the store in folder dir (Images under the
// driver's state folder) with importer; the Windows driver uses
// OpenPulledStore.
func newPulledStore(dir string, importer layerImporter, clock func() time.Time) (*PulledStore, error) {
	idx, err := jsonstore.Open[pulledIndex](dir, "images.json", jsonstore.Options{Indent: true, Perm: 0o644})
	if err != nil {
		return nil, err
	}
	if clock == nil {
		clock = time.Now
	}
	return &PulledStore{dir: dir, importer: importer, index: idx, clock: clock}, nil
}

// ChainIDs returns the chain ID of each layer of diffIDs, base first, as
// the OCI image spec defines them: the first is its diff ID, each next
// the digest of the one below, a space, and its diff ID.
func ChainIDs(diffIDs []string) []string {
	out := make([]string, len(diffIDs))
	for i, d := range diffIDs {
		if i == 0 {
			out[i] = d
			continue
		}
		sum := sha256.Sum256([]byte(out[i-1] + " " + d))
		out[i] = "sha256:" + hex.EncodeToString(sum[:])
	}
	return out
}

func (s *PulledStore) layerPath(chainID string) string {
	return filepath.Join(s.dir, "Layers", strings.TrimPrefix(chainID, "sha256:"))
}

func refKey(ref imageref.Ref) string { return strings.ToLower(ref.String()) }

// Import stores img: it imports the layers the store does not have yet,
// base first, each into its chain ID's folder with the layers below it as
// parents, and names the image by its digest and reference (which moves
// to it). A layer the store has already is not read again.
func (s *PulledStore) Import(ctx context.Context, img driver.PulledImage) error {
	if img.Digest == "" || img.Ref.IsZero() || len(img.Layers) == 0 {
		return fmt.Errorf("import image: no digest, reference or layers: %w", driver.ErrInvalidConfig)
	}
	diffIDs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		diffIDs[i] = l.DiffID
	}
	chain := ChainIDs(diffIDs)
	sizes := make(map[string]int64)
	var parents []string // nearest first
	for i, l := range img.Layers {
		path := s.layerPath(chain[i])
		n, err := s.importLayer(ctx, l, path, parents)
		if err != nil {
			return fmt.Errorf("import image %s: layer %d of %d (%s): %w", img.Ref, i+1, len(img.Layers), l.DiffID, err)
		}
		if n >= 0 {
			sizes[chain[i]] = n
		}
		parents = append([]string{path}, parents...)
	}
	return s.index.Update(func(x *pulledIndex) error {
		if x.Images == nil {
			x.Images, x.Tags, x.Sizes = map[string]*pulledImage{}, map[string]string{}, map[string]int64{}
		}
		for c, n := range sizes {
			x.Sizes[c] = n
		}
		p := x.Images[img.Digest]
		if p == nil {
			p = &pulledImage{Digest: img.Digest, Config: img.Config, Chain: chain, PulledAt: s.clock()}
			x.Images[img.Digest] = p
		}
		key := refKey(img.Ref)
		if prev, ok := x.Tags[key]; ok && prev != img.Digest {
			if o := x.Images[prev]; o != nil {
				o.Refs = slices.DeleteFunc(o.Refs, func(r string) bool { return strings.ToLower(r) == key })
			}
		}
		if !slices.ContainsFunc(p.Refs, func(r string) bool { return strings.ToLower(r) == key }) {
			p.Refs = append(p.Refs, img.Ref.String())
		}
		x.Tags[key] = img.Digest
		return nil
	})
}

// importLayer imports l into path unless a whole import is there, and
// returns its size (-1 when it was there).
func (s *PulledStore) importLayer(ctx context.Context, l driver.PulledLayer, path string, parents []string) (int64, error) {
	if _, err := os.Stat(filepath.Join(path, completeMarker)); err == nil {
		return -1, nil
	}
	if _, err := os.Stat(path); err == nil {
		// Half imported by a process that stopped: start again.
		if err := s.importer.Destroy(path); err != nil {
			return 0, fmt.Errorf("destroy the half-imported layer %s: %w", path, err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	rc, err := l.Open()
	if err != nil {
		return 0, err
	}
	n, err := s.importer.Import(ctx, rc, path, parents)
	// Close checks the tar against its diff ID; a layer that is not what
	// the image's config says is not kept.
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if derr := s.importer.Destroy(path); derr != nil && !errors.Is(derr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("destroy the refused layer: %w", derr))
		}
		return 0, err
	}
	if err := os.WriteFile(filepath.Join(path, completeMarker), nil, 0o644); err != nil {
		return 0, err
	}
	return n, nil
}

// Resolve implements ImageStore: the pulled image ref names, by its
// digest when it has one, else by the reference it was pulled by.
func (s *PulledStore) Resolve(ctx context.Context, ref imageref.Ref) (ResolvedImage, error) {
	if err := ctx.Err(); err != nil {
		return ResolvedImage{}, err
	}
	var p *pulledImage
	err := s.index.View(func(x *pulledIndex) error {
		if ref.Digest != "" {
			p = x.Images[ref.Digest]
		}
		if d, ok := x.Tags[refKey(ref)]; ok && p == nil {
			p = x.Images[d]
		}
		return nil
	})
	if err != nil {
		return ResolvedImage{}, err
	}
	if p == nil {
		return ResolvedImage{}, fmt.Errorf("image %s: %w among the images isoagent pulled into %s", ref, driver.ErrNotFound, s.dir)
	}
	im := ResolvedImage{
		Ref: ref, Digest: p.Digest, OSVersion: p.Config.OSVersion, Entrypoint: p.Config.Entrypoint, Cmd: p.Config.Cmd, ArgsEscaped: p.Config.ArgsEscaped,
		WorkingDir: p.Config.WorkingDir, Env: p.Config.Env, User: p.Config.User, Healthcheck: p.Config.Healthcheck,
	}
	for i := len(p.Chain) - 1; i >= 0; i-- {
		im.Layers = append(im.Layers, s.layerPath(p.Chain[i]))
	}
	return im, nil
}

// List returns the stored images; lastUsed tells when a container was
// last created from an image (by digest).
func (s *PulledStore) List(lastUsed func(digest string) time.Time) ([]driver.StoredImage, error) {
	var out []driver.StoredImage
	err := s.index.View(func(x *pulledIndex) error {
		for _, p := range x.Images {
			si := driver.StoredImage{Digest: p.Digest, OSVersion: p.Config.OSVersion, PulledAt: p.PulledAt, LastUsed: lastUsed(p.Digest)}
			for _, c := range p.Chain {
				si.Size += x.Sizes[c]
			}
			for _, r := range p.Refs {
				if ref, err := imageref.Parse(r); err == nil {
					si.Refs = append(si.Refs, ref)
				}
			}
			out = append(out, si)
		}
		return nil
	})
	slices.SortFunc(out, func(a, b driver.StoredImage) int { return strings.Compare(a.Digest, b.Digest) })
	return out, err
}

// Remove removes the image of digest and destroys the layers no other
// stored image has, unless inUse reports that a container uses one of its
// layer folders (driver.ErrInvalidState). It returns the bytes freed.
func (s *PulledStore) Remove(digest string, inUse func(layers []string) string) (int64, error) {
	var freed int64
	var destroy []string
	err := s.index.Update(func(x *pulledIndex) error {
		p := x.Images[digest]
		if p == nil {
			return fmt.Errorf("image %s: %w among the pulled images", digest, driver.ErrNotFound)
		}
		var paths []string
		for _, c := range p.Chain {
			paths = append(paths, s.layerPath(c))
		}
		if id := inUse(paths); id != "" {
			return fmt.Errorf("image %s: container %s was created from it: %w", digest, id, driver.ErrInvalidState)
		}
		delete(x.Images, digest)
		for k, d := range x.Tags {
			if d == digest {
				delete(x.Tags, k)
			}
		}
		for _, c := range p.Chain {
			shared := false
			for _, o := range x.Images {
				shared = shared || slices.Contains(o.Chain, c)
			}
			if !shared {
				freed += x.Sizes[c]
				delete(x.Sizes, c)
				destroy = append(destroy, s.layerPath(c))
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	var errs []error
	// Top first: a layer is destroyed before the one below it.
	for i := len(destroy) - 1; i >= 0; i-- {
		if err := s.importer.Destroy(destroy[i]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("destroy layer %s: %w", destroy[i], err))
		}
	}
	return freed, errors.Join(errs...)
}
