// Package sim is a simulated HCS host for isoagent: the default driver
// wherever the Host Compute Service is absent, and the host the tests and
// drills run against.
//
// It has two layers. Model is the host itself: its OS version and SKU, an
// image catalog, the rules and errors of HCS (version mismatch 0xc0370101,
// ports in use, missing host folders, what Hyper-V isolation cannot do),
// host PIDs of process-isolated init processes versus the vmwp process of
// a Hyper-V utility VM, a few commands it acts out, and injected faults.
// Its state lives in a Store: in memory, or in a folder that several
// processes can share at the same time, so an agent restart sees the same
// host and `isoagent sim kill` can act behind the agent's back. Driver
// adapts a Model to driver.Driver for one owner.
//
// The package depends on nothing above package driver (imageref and
// winbuild for images, credspec for credential specs, internal/hresult for
// HCS's codes, internal/jsonstore's lock for the shared folder, whose
// state.json and journal.jsonl DirStore describes), so that other
// fakes of HCS can be built on the Model, as driver/hcs/fakehcs is.
package sim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/credspec"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/monitor"
)

// DefaultOwner is the owner tag a Driver uses when Options.Owner is empty.
const DefaultOwner = "isoagent"

// DefaultDir is where the simulated host keeps its state unless told
// otherwise: a per-user cache folder, so that the agent, isoagent sim and
// isoagent doctor find the same host without being told.
func DefaultDir() string {
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "isoagent", "sim")
	}
	return filepath.Join(os.TempDir(), "isoagent-sim")
}

// Options configure Open.
type Options struct {
	// Owner is the owner tag of the containers the driver manages
	// (DefaultOwner when empty).
	Owner string
	// Host is the host to simulate: its OS version, SKU and name. It is
	// used only when the state folder is new, unless OverrideHost is set.
	// Zero fields take the defaults (10.0.20348, server, this machine's
	// name).
	Host         driver.Host
	OverrideHost bool
	// CredentialSpecDir is the folder of the gMSA credential specs that
	// configs name; the default is CredentialSpecs in the state folder
	// (none for a host kept in memory). The sim reads a config's as the
	// hcs driver does, at create and at every start, and fails as it
	// fails when the file is missing or no credential spec.
	CredentialSpecDir string
	// Clock tells the time (time.Now when nil).
	Clock func() time.Time
	// Logger receives a debug record per operation (none when nil).
	Logger *slog.Logger
	// Monitor, for a host kept in a folder, gives every run of a
	// container a monitor process, as the hcs driver does: the command
	// of `isoagent monitor` (the isoagent binary and "monitor"). The
	// monitor acts out the output of the run's command into the run's log
	// and records its exit (see MonitorRuntime); the runs are kept in the
	// state folder (Runs). Without it runs have no output.
	Monitor []string
	// LogMaxSize and LogMaxFiles bound each run's log (package crilog's
	// defaults, 10 MiB and 5 files, when zero).
	LogMaxSize  int64
	LogMaxFiles int
	// Secrets is where the driver reads the secrets a config names, at
	// create and at every start, as the hcs driver does; without it a
	// config naming secrets is refused.
	Secrets driver.SecretSource
}

// Driver is a driver.Driver over a Model, for one owner: List returns only
// that owner's containers, and Start, Stop and Remove treat the containers
// of other owners as absent, so an agent can never touch them.
type Driver struct {
	model   *Model
	owner   string
	log     *slog.Logger
	secrets driver.SecretSource
	// credSpecDir is Options.CredentialSpecDir; "" when there is none.
	credSpecDir string

	mu     sync.Mutex
	faults []Fault // injected into this driver only

	w    watchers
	mon  *monitors      // nil without Options.Monitor
	runs monitor.Layout // where the runs are kept; Dir "" in memory
	eps  endpoints      // the listeners of simserve's ports (serve.go)
}

var _ driver.Driver = (*Driver)(nil)

// Open returns a driver for the simulated host whose state lives in folder
// dir, creating the folder and the host when they are new; dir "" keeps
// the state in memory, for this driver alone.
func Open(dir string, opts Options) (*Driver, error) {
	store := MemoryStore()
	if dir != "" {
		var err error
		if store, err = DirStore(dir); err != nil {
			return nil, err
		}
	}
	m := NewModel(store, opts.Clock)
	if err := m.InitHost(opts.Host, opts.OverrideHost); err != nil {
		return nil, err
	}
	d := NewDriver(m, opts.Owner, opts.Logger)
	d.secrets = opts.Secrets
	if d.credSpecDir = opts.CredentialSpecDir; d.credSpecDir == "" && dir != "" {
		d.credSpecDir = filepath.Join(dir, credspec.DirName)
	}
	if dir != "" && len(opts.Monitor) > 0 {
		// The monitors run on after this process, from any folder.
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("sim state folder: %w", err)
		}
		d.mon = newMonitors(abs, opts)
	}
	if dir != "" {
		d.runs = monitor.Layout{Dir: dir}
	}
	return d, nil
}

