package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/isoagent/isoagent/agent"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/adminonly"
	"github.com/isoagent/isoagent/pull"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
)

// pullFlags are the flags of the agent's image puller, for run and pull.
type pullFlags struct {
	on         bool
	registries string // the registries file; "" none
	maxPulls   int
	stall      time.Duration
	gcAge      time.Duration
}

const registriesFlagUsage = "registries `file` (kind Registries): credentials, mirrors, CAs and insecure registries, administrators only, outside the spec folder; without it Docker's config.json gives the credentials"

func (p *pullFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&p.on, "pull", true, "pull the images the specs name that the host lacks (--pull=false runs only what the host has)")
	fs.StringVar(&p.registries, "registries", "", registriesFlagUsage)
	fs.IntVar(&p.maxPulls, "max-pulls", 2, "image pulls that run at once")
	fs.DurationVar(&p.stall, "pull-stall-timeout", 2*time.Minute, "cancel and retry an image pull that receives no byte for this long")
	fs.DurationVar(&p.gcAge, "image-gc-age", 24*time.Hour, "remove pulled images no container has used for this long; 0 keeps them all")
}

func (p *pullFlags) check() error {
	if p.maxPulls <= 0 {
		return fmt.Errorf("--max-pulls %d: want at least 1", p.maxPulls)
	}
	if p.stall <= 0 {
		return fmt.Errorf("--pull-stall-timeout %s: want a positive duration", p.stall)
	}
	if p.gcAge < 0 {
		return fmt.Errorf("--image-gc-age %s: want a duration, or 0 to keep every image", p.gcAge)
	}
	return nil
}

// loadRegistries reads the registries file, refusing one inside the spec
// folder dir: its credentials are the host's, not the folder writers'.
func loadRegistries(file, dir string) (*registry.Config, error) {
	if file == "" {
		return nil, nil
	}
	if dir != "" && adminonly.Inside(file, dir) {
		return nil, fmt.Errorf("--registries %s: the registries file is inside the spec folder %s; keep it where administrators alone can change it, outside the folder", file, dir)
	}
	return registry.LoadConfig(file)
}

// agentPulls is what the flags tell the agent.
func (p *pullFlags) agentPulls(dir string) (agent.Pulls, error) {
	if !p.on {
		return agent.Pulls{Off: true}, nil
	}
	cfg, err := loadRegistries(p.registries, dir)
	if err != nil {
		return agent.Pulls{}, err
	}
	gc := p.gcAge
	if gc == 0 {
		gc = -1 // pull.Options: negative keeps every image
	}
	return agent.Pulls{Registries: cfg, RegistriesFile: p.registries, MaxPulls: p.maxPulls, StallTimeout: p.stall, GCAge: gc}, nil
}

const pullUsage = `usage: isoagent pull [flags] IMAGE

Pulls IMAGE (a tag or repo@sha256:...) into the host's image store, as the
agent would: the variant for this host's Windows build, checked against its
digests, with a progress bar on a terminal. It refuses an image with no
variant this host can run, before downloading anything.
`

func runPull(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("pull", pullUsage, stderr)
	var drv driverOptions
	drv.register(fs)
	var g gitopsFlags
	g.register(fs)
	registries := fs.String("registries", "", registriesFlagUsage)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	drv.parsed(fs)
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "isoagent pull: want one image reference, got %d arguments\n", fs.NArg())
		return exitUsage
	}
	ref, err := imageref.Parse(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "isoagent pull: %v\n", err)
		return exitUsage
	}
	cfg, err := loadRegistries(*registries, "")
	if err != nil {
		fmt.Fprintf(stderr, "isoagent pull: %v\n", err)
		return exitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	d, _, err := openDriver(drv)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent pull: open the %s driver: %v\n", drv.name, err)
		return exitUsage
	}
	defer closeDriver(d)
	store, ok := d.(driver.ImageStore)
	if !ok {
		fmt.Fprintf(stderr, "isoagent pull: the %s driver cannot store pulled images\n", drv.name)
		return exitUsage
	}
	host, err := d.Host(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent pull: describe the host: %v\n", err)
		return exitUsage
	}
	c, err := registry.New(registry.Options{Config: cfg, UserAgent: "isoagent/" + agentVersion()})
	if err != nil {
		fmt.Fprintf(stderr, "isoagent pull: %v\n", err)
		return exitUsage
	}
	bar := newProgressBar(stderr, ref.String())
	start := time.Now()
	r, err := pull.Image(ctx, c, store, ref, host, filepath.Join(g.stateDirFor(drv), "Pulls"), bar.update)
	bar.finish()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent pull: %v\n", err)
		return exitProblem
	}
	fmt.Fprintf(stdout, "%s: %s (Windows %s) pulled from %s in %s\n", ref, r.Digest, r.OSVersion, r.From, time.Since(start).Round(time.Millisecond))
	return exitOK
}

// progressBar shows a pull's progress: a bar redrawn in place on a
// terminal, a line every few seconds otherwise.
type progressBar struct {
	w     io.Writer
	name  string
	tty   bool
	mu    sync.Mutex
	last  time.Time
	shown bool
	p     pull.Progress
}

func newProgressBar(w io.Writer, name string) *progressBar {
	b := &progressBar{w: w, name: name}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		b.tty = true
	}
	return b
}

func (b *progressBar) update(p pull.Progress) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.p = p
	now := time.Now()
	every := 5 * time.Second
	if b.tty {
		every = 100 * time.Millisecond
	}
	if now.Sub(b.last) < every && p.Done < p.Total {
		return
	}
	b.last = now
	b.draw()
}

func (b *progressBar) draw() {
	p := b.p
	if !b.tty {
		fmt.Fprintf(b.w, "pulling %s: %s of %s\n", b.name, size(p.Done), size(p.Total))
		return
	}
	const width = 30
	filled := 0
	if p.Total > 0 {
		filled = int(min(p.Done, p.Total) * width / p.Total)
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %s / %s", b.name, strings.Repeat("=", filled), strings.Repeat(" ", width-filled), size(p.Done), size(p.Total))
	b.shown = true
}

func (b *progressBar) finish() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.tty && b.shown {
		b.draw()
		fmt.Fprintln(b.w)
	}
}

// size formats bytes as docker does: 12.3MB.
func size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%dB", n)
	}
	f, i := float64(n), 0
	for f >= unit && i < 4 {
		f /= unit
		i++
	}
	return fmt.Sprintf("%.1f%cB", f, "kMGT"[i-1])
}

// registryAccess are the flags of validate and plan that let them ask
// registries about the specs' images, as admission does before a pull.
// Off by default: they stay offline.
type registryAccess struct {
	on         bool
	registries string
}

func (r *registryAccess) register(fs *flag.FlagSet) {
	fs.BoolVar(&r.on, "registry", false, "ask the registries which image each spec names for the host and check its Windows build, as the agent does before it pulls (downloads manifests and small configs, never layers)")
	fs.StringVar(&r.registries, "registries", "", "with --registry: "+registriesFlagUsage)
}

// source returns the registry source the flags ask for; nil when offline.
func (r *registryAccess) source() (reconcile.RegistrySource, error) {
	if !r.on {
		if r.registries != "" {
			return nil, errors.New("--registries is used only with --registry")
		}
		return nil, nil
	}
	cfg, err := loadRegistries(r.registries, "")
	if err != nil {
		return nil, err
	}
	c, err := registry.New(registry.Options{Config: cfg, UserAgent: "isoagent/" + agentVersion()})
	if err != nil {
		return nil, err
	}
	return pull.Direct{Client: c}, nil
}
