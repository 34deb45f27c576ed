package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// agentConfig is what `isoagent run` (and the Windows service) is told.
type agentConfig struct {
	agentFlags
	workers  int
	resync   time.Duration
	debounce time.Duration
	watch    string        // notify or poll
	poll     time.Duration // polling interval with watch=poll
	listen   string        // metrics and status address; "" serves nothing
}

// agent is the running whole: the driver, the folder watcher, the engine
// and the metrics and status endpoint. newAgent starts nothing; Run runs
// them together and returns once all of them have stopped.
type agent struct {
	cfg      agentConfig
	log      *slog.Logger
	drv      driver.Driver
	host     driver.Host
	eng      *reconcile.Engine
	watcher  *spec.Watcher
	metrics  *metrics.Metrics
	registry *prometheus.Registry
	server   *metrics.Server
	policy   *policyFollower // nil without --policy
}

func newAgent(ctx context.Context, cfg agentConfig, logger *slog.Logger) (*agent, error) {
	cfg.drv.logger = logger
	g, err := cfg.gitops.open(cfg.dir)
	if err != nil {
		return nil, err
	}
	cfg.drv.secrets = g.secretSource()
	drv, name, err := openDriver(cfg.drv)
	if err != nil {
		return nil, fmt.Errorf("open the %s driver: %w", cfg.drv.name, err)
	}
	host, err := drv.Host(ctx)
	if err != nil {
		return nil, fmt.Errorf("describe the host through the %s driver: %w", name, err)
	}
	first := []any{"driver", name, "os_version", host.OSVersion.String(), "sku", host.SKU, "host", host.Name, "dir", cfg.dir, "owner", cfg.drv.owner}
	if name == driver.NameSim {
		first = append(first, "simulated", true, "sim_dir", cfg.drv.simDir)
	}
	logger.Info("isoagent "+agentVersion()+" starting", first...)

	// Without --policy the policy allows nothing that pierces isolation;
	// a policy file that does not parse stops the agent here.
	pol, pc, err := loadPolicy(cfg.policy)
	if err != nil {
		return nil, policyStartError(logger, cfg.policy, err)
	}

	reg := metrics.NewRegistry()
	m := metrics.New(reg, metrics.BuildInfo{Version: agentVersion()})
	m.SetHostInfo(host)

	a := &agent{cfg: cfg, log: logger, drv: drv, host: host, metrics: m, registry: reg}
	wopts := spec.WatchOptions{
		Debounce: cfg.debounce,
		Resync:   cfg.resync,
		Logger:   logger,
		OnEvent:  m.IncWatchEvent,
		OnRescan: m.IncRescan,
	}
	switch cfg.watch {
	case "notify", "":
	case "poll":
		wopts.Poll = cfg.poll
	default:
		return nil, fmt.Errorf("--watch %q: want notify or poll", cfg.watch)
	}
	refused := func(r *gitverify.RefusalError) { a.revisionRefused(r) }
	a.watcher = spec.NewWatcher(cfg.dir, g.loader(cfg.dir, spec.LoaderOptions{}, logger, refused), wopts)
	hold, saveDir, err := pruneHold(ctx, cfg.gitops, cfg.drv, cfg.dir, drv)
	if err != nil {
		return nil, err
	}
	if hold == "" {
		saveDir()
	}
	a.eng = reconcile.NewEngine(reconcile.EngineOptions{
		MaxPrune:        g.budget,
		HoldPrune:       hold,
		OnPruneReleased: saveDir,
		Driver:          drv,
		Owner:           cfg.drv.owner,
		Workers:         cfg.workers,
		Resync:          cfg.resync,
		AllowEmpty:      cfg.allowEmpty,
		Admit:           reconcile.AdmitOptions{HostName: cfg.hostname, Labels: cfg.labels, Policy: pc, Resolver: resolverOf(drv), Secrets: g.secretSource()},
		Logger:          logger,
		Observer:        observer{m},
	})
	if pol != nil {
		a.policy = &policyFollower{eng: a.eng, metrics: m,
			watcher: spec.NewFileWatcher(cfg.policy, pol, policy.Load, spec.FileWatchOptions{What: "policy", Debounce: cfg.debounce, Interval: cfg.resync, Poll: cfg.watch == "poll", Logger: logger})}
	}
	m.SetContainerSource(func() []metrics.ContainerInfo { return containerInfos(a.eng.Status()) })
	m.SetPruneSource(func() (int, int) { st := a.eng.Status(); return pendingCount(st.PendingPrune), st.PruneBudget })
	if cfg.listen != "" {
		a.server = metrics.NewServer(cfg.listen, metrics.Handler(metrics.Endpoints{
			Gatherer: reg,
			Ready:    a.ready,
			Status:   func(context.Context) (any, error) { return a.eng.Status(), nil },
			ConfirmPrune: func(_ context.Context, id string) (any, error) {
				return a.eng.ConfirmPrune(id)
			},
			Logger: logger,
		}), logger)
	}
	return a, nil
}

