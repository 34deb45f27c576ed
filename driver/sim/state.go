package sim

import (
	"crypto/rand"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/hresult"
	"github.com/isoagent/isoagent/winbuild"
)

// state is everything the simulated host remembers; a Store keeps it. Its
// methods are the host's rules and check everything before they change
// anything, so a failed operation leaves the state as it was.
type state struct {
	Host driver.Host `json:"host"`
	// Images overrides what the host knows of images, keyed by imageKey.
	Images map[string]imageInfo `json:"images,omitempty"`
	// Pulled is the catalog of images pulled into the host (catalog.go).
	Pulled *catalog `json:"pulled,omitempty"`
	// MissingPaths are host folders (and pipes) that do not exist, as
	// normalised by pathKey; every other host path exists.
	MissingPaths []string `json:"missingPaths,omitempty"`
	// ReservedPorts are host ports something other than a container holds.
	ReservedPorts []PortKey          `json:"reservedPorts,omitempty"`
	Containers    map[string]*record `json:"containers,omitempty"`
	// NextPID is the next host process id to hand out.
	NextPID int     `json:"nextPid,omitempty"`
	Faults  []Fault `json:"faults,omitempty"`

	// idx is derived from Containers, so that an operation need not look
	// at every container; nil until first needed (a state fresh from the
	// state file builds it then). Methods that add, remove, start or end
	// a container keep it up to date.
	idx *index
	// touched are the containers an access may have changed since the
	// state was last saved (added, removed, or looked up to be acted
	// on), for a store that saves only what changed.
	touched map[string]struct{}
}

// touch records that container id may change.
func (s *state) touch(id string) {
	if s.touched == nil {
		s.touched = make(map[string]struct{})
	}
	s.touched[id] = struct{}{}
}

// index is what the host's rules look up about all containers, kept so
// that settling and port checks cost the same on a host of ten containers
// as on one of ten thousand.
type index struct {
	// ports maps a host port to the ids of the containers that map it.
	ports map[PortKey][]string
	// timed holds the running containers whose command ends by itself
	// (ExitAt set); nextExit is no later than the earliest of their
	// ExitAt, so settling before it has nothing to do.
	timed    map[string]*record
	nextExit time.Time
	// runs are the containers whose run started or ended, or that were
	// added or removed, oldest first: the last runsKept of them at least.
	// runsSeq counts every one noted, so a driver that keeps the count
	// it has seen learns what changed since (Model.runsSince) without
	// looking at every container.
	runs    []string
	runsSeq uint64
}

// runsKept is how many changes of runs the index remembers: a driver
// further behind looks at every container.
const runsKept = 4096

// noteRun records that container id's run changed.
func (ix *index) noteRun(id string) {
	ix.runsSeq++
	ix.runs = append(ix.runs, id)
	if len(ix.runs) >= 2*runsKept {
		ix.runs = slices.Clone(ix.runs[len(ix.runs)-runsKept:])
	}
}

// index returns s.idx, building it from Containers when it is missing.
func (s *state) index() *index {
	if s.idx != nil {
		return s.idx
	}
	ix := &index{ports: make(map[PortKey][]string), timed: make(map[string]*record)}
	for id, r := range s.Containers {
		ix.addPorts(id, r)
		if r.State == driver.StateRunning && !r.ExitAt.IsZero() {
			ix.schedule(id, r)
		}
	}
	s.idx = ix
	return ix
}

func (ix *index) addPorts(id string, r *record) {
	for _, q := range r.Config.Ports {
		k := portKey(q.HostPort, q.Protocol)
		ix.ports[k] = append(ix.ports[k], id)
	}
}

func (ix *index) removePorts(id string, r *record) {
	for _, q := range r.Config.Ports {
		k := portKey(q.HostPort, q.Protocol)
		ids := slices.DeleteFunc(ix.ports[k], func(x string) bool { return x == id })
		if len(ids) == 0 {
			delete(ix.ports, k)
		} else {
			ix.ports[k] = ids
		}
	}
}