// NewDriver returns a driver over m for owner (DefaultOwner when empty).
// Several drivers may share a Model, as several agents share a host.
func NewDriver(m *Model, owner string, logger *slog.Logger) *Driver {
	if owner == "" {
		owner = DefaultOwner
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Driver{model: m, owner: owner, log: logger.With("driver", driver.NameSim)}
}

// Model returns the simulated host the driver acts on, for drills: kill
// or remove containers behind the driver's back, set image builds, inject
// faults that every client sees.
func (d *Driver) Model() *Model { return d.model }

// Owner returns the driver's owner tag.
func (d *Driver) Owner() string { return d.owner }

// CredentialSpecDir returns the folder credential specs are read from, ""
// when the driver has none.
func (d *Driver) CredentialSpecDir() string { return d.credSpecDir }

// Diagnose checks the simulated host for isoagent doctor: that it is
// described, and whether it can run Hyper-V isolated containers and map
// network shares.
func (d *Driver) Diagnose(ctx context.Context) []driver.Check {
	h, err := d.Host(ctx)
	if err != nil {
		return []driver.Check{{Name: "simulated host", Status: driver.CheckFail, Detail: err.Error(), Fix: "isoagent sim host shows the host; run the agent once to make one"}}
	}
	cs := []driver.Check{{Name: "simulated host", Status: driver.CheckPass, Detail: fmt.Sprintf("%s, %s %s", h.Name, h.OSVersion, h.SKU)}}
	hv := driver.Check{Name: "Hyper-V", Status: driver.CheckPass, Detail: "the simulated host runs Hyper-V isolated containers"}
	if h.HyperV == driver.Unavailable {
		hv.Status, hv.Detail, hv.Fix = driver.CheckWarn, h.HyperVDetail+"; specs that need Hyper-V isolation are refused", "isoagent sim host --hyperv on"
		if h.SKU == driver.SKUClient {
			hv.Status = driver.CheckFail // Hyper-V is the client's default isolation
		}
	}
	unc := driver.Check{Name: "UNC mounts", Status: driver.CheckPass, Detail: "local folders only, as HCS; a share is mapped to a drive letter first"}
	if h.UNCMounts {
		unc.Detail = "the simulated host maps folders on network shares, which HCS cannot (isoagent sim host --unc-mounts off models it)"
	}
	return append(cs, hv, unc)
}

// InjectFault applies f to the next f.Count calls of f.Op through this
// driver only. Faults of the driver apply before those kept in the store.
func (d *Driver) InjectFault(f Fault) error {
	if err := f.validate(false); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.faults = append(d.faults, f)
	return nil
}

func (d *Driver) takeFault(op driver.Op) (Fault, bool, error) {
	d.mu.Lock()
	for i := range d.faults {
		f := &d.faults[i]
		if f.Op != op {
			continue
		}
		f.Count--
		taken := *f
		if f.Count <= 0 {
			d.faults = slices.Delete(d.faults, i, i+1)
		}
		d.mu.Unlock()
		return taken, true, nil
	}
	d.mu.Unlock()
	return d.model.TakeFault(op)
}

// do runs one operation: it applies an injected fault first, waiting out
// its delay unless ctx ends, then calls fn.
func (d *Driver) do(ctx context.Context, op driver.Op, id string, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	f, ok, err := d.takeFault(op)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, id, err)
	}
	if ok {
		d.log.DebugContext(ctx, "injected fault", "op", op, "id", id, "fault", f.String())
		if f.Delay > 0 {
			t := time.NewTimer(f.Delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("%s %s: %w", op, id, ctx.Err())
			}
		}
		if f.Err != nil {
			return fmt.Errorf("%s %s: injected fault: %w", op, id, f.Err)
		}
	}
	err = fn()
	d.log.DebugContext(ctx, "operation", "op", op, "id", id, "err", err)
	return err
}

// Host describes the simulated host.
func (d *Driver) Host(ctx context.Context) (driver.Host, error) {
	var h driver.Host
	err := d.do(ctx, driver.OpHost, "", func() (err error) {
		h, err = d.model.Host()
		return err
	})
	return h, err
}

