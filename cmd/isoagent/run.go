package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/isoagent/isoagent/agent"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/gitstatus"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/spec/yamlpos"
)

const runUsage = `usage: isoagent run --dir DIR [flags]

Keeps this host's containers in line with the specs in DIR until
interrupted (running containers are left running), or with --once until
the host has converged.
`

// labelFlags collects repeated --label k=v flags.
type labelFlags map[string]string

func (l labelFlags) String() string {
	var s []string
	for k, v := range l {
		s = append(s, k+"="+v)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}

func (l labelFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("label %q: want key=value", v)
	}
	l[k] = val
	return nil
}

// policyFlagUsage is the help of --policy for run and plan.
const policyFlagUsage = "boundary policy `file`: the mounts, pipes, ports, devices and isolation specs may use; without it nothing that pierces isolation is allowed"

// agentFlags are the flags run and plan share.
type agentFlags struct {
	dir        string
	drv        driverOptions
	labels     labelFlags
	hostname   string
	allowEmpty bool
	policy     string // --policy file; "" allows nothing that pierces isolation
	gitops     gitopsFlags
	// maxFileSize is the largest spec file read, as validate's flag: so
	// that a file validate was told to accept is read by the agent too.
	maxFileSize int64
}

func (a *agentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.dir, "dir", "", "spec folder (required)")
	a.drv.register(fs)
	a.labels = labelFlags{}
	fs.Var(a.labels, "label", "agent label k=v matched by spec selectors (repeatable)")
	fs.StringVar(&a.hostname, "hostname", "", "host name matched by spec hosts globs (default: the host's name)")
	fs.BoolVar(&a.allowEmpty, "allow-empty", false, "apply a folder without specs: prune every container this agent owns")
	fs.StringVar(&a.policy, "policy", "", policyFlagUsage)
	a.gitops.register(fs)
	fs.Int64Var(&a.maxFileSize, "max-file-size", spec.DefaultMaxFileSize, "largest spec file read, in `bytes`; a larger file is invalid")
}

