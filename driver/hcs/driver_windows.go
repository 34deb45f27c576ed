//go:build windows

package hcs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/credspec"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/hresult"
	"github.com/isoagent/isoagent/monitor"
)

// Defaults of Options.
const (
	DefaultOwner    = "isoagent"
	DefaultNetwork  = "nat"
	DefaultStateDir = `C:\ProgramData\isoagent`
)

// How long the driver waits for HCS when nothing else bounds the wait.
const (
	terminateTimeout = 2 * time.Minute  // after Terminate (moby: 2 min on restore)
	exitStopTimeout  = 30 * time.Second // shutting a container down after its init process exited
)

// Options configure a Driver. The zero value of each field means its
// default.
type Options struct {
	// Owner is the HCS owner tag of the driver's containers.
	Owner string
	// StateDir holds the driver's container records and scratch layers;
	// the default is %ProgramData%\isoagent.
	StateDir string
	// Images resolves image references; the default reads Docker's store.
	Images ImageStore
	// Network is the name of the HNS NAT network for port mappings.
	Network string
	// ScratchSize is the size, in bytes, each container's scratch disk
	// (its C: drive) grows to; the default is DefaultScratchSize, and a
	// negative size keeps the 20 GB HCS makes.
	ScratchSize int64
	// CredentialSpecDir is the folder of the gMSA credential specs that
	// configs name (driver.Config.CredentialSpec); the default is
	// CredentialSpecs in StateDir. Only administrators may write it.
	CredentialSpecDir string
	// Logger receives what the driver does; nil discards it.
	Logger *slog.Logger
	// Secrets is where the driver reads the secrets a config names (see
	// secrets_windows.go); without it a config naming secrets is refused.
	Secrets driver.SecretSource
	// Monitor is the command that starts a run's monitor process (the
	// isoagent binary and its monitor subcommand): with it each run's
	// init process is created by a monitor of its own (package monitor),
	// which keeps its output in the run's CRI log and its exit code
	// across agent restarts. Without it the driver creates the init
	// process itself, without output pipes.
	Monitor []string
	// LogMaxSize and LogMaxFiles bound each run's log (crilog's defaults
	// when zero).
	LogMaxSize  int64
	LogMaxFiles int
}

// Driver is a driver.Driver for the Host Compute Service. Create it with
// New; call Close when done with it. It is safe for concurrent use.
type Driver struct {
	owner       string
	stateDir    string
	credSpecDir string
	images      ImageStore
	pulled      *PulledStore // the images isoagent pulled; nil without a state folder to keep them
	network     string
	scratchSize uint64
	log         *slog.Logger
	secrets     driver.SecretSource
	records     records
	probe       hostProbe
	// hyperVService is the service whose absence on Windows Server says
	// the Hyper-V role is not installed (vmms); tests name others.
	hyperVService string
	// workerPID finds a utility VM's worker process; tests replace it.
	workerPID func(vmID string) int
	// hostCPUs tells how many processors the host has.
	hostCPUs func() int

	// monitor starts a run's monitor (Options.Monitor); runs is where
	// the runs are kept.
	monitor     []string
	runs        monitor.Layout
	logMaxSize  int64
	logMaxFiles int
	// closing ends, at Close, the trackers' waits for monitors.
	closing     context.Context
	stopWaiting context.CancelFunc

	// recMu serialises read-modify-write of records between operations and
	// exit trackers.
	recMu sync.Mutex

	watch watchers // Watch's subscribers

	mu    sync.Mutex
	locks map[string]*sync.Mutex // per container ID, held by operations
	live  map[string]*live       // open HCS handles, per container ID
	drift map[string]bool        // running containers whose network is gone, as last logged
	// noHyperV says why HCS cannot run Hyper-V isolated containers here,
	// once a start told (learnNoHyperV); "" until then.
	noHyperV string
	closed   bool
	wg       sync.WaitGroup // exit trackers
}

// live is a compute system the driver holds a handle to.
type live struct {
	c hcsshim.Container
	// p is the init process once started; nil before.
	p hcsshim.Process
	// done is closed when the exit tracker has recorded the init process's
	// exit and released the compute system; nil while there is no tracker.
	done chan struct{}
}

var _ driver.Driver = (*Driver)(nil)