func (ix *index) schedule(id string, r *record) {
	ix.timed[id] = r
	if ix.nextExit.IsZero() || r.ExitAt.Before(ix.nextExit) {
		ix.nextExit = r.ExitAt
	}
}

// put adds container r under id.
func (s *state) put(id string, r *record) {
	ix := s.index()
	if s.Containers == nil {
		s.Containers = make(map[string]*record)
	}
	s.Containers[id] = r
	s.touch(id)
	ix.noteRun(id)
	ix.addPorts(id, r)
	if r.State == driver.StateRunning && !r.ExitAt.IsZero() {
		ix.schedule(id, r)
	}
}

// drop removes container id, releasing its host ports.
func (s *state) drop(id string) {
	r, ok := s.Containers[id]
	if !ok {
		return
	}
	ix := s.index()
	ix.removePorts(id, r)
	delete(ix.timed, id)
	delete(s.Containers, id)
	s.touch(id)
	ix.noteRun(id)
}

type imageInfo struct {
	OSVersion driver.OSVersion `json:"osVersion,omitzero"`
	Missing   bool             `json:"missing,omitempty"`
	// Healthcheck is the image's HEALTHCHECK, as SetImageHealthcheck
	// gave it.
	Healthcheck *driver.ImageHealthcheck `json:"healthcheck,omitempty"`
}

// record is one container on the host.
type record struct {
	Config     driver.Config     `json:"config"`
	Command    []string          `json:"command"` // what the init process runs
	State      driver.State      `json:"state"`
	ExitCode   int               `json:"exitCode"`
	CreatedAt  time.Time         `json:"createdAt"`
	StartedAt  time.Time         `json:"startedAt,omitzero"`
	FinishedAt time.Time         `json:"finishedAt,omitzero"`
	InitPID    int               `json:"initPid,omitempty"`
	UtilityVM  *driver.UtilityVM `json:"utilityVM,omitempty"`
	// ExitAt is when the running command ends by itself, with ExitWith;
	// zero when it runs until stopped. Worked out once at start, so that
	// settling a large host stays cheap.
	ExitAt   time.Time `json:"exitAt,omitzero"`
	ExitWith int       `json:"exitWith,omitempty"`
	// Restarts counts the starts after the first (issue 13), kept with
	// the container so that it outlives the agent.
	Restarts int `json:"restarts,omitempty"`
}

// PortKey is a host port and its protocol (tcp or udp).
type PortKey struct {
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
}

func (p PortKey) String() string { return fmt.Sprintf("%d/%s", p.Port, p.Protocol) }

func portKey(port int, protocol string) PortKey {
	protocol = strings.ToLower(protocol)
	if protocol == "" {
		protocol = "tcp"
	}
	return PortKey{Port: port, Protocol: protocol}
}

// Host PIDs are multiples of 4 on Windows; the sim hands them out from a
// plausible start and never reuses one.
const (
	firstPID = 4104
	pidStep  = 4
)

// Defaults of a new simulated host.
var defaultOSVersion = driver.OSVersion{Major: 10, Minor: 0, Build: winbuild.LTSC2022}

// defaultCommand is the default command of the Windows base images
// (servercore, nanoserver, windows, server): a shell that, without a
// console, waits until the container is stopped.
var defaultCommand = []string{`c:\windows\system32\cmd.exe`}

// settle applies what the clock says happened since the last change:
// init processes whose commands have ended by now have exited.
func (s *state) settle(now time.Time) {
	ix := s.index()
	if len(ix.timed) == 0 || now.Before(ix.nextExit) {
		return
	}
	ix.nextExit = time.Time{}
	for _, r := range ix.timed {
		if !now.Before(r.ExitAt) {
			s.exit(r, r.ExitAt, r.ExitWith)
		} else if ix.nextExit.IsZero() || r.ExitAt.Before(ix.nextExit) {
			ix.nextExit = r.ExitAt
		}
	}
}

// exit ends the init process of r at at with code.
func (s *state) exit(r *record, at time.Time, code int) {
	s.index().noteRun(r.Config.ID)
	delete(s.index().timed, r.Config.ID)
	s.touch(r.Config.ID)
	r.exit(at, code)
}

