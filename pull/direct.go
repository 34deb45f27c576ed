package pull

import (
	"context"
	"errors"
	"fmt"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
)

// Direct is a reconcile.RegistrySource that asks the registry at every
// look-up and waits for its answer: for validate and plan, which admit
// once and must say what the registry said. It downloads manifests and,
// for a single image, its config; never a layer.
type Direct struct{ Client *registry.Client }

var _ reconcile.RegistrySource = Direct{}

// Lookup implements reconcile.RegistrySource; fresh makes no difference,
// as every answer is fresh.
func (d Direct) Lookup(ctx context.Context, ref imageref.Ref, _ bool, host driver.Host) (reconcile.RegistryAnswer, error) {
	r, err := d.Client.Resolve(ctx, ref, host.OSVersion)
	switch {
	case errors.Is(err, registry.ErrNoVariant):
		return reconcile.RegistryAnswer{}, fmt.Errorf("%w: %w", reconcile.ErrNoVariant, err)
	case err != nil:
		return reconcile.RegistryAnswer{}, err
	}
	return reconcile.RegistryAnswer{Digest: r.Digest, OSVersion: r.OSVersion}, nil
}
