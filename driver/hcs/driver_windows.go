//go:build windows

package hcs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
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
	// Logger receives what the driver does; nil discards it.
	Logger *slog.Logger
}

// Driver is a driver.Driver for the Host Compute Service. Create it with
// New; call Close when done with it. It is safe for concurrent use.
type Driver struct {
	owner    string
	stateDir string
	images   ImageStore
	network  string
	log      *slog.Logger
	records  records
	version  hostVersion
	// workerPID finds a utility VM's worker process; tests replace it.
	workerPID func(vmID string) int

	// recMu serialises read-modify-write of records between operations and
	// exit trackers.
	recMu sync.Mutex

	mu     sync.Mutex
	locks  map[string]*sync.Mutex // per container ID, held by operations
	live   map[string]*live       // open HCS handles, per container ID
	closed bool
	wg     sync.WaitGroup // exit trackers
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
		owner:     opts.Owner,
		stateDir:  opts.StateDir,
		images:    opts.Images,
		network:   opts.Network,
		log:       opts.Logger,
		version:   windowsVersion,
		workerPID: workerPID,
		locks:     map[string]*sync.Mutex{},
		live:      map[string]*live{},
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
		d.images = DockerStore{Root: DockerRoot(pd)}
	}
	if d.network == "" {
		d.network = DefaultNetwork
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.records = records{dir: filepath.Join(d.stateDir, "containers")}
	return d
}

