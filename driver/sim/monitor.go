package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// RuntimeName is the monitor.Config Runtime of the simulated host's runs.
const RuntimeName = "sim"

// keepRuns is how many earlier runs of a container are kept besides the
// current one: the previous run, for `isoagent logs --previous`.
const keepRuns = 1

// simProcess is a run's Process description in monitor.json: which
// state folder, and which run of the container (by its start time).
type simProcess struct {
	Dir       string    `json:"dir"`
	StartedAt time.Time `json:"startedAt"`
}

// monitors is the driver's part in the runs it gives a monitor process
// each (Options.Monitor), as the hcs driver does.
type monitors struct {
	command  []string
	layout   monitor.Layout
	maxSize  int64
	maxFiles int

	ctx    context.Context // ends the trackers, at Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	tracked map[string]*tracker // container ID -> its current run's
}

// tracker waits for one run's monitor.
type tracker struct {
	dir       string
	startedAt time.Time
	done      chan struct{}
}

func newMonitors(dir string, opts Options) *monitors {
	ctx, cancel := context.WithCancel(context.Background())
	return &monitors{
		command: opts.Monitor, layout: monitor.Layout{Dir: dir},
		maxSize: opts.LogMaxSize, maxFiles: opts.LogMaxFiles,
		ctx: ctx, cancel: cancel, tracked: make(map[string]*tracker),
	}
}

// start gives the run of container id that just started a monitor. The
// monitor acts out the command's output (MonitorRuntime); when it cannot
// start, the run is ended again.
func (ms *monitors) start(ctx context.Context, d *Driver, id string) error {
	ri, ok, err := d.model.runOf(id)
	if err != nil || !ok {
		return fmt.Errorf("start %s: %w", id, driver.ErrNotFound)
	}
	p, _ := json.Marshal(simProcess{Dir: ms.layout.Dir, StartedAt: ri.StartedAt})
	dir, err := ms.layout.NewRun(id, monitor.Config{Name: ri.Name, Runtime: RuntimeName, Process: p, LogMaxSize: ms.maxSize, LogMaxFiles: ms.maxFiles}, keepRuns)
	if err == nil {
		var h *monitor.Handle
		if h, _, err = monitor.Start(ctx, ms.command, dir); err == nil {
			ms.track(d, id, h, ri.StartedAt)
			return nil
		}
	}
	d.model.Stop(d.owner, id)
	var se *monitor.StartError
	if errors.As(err, &se) {
		if class, ok := ErrorClass(se.Class); ok {
			return fmt.Errorf("start %s: %w", id, classed{se.Message, class})
		}
	}
	return fmt.Errorf("start %s: the container's monitor: %w", id, err)
}

// track waits for the monitor of a run in the background and reports the
// run's exit once the monitor has recorded it.
func (ms *monitors) track(d *Driver, id string, h *monitor.Handle, startedAt time.Time) {
	t := &tracker{dir: h.Dir(), startedAt: startedAt, done: make(chan struct{})}
	ms.mu.Lock()
	ms.tracked[id] = t
	ms.mu.Unlock()
	ms.wg.Go(func() {
		defer close(t.done)
		if _, err := h.Wait(ms.ctx); err != nil {
			if ms.ctx.Err() == nil {
				d.log.Warn("container monitor ended without recording an exit", "id", id, "run", h.Dir(), "err", err)
			}
			return
		}
		ri, ok, err := d.model.runOf(id)
		if err != nil || !ok || !ri.StartedAt.Equal(startedAt) || ri.State != driver.StateExited {
			return
		}
		cs, err := d.model.Containers(d.owner)
		if err != nil {
			return
		}
		for _, c := range cs {
			if c.ID == id {
				d.w.emit(c)
			}
		}
	})
}