// New returns a driver. It starts nothing and touches no HCS state: the
// first List adopts the containers a previous agent process left running.
func New(opts Options) *Driver {
	d := &Driver{
		owner:         opts.Owner,
		stateDir:      opts.StateDir,
		images:        opts.Images,
		network:       opts.Network,
		log:           opts.Logger,
		secrets:       opts.Secrets,
		probe:         windowsProbe(),
		hyperVService: serviceHyperV,
		workerPID:     workerPID,
		hostCPUs:      runtime.NumCPU,
		locks:         map[string]*sync.Mutex{},
		live:          map[string]*live{},
		drift:         map[string]bool{},
		monitor:       opts.Monitor,
		logMaxSize:    opts.LogMaxSize,
		logMaxFiles:   opts.LogMaxFiles,
	}
	d.closing, d.stopWaiting = context.WithCancel(context.Background())
	switch {
	case opts.ScratchSize == 0:
		d.scratchSize = DefaultScratchSize
	case opts.ScratchSize > 0:
		d.scratchSize = uint64(opts.ScratchSize)
	}
	if d.owner == "" {
		d.owner = DefaultOwner
	}
	if d.stateDir == "" {
		d.stateDir = DefaultStateDir
		if pd := os.Getenv("ProgramData"); pd != "" {
			d.stateDir = filepath.Join(pd, "isoagent")
		}
	}
	if d.images == nil {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		d.images = DockerStoreFor(pd)
	}
	if d.network == "" {
		d.network = DefaultNetwork
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.records = records{dir: filepath.Join(d.stateDir, "containers")}
	d.runs = monitor.Layout{Dir: d.stateDir}
	if d.credSpecDir = opts.CredentialSpecDir; d.credSpecDir == "" {
		d.credSpecDir = filepath.Join(d.stateDir, credspec.DirName)
	}
	if err := d.openPulled(); err != nil {
		d.log.Warn("cannot open the store of pulled images; only Docker's images run", "err", err)
	}
	return d
}

// StateDir returns the folder of the driver's records and scratch layers.
func (d *Driver) StateDir() string { return d.stateDir }

// CredentialSpecDir returns the folder credential specs are read from.
func (d *Driver) CredentialSpecDir() string { return d.credSpecDir }

// Close releases the driver's HCS handles and waits for its exit trackers.
// Containers keep running; a new driver adopts them.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	lives := d.live
	d.live = map[string]*live{}
	d.mu.Unlock()
	d.stopWaiting()
	var errs []error
	for id, l := range lives {
		if l.p != nil {
			// Closing the process handle ends its tracker's Wait.
			if err := l.p.Close(); err != nil {
				errs = append(errs, hcsError("close process of", id, err))
			}
		}
	}
	d.wg.Wait()
	for id, l := range lives {
		if err := l.c.Close(); err != nil && !closed(err) {
			errs = append(errs, hcsError("close", id, err))
		}
	}
	return errors.Join(errs...)
}

// lock serialises operations on one container.
func (d *Driver) lock(id string) func() {
	d.mu.Lock()
	m := d.locks[id]
	if m == nil {
		m = &sync.Mutex{}
		d.locks[id] = m
	}
	d.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (d *Driver) tryLock(id string) (func(), bool) {
	d.mu.Lock()
	m := d.locks[id]
	if m == nil {
		m = &sync.Mutex{}
		d.locks[id] = m
	}
	d.mu.Unlock()
	if !m.TryLock() {
		return nil, false
	}
	return m.Unlock, true
}

func (d *Driver) getLive(id string) *live {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.live[id]
}

func (d *Driver) setLive(id string, l *live) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if l == nil {
		delete(d.live, id)
		return
	}
	d.live[id] = l
}

// update applies f to the record of id and saves it.
func (d *Driver) update(id string, f func(*record)) error {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	rec, err := d.records.get(id)
	if err != nil {
		return err
	}
	f(rec)
	return d.records.put(rec)
}

func (d *Driver) getRecord(id string) (*record, error) {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	rec, err := d.records.get(id)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && rec.Config.Owner != d.owner) {
		// A record of another owner (sharing the state folder) is not
		// this driver's business.
		return nil, nil
	}
	return rec, err
}

// Image implements driver.Driver.
func (d *Driver) Image(ctx context.Context, ref imageref.Ref) (driver.Image, error) {
	im, err := d.resolve(ctx, ref)
	if err != nil {
		return driver.Image{}, err
	}
	return driver.Image{Ref: ref, Digest: im.Digest, OSVersion: im.OSVersion, Command: im.Command(), Healthcheck: im.Healthcheck}, nil
}

// systems lists the compute systems of the driver's owner, by ID.
func (d *Driver) systems(ids ...string) (map[string]hcsshim.ContainerProperties, error) {
	q := hcsshim.ComputeSystemQuery{Owners: []string{d.owner}, Types: []string{"Container"}, IDs: ids}
	props, err := hcsshim.GetContainers(q)
	if err != nil {
		return nil, hcsError("list", "compute systems", err)
	}
	m := make(map[string]hcsshim.ContainerProperties, len(props))
	for _, p := range props {
		m[p.ID] = p
	}
	return m, nil
}

