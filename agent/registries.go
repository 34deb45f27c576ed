package agent

import (
	"context"
	"fmt"

	"github.com/isoagent/isoagent/internal/adminonly"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
	"github.com/isoagent/isoagent/spec"
)

// registriesFollower applies every change of the registries file to the
// image puller (new credentials, mirrors, CAs without a restart) and
// reports whether the file is usable in status (RegistriesInvalid) and in
// the isoagent_registries_valid gauge. Each reload is checked as the start
// is: a file others than administrators may change, or one inside the spec
// folder, is refused and the last good one stays in force.
type registriesFollower struct {
	watcher   *spec.FileWatcher[*registry.Config]
	newClient func(*registry.Config) (*registry.Client, error)
	setClient func(*registry.Client)
	eng       *reconcile.Engine
	metrics   *metrics.Metrics
}

// loadRegistries reads the registries file at path as the agent takes it:
// outside the spec folder dir, changeable by administrators alone (and,
// with passwords, readable by them alone: registry.LoadConfig), and with
// CA files that parse.
func loadRegistries(path, dir string, newClient func(*registry.Config) (*registry.Client, error)) (*registry.Config, error) {
	if dir != "" && adminonly.Inside(path, dir) {
		return nil, fmt.Errorf("registries file %s: %w: it is inside the spec folder %s; keep it where administrators alone can change it, outside the folder", path, registry.ErrNotProtected, dir)
	}
	cfg, err := registry.LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if _, err := newClient(cfg); err != nil {
		return nil, fmt.Errorf("registries file %s: %w", path, err)
	}
	return cfg, nil
}

// Run follows the registries file until ctx is done.
func (f *registriesFollower) Run(ctx context.Context) error {
	return follow(ctx, f.watcher, f.apply)
}

func (f *registriesFollower) apply(u spec.FileUpdate[*registry.Config]) {
	if u.Err != nil {
		f.eng.SetRegistriesError(u.Err)
		f.metrics.SetRegistriesValid(false)
		return
	}
	c, err := f.newClient(u.Value)
	if err != nil {
		// loadRegistries built one from the same file; a CA file changed
		// since. The client in force stays.
		f.eng.SetRegistriesError(fmt.Errorf("registries file %s: %w", u.Value.File, err))
		f.metrics.SetRegistriesValid(false)
		return
	}
	f.setClient(c)
	f.eng.SetRegistriesError(nil)
	f.metrics.SetRegistriesValid(true)
}