// settle waits until the monitor of container id's last run has recorded
// its exit, so that a new run starts only after the old one is reported.
func (ms *monitors) settle(ctx context.Context, id string) error {
	ms.mu.Lock()
	t := ms.tracked[id]
	ms.mu.Unlock()
	if t == nil {
		return nil
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// adoptAll finds again the monitors of the running containers of an
// earlier driver (an agent restarted) and tracks them.
func (ms *monitors) adoptAll(d *Driver) {
	cs, err := d.model.Containers(d.owner)
	if err != nil {
		return
	}
	for _, c := range cs {
		if c.State != driver.StateRunning {
			continue
		}
		ms.mu.Lock()
		t := ms.tracked[c.ID]
		ms.mu.Unlock()
		if t != nil && t.startedAt.Equal(c.StartedAt) {
			continue
		}
		runs, err := ms.layout.Runs(c.ID)
		if err != nil || len(runs) == 0 {
			continue
		}
		last := runs[len(runs)-1]
		cfg, err := monitor.ReadConfig(last)
		var p simProcess
		if err != nil || json.Unmarshal(cfg.Process, &p) != nil || !p.StartedAt.Equal(c.StartedAt) {
			continue
		}
		h, err := monitor.Open(last)
		if err != nil {
			continue
		}
		ms.track(d, c.ID, h, c.StartedAt)
	}
}

func (ms *monitors) close() {
	ms.cancel()
	ms.wg.Wait()
}

// Runs implements driver.RunKeeper: the folders of id's runs in the
// state folder (those monitors kept, whether this driver starts monitors
// or only reads), none for a host kept in memory.
func (d *Driver) Runs(id string) ([]string, error) {
	if d.runs.Dir == "" {
		return nil, nil
	}
	return d.runs.Runs(id)
}

var _ driver.RunKeeper = (*Driver)(nil)

// MonitorRuntime is the monitor.Runtime of the simulated host's runs: it
// acts out the output of the run's command (see scriptOf) as time goes,
// on pipes the monitor drains, until the model says the run has ended,
// and then ends with the run's exit code and time. It is what
// `isoagent monitor` runs for the sim.
type MonitorRuntime struct{}

var _ monitor.Runtime = MonitorRuntime{}

// poll is how often an acted-out process looks whether its run was ended
// behind its back (a stop, a kill by another process).
const poll = 50 * time.Millisecond

// Start implements monitor.Runtime.
func (MonitorRuntime) Start(ctx context.Context, cfg monitor.Config) (monitor.Process, error) {
	var p simProcess
	if err := json.Unmarshal(cfg.Process, &p); err != nil {
		return nil, fmt.Errorf("sim process of %s: %w", cfg.ID, err)
	}
	store, err := DirStore(p.Dir)
	if err != nil {
		return nil, err
	}
	m := NewModel(store, nil)
	ri, ok, err := m.runOf(cfg.ID)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return nil, classError{fmt.Errorf("container %s: %w", cfg.ID, driver.ErrNotFound)}
	case !ri.StartedAt.Equal(p.StartedAt):
		// A run that has exited already (a command that ends at once)
		// is acted out all the same: its output and its exit.
		return nil, classError{fmt.Errorf("container %s: the run started at %s is over: %w", cfg.ID, p.StartedAt, driver.ErrInvalidState)}
	}
	pr := &actedProcess{m: m, state: p.Dir, id: cfg.ID, run: ri, script: scriptOf(ri.Command), exited: make(chan struct{})}
	var outW, errW *io.PipeWriter
	pr.stdout, outW = io.Pipe()
	pr.stderr, errW = io.Pipe()
	go pr.act(outW, errW)
	return pr, nil
}

// classed is an error a monitor reported, of driver error class class.
type classed struct {
	msg   string
	class error
}

func (e classed) Error() string { return e.msg }
func (e classed) Unwrap() error { return e.class }

// classError names its driver error class for the monitor's handshake.
type classError struct{ err error }

func (e classError) Error() string      { return e.err.Error() }
func (e classError) Unwrap() error      { return e.err }
func (e classError) ErrorClass() string { return errorClassName(e.err) }

// actedProcess is a run's init process acted out from its script.
type actedProcess struct {
	m              *Model
	state          string // the state folder: once it is gone, so is the host
	id             string
	run            runInfo
	script         script
	stdout, stderr *io.PipeReader
	exited         chan struct{}
	code           int
	at             time.Time
}

func (p *actedProcess) PID() int          { return p.run.PID }
func (p *actedProcess) Stdout() io.Reader { return p.stdout }
func (p *actedProcess) Stderr() io.Reader { return p.stderr }

func (p *actedProcess) Wait(ctx context.Context) (int, time.Time, error) {
	select {
	case <-p.exited:
		return p.code, p.at, nil
	case <-ctx.Done():
		return 0, time.Time{}, ctx.Err()
	}
}

// act prints the script's lines when they are due and ends when the run
// does: the lines before its end, and those at its end (the footer) only
// when it is the command's own.
func (p *actedProcess) act(stdout, stderr *io.PipeWriter) {
	start := p.run.StartedAt
	from := time.Duration(0) // lines before it are printed
	print := func(lines []Line) {
		for _, l := range lines {
			w := stdout
			if l.Stderr {
				w = stderr
			}
			io.WriteString(w, l.Text+"\n")
		}
	}
	for {
		now := p.m.clock()
		if _, err := os.Stat(p.state); err != nil {
			// The state folder was deleted: the host is gone, and a look
			// through the store would make its lock file again.
			p.code, p.at = monitor.ExitUnknown, now
			stdout.Close()
			stderr.Close()
			close(p.exited)
			return
		}
		ri, ok, err := p.m.runOf(p.id)
		same := err == nil && ok && ri.StartedAt.Equal(start)
		if same && ri.State == driver.StateRunning {
			upto := now.Sub(start) + 1
			if upto > from {
				print(p.script.between(from, upto))
				from = upto
			}
			wait := poll
			if next, ok := p.script.next(now.Sub(start)); ok {
				wait = min(wait, max(0, next-now.Sub(start)))
			}
			time.Sleep(wait)
			continue
		}
		p.code, p.at = monitor.ExitUnknown, now
		if same && ri.State == driver.StateExited {
			p.code, p.at = ri.ExitCode, ri.FinishedAt
			end := ri.FinishedAt.Sub(start)
			if end >= from {
				print(p.script.between(from, end))
				own := p.script.exits && end == p.script.after && ri.ExitCode == p.script.code
				if own {
					print(p.script.between(end, end+1))
				}
			}
		}
		stdout.Close()
		stderr.Close()
		close(p.exited)
		return
	}
}