// Image returns what the simulated host knows of ref.
func (d *Driver) Image(ctx context.Context, ref imageref.Ref) (driver.Image, error) {
	var img driver.Image
	err := d.do(ctx, driver.OpImage, ref.String(), func() (err error) {
		img, err = d.model.image(ref.String(), ref)
		return err
	})
	return img, err
}

// List returns the containers of the driver's owner.
func (d *Driver) List(ctx context.Context) ([]driver.Container, error) {
	var cs []driver.Container
	err := d.do(ctx, driver.OpList, "", func() (err error) {
		cs, err = d.model.Containers(d.owner)
		return err
	})
	if err == nil && d.mon != nil {
		d.mon.adoptAll(d)
	}
	return cs, err
}

// Create creates a container of the driver's owner; cfg.Owner must be
// empty or that owner. See Model.Create for the errors.
func (d *Driver) Create(ctx context.Context, cfg driver.Config) error {
	return d.do(ctx, driver.OpCreate, cfg.ID, func() error {
		if cfg.Owner == "" {
			cfg.Owner = d.owner
		}
		if cfg.Owner != d.owner {
			return fmt.Errorf("create %s: owner %q is not the driver's owner %q", cfg.ID, cfg.Owner, d.owner)
		}
		if err := d.checkSecrets("create", cfg); err != nil {
			return err
		}
		if err := d.credentialSpec(cfg); err != nil {
			return fmt.Errorf("create %s: %w", cfg.ID, err)
		}
		return d.model.Create(cfg)
	})
}

// Start starts a container of the driver's owner, or starts it again after
// it exited.
func (d *Driver) Start(ctx context.Context, id string) error {
	return d.do(ctx, driver.OpStart, id, func() error {
		if cfg, ok := d.model.config(d.owner, id); ok {
			if err := d.checkSecrets("start", cfg); err != nil {
				return err
			}
			if err := d.credentialSpec(cfg); err != nil {
				return fmt.Errorf("start %s: %w", id, err)
			}
		}
		// The last run's exit is reported before the next run starts.
		d.sweep()
		if d.mon != nil {
			// A running container's monitor does not end; the model
			// refuses the start below.
			if ri, ok, err := d.model.runOf(id); err == nil && ok && ri.State != driver.StateRunning {
				if err := d.mon.settle(ctx, id); err != nil {
					return fmt.Errorf("start %s: %w", id, err)
				}
			}
		}
		if err := d.model.Start(d.owner, id); err != nil {
			return err
		}
		if d.mon != nil {
			return d.mon.start(ctx, d, id)
		}
		d.started(id)
		return nil
	})
}

// credentialSpec reads the credential spec cfg names, as the hcs driver
// does, and fails as it fails: a missing file may yet come, one that is
// not a credential spec is refused.
func (d *Driver) credentialSpec(cfg driver.Config) error {
	if cfg.CredentialSpec == "" {
		return nil
	}
	if d.credSpecDir == "" {
		return fmt.Errorf("credential spec %s: the simulated host has no credential-spec folder: %w", cfg.CredentialSpec, driver.ErrNotSupported)
	}
	_, err := credspec.Read(d.credSpecDir, cfg.CredentialSpec)
	switch {
	case errors.Is(err, credspec.ErrNotFound):
		return fmt.Errorf("%w: %w", err, driver.ErrHostPathNotFound)
	case err != nil:
		return fmt.Errorf("%w: %w", err, driver.ErrInvalidConfig)
	}
	return nil
}

// Stop shuts a container of the driver's owner down. The sim's processes
// always honour a graceful shutdown at once (exit code 0), so timeout is
// never reached.
func (d *Driver) Stop(ctx context.Context, id string, timeout time.Duration) error {
	return d.do(ctx, driver.OpStop, id, func() error {
		if err := d.model.Stop(d.owner, id); err != nil {
			return err
		}
		if d.mon != nil {
			// As HCS's: Stop returns once the exit is recorded.
			return d.mon.settle(ctx, id)
		}
		return nil
	})
}

// Remove removes a container of the driver's owner that is not running.
func (d *Driver) Remove(ctx context.Context, id string) error {
	return d.do(ctx, driver.OpRemove, id, func() error {
		if err := d.model.Remove(d.owner, id); err != nil {
			return err
		}
		if d.mon != nil {
			return d.mon.layout.Remove(id)
		}
		return nil
	})
}

// Close lets go of the monitors the driver waits on; they and their
// containers keep running, and a new driver finds them again. It closes
// the listeners it serves simserve's ports on.
func (d *Driver) Close() error {
	d.closeEndpoints()
	if d.mon != nil {
		d.mon.close()
	}
	return nil
}
