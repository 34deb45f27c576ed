package sim

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

// Model is a simulated HCS host: the host's state, kept in a Store, and
// the rules HCS applies to it, evaluated against a clock. What a container's
// command does (exit at once, exit after K seconds, run until stopped) is
// derived from the clock whenever the state is read, so no goroutine or
// daemon runs the simulation.
//
// A Model has no global state; any number of Models, in one process or
// many, may share a Store. Its methods are safe for concurrent use.
type Model struct {
	store  Store
	now    func() time.Time
	notify notifier
}

// NewModel returns a Model over store. clock tells the time (time.Now
// when nil).
func NewModel(store Store, clock func() time.Time) *Model {
	if clock == nil {
		clock = time.Now
	}
	return &Model{store: store, now: clock}
}

// clock returns the current time without its monotonic reading, so times
// compare the same in memory and after a trip through the state file.
func (m *Model) clock() time.Time { return m.now().Round(0) }

// update runs fn on the settled state and saves the result.
func (m *Model) update(fn func(*state, time.Time) error) error {
	now := m.clock()
	err := m.store.update(func(s *state) error {
		s.settle(now)
		return fn(s, now)
	})
	if err == nil {
		m.notify.signal()
	}
	return err
}

// view runs fn on the settled state.
func (m *Model) view(fn func(*state) error) error {
	now := m.clock()
	return m.store.view(func(s *state) error {
		s.settle(now)
		return fn(s)
	})
}

// InitHost gives the host h's version, SKU and name when the store has no
// host yet, or always when override is set. Zero fields of h take the
// defaults: 10.0.20348, server, and this machine's host name in upper case.
// What the host can run (h.HyperV, h.UNCMounts) is taken from h only for a
// new host, where Hyper-V defaults to available and UNC mounts to refused
// (as HCS refuses them); after that SetHyperV and SetUNCMounts change it,
// so that a drill outlasts an agent restarted with its host flags.
func (m *Model) InitHost(h driver.Host, override bool) error {
	if !h.OSVersion.Known() {
		h.OSVersion = defaultOSVersion
	}
	if h.SKU == "" {
		h.SKU = driver.SKUServer
	}
	if _, err := driver.ParseSKU(string(h.SKU)); err != nil {
		return fmt.Errorf("sim host: %w", err)
	}
	if h.Name == "" {
		h.Name = defaultHostName()
	}
	h.Driver = driver.NameSim
	return m.update(func(s *state, _ time.Time) error {
		switch {
		case !s.Host.OSVersion.Known():
			if h.HyperV == driver.AvailabilityUnknown {
				h.HyperV = driver.Available
			}
			s.Host = h
		case override:
			h.HyperV, h.HyperVDetail, h.UNCMounts = s.Host.HyperV, s.Host.HyperVDetail, s.Host.UNCMounts
			s.Host = h
		}
		return nil
	})
}

// SetHyperV says whether the host can run Hyper-V isolated containers, and
// how that is known. On a host without Hyper-V, starting a Hyper-V
// isolated container fails as HCS fails it (0xc0370102, a required feature
// is not installed), and Host reports it, so admission refuses them first.
func (m *Model) SetHyperV(a driver.Availability, detail string) error {
	switch a {
	case driver.Available, driver.Unavailable, driver.AvailabilityUnknown:
	default:
		return fmt.Errorf("sim host: Hyper-V availability %q: want %s or %s", a, driver.Available, driver.Unavailable)
	}
	return m.update(func(s *state, _ time.Time) error {
		if !s.Host.OSVersion.Known() {
			return fmt.Errorf("sim host not initialised: %w", driver.ErrUnavailable)
		}
		s.Host.HyperV, s.Host.HyperVDetail = a, detail
		return nil
	})
}

// SetUNCMounts says whether the host can map folders on network shares
// named by UNC paths. A new host cannot, as HCS cannot: Create refuses a
// mount of a UNC folder (ERROR_NOT_SUPPORTED) unless this allowed it.
func (m *Model) SetUNCMounts(allowed bool) error {
	return m.update(func(s *state, _ time.Time) error {
		if !s.Host.OSVersion.Known() {
			return fmt.Errorf("sim host not initialised: %w", driver.ErrUnavailable)
		}
		s.Host.UNCMounts = allowed
		return nil
	})
}

func defaultHostName() string {
	name, err := os.Hostname()
	if err != nil || name == "" {
		return "SIMHOST"
	}
	if i := strings.IndexByte(name, '.'); i > 0 {
		name = name[:i]
	}
	return strings.ToUpper(name)
}