// Close releases the driver's HCS handles and waits for its exit trackers.
// Containers keep running; a new driver adopts them.
func (d *Driver) Close() error {
	d.mu.Lock()
	d.closed = true
	lives := d.live
	d.live = map[string]*live{}
	d.mu.Unlock()
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
		if err := l.c.Close(); err != nil && !hcsshim.IsAlreadyClosed(err) {
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
	im, err := d.images.Resolve(ctx, ref)
	if err != nil {
		return driver.Image{}, err
	}
	return driver.Image{Ref: ref, OSVersion: im.OSVersion, Command: im.Command()}, nil
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
	d.collectGarbage(ids)
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
		out = append(out, d.container(rec, p, ok))
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

// collectGarbage releases what a crash part-way through a Create left:
// endpoints named for a container and scratch folders that no record
// claims. ids are the containers with a record. A container whose lock is
// held may be in the middle of its Create and is left alone.
func (d *Driver) collectGarbage(ids []string) {
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
		if _, err := d.records.get(id); err == nil {
			unlock()
			return nil, false
		}
		return unlock, true
	}
	if eps, err := hcn.ListEndpoints(); err == nil {
		for _, ep := range eps {
			id, ok := strings.CutPrefix(ep.Name, endpointName(""))
			if !ok {
				continue
			}
			if unlock, ok := stale(id); ok {
				d.log.Info("deleting endpoint left by an interrupted create", "id", id, "endpoint", ep.Id)
				if err := deleteEndpoint(ep.Id); err != nil {
					d.log.Warn("delete stale endpoint", "id", id, "err", err)
				}
				unlock()
			}
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

// container describes rec; p is its compute system when exists is set.
func (d *Driver) container(rec *record, p hcsshim.ContainerProperties, exists bool) driver.Container {
	cfg := rec.Config
	c := driver.Container{
		ID: cfg.ID, Name: cfg.Name, Owner: cfg.Owner, Hash: cfg.Hash,
		Isolation: cfg.Isolation, Image: cfg.Image,
		CreatedAt: rec.CreatedAt, StartedAt: rec.StartedAt, FinishedAt: rec.FinishedAt,
	}
	switch {
	case rec.Exited:
		c.State, c.ExitCode = driver.StateExited, rec.ExitCode
	case !exists && rec.Started:
		// Gone without a recorded exit: the host restarted, or the system
		// was removed behind the driver's back.
		c.State, c.ExitCode = driver.StateExited, -1
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
// tracks its init process. The caller holds id's lock.
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
	c, err := hcsshim.OpenContainer(id)
	if hcsshim.IsNotExist(err) {
		return d.recordExit(id, -1)
	}
	if err != nil {
		return hcsError("open", id, err)
	}
	l := &live{c: c}
	p, err := c.OpenProcess(rec.InitPID)
	if err != nil {
		d.log.Warn("init process gone; stopping container", "id", id, "pid", rec.InitPID, "err", err)
		err := d.stopSystem(c, exitStopTimeout)
		c.Close()
		return errors.Join(err, d.recordExit(id, -1), d.unmount(id))
	}
	l.p = p
	d.track(id, l)
	d.log.Info("adopted container", "id", id, "pid", rec.InitPID)
	return nil
}

// recordExit marks the record of id exited with code, unless an exit is
// recorded already.
func (d *Driver) recordExit(id string, code int) error {
	err := d.update(id, func(r *record) {
		if r.Exited {
			return
		}
		r.Exited, r.ExitCode, r.FinishedAt = true, code, time.Now().UTC()
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// track starts the exit tracker of a started container: when the init
// process exits it records the exit code and shuts the compute system down,
// because a v1 container outlives its init process.
func (d *Driver) track(id string, l *live) {
	l.done = make(chan struct{})
	d.mu.Lock()
	closed := d.closed
	if !closed {
		d.live[id] = l
		d.wg.Add(1)
	}
	d.mu.Unlock()
	if closed {
		close(l.done)
		return
	}
	go func() {
		defer d.wg.Done()
		defer close(l.done)
		err := l.p.Wait()
		d.mu.Lock()
		closing := d.closed
		d.mu.Unlock()
		if closing || hcsshim.IsAlreadyClosed(err) || errors.Is(err, hcsshim.ErrHandleClose) {
			return // the driver is closing; the container keeps running
		}
		code := -1
		if err == nil {
			if c, err := l.p.ExitCode(); err == nil {
				code = c
			}
		} else {
			d.log.Warn("wait for init process", "id", id, "err", err)
		}
		log := d.log.With("id", id)
		log.Info("init process exited", "exitCode", code)
		if err := d.recordExit(id, code); err != nil {
			log.Error("record exit", "err", err)
		}
		l.p.Close()
		if err := d.stopSystem(l.c, exitStopTimeout); err != nil {
			log.Error("shut down exited container", "err", err)
		}
		l.c.Close()
		if err := d.unmount(id); err != nil {
			log.Error("unmount scratch", "err", err)
		}
		d.mu.Lock()
		if d.live[id] == l {
			delete(d.live, id)
		}
		d.mu.Unlock()
	}()
}

// stopSystem shuts c down, waiting up to timeout, then terminates it.
func (d *Driver) stopSystem(c hcsshim.Container, timeout time.Duration) error {
	err := c.Shutdown()
	switch {
	case hcsshim.IsPending(err):
		err = c.WaitTimeout(timeout)
	case hcsshim.IsAlreadyStopped(err), hcsshim.IsNotExist(err):
		return nil
	}
	if err == nil {
		return nil
	}
	d.log.Debug("shutdown did not finish; terminating", "err", err)
	err = c.Terminate()
	switch {
	case hcsshim.IsPending(err):
		err = c.WaitTimeout(terminateTimeout)
	case hcsshim.IsAlreadyStopped(err), hcsshim.IsNotExist(err):
		return nil
	}
	return err
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
	if cfg.Isolation == driver.HyperV {
		if len(cfg.Devices) > 0 {
			return fmt.Errorf("create %s: device assignment needs process isolation: %w", cfg.ID, driver.ErrNotSupported)
		}
		if cfg.NetworkSharedWith != "" {
			return fmt.Errorf("create %s: sharing another container's network needs process isolation: %w", cfg.ID, driver.ErrNotSupported)
		}
	}
	im, err := d.images.Resolve(ctx, cfg.Image)
	if err != nil {
		return fmt.Errorf("create %s: %w", cfg.ID, err)
	}
	cmdline, err := initCommandLine(cfg, im)
	if err != nil {
		return fmt.Errorf("create %s: %w", cfg.ID, err)
	}
	rec := &record{
		Config:      cfg,
		Layers:      im.Layers,
		CommandLine: cmdline,
		Scratch:     filepath.Join(d.stateDir, "layers", cfg.ID),
		CreatedAt:   time.Now().UTC(),
	}
	if cfg.Isolation == driver.HyperV {
		if _, err := utilityVMPath(rec.Layers); err != nil {
			return fmt.Errorf("create %s: image %s: %w", cfg.ID, cfg.Image, err)
		}
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

	if err := os.MkdirAll(filepath.Dir(rec.Scratch), 0o700); err != nil {
		return fmt.Errorf("create %s: %w", cfg.ID, err)
	}
	// A scratch left by a crash part-way through an earlier create goes.
	if _, err := os.Stat(rec.Scratch); err == nil {
		if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, rec.Scratch); err != nil {
			return hcsError("create: remove stale scratch of", cfg.ID, err)
		}
	}
	if err := hcsshim.CreateScratchLayer(hcsshim.DriverInfo{}, rec.Scratch, "", rec.Layers); err != nil {
		return hcsError("create scratch layer of", cfg.ID, err)
	}
	undo = append(undo, func() error { return hcsshim.DestroyLayer(hcsshim.DriverInfo{}, rec.Scratch) })

	switch {
	case cfg.NetworkSharedWith != "":
		other, err := d.getRecord(cfg.NetworkSharedWith)
		if err != nil {
			return fmt.Errorf("create %s: %w", cfg.ID, err)
		}
		if other == nil {
			return fmt.Errorf("create %s: container %s whose network it shares: %w", cfg.ID, cfg.NetworkSharedWith, driver.ErrNotFound)
		}
		rec.SharedEndpoints = other.Endpoints
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

	c, err := d.createSystem(rec)
	if err != nil {
		return err
	}
	d.setLive(cfg.ID, &live{c: c})
	d.log.Info("created container", "id", cfg.ID, "name", cfg.Name, "isolation", cfg.Isolation)
	return nil
}

func (d *Driver) putRecord(rec *record) error {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	return d.records.put(rec)
}

// createSystem mounts the scratch (process isolation) and creates the
// compute system of rec, undoing the mount when the create fails.
func (d *Driver) createSystem(rec *record) (c hcsshim.Container, err error) {
	id := rec.Config.ID
	layerIDs := make([]string, len(rec.Layers))
	for i, l := range rec.Layers {
		g, err := hcsshim.NameToGuid(filepath.Base(l))
		if err != nil {
			return nil, hcsError("layer ID for", l, err)
		}
		layerIDs[i] = g.ToString()
	}
	var volume string
	if rec.Config.Isolation == driver.Process {
		if volume, err = d.mount(rec); err != nil {
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
	doc, err := containerConfig(rec, volume, layerIDs)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	if err := d.resolveMappedDirs(doc, rec.Config.Mounts); err != nil {
		return nil, fmt.Errorf("create %s: %w", id, err)
	}
	c, err = hcsshim.CreateContainer(id, doc)
	if err != nil {
		return nil, hcsError("create", id, err)
	}
	return c, nil
}

// mount activates and prepares the scratch layer of rec and returns its
// volume path.
func (d *Driver) mount(rec *record) (string, error) {
	id, di := rec.Config.ID, hcsshim.DriverInfo{}
	if err := hcsshim.ActivateLayer(di, rec.Scratch); err != nil {
		return "", hcsError("activate scratch of", id, err)
	}
	if err := d.update(id, func(r *record) { r.Mounted = true }); err != nil {
		hcsshim.DeactivateLayer(di, rec.Scratch)
		return "", err
	}
	if err := hcsshim.PrepareLayer(di, rec.Scratch, rec.Layers); err != nil {
		return "", errors.Join(hcsError("prepare scratch of", id, err), d.unmount(id))
	}
	vol, err := hcsshim.GetLayerMountPath(di, rec.Scratch)
	if err != nil {
		return "", errors.Join(hcsError("mount path of scratch of", id, err), d.unmount(id))
	}
	return vol, nil
}

// unmount undoes mount, if the record says the scratch is mounted.
func (d *Driver) unmount(id string) error {
	d.recMu.Lock()
	defer d.recMu.Unlock()
	rec, err := d.records.get(id)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !rec.Mounted {
		return nil
	}
	di := hcsshim.DriverInfo{}
	if err := hcsshim.UnprepareLayer(di, rec.Scratch); err != nil && !hcsshim.IsNotExist(err) {
		return hcsError("unprepare scratch of", id, err)
	}
	if err := hcsshim.DeactivateLayer(di, rec.Scratch); err != nil && !hcsshim.IsNotExist(err) {
		return hcsError("deactivate scratch of", id, err)
	}
	rec.Mounted = false
	return d.records.put(rec)
}

// endpointName is the deterministic name of a container's endpoint, so an
// endpoint left by a crash is found again.
func endpointName(id string) string { return "isoagent-" + id }

// createEndpoint creates the NAT endpoint of cfg with its port mappings.
func (d *Driver) createEndpoint(cfg driver.Config) (string, error) {
	network, err := hcn.GetNetworkByName(d.network)
	if err != nil {
		var nf hcn.NetworkNotFoundError
		if errors.As(err, &nf) {
			return "", fmt.Errorf("create %s: HNS network %q not found (Docker creates it; without Docker create a NAT network named %q): %w", cfg.ID, d.network, d.network, driver.ErrUnavailable)
		}
		return "", hcsError("create endpoint for", cfg.ID, err)
	}
	// An endpoint left by a crash part-way through an earlier create goes.
	if old, err := hcn.GetEndpointByName(endpointName(cfg.ID)); err == nil {
		if err := old.Delete(); err != nil && !hcsshim.IsNotExist(err) && !hcn.IsElementNotFoundError(err) {
			return "", hcsError("delete stale endpoint of", cfg.ID, err)
		}
	}
	ep := &hcn.HostComputeEndpoint{
		Name:          endpointName(cfg.ID),
		SchemaVersion: hcn.V2SchemaVersion(),
	}
	for _, p := range cfg.Ports {
		proto := hcn.ProtocolTypeTCP
		if p.Protocol == "udp" {
			proto = hcn.ProtocolTypeUDP
		}
		settings, err := json.Marshal(hcn.PortMappingPolicySetting{
			Protocol:     uint32(proto),
			InternalPort: uint16(p.ContainerPort),
			ExternalPort: uint16(p.HostPort),
		})
		if err != nil {
			return "", err
		}
		ep.Policies = append(ep.Policies, hcn.EndpointPolicy{Type: hcn.PortMapping, Settings: settings})
	}
	created, err := network.CreateEndpoint(ep)
	if err != nil {
		return "", hcsError("create endpoint for", cfg.ID, err)
	}
	return created.Id, nil
}

// deleteEndpoint deletes an endpoint; one already gone is no error.
func deleteEndpoint(id string) error {
	err := (&hcn.HostComputeEndpoint{Id: id}).Delete()
	if err == nil || hcsshim.IsNotExist(err) || hcn.IsElementNotFoundError(err) {
		return nil
	}
	return hcsError("delete endpoint", id, err)
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
// start a stopped system again.
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
		d.stopSystem(l.c, exitStopTimeout)
		l.c.Close()
		d.setLive(id, nil)
		l = nil
	}
	if l == nil {
		// Left created by another process, or exited: make a system.
		if c, err := hcsshim.OpenContainer(id); err == nil {
			props, perr := d.systems(id)
			if perr == nil && props[id].State == "Created" {
				l = &live{c: c}
			} else {
				d.stopSystem(c, exitStopTimeout)
				c.Close()
			}
		}
		if l == nil {
			if err := d.unmount(id); err != nil {
				return err
			}
			c, err := d.createSystem(rec)
			if err != nil {
				return err
			}
			l = &live{c: c}
		}
		d.setLive(id, l)
	}
	fail := func(err error) error {
		d.stopSystem(l.c, exitStopTimeout)
		l.c.Close()
		d.setLive(id, nil)
		return errors.Join(err, d.unmount(id))
	}
	if err := l.c.Start(); err != nil {
		return fail(hcsError("start", id, err))
	}
	p, err := l.c.CreateProcess(processConfig(rec))
	if err != nil {
		return fail(hcsError("start init process of", id, err))
	}
	err = d.update(id, func(r *record) {
		r.Started, r.InitPID = true, p.Pid()
		r.Exited, r.ExitCode, r.StartedAt, r.FinishedAt = false, 0, time.Now().UTC(), time.Time{}
	})
	if err != nil {
		p.Close()
		return fail(err)
	}
	l.p = p
	d.track(id, l)
	d.log.Info("started container", "id", id, "pid", p.Pid())
	return nil
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
	// Never started: nothing tracks it, so release it here.
	l.c.Close()
	d.setLive(id, nil)
	if rec != nil && rec.Started {
		if err := d.recordExit(id, -1); err != nil {
			return err
		}
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
	var errs []error
	errs = append(errs, d.unmount(id))
	for _, ep := range rec.Endpoints {
		errs = append(errs, deleteEndpoint(ep))
	}
	if err := hcsshim.DestroyLayer(hcsshim.DriverInfo{}, rec.Scratch); err != nil && !errors.Is(err, fs.ErrNotExist) && !hcsshim.IsNotExist(err) {
		errs = append(errs, hcsError("destroy scratch of", id, err))
	}
	if err := errors.Join(errs...); err != nil {
		// Keep the record so a retry finds what is left to release.
		return fmt.Errorf("remove %s: %w", id, err)
	}
	d.recMu.Lock()
	defer d.recMu.Unlock()
	return d.records.delete(id)
}
