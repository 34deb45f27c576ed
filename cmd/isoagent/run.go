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
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winbuild"
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

// agentFlags are the flags run and plan share.
type agentFlags struct {
	dir        string
	drv        driverOptions
	labels     labelFlags
	hostname   string
	allowEmpty bool
	policy     string // --policy file; "" allows nothing that pierces isolation
	gitops     gitopsFlags
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
}

func (a *agentFlags) check(fs *flag.FlagSet) error {
	a.drv.parsed(fs)
	if a.dir == "" {
		return errors.New("--dir is required")
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
	once := fs.Bool("once", false, "converge, print a status table and exit: 0 converged, 1 not within --timeout")
	timeout := fs.Duration("timeout", 2*time.Minute, "with --once: how long to wait for convergence")
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
	a, err := newAgent(ctx, cfg, logger)
	if err != nil {
		logger.Error("cannot start", "err", err)
		return exitUsage
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()

	code := exitOK
	if *once {
		code = waitConverged(runCtx, a.eng, *timeout)
		cancel()
	}
	if err := <-done; err != nil {
		logger.Error("stopped", "err", err)
		code = exitUsage
	}
	if *once {
		printStatus(stdout, a.eng.Status(), time.Now())
	} else {
		logger.Info("isoagent stopped; containers are left running")
	}
	return code
}

// register adds the flags of `isoagent run` that shape the agent.
func (c *agentConfig) register(fs *flag.FlagSet) {
	c.agentFlags.register(fs)
	fs.IntVar(&c.workers, "workers", 4, "containers reconciled in parallel")
	fs.DurationVar(&c.resync, "resync", 30*time.Second, "interval of the periodic rescan and relist")
	fs.DurationVar(&c.debounce, "debounce", spec.DefaultDebounce, "quiet period after a folder change before it is read (capped at 1s)")
	fs.StringVar(&c.watch, "watch", "notify", "how to follow the folder: notify (change notifications) or poll (for network shares)")
	fs.DurationVar(&c.poll, "poll-interval", 2*time.Second, "with --watch=poll: how often the folder is compared")
	fs.StringVar(&c.listen, "listen", "127.0.0.1:9741", "address of /metrics, /healthz, /readyz and /status; empty serves nothing")
}

// waitConverged waits until the engine has converged (exitOK), or the
// timeout or ctx ends (exitProblem). The engine confirms convergence with a
// fresh look at the driver, so a container that exited at once is not
// missed and the status shows the driver's view.
func waitConverged(ctx context.Context, eng *reconcile.Engine, timeout time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := eng.WaitConverged(ctx); err != nil {
		return exitProblem
	}
	return exitOK
}

// printStatus prints the engine's status as a table; ages are relative to
// now.
func printStatus(w io.Writer, st reconcile.Status, now time.Time) {
	fmt.Fprintf(w, "host %s (%s, %s driver)", st.Host.OSVersion, st.Host.SKU, st.Host.Driver)
	if st.Revision != "" {
		fmt.Fprintf(w, ", revision %s", st.Revision)
	}
	if st.Converged {
		fmt.Fprintln(w, ": converged")
	} else {
		fmt.Fprintln(w, ": NOT converged")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSTATE\tISOLATION\tIMAGE\tRESTARTS\tAGE\tCONTAINER\tHOST VIEW\tNOTE")
	for _, c := range st.Containers {
		iso := isolationColumn(c)
		view := "-"
		switch {
		case c.InitPID != 0:
			view = fmt.Sprintf("pid %d", c.InitPID)
		case c.UtilityVM != nil:
			view = fmt.Sprintf("vmwp %d", c.UtilityVM.PID)
		}
		note := c.LastError
		if c.Rejection != nil {
			note = fmt.Sprintf("%s: %s", c.Rejection.Reason, c.Rejection.Message)
			if c.Rejection.Field != "" {
				note = fmt.Sprintf("%s: %s: %s", c.Rejection.Reason, c.Rejection.Field, c.Rejection.Message)
			}
		}
		for _, cond := range c.Conditions {
			if note != "" {
				note += "; "
			}
			note += string(cond.Type)
		}
		if c.ExitCode != nil && note == "" {
			note = fmt.Sprintf("exit code %d", *c.ExitCode)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", c.Name, c.State, iso, orDash(c.Image), c.RestartCount, age(c.Since, now), orDash(c.ContainerID), view, note)
	}
	tw.Flush()
	for _, f := range st.Files {
		fmt.Fprintf(w, "invalid file %s:\n", f.Path)
		for _, e := range f.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	for _, c := range st.Conditions {
		fmt.Fprintf(w, "%s: %s\n", c.Type, c.Message)
	}
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

// newLogger returns a logger writing to w in the given format and level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "auto":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// driverOptions are the flags that choose and shape the driver, shared by
// run and plan.
type driverOptions struct {
	name    string // auto, sim or hcs
	simDir  string
	simHost string
	simSKU  string
	owner   string
	// hcsStateDir and dockerRoot move the hcs driver's folders; empty
	// means %ProgramData%\isoagent and Docker's data root.
	hcsStateDir string
	dockerRoot  string
	// hcsScratchGB is the size, in GB, each container's scratch disk
	// grows to; 0 keeps the size HCS makes.
	hcsScratchGB int
	logger       *slog.Logger
	secrets      driver.SecretSource // where the driver reads secrets; nil: none
	// simHostSet reports that --sim-host or --sim-sku was given, so it
	// overrides the host a state folder was created with.
	simHostSet bool
}

func (o *driverOptions) register(fs *flag.FlagSet) {
	fs.StringVar(&o.name, "driver", "auto", "container host: auto (hcs on Windows, sim elsewhere), sim or hcs")
	fs.StringVar(&o.simDir, "sim-dir", defaultSimDir(), "state folder of the simulated host")
	fs.StringVar(&o.simHost, "sim-host", "10.0.20348", "OS version of the simulated host (when its folder is new, or when given)")
	fs.StringVar(&o.simSKU, "sim-sku", "server", "SKU of the simulated host: server or client")
	fs.StringVar(&o.owner, "owner", "isoagent", "owner tag of the containers this agent manages")
	fs.StringVar(&o.hcsStateDir, "hcs-state-dir", "", `hcs driver: folder of the agent's container records and scratch layers (default %ProgramData%\isoagent)`)
	fs.StringVar(&o.dockerRoot, "docker-root", "", "hcs driver: Docker's data root, where images are read from (default: Docker's own setting)")
	fs.IntVar(&o.hcsScratchGB, "hcs-scratch-size", 127, "hcs driver: size in GB each container's C: drive (its scratch layer) grows to, as Docker's 127; 0 keeps the 20 GB HCS makes")
}

// parsed notes which flags were given; call it after fs.Parse.
func (o *driverOptions) parsed(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "sim-host" || f.Name == "sim-sku" {
			o.simHostSet = true
		}
	})
}

// openDriver opens the driver the options name and returns it with its
// name.
func openDriver(o driverOptions) (driver.Driver, string, error) {
	name := o.name
	if name == "auto" {
		name = autoDriver
	}
	switch name {
	case driver.NameSim:
		v, err := winbuild.ParseVersion(o.simHost)
		if err != nil {
			return nil, "", fmt.Errorf("--sim-host: %w", err)
		}
		sku := driver.SKU(o.simSKU)
		if sku != driver.SKUServer && sku != driver.SKUClient {
			return nil, "", fmt.Errorf("--sim-sku %q: want server or client", o.simSKU)
		}
		d, err := sim.Open(o.simDir, sim.Options{
			Owner:        o.owner,
			Host:         driver.Host{OSVersion: v, SKU: sku},
			OverrideHost: o.simHostSet,
			Logger:       o.logger,
			Secrets:      o.secrets,
		})
		if err != nil {
			return nil, "", fmt.Errorf("open simulated host %s: %w", o.simDir, err)
		}
		return d, name, nil
	case driver.NameHCS:
		d, err := openHCS(o)
		return d, name, err
	}
	return nil, "", fmt.Errorf("--driver %q: want auto, sim or hcs", o.name)
}