// Host describes the simulated host.
func (m *Model) Host() (driver.Host, error) {
	var h driver.Host
	err := m.view(func(s *state) error {
		if !s.Host.OSVersion.Known() {
			return fmt.Errorf("sim host not initialised: %w", driver.ErrUnavailable)
		}
		h = s.Host
		return nil
	})
	return h, err
}

// Image returns what the host knows of ref: the OS version set with
// SetImage, else the build its tag names (zero when the tag does not tell,
// or ref does not parse), and the base images' default command. It wraps
// driver.ErrNotFound for an image removed with RemoveImage.
func (m *Model) Image(ref string) (driver.Image, error) {
	// An operator's reference: one that does not parse still names an
	// image the host may know, of no build its tag could tell.
	r, _ := imageref.Parse(ref)
	return m.image(ref, r)
}

// image is Image for ref, named name in the host's catalog and messages.
func (m *Model) image(name string, ref imageref.Ref) (driver.Image, error) {
	var img driver.Image
	err := m.view(func(s *state) error {
		var err error
		img, err = s.image(name, ref)
		return err
	})
	return img, err
}

// SetImage makes the host know ref as built for OS version v (and undoes
// RemoveImage). A zero v goes back to what the tag says.
func (m *Model) SetImage(ref string, v driver.OSVersion) error {
	return m.update(func(s *state, _ time.Time) error {
		if s.Images == nil {
			s.Images = make(map[string]imageInfo)
		}
		info := imageInfo{OSVersion: v, Healthcheck: s.Images[imageKey(ref)].Healthcheck}
		if info == (imageInfo{}) {
			delete(s.Images, imageKey(ref))
		} else {
			s.Images[imageKey(ref)] = info
		}
		return nil
	})
}

// SetImageHealthcheck gives ref the HEALTHCHECK h in its config, as an
// image built with one has; nil takes it away.
func (m *Model) SetImageHealthcheck(ref string, h *driver.ImageHealthcheck) error {
	return m.update(func(s *state, _ time.Time) error {
		if s.Images == nil {
			s.Images = make(map[string]imageInfo)
		}
		info := s.Images[imageKey(ref)]
		info.Healthcheck = h
		if info == (imageInfo{}) {
			delete(s.Images, imageKey(ref))
		} else {
			s.Images[imageKey(ref)] = info
		}
		return nil
	})
}

// RemoveImage makes the host not have ref: Image and Create then fail with
// driver.ErrNotFound.
func (m *Model) RemoveImage(ref string) error {
	return m.update(func(s *state, _ time.Time) error {
		if s.Images == nil {
			s.Images = make(map[string]imageInfo)
		}
		s.Images[imageKey(ref)] = imageInfo{Missing: true}
		return nil
	})
}

// SetMissingPath tells the host that host folder (or pipe) path and
// everything under it does not exist (missing) or exists again. Every host
// path exists unless the host was told otherwise; mapping a missing one
// fails Create with driver.ErrHostPathNotFound.
func (m *Model) SetMissingPath(path string, missing bool) error {
	k := pathKey(path)
	if k == "" {
		return fmt.Errorf("sim: empty host path")
	}
	return m.update(func(s *state, _ time.Time) error {
		s.MissingPaths = slices.DeleteFunc(s.MissingPaths, func(p string) bool { return p == k })
		if missing {
			s.MissingPaths = append(s.MissingPaths, k)
			slices.Sort(s.MissingPaths)
		}
		return nil
	})
}

// MissingPaths returns the host paths the host was told are missing,
// normalised (lower case, backslashes).
func (m *Model) MissingPaths() ([]string, error) {
	var ps []string
	err := m.view(func(s *state) error {
		ps = slices.Clone(s.MissingPaths)
		return nil
	})
	return ps, err
}

// ReservePort makes host port port/protocol (tcp or udp) taken by
// something outside any container (reserved is true), or frees it again.
func (m *Model) ReservePort(port int, protocol string, reserved bool) error {
	k := portKey(port, protocol)
	if k.Port < 1 || k.Port > 65535 || (k.Protocol != "tcp" && k.Protocol != "udp") {
		return fmt.Errorf("sim: bad host port %s", k)
	}
	return m.update(func(s *state, _ time.Time) error {
		s.ReservedPorts = slices.DeleteFunc(s.ReservedPorts, func(p PortKey) bool { return p == k })
		if reserved {
			s.ReservedPorts = append(s.ReservedPorts, k)
		}
		return nil
	})
}

// Containers returns the containers of owner, or of every owner when owner
// is "", sorted by name and id.
func (m *Model) Containers(owner string) ([]driver.Container, error) {
	var cs []driver.Container
	err := m.view(func(s *state) error {
		cs = s.containers(owner)
		return nil
	})
	return cs, err
}