func (a *agentFlags) check(fs *flag.FlagSet) error {
	a.drv.parsed(fs)
	if a.dir == "" {
		return errors.New("--dir is required")
	}
	if a.maxFileSize <= 0 {
		return fmt.Errorf("--max-file-size %d: want a positive number of bytes", a.maxFileSize)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return nil
}

func runRun(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("run", runUsage, stderr)
	var cfg agentConfig
	cfg.register(fs)
	once := fs.Bool("once", false, "converge, print a status table and exit: 0 converged, 1 not within --timeout or with specs meant for this host rejected or files invalid (see --allow-rejected)")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --once: how long to wait for convergence")
	allowRejected := fs.Bool("allow-rejected", false, "with --once: exit 0 once converged even with rejected specs or invalid files")
	var logs logFlags
	logs.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := cfg.check(fs); err != nil {
		fmt.Fprintf(stderr, "isoagent run: %v\n", err)
		return exitUsage
	}
	if handled, code := runAsService(cfg, logs); handled {
		return code
	}
	logger, closeLog, err := logs.open(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent run: %v\n", err)
		return exitUsage
	}
	defer closeLog()
	if *once && !flagGiven(fs, "listen") {
		// A one-shot run serves nothing unless asked: it must not collide
		// with a long-running agent on the same host.
		cfg.listen = ""
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := openAgent(ctx, cfg, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return exitUsage
	}
	defer func() {
		if err := a.Close(); err != nil {
			logger.Warn("cannot release the driver; the containers keep running", "err", err)
		}
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()

	code := exitOK
	if *once {
		code = waitConverged(runCtx, a, *timeout)
		cancel()
	}
	if err := <-done; err != nil {
		logger.Error("stopped", "err", err)
		code = exitUsage
	}
	if *once {
		st := a.Status()
		printStatus(stdout, st, time.Now(), false)
		code = max(code, onceRefusals(stdout, st, *allowRejected))
	} else {
		logger.Info("isoagent stopped; containers are left running")
	}
	return code
}

// openAgent opens the driver cfg names and builds the agent over it; the
// agent owns the driver from then on.
func openAgent(ctx context.Context, cfg agentConfig, logger *slog.Logger) (*agent.Agent, error) {
	cfg.drv.logger = logger
	g, err := cfg.gitops.open(cfg.dir)
	if err != nil {
		return nil, err
	}
	cfg.drv.secrets = g.secretSource()
	pulls, err := cfg.pulls.agentPulls(cfg.dir)
	if err != nil {
		return nil, err
	}
	pulls.Dir = filepath.Join(cfg.gitops.stateDirFor(cfg.drv), "Pulls")
	if cfg.drv.monitor, err = monitorCommand(); err != nil {
		return nil, err
	}
	drv, name, err := openDriver(cfg.drv)
	if err != nil {
		return nil, fmt.Errorf("open the %s driver: %w", cfg.drv.name, err)
	}
	var startAttrs []any
	if name == driver.NameSim {
		startAttrs = []any{"simulated", true, "sim_dir", cfg.drv.simDir}
	}
	a, err := agent.New(ctx, agent.Config{
		Dir:        cfg.dir,
		Driver:     drv,
		Loader:     spec.LoaderOptions{MaxFileSize: cfg.maxFileSize, CheckoutChanges: gitstatus.Changes, LocateSyntax: yamlpos.Locate},
		Owner:      cfg.drv.owner,
		HostName:   cfg.hostname,
		Labels:     cfg.labels,
		AllowEmpty: cfg.allowEmpty,
		PolicyFile: cfg.policy,
		Workers:    cfg.workers,
		Resync:     cfg.resync,
		FullResync: cfg.fullResync,
		Debounce:   cfg.debounce,
		Poll:       cfg.pollInterval(),
		Listen:     cfg.listen,
		Web:        cfg.web.access(),
		Version:    agentVersion(),
		StartAttrs: startAttrs,
		Logger:     logger,
		GitOps:     agent.GitOps{Keys: g.keys, Secrets: g.secretSource(), MaxPrune: g.budget, StateDir: cfg.gitops.stateDirFor(cfg.drv)},
		Pulls:      pulls,

		StatsInterval: cfg.statsInterval,
	})
	if err != nil {
		return nil, errors.Join(err, closeDriver(drv))
	}
	return a, nil
}

// agentConfig is what `isoagent run` (and the Windows service) is told.
type agentConfig struct {
	agentFlags
	workers    int
	resync     time.Duration
	fullResync time.Duration
	debounce   time.Duration
	watch      string        // notify or poll
	poll       time.Duration // polling interval with watch=poll
	listen     string        // metrics and status address; "" serves nothing
	web        webFlags      // who may reach listen
	pulls      pullFlags

	statsInterval time.Duration
}

// check checks the flags of `isoagent run`; call it after fs.Parse.
func (c *agentConfig) check(fs *flag.FlagSet) error {
	if err := c.agentFlags.check(fs); err != nil {
		return err
	}
	if err := c.pulls.check(); err != nil {
		return err
	}
	switch c.watch {
	case "notify", "":
	case "poll":
		if c.poll <= 0 {
			return fmt.Errorf("--poll-interval %s: want a positive interval with --watch poll", c.poll)
		}
	default:
		return fmt.Errorf("--watch %q: want notify or poll", c.watch)
	}
	return c.web.check()
}

// pollInterval is the agent's Poll: how often the folder is compared with
// --watch=poll, 0 with change notifications.
func (c *agentConfig) pollInterval() time.Duration {
	if c.watch == "poll" {
		return c.poll
	}
	return 0
}

// register adds the flags of `isoagent run` that shape the agent.
func (c *agentConfig) register(fs *flag.FlagSet) {
	c.agentFlags.register(fs)
	fs.IntVar(&c.workers, "workers", 4, "containers reconciled in parallel")
	fs.DurationVar(&c.resync, "resync", 30*time.Second, "interval of the periodic rescan and relist")
	fs.DurationVar(&c.fullResync, "full-resync", spec.DefaultFullResync, "interval of the full re-read of every spec file; the --resync rescan reads only files whose size, times or identity changed")
	fs.DurationVar(&c.debounce, "debounce", spec.DefaultDebounce, "quiet period after a folder change before it is read (capped at 1s)")
	fs.StringVar(&c.watch, "watch", "notify", "how to follow the folder: notify (change notifications) or poll (for network shares)")
	fs.DurationVar(&c.poll, "poll-interval", 2*time.Second, "with --watch=poll: how often the folder is compared")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9741", "address of /metrics, /healthz, /readyz and /status; empty serves nothing; another machine's address only with --web.config.file")
	c.web.register(fs)
	c.pulls.register(fs)
	fs.BoolVar(&c.drv.simMonitors, "sim-monitors", true, "with the folder-backed simulated host: give every run of a container a monitor process (isoagent monitor) that keeps its output and exit, as the hcs driver does; false starts none, so the sim costs no process per container (for benchmarks) and isoagent logs has nothing to show")
	fs.DurationVar(&c.statsInterval, "stats-interval", agent.DefaultStatsInterval, "how long the containers' statistics read from the host serve /metrics and /status before they are read again")
}

// waitConverged waits until the engine has converged (exitOK), or the
// timeout or ctx ends (exitProblem). The engine confirms convergence with a
// fresh look at the driver, so a container that exited at once is not
// missed and the status shows the driver's view.
func waitConverged(ctx context.Context, a *agent.Agent, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := a.WaitConverged(ctx); err != nil {
		return exitProblem
	}
	return exitOK
}

// flagGiven reports whether the named flag was set on the command line.
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}

// isolationColumn shows the requested isolation and, where admission chose
// another, the effective one: "default->process".
func isolationColumn(c reconcile.ContainerStatus) string {
	eff := string(c.EffectiveIsolation)
	switch {
	case eff == "":
		return orDash(c.RequestedIsolation)
	case c.RequestedIsolation != "" && c.RequestedIsolation != eff:
		return c.RequestedIsolation + "->" + eff
	}
	return eff
}

// age formats how long ago t was, like kubectl: 45s, 12m, 3h, 5d.
func age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// pullNote says where a pull that runs stands: "pulled 12.3MB of 40.1MB"
// once its manifest is in.
func pullNote(p reconcile.PullState) string {
	switch {
	case p.Queued:
		return "waiting for a free pull slot (--max-pulls)"
	case p.BytesTotal > 0:
		return fmt.Sprintf("pulled %s of %s (%d%%)", size(p.BytesDone), size(p.BytesTotal), p.BytesDone*100/p.BytesTotal)
	}
	return "pulling"
}