// List implements driver.Driver. It adopts the running containers of a
// previous agent process as it finds them.
//
// A running container whose network endpoints HNS no longer has (dockerd
// started and deleted them, HNS restarted) has no network any more; List
// reports it with an empty Hash, a container that does not match its
// config, so the engine replaces it.
func (d *Driver) List(ctx context.Context) ([]driver.Container, error) {
	ids, err := d.records.list()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		if d.getLive(id) != nil {
			continue
		}
		// An operation holding the lock deals with the container itself.
		if unlock, ok := d.tryLock(id); ok {
			if err := d.adopt(id); err != nil {
				d.log.Warn("adopt container", "id", id, "err", err)
			}
			unlock()
		}
	}
	eps, eperr := listEndpoints()
	if eperr != nil {
		d.log.Warn("cannot tell whether the containers' network endpoints are there", "err", eperr)
	} else {
		d.collectGarbage(ids, eps)
	}
	sys, err := d.systems()
	if err != nil {
		return nil, err
	}
	var out []driver.Container
	seen := map[string]bool{}
	for _, id := range ids {
		rec, err := d.getRecord(id)
		if err != nil || rec == nil || rec.Config.Owner != d.owner {
			continue
		}
		p, ok := sys[id]
		seen[id] = true
		c := d.container(rec, p, ok)
		if c.State == driver.StateRunning && eperr == nil && d.networkGone(rec, eps) {
			c.Hash = ""
		}
		out = append(out, c)
	}
	// Systems of this owner without a record (lost, or left by a crash
	// mid-create) are listed with what HCS knows, so the engine prunes them.
	for id, p := range sys {
		if seen[id] {
			continue
		}
		if l := d.getLive(id); l != nil && l.done == nil {
			// Removed by another client while this one held it.
			if unlock, ok := d.tryLock(id); ok {
				l.c.Close()
				d.setLive(id, nil)
				unlock()
			}
		}
		if p.State == "Stopped" {
			// Nothing to manage: HCS drops it with its last handle.
			continue
		}
		out = append(out, driver.Container{
			ID: id, Name: p.Name, Owner: p.Owner, State: stateOf(p.State),
			Isolation: driver.Process,
		})
	}
	slices.SortFunc(out, func(a, b driver.Container) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// networkGone reports whether a running container has lost an endpoint of
// its network, and logs it once.
func (d *Driver) networkGone(rec *record, eps map[string]hcsshim.HNSEndpoint) bool {
	var gone []string
	for _, ep := range append(slices.Clone(rec.Endpoints), rec.SharedEndpoints...) {
		if _, ok := eps[endpointKey(ep)]; !ok {
			gone = append(gone, ep)
		}
	}
	id := rec.Config.ID
	d.mu.Lock()
	logged := d.drift[id]
	if len(gone) == 0 {
		delete(d.drift, id)
	} else {
		d.drift[id] = true
	}
	d.mu.Unlock()
	if len(gone) > 0 && !logged {
		d.log.Warn("HNS no longer has the container's network endpoints (dockerd started, HNS restarted, or the network was made again), so it has no network; reporting it as not matching its config so that it is replaced",
			"id", id, "endpoints", gone)
	}
	return len(gone) > 0
}

// collectGarbage releases what a crash part-way through a Create or Start
// left: endpoints named for a container that it does not hold, and scratch
// folders that no record claims. ids are the containers with a record; eps
// HNS's endpoints. A container whose lock is held may be in the middle of
// an operation and is left alone.
func (d *Driver) collectGarbage(ids []string, eps map[string]hcsshim.HNSEndpoint) {
	known := map[string]bool{}
	for _, id := range ids {
		known[id] = true
	}
	stale := func(id string) (func(), bool) {
		if known[id] {
			return nil, false
		}
		unlock, ok := d.tryLock(id)
		if !ok {
			return nil, false
		}
		// Another owner sharing the state folder has records too.
		d.recMu.Lock()
		_, err := d.records.get(id)
		d.recMu.Unlock()
		if err == nil {
			unlock()
			return nil, false
		}
		return unlock, true
	}
	for _, ep := range eps {
		id, ok := strings.CutPrefix(ep.Name, endpointName(""))
		if !ok {
			continue
		}
		if known[id] {
			// An endpoint of a known container that its record does not
			// name was made by a start that crashed before saving it.
			unlock, ok := d.tryLock(id)
			if !ok {
				continue
			}
			if rec, err := d.getRecord(id); err == nil && rec != nil && !slices.ContainsFunc(rec.Endpoints, func(e string) bool { return endpointKey(e) == endpointKey(ep.Id) }) {
				d.log.Info("deleting an endpoint left by an interrupted start", "id", id, "endpoint", ep.Id)
				if err := deleteEndpoint(ep.Id); err != nil {
					d.log.Warn("delete stale endpoint", "id", id, "err", err)
				}
			}
			unlock()
			continue
		}
		if unlock, ok := stale(id); ok {
			d.log.Info("deleting an endpoint left by an interrupted create", "id", id, "endpoint", ep.Id)
			if err := deleteEndpoint(ep.Id); err != nil {
				d.log.Warn("delete stale endpoint", "id", id, "err", err)
			}
			unlock()
		}
	}
	entries, _ := os.ReadDir(filepath.Join(d.stateDir, "layers"))
	for _, e := range entries {
		if unlock, ok := stale(e.Name()); ok {
			path := filepath.Join(d.stateDir, "layers", e.Name())
			d.log.Info("destroying scratch left by an interrupted create", "id", e.Name())
			di := hcsshim.DriverInfo{}
			hcsshim.UnprepareLayer(di, path)
			hcsshim.DeactivateLayer(di, path)
			if err := hcsshim.DestroyLayer(di, path); err != nil {
				d.log.Warn("destroy stale scratch", "id", e.Name(), "err", err)
			}
			unlock()
		}
	}
}

func stateOf(hcsState string) driver.State {
	switch hcsState {
	case "Running", "Paused":
		return driver.StateRunning
	case "Stopped":
		return driver.StateExited
	}
	return driver.StateCreated
}

// exitUnknown is the exit code reported for an init process whose end no
// one saw: HCS keeps no exit code for a process that ended while no agent
// held a handle to it (and none across a restart of the host).
const exitUnknown = -1

// container describes rec; p is its compute system when exists is set.
func (d *Driver) container(rec *record, p hcsshim.ContainerProperties, exists bool) driver.Container {
	cfg := rec.Config
	c := driver.Container{
		ID: cfg.ID, Name: cfg.Name, Owner: cfg.Owner, Hash: cfg.Hash,
		Isolation: cfg.Isolation, Image: cfg.Image, KeepOnPrune: cfg.KeepOnPrune,
		CreatedAt: rec.CreatedAt, StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt,
		RestartCount: rec.Restarts,
	}
	switch {
	case rec.Exited:
		c.State, c.ExitCode = driver.StateExited, rec.ExitCode
	case !exists && rec.Started:
		// Gone without a recorded exit: the host restarted, or the system
		// was removed behind the driver's back.
		c.State, c.ExitCode = driver.StateExited, exitUnknown
	case !exists:
		c.State = driver.StateCreated
	default:
		c.State = stateOf(p.State)
		if c.State == driver.StateRunning && !rec.Started {
			c.State = driver.StateCreated
		}
	}
	if c.State == driver.StateRunning {
		switch cfg.Isolation {
		case driver.Process:
			c.InitPID = rec.InitPID
		case driver.HyperV:
			if id := p.RuntimeID.String(); id != "00000000-0000-0000-0000-000000000000" {
				c.UtilityVM = &driver.UtilityVM{ID: strings.ToUpper(id), PID: d.workerPID(id)}
			}
		}
	}
	return c
}

// adopt opens the compute system of id, left by a previous driver, and
// tracks its init process. The caller holds id's lock. An init process
// that ended while no driver held it cannot be opened again, and its exit
// code is lost: it is recorded as unknown.
func (d *Driver) adopt(id string) error {
	if d.getLive(id) != nil {
		return nil
	}
	rec, err := d.getRecord(id)
	if err != nil || rec == nil {
		return err
	}
	if rec.Exited || !rec.Started {
		return nil
	}
	if ok, err := d.adoptMonitored(rec); ok {
		return err
	}
	c, err := hcsshim.OpenContainer(id)
	if hcsshim.IsNotExist(err) {
		d.log.Warn("compute system gone (the host restarted, or it was removed behind the agent's back); its exit code is unknown", "id", id)
		return errors.Join(d.recordExit(id, exitUnknown), d.release(id))
	}
	if err != nil {
		return hcsError("open", id, err)
	}
	l := &live{c: c}
	p, err := c.OpenProcess(rec.InitPID)
	if err != nil {
		d.log.Warn("init process ended while no agent watched it; its exit code is unknown; stopping the container", "id", id, "pid", rec.InitPID, "err", err)
		err := d.stopSystem(c, exitStopTimeout)
		c.Close()
		return errors.Join(err, d.recordExit(id, exitUnknown), d.release(id))
	}
	l.p = p
	d.track(id, l)
	d.log.Info("adopted container", "id", id, "pid", rec.InitPID)
	return nil
}

// recordExit marks the record of id exited with code now, unless an exit
// is recorded already.
func (d *Driver) recordExit(id string, code int) error {
	return d.recordExitAt(id, code, time.Now().UTC())
}

// recordExitAt is recordExit for an exit at a given time.
func (d *Driver) recordExitAt(id string, code int, at time.Time) error {
	err := d.update(id, func(r *record) {
		if r.Exited {
			return
		}
		r.Exited, r.ExitCode, r.FinishedAt = true, code, at.UTC()
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// release lets go of what a run of container id held once its compute
// system is gone: the mounted scratch and its endpoints. The record keeps
// the ones it could not release, for the next start or Remove.
func (d *Driver) release(id string) error {
	errs := []error{d.unmount(id)}
	rec, err := d.getRecord(id)
	if err != nil || rec == nil {
		return errors.Join(append(errs, err)...)
	}
	var kept []string
	for _, ep := range rec.Endpoints {
		if err := deleteEndpoint(ep); err != nil {
			errs = append(errs, err)
			kept = append(kept, ep)
		}
	}
	if len(kept) != len(rec.Endpoints) {
		errs = append(errs, d.update(id, func(r *record) { r.Endpoints = kept }))
	}
	return errors.Join(errs...)
}

// track starts the exit tracker of a started container whose init
// process this driver holds (no monitor): see follow.
func (d *Driver) track(id string, l *live) {
	d.follow(id, l, func() (int, time.Time, bool) {
		err := l.p.Wait()
		if closed(err) {
			d.mu.Lock()
			if !d.closed && d.live[id] == l {
				// Not by Close: let the next List adopt the container again.
				delete(d.live, id)
			}
			d.mu.Unlock()
			return 0, time.Time{}, false
		}
		code := exitUnknown
		if err == nil {
			if c, err := l.p.ExitCode(); err == nil {
				code = c
			}
		} else {
			d.log.Warn("wait for init process", "id", id, "err", err)
		}
		return code, time.Now().UTC(), true
	})
}

// follow starts the exit tracker of a started container: wait waits for
// the init process to exit and returns its exit code and time (ok false
// when the wait ended otherwise: the driver is closing, and the container
// keeps running). The tracker then records the exit and shuts the compute
// system down, because a v1 container outlives its init process, and
// deletes the run's endpoints.
func (d *Driver) follow(id string, l *live, wait func() (code int, at time.Time, ok bool)) {
	l.done = make(chan struct{})
	d.mu.Lock()
	closing := d.closed
	if !closing {
		d.live[id] = l
		d.wg.Add(1)
	}
	d.mu.Unlock()
	if closing {
		close(l.done)
		return
	}
	go func() {
		defer d.wg.Done()
		defer close(l.done)
		code, at, ok := wait()
		d.mu.Lock()
		closing := d.closed
		d.mu.Unlock()
		if closing || !ok {
			return // the driver is closing; the container keeps running
		}
		log := d.log.With("id", id)
		log.Info("init process exited", "exitCode", code)
		if err := d.recordExitAt(id, code, at); err != nil {
			log.Error("record exit", "err", err)
		}
		d.reportExit(id)
		if l.p != nil {
			l.p.Close()
		}
		if err := d.stopSystem(l.c, exitStopTimeout); err != nil {
			log.Error("shut down exited container", "err", err)
		}
		l.c.Close()
		if err := d.release(id); err != nil {
			log.Error("release what the run held", "err", err)
		}
		d.mu.Lock()
		if d.live[id] == l {
			delete(d.live, id)
		}
		d.mu.Unlock()
	}()
}

// stopSystem shuts c down, waiting up to timeout, then terminates it. HCS
// refuses to shut down a system that was never started (an invalid
// state); that goes straight to the terminate.
func (d *Driver) stopSystem(c hcsshim.Container, timeout time.Duration) error {
	err := c.Shutdown()
	switch {
	case pending(err):
		err = c.WaitTimeout(timeout)
	case stopped(err):
		return nil
	}
	if err == nil {
		return nil
	}
	d.log.Debug("shutdown did not finish; terminating", "err", err)
	err = c.Terminate()
	switch {
	case pending(err):
		err = c.WaitTimeout(terminateTimeout)
	case stopped(err):
		return nil
	}
	return err
}

// discard ends and closes a compute system the driver no longer wants
// (one whose start failed, one left created with stale endpoints). One
// that has stopped already is only closed: after a failed start HCS may
// have delivered its exit to the start, and waiting for it would last
// until the timeout.
func (d *Driver) discard(id string, c hcsshim.Container) {
	if sys, err := d.systems(id); err != nil || sys[id].State != "Stopped" {
		if err := d.stopSystem(c, exitStopTimeout); err != nil {
			d.log.Warn("stop a compute system the driver gave up", "id", id, "err", err)
		}
	}
	c.Close()
}

// Create implements driver.Driver. On any failure it undoes what it did,
// so nothing (scratch layer, endpoint, record, compute system) is left.
func (d *Driver) Create(ctx context.Context, cfg driver.Config) (err error) {
	if cfg.ID == "" {
		return fmt.Errorf("create: empty container ID")
	}
	if cfg.Owner == "" {
		cfg.Owner = d.owner
	}
	defer d.lock(cfg.ID)()
	if rec, err := d.getRecord(cfg.ID); err != nil {
		return err
	} else if rec != nil {
		return fmt.Errorf("create %s: %w", cfg.ID, driver.ErrAlreadyExists)
	}
	if sys, err := hcsshim.GetContainers(hcsshim.ComputeSystemQuery{IDs: []string{cfg.ID}}); err != nil {
		return hcsError("create", cfg.ID, err)
	} else if len(sys) > 0 {
		return fmt.Errorf("create %s: a compute system with this ID exists (owner %q): %w", cfg.ID, sys[0].Owner, driver.ErrAlreadyExists)
	}
	if len(cfg.DNS) > 0 && (cfg.Network == "none" || cfg.NetworkSharedWith != "") {
		return fmt.Errorf("create %s: DNS servers go on the container's own network endpoint, and it has none (network %q): %w", cfg.ID, cmp.Or(cfg.Network, "container:"+cfg.NetworkSharedWith), driver.ErrInvalidConfig)
	}
	if cfg.Isolation == driver.HyperV {
		if len(cfg.Devices) > 0 {
			return fmt.Errorf("create %s: device assignment needs process isolation: %w", cfg.ID, driver.ErrNotSupported)
		}
		if cfg.NetworkSharedWith != "" {
			return fmt.Errorf("create %s: sharing another container's network needs process isolation: %w", cfg.ID, driver.ErrNotSupported)
		}
	}
	rec := &record{
		Config:    cfg,
		Scratch:   filepath.Join(d.stateDir, "layers", cfg.ID),
		CreatedAt: time.Now().UTC(),
	}
	if err := d.resolveImage(ctx, rec); err != nil {
		return fmt.Errorf("create %s: %w", cfg.ID, err)
	}

	var undo []func() error
	defer func() {
		if err == nil {
			return
		}
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](); uerr != nil {
				d.log.Error("undo failed create", "id", cfg.ID, "err", uerr)
			}
		}
	}()

	if err := d.createScratch(rec); err != nil {
		return err
	}
	undo = append(undo, func() error { return destroyScratch(rec) })

	switch {
	case cfg.NetworkSharedWith != "":
		if rec.SharedEndpoints, err = d.sharedEndpoints(cfg); err != nil {
			return fmt.Errorf("create %s: %w", cfg.ID, err)
		}
	case cfg.Network == "none":
	default:
		ep, err := d.createEndpoint(cfg)
		if err != nil {
			return err
		}
		rec.Endpoints = []string{ep}
		undo = append(undo, func() error { return deleteEndpoint(ep) })
	}

	if err := d.putRecord(rec); err != nil {
		return err
	}
	undo = append(undo, func() error { return d.records.delete(cfg.ID) })

	c, err := d.createSystem(ctx, rec, true)
	if err != nil {
		return err
	}
	d.setLive(cfg.ID, &live{c: c})
	d.log.Info("created container", "id", cfg.ID, "name", cfg.Name, "isolation", cfg.Isolation)
	return nil
}

// resolveImage resolves rec's image and fixes in rec what comes of it:
// the layer folders, the init command line and the process settings.
func (d *Driver) resolveImage(ctx context.Context, rec *record) error {
	cfg := rec.Config
	ref := cfg.Image
	if cfg.ImageDigest != "" {
		ref.Digest = cfg.ImageDigest // that image and no other
	}
	im, err := d.resolve(ctx, ref)
	if err != nil {
		return err
	}
	cmdline, err := initCommandLine(cfg, im)
	if err != nil {
		return err
	}
	if cfg.Isolation == driver.HyperV {
		if _, err := utilityVMPath(im.Layers); err != nil {
			return fmt.Errorf("image %s: %w", cfg.Image, err)
		}
	}
	p := mergeProcess(cfg, im)
	rec.Layers, rec.CommandLine, rec.Process = im.Layers, cmdline, &p
	return nil
}

// sharedEndpoints returns the endpoints of the container whose network
// cfg's shares, as they are now: they change with every start of that
// container.
func (d *Driver) sharedEndpoints(cfg driver.Config) ([]string, error) {
	other, err := d.getRecord(cfg.NetworkSharedWith)
	if err != nil {
		return nil, err
	}
	if other == nil {
		return nil, fmt.Errorf("container %s whose network it shares: %w", cfg.NetworkSharedWith, driver.ErrNotFound)
	}
	if !other.Started || other.Exited || len(other.Endpoints) == 0 {
		return nil, fmt.Errorf("container %s whose network it shares is not running: %w", cfg.NetworkSharedWith, driver.ErrInvalidState)
	}
	return slices.Clone(other.Endpoints), nil
}

func (d *Driver) putRecord(rec *record) error {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	return d.records.put(rec)
}

// createSystem mounts the scratch (process isolation) and creates the
// compute system of rec, undoing the mount when the create fails. warn
// logs what the driver changed from the config (once, at Create).
func (d *Driver) createSystem(ctx context.Context, rec *record, warn bool) (c hcsshim.Container, err error) {
	id := rec.Config.ID
	layerIDs := make([]string, len(rec.Layers))
	for i, l := range rec.Layers {
		g, err := hcsshim.NameToGuid(filepath.Base(l))
		if err != nil {
			return nil, hcsError("layer ID for", l, err)
		}
		layerIDs[i] = g.ToString()
	}
	if err := d.checkMappedDirs(rec.Config.Mounts); err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	var volume string
	if rec.Config.Isolation == driver.Process {
		if volume, err = d.mount(ctx, rec); err != nil {
			return nil, err
		}
		defer func() {
			if err != nil {
				if uerr := d.unmount(id); uerr != nil {
					d.log.Error("unmount after failed create", "id", id, "err", uerr)
				}
			}
		}()
	}
	doc, warnings, err := containerConfig(rec, volume, layerIDs, d.hostCPUs())
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	if name := rec.Config.CredentialSpec; name != "" {
		// Read at every create of the compute system, as moby reads it at
		// every start: an edited credential spec applies from the next.
		if doc.Credentials, err = d.credentialSpec(name); err != nil {
			return nil, fmt.Errorf("create %s: %w", id, err)
		}
	}
	if warn {
		for _, w := range warnings {
			d.log.Warn(w, "id", id, "name", rec.Config.Name)
		}
	}
	if err := d.resolveMappedDirs(doc, rec.Config.Mounts); err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	secretDirs, err := d.materialiseSecrets(rec)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("create %s: %w", id, err), d.removeSecrets(id))
	}
	doc.MappedDirectories = append(doc.MappedDirectories, secretDirs...)
	defer func() {
		if err != nil {
			if rerr := d.removeSecrets(id); rerr != nil {
				d.log.Error("remove secrets after failed create", "id", id, "err", rerr)
			}
		}
	}()
	c, err = hcsshim.CreateContainer(id, doc)
	if err != nil {
		err = mappedPathHint(callError(opCreate, "create", id, err), rec.Config)
		if errors.Is(err, driver.ErrInvalidConfig) {
			err = fmt.Errorf("%w; HCS refused the document %s", err, documentOf(doc))
		}
		return nil, err
	}
	return c, nil
}