// Create creates a container as HCS would, checking the host's rules:
// ErrAlreadyExists for a taken id; ErrNotFound for an image the host does
// not have; ErrVersionMismatch (HCS 0xc0370101) for an image that cannot
// run with the requested isolation; ErrNotSupported for devices or network
// sharing with Hyper-V isolation; ErrNotFound or ErrInvalidState when the
// container whose network it shares is absent or not running;
// ErrHostPathNotFound for a mapped host path that is missing; ErrPortInUse
// for a host port that another container or the host holds. Errors are
// *HCSError.
func (m *Model) Create(cfg driver.Config) error {
	return m.update(func(s *state, now time.Time) error { return s.create(cfg, now) })
}

// config returns the config container id of owner was created with.
func (m *Model) config(owner, id string) (driver.Config, bool) {
	var cfg driver.Config
	ok := false
	m.view(func(s *state) error {
		if r, err := s.lookup("GetProperties", owner, id); err == nil {
			cfg, ok = r.Config, true
		}
		return nil
	})
	return cfg, ok
}

// Start starts container id of owner ("" for any owner), or starts it
// again after it exited: a new init process with a new host PID, or for
// Hyper-V a new utility VM and vmwp process, and the exit code cleared.
// Starting a running container wraps driver.ErrInvalidState.
func (m *Model) Start(owner, id string) error {
	return m.update(func(s *state, now time.Time) error { return s.start(owner, id, now) })
}

// Stop shuts container id of owner ("" for any owner) down. The sim's
// processes always honour a graceful shutdown at once, and a stopped
// container's exit code is 0. Stopping a container that is not running
// does nothing.
func (m *Model) Stop(owner, id string) error {
	return m.update(func(s *state, now time.Time) error { return s.stop(owner, id, now) })
}

// Remove removes container id of owner ("" for any owner) and releases its
// host ports. It wraps driver.ErrInvalidState for a running container.
func (m *Model) Remove(owner, id string) error {
	return m.update(func(s *state, _ time.Time) error { return s.remove(owner, id) })
}

// Kill ends the init process of container ref (an id, or a name when no id
// matches; any owner) with exitCode, as a crash or an operator would behind
// the agent's back.
func (m *Model) Kill(ref string, exitCode int) error {
	return m.update(func(s *state, now time.Time) error { return s.kill(ref, exitCode, now) })
}

// ForceRemove removes container ref (an id, or a name; any owner) whatever
// its state, behind the agent's back.
func (m *Model) ForceRemove(ref string) error {
	return m.update(func(s *state, _ time.Time) error { return s.forceRemove(ref) })
}

// AddForeign creates and starts a container of another management stack
// (cfg.Owner must be set): a container an agent must never touch.
func (m *Model) AddForeign(cfg driver.Config) error {
	if cfg.Owner == "" {
		return fmt.Errorf("sim: a foreign container needs an owner")
	}
	return m.update(func(s *state, now time.Time) error {
		if err := s.create(cfg, now); err != nil {
			return err
		}
		if err := s.start("", cfg.ID, now); err != nil {
			s.drop(cfg.ID)
			return err
		}
		return nil
	})
}

// InjectFault keeps f in the store, so that it applies to the next f.Count
// calls of f.Op by any client of the host, in this process or another.
// f.Err must be a driver error class (see ErrorClass).
func (m *Model) InjectFault(f Fault) error {
	if err := f.validate(true); err != nil {
		return err
	}
	return m.update(func(s *state, _ time.Time) error {
		s.Faults = append(s.Faults, f)
		return nil
	})
}

// Faults returns the faults kept in the store that are still to apply.
func (m *Model) Faults() ([]Fault, error) {
	var fs []Fault
	err := m.view(func(s *state) error {
		fs = slices.Clone(s.Faults)
		return nil
	})
	return fs, err
}

// ClearFaults drops every fault kept in the store.
func (m *Model) ClearFaults() error {
	return m.update(func(s *state, _ time.Time) error {
		s.Faults = nil
		return nil
	})
}

// TakeFault uses up one call of the first fault kept in the store for op,
// and returns it; ok is false when there is none.
func (m *Model) TakeFault(op driver.Op) (f Fault, ok bool, err error) {
	// Look before taking, so that the common case (no fault) does not
	// write the state.
	err = m.store.view(func(s *state) error {
		ok = s.hasFault(op)
		return nil
	})
	if err != nil || !ok {
		return Fault{}, false, err
	}
	err = m.store.update(func(s *state) error {
		f, ok = s.takeFault(op)
		return nil
	})
	return f, ok, err
}