func (r *record) exit(at time.Time, code int) {
	r.State = driver.StateExited
	r.ExitCode = code
	r.FinishedAt = at
	r.InitPID = 0
	r.UtilityVM = nil
	r.ExitAt = time.Time{}
	r.ExitWith = 0
}

func (r *record) container() driver.Container {
	c := driver.Container{
		ID:           r.Config.ID,
		Name:         r.Config.Name,
		Owner:        r.Config.Owner,
		Hash:         r.Config.Hash,
		Isolation:    r.Config.Isolation,
		Image:        r.Config.Image,
		ImageDigest:  r.Config.ImageDigest,
		State:        r.State,
		ExitCode:     r.ExitCode,
		CreatedAt:    r.CreatedAt,
		StartedAt:    r.StartedAt,
		FinishedAt:   r.FinishedAt,
		InitPID:      r.InitPID,
		RestartCount: r.Restarts,
		KeepOnPrune:  r.Config.KeepOnPrune,
	}
	if r.UtilityVM != nil {
		uvm := *r.UtilityVM
		c.UtilityVM = &uvm
	}
	return c
}

// containers returns the containers of owner ("" for every owner), by name
// then id.
func (s *state) containers(owner string) []driver.Container {
	var cs []driver.Container
	for _, r := range s.Containers {
		if owner == "" || r.Config.Owner == owner {
			cs = append(cs, r.container())
		}
	}
	slices.SortFunc(cs, func(a, b driver.Container) int {
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return cs
}

// lookup finds container id as a client of owner sees it: a container of
// another owner is not there ("" sees every owner).
func (s *state) lookup(op, owner, id string) (*record, error) {
	r, ok := s.Containers[id]
	if !ok || (owner != "" && r.Config.Owner != owner) {
		return nil, hcsError(op, id, hresult.SystemNotFound, driver.ErrNotFound,
			"A virtual machine or container with the specified identifier does not exist.")
	}
	s.touch(id)
	return r, nil
}

// resolve finds a container by id, or else by name, whatever its owner:
// drills name containers the way an operator does.
func (s *state) resolve(ref string) (*record, error) {
	if r, ok := s.Containers[ref]; ok {
		s.touch(ref)
		return r, nil
	}
	var found []*record
	for _, r := range s.Containers {
		if r.Config.Name == ref {
			found = append(found, r)
		}
	}
	switch len(found) {
	case 0:
		return nil, fmt.Errorf("container %q: %w", ref, driver.ErrNotFound)
	case 1:
		s.touch(found[0].Config.ID)
		return found[0], nil
	}
	ids := make([]string, len(found))
	for i, r := range found {
		ids[i] = r.Config.ID
	}
	slices.Sort(ids)
	return nil, fmt.Errorf("container name %q is ambiguous, use an id: %s", ref, strings.Join(ids, ", "))
}

func imageKey(ref string) string { return strings.ToLower(strings.TrimSpace(ref)) }

// image returns what the host knows of ref, which its catalog and messages
// name name.
func (s *state) image(name string, ref imageref.Ref) (driver.Image, error) {
	info := s.Images[imageKey(name)]
	if info.Missing {
		return driver.Image{}, driver.MissingImage(hcsError("GetImage", name, hresult.FileNotFound, driver.ErrNotFound,
			"The system cannot find the file specified."), name)
	}
	if p := s.pulled(ref); p != nil && !info.OSVersion.Known() {
		img := p.image(ref)
		if info.Healthcheck != nil {
			img.Healthcheck = info.Healthcheck
		}
		return img, nil
	}
	img := driver.Image{Ref: ref, OSVersion: info.OSVersion, Command: slices.Clone(defaultCommand), Healthcheck: info.Healthcheck}
	if !img.OSVersion.Known() && !s.pulledOnly() {
		if b := ref.Build(); b != 0 {
			img.OSVersion = driver.OSVersion{Major: 10, Minor: 0, Build: b}
		}
	}
	if !img.OSVersion.Known() {
		// A Windows host knows the build of every image it has (from
		// its config); one whose tag names none was never pulled here.
		return driver.Image{}, driver.MissingImage(hcsError("GetImage", name, hresult.FileNotFound, driver.ErrNotFound,
			"The system cannot find the file specified."), name)
	}
	return img, nil
}

// pathKey normalises a Windows host path or pipe name for comparison:
// backslashes, no long-path prefix, no trailing separator, lower case.
func pathKey(p string) string {
	p = strings.ReplaceAll(p, "/", `\`)
	p = strings.TrimPrefix(p, `\\?\`)
	p = strings.TrimRight(p, `\`)
	return strings.ToLower(p)
}

func (s *state) pathMissing(p string) bool {
	k := pathKey(p)
	for _, m := range s.MissingPaths {
		if k == m || strings.HasPrefix(k, m+`\`) {
			return true
		}
	}
	return false
}

// portHolder returns who holds host port p: a container other than self,
// or the host itself ("host"); "" when it is free.
func (s *state) portHolder(p PortKey, self string) string {
	if slices.Contains(s.ReservedPorts, p) {
		return "host"
	}
	for _, id := range s.index().ports[p] {
		if id != self {
			return id
		}
	}
	return ""
}

// create checks cfg against the host's rules as HCS (and HNS, for port
// mappings) would, and adds the container in the created state.
//
// Ports are taken at create and released at remove: the hcs driver creates
// the container's HNS endpoint, with its port mappings, before it creates
// the compute system and deletes it after removing it, so a port conflict
// shows at Create on both drivers.
func (s *state) create(cfg driver.Config, now time.Time) error {
	const op = "CreateComputeSystem"
	if cfg.ID == "" {
		return hcsError(op, cfg.ID, hresult.NotSupported, driver.ErrNotSupported, "container id must not be empty")
	}
	if _, ok := s.Containers[cfg.ID]; ok {
		return hcsError(op, cfg.ID, hresult.SystemAlreadyExists, driver.ErrAlreadyExists,
			"A virtual machine or container with the specified identifier already exists.")
	}
	img, pulled, err := s.configImage(cfg)
	if err != nil {
		return fmt.Errorf("create %s: image %s: %w", cfg.ID, cfg.Image, err)
	}
	host := s.Host.OSVersion
	switch cfg.Isolation {
	case driver.Process:
		if img.OSVersion.Known() && !winbuild.ProcessCompatible(host, img.OSVersion) {
			return hcsError(op, cfg.ID, hresult.OSMismatch, driver.ErrVersionMismatch,
				"The container operating system does not match the host operating system. (image %s, host %s, process isolation)",
				img.OSVersion, host)
		}
	case driver.HyperV:
		if img.OSVersion.Known() && !winbuild.HyperVCompatible(host, img.OSVersion) {
			return hcsError(op, cfg.ID, hresult.OSMismatch, driver.ErrVersionMismatch,
				"The container operating system does not match the host operating system. (image %s is newer than host %s, hyperv isolation)",
				img.OSVersion, host)
		}
		if len(cfg.Devices) > 0 {
			return hcsError(op, cfg.ID, hresult.NotSupported, driver.ErrNotSupported,
				"device assignment is not supported for Hyper-V isolated containers")
		}
		if cfg.NetworkSharedWith != "" {
			return hcsError(op, cfg.ID, hresult.NotSupported, driver.ErrNotSupported,
				"sharing a network namespace is not supported for Hyper-V isolated containers")
		}
	default:
		return hcsError(op, cfg.ID, hresult.NotSupported, driver.ErrNotSupported, "unknown isolation %q", cfg.Isolation)
	}
	if err := s.checkSharedNetwork(op, cfg); err != nil {
		return err
	}
	if len(cfg.DNS) > 0 && (cfg.Network == "none" || cfg.NetworkSharedWith != "") {
		// DNS servers are set on an HNS endpoint, and the container has
		// none of its own.
		return hcsError(op, cfg.ID, hresult.InvalidArg, driver.ErrInvalidConfig,
			"The parameter is incorrect. (DNS servers without a network endpoint of the container's own)")
	}
	for _, a := range cfg.DNS {
		if !a.IsValid() || a.IsUnspecified() {
			return hcsError("CreateEndpoint", cfg.ID, hresult.InvalidArg, driver.ErrInvalidConfig, "The parameter is incorrect. (DNS server %q)", a)
		}
	}
	for _, m := range cfg.Mounts {
		if !s.Host.UNCMounts && (m.HostPath.IsUNC() || m.ResolvedPath.IsUNC()) {
			// HCS maps folders on local drives only.
			return hcsError(op, cfg.ID, hresult.NotSupported, driver.ErrNotSupported,
				"The request is not supported. (mapped folder %s is not on a local drive)", m.HostPath)
		}
		if s.pathMissing(m.HostPath.String()) {
			return driver.MissingFolder(hcsError(op, cfg.ID, hresult.PathNotFound, driver.ErrHostPathNotFound,
				"The system cannot find the path specified."), m.HostPath.String())
		}
	}
	for _, p := range cfg.Pipes {
		if s.pathMissing(p.HostPipe.String()) {
			return driver.MissingPipe(hcsError(op, cfg.ID, hresult.PathNotFound, driver.ErrHostPathNotFound,
				"The system cannot find the path specified."), p.HostPipe.String())
		}
	}
	for _, p := range cfg.Ports {
		k := portKey(p.HostPort, p.Protocol)
		if holder := s.portHolder(k, cfg.ID); holder != "" {
			return hcsError("CreateEndpoint", cfg.ID, hresult.PortAlreadyExists, driver.ErrPortInUse,
				"The specified port already exists. (host port %s held by %s)", k, holder)
		}
	}
	cmd := cfg.Command
	if len(cmd) == 0 {
		cmd = img.Command
	}
	if pulled != nil {
		pulled.LastUsed = now
	}
	s.put(cfg.ID, &record{
		Config:    cloneConfig(cfg),
		Command:   slices.Clone(cmd),
		State:     driver.StateCreated,
		CreatedAt: now,
	})
	return nil
}

// checkSharedNetwork checks that the container whose network namespace cfg
// joins is there and running.
func (s *state) checkSharedNetwork(op string, cfg driver.Config) error {
	if cfg.NetworkSharedWith == "" {
		return nil
	}
	r, ok := s.Containers[cfg.NetworkSharedWith]
	if !ok {
		return hcsError(op, cfg.ID, hresult.SystemNotFound, driver.ErrNotFound,
			"network namespace of container %s: A virtual machine or container with the specified identifier does not exist.",
			cfg.NetworkSharedWith)
	}
	if r.State != driver.StateRunning {
		return hcsError(op, cfg.ID, hresult.InvalidState, driver.ErrInvalidState,
			"network namespace of container %s: the container is %s, not running", cfg.NetworkSharedWith, r.State)
	}
	return nil
}

// start starts a created or exited container: a new init process (or, for
// Hyper-V, a new utility VM), its exit code cleared.
func (s *state) start(owner, id string, now time.Time) error {
	const op = "StartComputeSystem"
	r, err := s.lookup(op, owner, id)
	if err != nil {
		return err
	}
	if r.State == driver.StateRunning {
		return hcsError(op, id, hresult.InvalidState, driver.ErrInvalidState,
			"The requested operation for attach namespace failed. (container is already running)")
	}
	if err := s.checkSharedNetwork(op, r.Config); err != nil {
		return err
	}
	if r.Config.Isolation == driver.HyperV && s.Host.HyperV == driver.Unavailable {
		// HCS creates a Hyper-V container on a host without Hyper-V and
		// refuses to start it.
		return hcsError(op, id, hresult.FeatureMissing, driver.ErrNotSupported,
			"The virtual machine could not be started because a required feature is not installed.")
	}
	if !r.StartedAt.IsZero() {
		r.Restarts++
	}
	s.index().noteRun(id)
	r.State = driver.StateRunning
	r.ExitCode = 0
	r.StartedAt = now
	r.FinishedAt = time.Time{}
	r.ExitAt, r.ExitWith = time.Time{}, 0
	if b := behaviourOf(r.Command); b.exits {
		r.ExitAt, r.ExitWith = now.Add(b.after), b.code
		s.index().schedule(id, r)
	}
	if r.Config.Isolation == driver.HyperV {
		r.UtilityVM = &driver.UtilityVM{ID: newGUID(), PID: s.allocPID()}
	} else {
		r.InitPID = s.allocPID()
	}
	s.settle(now) // `cmd /c exit N` is over as soon as it started
	return nil
}

func (s *state) allocPID() int {
	if s.NextPID < firstPID {
		s.NextPID = firstPID
	}
	pid := s.NextPID
	s.NextPID += pidStep
	return pid
}

// stop shuts a running container down; the sim's init processes always
// honour a graceful shutdown, and exit with code 0. Stopping a container
// that is not running changes nothing.
func (s *state) stop(owner, id string, now time.Time) error {
	r, err := s.lookup("ShutdownComputeSystem", owner, id)
	if err != nil {
		return err
	}
	if r.State == driver.StateRunning {
		s.exit(r, now, 0)
	}
	return nil
}

func (s *state) remove(owner, id string) error {
	const op = "TerminateComputeSystem"
	r, err := s.lookup(op, owner, id)
	if err != nil {
		return err
	}
	if r.State == driver.StateRunning {
		return hcsError(op, id, hresult.InvalidState, driver.ErrInvalidState,
			"A virtual machine or container cannot be removed while it is running.")
	}
	s.drop(id)
	return nil
}

func (s *state) kill(ref string, code int, now time.Time) error {
	r, err := s.resolve(ref)
	if err != nil {
		return err
	}
	if r.State != driver.StateRunning {
		return fmt.Errorf("kill %s: container is %s: %w", ref, r.State, driver.ErrInvalidState)
	}
	s.exit(r, now, code)
	return nil
}

func (s *state) forceRemove(ref string) error {
	r, err := s.resolve(ref)
	if err != nil {
		return err
	}
	s.drop(r.Config.ID)
	return nil
}

// takeFault uses up one call of the first fault injected for op.
func (s *state) takeFault(op driver.Op) (Fault, bool) {
	for i := range s.Faults {
		f := &s.Faults[i]
		if f.Op != op || f.Count <= 0 {
			continue
		}
		f.Count--
		taken := *f
		if f.Count == 0 {
			s.Faults = slices.Delete(s.Faults, i, i+1)
		}
		return taken, true
	}
	return Fault{}, false
}

func (s *state) hasFault(op driver.Op) bool {
	return slices.ContainsFunc(s.Faults, func(f Fault) bool { return f.Op == op && f.Count > 0 })
}

// cloneConfig deep-copies cfg so that the caller's slices and maps are not
// shared with the store's state. Its parts are values (strings, paths,
// addresses) but for these slices and maps; empty ones become nil, as a
// trip through the state file makes them.
func cloneConfig(cfg driver.Config) driver.Config {
	c := cfg
	c.Command = cloneSlice(cfg.Command)
	c.Env = cloneMap(cfg.Env)
	c.Labels = cloneMap(cfg.Labels)
	c.Mounts = cloneSlice(cfg.Mounts)
	c.Pipes = cloneSlice(cfg.Pipes)
	c.Ports = cloneSlice(cfg.Ports)
	c.DNSSearch = cloneSlice(cfg.DNSSearch)
	c.Devices = cloneSlice(cfg.Devices)
	c.DNS = cloneSlice(cfg.DNS)
	c.SecretEnv = cloneSlice(cfg.SecretEnv)
	c.SecretMounts = cloneSlice(cfg.SecretMounts)
	return c
}

func cloneSlice[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return slices.Clone(s)
}

func cloneMap[K comparable, V any](m map[K]V) map[K]V {
	if len(m) == 0 {
		return nil
	}
	return maps.Clone(m)
}

// newGUID returns a random GUID in the form HCS prints runtime ids.
func newGUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