// credentialSpec reads credential spec name from the driver's folder. A
// missing file may yet come (retried, like a missing mapped folder); one
// that is not a credential spec is refused.
func (d *Driver) credentialSpec(name string) (string, error) {
	content, err := credspec.Read(d.credSpecDir, name)
	switch {
	case errors.Is(err, credspec.ErrNotFound):
		return "", fmt.Errorf("%w: %w", err, driver.ErrHostPathNotFound)
	case err != nil:
		return "", fmt.Errorf("%w: %w", err, driver.ErrInvalidConfig)
	}
	return content, nil
}

// checkMappedDirs refuses a mapped host path that is a file: HCS maps
// folders only (moby's windows mount parser: "source path must be a
// directory"). A path that does not exist is HCS's to report.
func (d *Driver) checkMappedDirs(mounts []driver.Mount) error {
	for _, m := range mounts {
		p := m.ResolvedPath
		if p.IsZero() {
			p = m.HostPath
		}
		if fi, err := os.Stat(p.String()); err == nil && !fi.IsDir() {
			return fmt.Errorf("mapped host path %s is a file; HCS maps folders only: map the folder that holds it: %w", m.HostPath, driver.ErrInvalidConfig)
		}
	}
	return nil
}

// settled returns what the driver holds of id once an exit already
// recorded has been fully handled: the tracker records the exit code first
// and then shuts the system down, and an operation must not act between the
// two. It returns nil when the tracker has released the system.
func (d *Driver) settled(ctx context.Context, id string) (*live, error) {
	l := d.getLive(id)
	if l == nil || l.done == nil {
		return l, nil
	}
	select {
	case <-l.done:
		return nil, nil
	default:
	}
	rec, err := d.getRecord(id)
	if err != nil || rec == nil || !rec.Exited {
		return l, err
	}
	select {
	case <-l.done:
		return nil, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Start implements driver.Driver. A container whose init process exited
// gets a new compute system with the same ID and scratch layer: HCS cannot
// start a stopped system again. Every start has endpoints of its own: a
// compute system left created by Create keeps the one made then only if
// HNS still has it. Image layers that went since the create (a `docker
// image prune`) are resolved again, with a new scratch layer.
func (d *Driver) Start(ctx context.Context, id string) error {
	defer d.lock(id)()
	rec, err := d.getRecord(id)
	if err != nil {
		return err
	}
	if rec == nil {
		return fmt.Errorf("start %s: %w", id, driver.ErrNotFound)
	}
	if err := d.adopt(id); err != nil {
		return err
	}
	l, err := d.settled(ctx, id)
	if err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	if l != nil && l.done != nil {
		return fmt.Errorf("start %s: the container is running: %w", id, driver.ErrInvalidState)
	}
	if l != nil && rec.Started {
		// Exited while this driver held the handle but tracked nothing.
		d.discard(id, l.c)
		d.setLive(id, nil)
		l = nil
	}
	if l == nil {
		// Left created by another driver process?
		if c, err := hcsshim.OpenContainer(id); err == nil {
			props, perr := d.systems(id)
			if perr == nil && props[id].State == "Created" && !rec.Started {
				l = &live{c: c}
			} else {
				d.discard(id, c)
			}
		}
	}
	if !layersPresent(rec) {
		if l != nil {
			d.discard(id, l.c)
			d.setLive(id, nil)
			l = nil
		}
		if rec, err = d.renewLayers(ctx, rec); err != nil {
			return err
		}
	}
	if l != nil && !d.endpointsHeld(rec) {
		d.log.Info("the endpoints of the created compute system are gone; making new ones", "id", id)
		d.discard(id, l.c)
		d.setLive(id, nil)
		l = nil
	}
	if l == nil {
		if err := d.release(id); err != nil {
			return err
		}
		if rec, err = d.prepareNetwork(rec); err != nil {
			return err
		}
		c, err := d.createSystem(ctx, rec, false)
		if err != nil {
			return errors.Join(err, d.release(id))
		}
		l = &live{c: c}
		d.setLive(id, l)
	}
	fail := func(err error) error {
		d.discard(id, l.c)
		d.setLive(id, nil)
		return errors.Join(err, d.release(id))
	}
	if err := l.c.Start(); err != nil {
		werr := hcsError("start", id, err)
		if hasCode(err, hresult.FeatureMissing) {
			werr = fmt.Errorf("%w; Hyper-V isolation needs Hyper-V on the host (Install-WindowsFeature Hyper-V, then restart; in a VM, nested virtualisation), or use isolation: process", werr)
			if rec.Config.Isolation == driver.HyperV {
				d.learnNoHyperV(id)
			}
		}
		return fail(werr)
	}
	pc := processConfig(rec)
	if pc.Environment, err = d.secretEnv(rec, pc.Environment); err != nil {
		return fail(fmt.Errorf("start %s: %w", id, err))
	}
	if d.monitored() {
		mon, pid, err := d.startMonitor(ctx, rec, pc)
		if err != nil {
			return fail(err)
		}
		if err := d.noteStart(id, pid, mon.Dir()); err != nil {
			return fail(err)
		}
		d.trackMonitor(id, l, mon)
		d.log.Info("started container", "id", id, "pid", pid, "run", mon.Dir())
		return nil
	}
	p, err := l.c.CreateProcess(pc)
	if err != nil {
		werr := callError(opProcess, "start init process of", id, err)
		switch {
		case hasCode(err, hresult.FileNotFound, hresult.PathNotFound):
			werr = fmt.Errorf("%w; the command %s is not in the image or a mapped folder (check spec.command, or the image's entrypoint and working folder %s)", werr, rec.CommandLine, pc.WorkingDirectory)
		case hasCode(err, hresult.Directory):
			werr = fmt.Errorf("%w; the working folder %s is not in the image or a mapped folder", werr, pc.WorkingDirectory)
		case errors.Is(werr, driver.ErrInvalidConfig):
			werr = fmt.Errorf("%w; HCS refused the process document %s", werr, documentOf(pc))
		}
		return fail(werr)
	}
	if err := d.noteStart(id, p.Pid(), ""); err != nil {
		p.Close()
		return fail(err)
	}
	l.p = p
	d.track(id, l)
	d.log.Info("started container", "id", id, "pid", p.Pid())
	return nil
}

// noteStart records the start of a run of id: its init process's PID and
// the run's monitor folder ("" without a monitor).
func (d *Driver) noteStart(id string, pid int, run string) error {
	return d.update(id, func(r *record) {
		if !r.StartedAt.IsZero() {
			r.Restarts++
		}
		r.Started, r.InitPID, r.Run = true, pid, run
		r.Exited, r.ExitCode, r.StartedAt, r.FinishedAt = false, 0, time.Now().UTC(), time.Time{}
	})
}

// endpointsHeld reports whether HNS still has every endpoint rec's network
// uses, and the container whose network it shares has not moved on to
// others.
func (d *Driver) endpointsHeld(rec *record) bool {
	eps, err := listEndpoints()
	if err != nil {
		return false
	}
	for _, ep := range append(slices.Clone(rec.Endpoints), rec.SharedEndpoints...) {
		if _, ok := eps[endpointKey(ep)]; !ok {
			return false
		}
	}
	if rec.Config.NetworkSharedWith != "" {
		now, err := d.sharedEndpoints(rec.Config)
		return err == nil && slices.Equal(now, rec.SharedEndpoints)
	}
	return true
}

// prepareNetwork gives a run of rec the endpoints it needs: its own new
// one on nat, or the current ones of the container whose network it
// shares. It returns the updated record.
func (d *Driver) prepareNetwork(rec *record) (*record, error) {
	cfg := rec.Config
	var own, shared []string
	switch {
	case cfg.NetworkSharedWith != "":
		var err error
		if shared, err = d.sharedEndpoints(cfg); err != nil {
			return nil, fmt.Errorf("start %s: %w", cfg.ID, err)
		}
	case cfg.Network == "none":
	default:
		ep, err := d.createEndpoint(cfg)
		if err != nil {
			return nil, err
		}
		own = []string{ep}
	}
	err := d.update(cfg.ID, func(r *record) { r.Endpoints, r.SharedEndpoints = own, shared })
	if err != nil {
		for _, ep := range own {
			deleteEndpoint(ep)
		}
		return nil, err
	}
	rec.Endpoints, rec.SharedEndpoints = own, shared
	return rec, nil
}

// renewLayers handles image layers that went since rec was created: the
// image is resolved again and the container gets a new scratch layer over
// the layers it has now (what the container wrote is lost with the old
// one, which belonged to the layers that went).
func (d *Driver) renewLayers(ctx context.Context, rec *record) (*record, error) {
	id := rec.Config.ID
	old := slices.Clone(rec.Layers)
	next := *rec
	if err := d.resolveImage(ctx, &next); err != nil {
		return nil, fmt.Errorf("start %s: the layer folders of image %s it was created from are gone (was the image removed, or pruned?): %w", id, rec.Config.Image, err)
	}
	if err := d.unmount(id); err != nil {
		return nil, err
	}
	if err := destroyScratch(rec); err != nil {
		return nil, err
	}
	next.Mounted = false
	if err := d.createScratch(&next); err != nil {
		return nil, err
	}
	if err := d.putRecord(&next); err != nil {
		return nil, err
	}
	d.log.Warn("the image layers the container was created from are gone (docker image prune or rmi, and a new pull); resolved the image again and made a new scratch layer: what the container wrote to its C: drive is lost",
		"id", id, "image", rec.Config.Image, "old_layers", old, "layers", next.Layers)
	return &next, nil
}

// Stop implements driver.Driver.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	defer d.lock(id)()
	rec, err := d.getRecord(id)
	if err != nil {
		return err
	}
	if err := d.adopt(id); err != nil {
		return err
	}
	l := d.getLive(id)
	if l == nil {
		// Not held by this driver: stop whatever system of this owner HCS
		// has.
		if ok, err := d.owns(id, rec); err != nil {
			return err
		} else if !ok {
			if rec == nil {
				return fmt.Errorf("stop %s: %w", id, driver.ErrNotFound)
			}
			return nil
		}
		c, err := hcsshim.OpenContainer(id)
		if hcsshim.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return hcsError("stop", id, err)
		}
		l = &live{c: c}
	}
	if err := d.stopSystem(l.c, timeout); err != nil {
		return hcsError("stop", id, err)
	}
	if l.done != nil {
		// The tracker records the exit code and releases the system.
		select {
		case <-l.done:
		case <-ctx.Done():
			return fmt.Errorf("stop %s: %w", id, ctx.Err())
		}
		return nil
	}
	// Never started, or no one tracked it: release it here.
	l.c.Close()
	d.setLive(id, nil)
	if rec != nil && rec.Started {
		if err := d.recordExit(id, exitUnknown); err != nil {
			return err
		}
		return d.release(id)
	}
	return d.unmount(id)
}

