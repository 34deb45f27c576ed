//go:build windows

package hcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/Microsoft/go-winio"
	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/pkg/ociwclayer"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

// ociImporter imports layers as moby and containerd do on Windows:
// ociwclayer.ImportLayerFromTar, which writes the files with BackupWrite
// and has vmcompute process a base layer (ProcessBaseImage and, with a
// UtilityVM folder, ProcessUtilityImage) or import a layer above one
// (ImportLayer). It needs the backup and restore privileges, which
// administrators and LocalSystem hold but have disabled: they are enabled
// once, for the process, before the first import.
//
// Under Wine (scripts/hcs-test) a layer above a base with no Hives\
// imports end to end against the fake vmcompute.dll; a base layer, and a
// layer's hive deltas, cannot, since ociwclayer writes them with
// BackupWrite, which Wine fails with ERROR_NOT_SUPPORTED: the Windows
// smoke script's pull-import check covers them.
type ociImporter struct {
	once sync.Once
	err  error
}

func (o *ociImporter) Import(ctx context.Context, r io.Reader, path string, parents []string) (int64, error) {
	o.once.Do(func() {
		o.err = winio.EnableProcessPrivileges([]string{winio.SeBackupPrivilege, winio.SeRestorePrivilege})
	})
	if o.err != nil {
		return 0, fmt.Errorf("enable the backup and restore privileges a layer import needs (run the agent as an administrator or LocalSystem): %w", o.err)
	}
	n, err := ociwclayer.ImportLayerFromTar(ctx, r, path, parents)
	if err != nil {
		return 0, hcsError("import layer", path, err)
	}
	return n, nil
}

func (o *ociImporter) Destroy(path string) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, path); err != nil {
		return hcsError("destroy layer", path, err)
	}
	return nil
}

// openPulled opens the store of pulled images in the state folder.
func (d *Driver) openPulled() error {
	s, err := newPulledStore(filepath.Join(d.stateDir, "Images"), &ociImporter{}, nil)
	if err != nil {
		return err
	}
	d.pulled = s
	return nil
}

// resolve finds the image ref names: among the images isoagent pulled
// first, then in Docker's store.
func (d *Driver) resolve(ctx context.Context, ref imageref.Ref) (ResolvedImage, error) {
	if d.pulled != nil {
		im, err := d.pulled.Resolve(ctx, ref)
		if !errors.Is(err, driver.ErrNotFound) {
			return im, err
		}
	}
	im, err := d.images.Resolve(ctx, ref)
	return im, imageHint(err, ref)
}

var _ driver.ImageStore = (*Driver)(nil)

// ImportImage implements driver.ImageStore: each layer the store lacks is
// imported with ociwclayer into Images\Layers\<chain ID> in the state
// folder, once, and shared by the images that have it.
func (d *Driver) ImportImage(ctx context.Context, img driver.PulledImage) error {
	if d.pulled == nil {
		return fmt.Errorf("import image %s: %w: the driver has no store of pulled images", img.Ref, driver.ErrNotSupported)
	}
	start := time.Now()
	if err := d.pulled.Import(ctx, img); err != nil {
		return err
	}
	d.log.Info("imported image", "image", img.Ref, "digest", img.Digest, "layers", len(img.Layers), "duration", time.Since(start).Round(time.Millisecond))
	return nil
}

// PulledImages implements driver.ImageStore; an image's LastUsed is when
// the newest container recorded in the state folder was created from it.
func (d *Driver) PulledImages(context.Context) ([]driver.StoredImage, error) {
	if d.pulled == nil {
		return nil, nil
	}
	recs, err := d.allRecords()
	if err != nil {
		return nil, err
	}
	return d.pulled.List(func(digest string) time.Time {
		var last time.Time
		for _, r := range recs {
			if r.Config.ImageDigest == digest && r.CreatedAt.After(last) {
				last = r.CreatedAt
			}
		}
		return last
	})
}

// RemovePulledImage implements driver.ImageStore: an image a container
// recorded in the state folder uses a layer of is not removed.
func (d *Driver) RemovePulledImage(_ context.Context, digest string) (int64, error) {
	if d.pulled == nil {
		return 0, fmt.Errorf("image %s: %w", digest, driver.ErrNotFound)
	}
	recs, err := d.allRecords()
	if err != nil {
		return 0, err
	}
	return d.pulled.Remove(digest, func(layers []string) string {
		for _, r := range recs {
			for _, l := range r.Layers {
				if slices.Contains(layers, l) {
					return r.Config.ID
				}
			}
		}
		return ""
	})
}

// allRecords reads every container record in the state folder.
func (d *Driver) allRecords() ([]*record, error) {
	ids, err := d.records.list()
	if err != nil {
		return nil, err
	}
	var out []*record
	for _, id := range ids {
		r, err := d.records.get(id)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}
