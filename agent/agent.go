package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/containerlog"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// Config is what an agent is told: `isoagent run`'s flags, and the Windows
// service's. Dir and Driver are required; every other field has a default.
type Config struct {
	// Dir is the spec folder.
	Dir string
	// Loader says how the folder's files are read.
	Loader spec.LoaderOptions
	// Driver is the container host. The agent owns it from New on: Close
	// closes it (when it is an io.Closer). A driver that can tell where a
	// mount really leads (policy.Resolver) is asked before the policy is
	// checked.
	Driver driver.Driver
	// Owner is the owner tag of the containers this agent manages
	// (default "isoagent"); containers of other owners are never touched.
	Owner string
	// HostName is matched by spec hosts globs (default: the host's name);
	// Labels by spec selectors.
	HostName string
	Labels   map[string]string
	// AllowEmpty applies a folder without specs: it prunes every container
	// this agent owns. Without it such a folder is ignored.
	AllowEmpty bool
	// PolicyFile is the boundary policy, followed for changes while the
	// agent runs. Empty allows nothing that pierces isolation.
	PolicyFile string
	// Workers is how many containers are reconciled in parallel (default
	// 4).
	Workers int
	// Resync is the interval of the periodic rescan of the folder, the
	// relist of the host and the read of the policy file (default 30s).
	Resync time.Duration
	// FullResync is the interval of the full re-read of every spec file;
	// the rescan every Resync reads only the files whose size, times or
	// identity changed (default spec.DefaultFullResync).
	FullResync time.Duration
	// Debounce is the quiet period after a change before the folder or the
	// policy file is read (default spec.DefaultDebounce).
	Debounce time.Duration
	// Poll, when positive, has the folder compared every Poll instead of
	// followed by change notifications, and the policy file read every
	// Resync only: for network shares, where notifications do not work.
	Poll time.Duration
	// Listen is the address of /metrics, /healthz, /readyz and /status;
	// empty serves nothing.
	Listen string
	// Web is who may reach Listen: TLS and basic auth from a web
	// configuration file, and the paths served without credentials.
	Web metrics.Access
	// Version is the agent's version, for the start line of the log and
	// isoagent_build_info.
	Version string
	// StartAttrs are logged with the start line, after the host's (the
	// simulated host's state folder, say).
	StartAttrs []any
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// GitOps are the guard rails of a folder many people push to.
	GitOps GitOps
	// Pulls configure the image puller.
	Pulls Pulls
	// StatsInterval is how long the containers' statistics read from a
	// driver that tells them (driver.StatsReader) are served before they
	// are read again (default DefaultStatsInterval).
	StatsInterval time.Duration
}

// A Component is a long-lived part of the agent, run with the others by
// Agent.Run. Its Run returns once its goroutines have exited: nil when ctx
// ended it; an error, or a return of its own accord, stops the others. A
// component that can tell whether it keeps up also has a method Health()
// error, which Agent.Health asks.
type Component interface {
	Run(ctx context.Context) error
}