// owns reports whether HCS has a compute system id of the driver's owner.
// A container of another owner is not there as far as the driver goes.
func (d *Driver) owns(id string, rec *record) (bool, error) {
	if rec != nil && rec.Config.Owner != d.owner {
		return false, nil
	}
	sys, err := d.systems(id)
	if err != nil {
		return false, err
	}
	_, ok := sys[id]
	return ok, nil
}

// Remove implements driver.Driver.
func (d *Driver) Remove(ctx context.Context, id string) error {
	defer d.lock(id)()
	rec, err := d.getRecord(id)
	if err != nil {
		return err
	}
	if err := d.adopt(id); err != nil {
		return err
	}
	l, err := d.settled(ctx, id)
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	if l != nil && l.done != nil {
		return fmt.Errorf("remove %s: the container is running; stop it first: %w", id, driver.ErrInvalidState)
	}
	if l == nil {
		ok, err := d.owns(id, rec)
		if err != nil {
			return err
		}
		if !ok && rec == nil {
			return fmt.Errorf("remove %s: %w", id, driver.ErrNotFound)
		}
		if ok {
			c, err := hcsshim.OpenContainer(id)
			switch {
			case err == nil:
				l = &live{c: c}
			case !hcsshim.IsNotExist(err):
				return hcsError("remove", id, err)
			}
		}
	}
	if l != nil {
		props, err := d.systems(id)
		if err == nil && props[id].State == "Running" && rec != nil && rec.Started {
			l.c.Close()
			return fmt.Errorf("remove %s: the container is running; stop it first: %w", id, driver.ErrInvalidState)
		}
		if err := d.stopSystem(l.c, exitStopTimeout); err != nil {
			return hcsError("remove", id, err)
		}
		l.c.Close()
		d.setLive(id, nil)
	}
	if rec == nil {
		return nil
	}
	if err := d.runs.Remove(id); err != nil {
		// The logs are the agent's own files, not the host's: a folder
		// left behind does not keep the container.
		d.log.Warn("cannot delete the container's logs", "id", id, "err", err)
	}
	errs := []error{d.release(id), destroyScratch(rec), d.removeSecrets(id)}
	if err := errors.Join(errs...); err != nil {
		// Keep the record so a retry finds what is left to release.
		return fmt.Errorf("remove %s: %w", id, err)
	}
	d.recMu.Lock()
	defer d.recMu.Unlock()
	d.mu.Lock()
	delete(d.drift, id)
	d.mu.Unlock()
	return d.records.delete(id)
}