// ready reports whether the first full reconcile is done and the driver
// answers.
func (a *agent) ready(ctx context.Context) error {
	if !a.eng.Ready() {
		return errors.New("the first full reconcile is not done yet")
	}
	if _, err := a.drv.Host(ctx); err != nil {
		return fmt.Errorf("the %s driver does not answer: %w", a.host.Driver, err)
	}
	return nil
}

// Run runs the agent until ctx is done. Containers are left running.
func (a *agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	// Any part stopping on its own stops the others.
	goRun := func(name string, run func(context.Context) error) {
		wg.Go(func() {
			if err := run(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				mu.Unlock()
			}
			cancel()
		})
	}
	goRun("engine", a.eng.Run)
	goRun("watcher", a.watcher.Run)
	if a.policy != nil {
		goRun("policy watcher", a.policy.Run)
	}
	if a.server != nil {
		goRun("http", a.server.Run)
		a.log.Info("serving metrics and status", "addr", a.cfg.listen)
	}
	wg.Go(func() {
		// The watcher reads the folder at start, on changes and on its
		// resync, and hands every new snapshot to the engine, and every
		// failure to read the folder, which status shows while the
		// previous desired state stays in force.
		for u := range a.watcher.Updates() {
			if u.Snapshot != nil {
				a.observeSnapshot(u.Snapshot)
				a.eng.UpdateSeen(u.Snapshot, u.SeenAt)
			}
			a.eng.SetLoadError(u.Err)
		}
	})
	wg.Wait()
	return errors.Join(errs...)
}

func (a *agent) observeSnapshot(s *spec.Snapshot) {
	var valid, invalid int
	for _, f := range s.Files {
		if f.Valid() {
			valid++
		} else {
			invalid++
		}
	}
	a.metrics.SetSpecFiles(valid, invalid)
	a.metrics.SetConfigRevision(s.Revision)
}

// observer feeds the engine's observations to the metrics.
type observer struct{ m *metrics.Metrics }

var _ reconcile.Observer = observer{}

func (o observer) Reconciled(r reconcile.Outcome, d time.Duration) {
	o.m.ObserveReconcile(r, d)
	if r == reconcile.OutcomeSuccess {
		o.m.SetLastSuccessfulReconcile(time.Now())
	}
}

func (o observer) Action(k reconcile.ActionKind, err error, _ time.Duration) {
	result := reconcile.OutcomeSuccess
	if err != nil {
		result = reconcile.OutcomeError
	}
	o.m.IncAction(k, result)
}

func (o observer) DriverOp(op driver.Op, _ error, d time.Duration) { o.m.ObserveDriverOp(op, d) }
func (o observer) Restarted(name string)                           { o.m.IncRestart(name) }
func (o observer) Rejected(_ string, r reconcile.Reason)           { o.m.IncRejection(r) }
func (o observer) Converged(d time.Duration)                       { o.m.ObserveConvergence(d) }

// containerInfos is the metrics' view of the engine's status.
func containerInfos(st reconcile.Status) []metrics.ContainerInfo {
	out := make([]metrics.ContainerInfo, 0, len(st.Containers))
	for _, c := range st.Containers {
		// A spec whose hosts or selector leave this host out is not this
		// host's container and not a problem here; counted as rejected it
		// would page every host of a shared spec repository.
		if c.State == reconcile.StateRejected && c.Rejection != nil && c.Rejection.Reason == reconcile.ReasonNotForThisHost {
			continue
		}
		iso := string(c.EffectiveIsolation)
		if iso == "" {
			iso = c.RequestedIsolation
		}
		out = append(out, metrics.ContainerInfo{
			Name:      c.Name,
			Isolation: iso,
			Image:     c.Image,
			State:     c.State,
			Desired:   c.EffectiveIsolation != "" && (c.State == reconcile.StatePending || c.State == reconcile.StateRunning),
			Running:   c.State == reconcile.StateRunning,
		})
	}
	return out
}
