package agent

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/pull"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
	"github.com/isoagent/isoagent/spec"
)

// Pulls configure the agent's image puller (package pull): with it the
// agent asks the registry about each image its specs name before admitting
// them, and pulls what the host lacks before creating a container.
type Pulls struct {
	// Off: the agent pulls nothing and runs what the host has.
	Off bool
	// Registries is the registries file's content (credentials, mirrors,
	// CAs, insecure registries); nil means Docker's config.json and TLS
	// with the system's roots.
	Registries *registry.Config
	// RegistriesFile is the file Registries was read from; when set, the
	// agent follows it (registriesFollower) and a change applies to the
	// pulls that start after it, without a restart.
	RegistriesFile string
	// Dir is where blobs are downloaded to before the driver stores them
	// (default Pulls under GitOps.StateDir; with neither the agent pulls
	// nothing).
	Dir string
	// MaxPulls, StallTimeout, GCAge: see pull.Options (defaults 2, 2m,
	// 24h; GCAge negative keeps every image).
	MaxPulls     int
	StallTimeout time.Duration
	GCAge        time.Duration
}

// puller builds the image puller of cfg.Pulls, or returns nil when the
// agent is not to pull: when told so, when the driver cannot store images
// or there is no folder to download to (it runs what the host has, as
// before).
func (a *Agent) puller() (*pull.Puller, error) {
	pc := a.cfg.Pulls
	if pc.Off {
		return nil, nil
	}
	store, ok := a.drv.(driver.ImageStore)
	if !ok {
		a.log.Info("the driver cannot store pulled images; running the images the host has", "driver", a.host.Driver)
		return nil, nil
	}
	dir := pc.Dir
	if dir == "" {
		if a.cfg.GitOps.StateDir == "" {
			a.log.Info("no folder to download images to; running the images the host has")
			return nil, nil
		}
		dir = filepath.Join(a.cfg.GitOps.StateDir, "Pulls")
	}
	c, err := a.registryClient(pc.Registries)
	if err != nil {
		return nil, fmt.Errorf("image pulls: %w", err)
	}
	return pull.New(pull.Options{
		Client:       c,
		Store:        store,
		Host:         a.drv,
		Dir:          dir,
		MaxPulls:     pc.MaxPulls,
		StallTimeout: pc.StallTimeout,
		GCAge:        pc.GCAge,
		Refresh:      a.cfg.Resync,
		// The engine exists before Run starts the puller, the only one to
		// call this.
		OnChange: func(ref imageref.Ref) { a.eng.ImagesChanged(ref) },
		Observer: pullObserver{a.metrics},
		Logger:   a.log,
	})
}

// registryClient returns a client of the registries cfg describes.
func (a *Agent) registryClient(cfg *registry.Config) (*registry.Client, error) {
	return registry.New(registry.Options{Config: cfg, UserAgent: "isoagent/" + a.cfg.Version, Logger: a.log})
}

// registriesFollower returns the follower of the registries file, which
// hands p a new client at each good change.
func (a *Agent) registriesFollower(p *pull.Puller) *registriesFollower {
	file := a.cfg.Pulls.RegistriesFile
	load := func(path string) (*registry.Config, error) { return loadRegistries(path, a.cfg.Dir, a.registryClient) }
	return &registriesFollower{
		watcher: spec.NewFileWatcher(file, a.cfg.Pulls.Registries, load, spec.FileWatchOptions{
			What: "registries", Debounce: a.cfg.Debounce, Interval: a.cfg.Resync, Poll: a.cfg.Poll > 0, Logger: a.log,
		}),
		newClient: a.registryClient,
		setClient: p.SetClient,
		eng:       a.eng,
		metrics:   a.metrics,
	}
}

// engineImages is p as the engine's Images; nil stays a nil interface.
func engineImages(p *pull.Puller) reconcile.Images {
	if p == nil {
		return nil
	}
	return p
}

// pullObserver feeds the puller's observations to the metrics.
type pullObserver struct{ m *metrics.Metrics }

var _ pull.Observer = pullObserver{}

func (o pullObserver) PullBytes(n int64)                 { o.m.AddPullBytes(n) }
func (o pullObserver) PullDone(ok bool, d time.Duration) { o.m.ObservePull(ok, d) }
func (o pullObserver) PullFailed(reason string)          { o.m.IncPullFailure(reason) }
func (o pullObserver) PullsInProgress(n int)             { o.m.SetPullsInProgress(n) }
func (o pullObserver) ImagesCollected(removed int, freed int64) {
	o.m.AddImageGC(removed, freed)
}