// runFunc makes a function a Component.
type runFunc func(ctx context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

// part is a Component with the name its errors are reported under.
type part struct {
	name string
	c    Component
}

// Agent is the running whole: the spec folder's watcher feeding the
// engine, the policy follower, the engine over the driver, the metrics and
// the HTTP endpoints. New builds it and starts nothing; Run runs its
// components together and returns once all of them have stopped;
// StopContainers and Close come after Run. Its other methods are safe to
// call from any goroutine, before, while and after Run runs.
type Agent struct {
	cfg      Config
	log      *slog.Logger
	drv      driver.Driver
	host     driver.Host
	eng      *reconcile.Engine
	watcher  *spec.Watcher
	metrics  *metrics.Metrics
	stats    *statsCache // nil: the driver does not tell
	registry *prometheus.Registry
	parts    []part
	close    func() error
}

// New builds the agent of cfg: it describes the host through the driver,
// loads the policy file and builds each component. A policy file that does
// not load stops it here, its problems logged one by one.
func New(ctx context.Context, cfg Config) (*Agent, error) {
	if cfg.Dir == "" || cfg.Driver == nil {
		return nil, errors.New("agent: a spec folder and a driver are required")
	}
	if cfg.Owner == "" {
		cfg.Owner = "isoagent"
	}
	if cfg.Resync <= 0 {
		cfg.Resync = spec.DefaultResync
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	logger := cfg.Logger
	drv := cfg.Driver
	host, err := drv.Host(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe the host through the driver: %w", err)
	}
	first := append([]any{"driver", host.Driver, "os_version", host.OSVersion.String(), "sku", host.SKU, "host", host.Name, "dir", cfg.Dir, "owner", cfg.Owner}, cfg.StartAttrs...)
	logger.Info("isoagent "+cfg.Version+" starting", first...)

	// Without a policy file the policy allows nothing that pierces
	// isolation; a file that does not load stops the agent here.
	pol, pc, err := policy.OpenLocated(cfg.PolicyFile, cfg.Loader.LocateSyntax)
	if err != nil {
		return nil, policyStartError(logger, cfg.PolicyFile, err)
	}

	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.BuildInfo{Version: cfg.Version})
	m.SetHostInfo(host)

	a := &Agent{cfg: cfg, log: logger, drv: drv, host: host, metrics: m, registry: reg}
	a.watcher = spec.NewWatcher(cfg.Dir, a.loader(), spec.WatchOptions{
		Debounce:   cfg.Debounce,
		Resync:     cfg.Resync,
		FullResync: cfg.FullResync,
		Poll:       cfg.Poll,
		Logger:     logger,
		OnEvent:    m.IncWatchEvent,
		OnRescan:   m.IncRescan,
	})
	lock, err := a.lockOwner()
	if err != nil {
		return nil, err
	}
	a.close = sync.OnceValue(func() error { return errors.Join(a.closeDriver(), lock.Release()) })
	hold, saveDir, err := a.pruneHold(ctx)
	if err != nil {
		return nil, errors.Join(err, lock.Release())
	}
	if hold == "" {
		saveDir()
	}
	puller, err := a.puller()
	if err != nil {
		return nil, err
	}
	a.eng = reconcile.NewEngine(reconcile.EngineOptions{
		MaxPrune:        cfg.GitOps.MaxPrune,
		HoldPrune:       hold,
		OnPruneReleased: saveDir,
		Driver:          drv,
		Owner:           cfg.Owner,
		Workers:         cfg.Workers,
		Resync:          cfg.Resync,
		AllowEmpty:      cfg.AllowEmpty,
		Admit:           reconcile.AdmitOptions{HostName: cfg.HostName, Labels: cfg.Labels, Policy: pc, Resolver: policy.ResolverOf(drv), Secrets: cfg.GitOps.Secrets},
		Logger:          logger,
		Observer:        observer{m},
		Images:          engineImages(puller),
	})
	infos := newInfoCache(a.eng)
	m.SetContainerSource(infos.infos)
	m.SetContainerVersion(a.eng.StateVersion)
	if r, ok := drv.(driver.StatsReader); ok {
		a.stats = newStatsCache(r, cfg.StatsInterval, logger)
		m.SetStatsSource(func() []metrics.ContainerStats { return a.containerStats(infos.infos()) })
		// The usage series are built and encoded once per reading.
		m.SetStatsVersion(a.stats.generation)
	}
	if rk, ok := drv.(driver.RunKeeper); ok {
		lc := newLogCounts(containerlog.NewCounter(rk), infos.infos, cfg.StatsInterval, logger)
		m.SetLogBytesSource(lc.counts)
		m.SetLogBytesVersion(lc.generation)
	}
	m.SetPruneSource(func() (int, int) { return pendingCount(a.eng.PendingPrune()), a.eng.PruneBudget() })
	m.SetConditionSource(a.eng.Conditions)

	a.add("engine", a.eng)
	if puller != nil {
		a.add("puller", puller)
		if cfg.Pulls.RegistriesFile != "" {
			a.add("registries watcher", a.registriesFollower(puller))
		}
	}
	a.add("watcher", a.watcher)
	a.add("folder", runFunc(a.feed))
	if pol != nil {
		a.add("policy watcher", &policyFollower{eng: a.eng, metrics: m,
			watcher: spec.NewFileWatcher(cfg.PolicyFile, pol, func(p string) (*policy.Policy, error) { return policy.LoadLocated(p, cfg.Loader.LocateSyntax) }, spec.FileWatchOptions{What: "policy", Debounce: cfg.Debounce, Interval: cfg.Resync, Poll: cfg.Poll > 0, Logger: logger})})
	}
	if cfg.Listen != "" {
		if err := cfg.Web.Check(); err != nil {
			return nil, err
		}
		var logs http.Handler
		if _, ok := drv.(driver.RunKeeper); ok {
			logs = containerlog.Handler(drv)
		}
		srv := metrics.NewServer(cfg.Listen, metrics.Handler(metrics.Endpoints{
			Logs: logs,
			Restart: func(ctx context.Context, name string) error {
				return a.eng.Restart(ctx, name, "isoagent restart")
			},
			Gatherer: reg,
			Health:   a.Health,
			Ready:    a.Ready,
			Status:   func(ctx context.Context) (any, error) { return a.status(ctx), nil },
			ConfirmPrune: func(_ context.Context, id string) (any, error) {
				return a.eng.ConfirmPrune(id)
			},
			Converged: func(ctx context.Context, settle time.Duration) any { return a.eng.WaitSettled(ctx, settle) },
			Plan:      a.plan,
			Extra:     m.ContainerSeries(),
			Logger:    logger,
		}), logger)
		srv.Access = cfg.Web
		a.add("http", srv)
	}
	return a, nil
}

// add registers a component for Run; New calls it for each part the
// configuration asks for.
func (a *Agent) add(name string, c Component) { a.parts = append(a.parts, part{name, c}) }

// feed hands the engine what the watcher reads: every new snapshot of the
// folder, and every failure to read it, which status shows while the
// desired state in force stays. It returns when the watcher has stopped.
func (a *Agent) feed(context.Context) error {
	files := newFileLog(a.log)
	for u := range a.watcher.Updates() {
		if u.Snapshot != nil {
			files.snapshot(u.Snapshot)
			a.observeSnapshot(u.Snapshot)
			a.eng.UpdateSeen(u.Snapshot, u.SeenAt)
		}
		a.eng.SetLoadError(u.Err)
	}
	return nil
}

// Run runs the agent's components until ctx is done, or one of them stops
// on its own, which stops the others too. It returns once all have
// stopped, with the errors they returned, each under its component's
// name. Containers are left running. Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if a.cfg.Listen != "" {
		a.log.Info("serving metrics and status", "addr", a.cfg.Listen)
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range a.parts {
		wg.Go(func() {
			defer cancel()
			if err := p.c.Run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Ready reports whether the agent is ready: the first full reconcile is
// done and the driver answers. It is /readyz.
func (a *Agent) Ready(ctx context.Context) error {
	if err := a.eng.NotReady(); err != nil {
		return err
	}
	if _, err := a.drv.Host(ctx); err != nil {
		return fmt.Errorf("the %s driver does not answer: %w", a.host.Driver, err)
	}
	return nil
}

// Health reports whether every component that can tell keeps up (has a
// Health method returning nil), and otherwise why not, for a liveness
// probe. It does not block.
func (a *Agent) Health() error {
	var errs []error
	for _, p := range a.parts {
		if h, ok := p.c.(interface{ Health() error }); ok {
			if err := h.Health(); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", p.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Status returns what the engine knows, as /status serves it.
func (a *Agent) Status() reconcile.Status { return a.eng.Status() }

// WaitConverged blocks until the host matches the folder and the policy
// in force, confirmed by a fresh look at the driver (see
// reconcile.Engine.WaitConverged), or until ctx ends. Run must be running.
func (a *Agent) WaitConverged(ctx context.Context) error { return a.eng.WaitConverged(ctx) }

// Close releases the driver (the hcs driver's handles on the containers,
// which keep running) and the owner's lock in the state folder. Call it once Run has returned, and after
// StopContainers if that is called; later calls return what the first
// returned.
func (a *Agent) Close() error { return a.close() }

func (a *Agent) closeDriver() error {
	c, ok := a.drv.(io.Closer)
	if !ok {
		return nil
	}
	if err := c.Close(); err != nil {
		return fmt.Errorf("close the %s driver: %w", a.host.Driver, err)
	}
	return nil
}
