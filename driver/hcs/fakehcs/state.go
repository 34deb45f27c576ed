//go:build windows && cgo

package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/internal/jsonstore"
)

// fstate is what the fake HCS knows beyond the sim model: the HCS view of
// each compute system (HCS starts a system and its init process in two
// steps, and keeps a stopped system until its last handle closes), the
// storage filter's layer table and HNS's networks and endpoints. It lives
// in fakehcs.json beside the sim's state.json, so every process using the
// state folder sees the same host.
type fstate struct {
	Systems   map[string]*fsys      `json:"systems,omitempty"`
	Layers    map[string]*flayer    `json:"layers,omitempty"`
	Endpoints map[string]*fendpoint `json:"endpoints,omitempty"`
	// Network is the ID of HNS's "nat" network. A reboot gives it a new
	// one: Windows Server 2019 does not keep NAT networks across reboots
	// (moby#38358), and dockerd makes the network again.
	Network string `json:"network,omitempty"`
	// Boot counts the host's reboots; a handle from an earlier boot is
	// invalid.
	Boot int `json:"boot,omitempty"`
	// NoHyperV says the host cannot run Hyper-V isolated containers (the
	// role is not installed, or the VM has no nested virtualisation).
	NoHyperV bool `json:"noHyperV,omitempty"`
	// HNSVersion is the version HNS reports, the one a drill set; nil for
	// defaultHNSVersion.
	HNSVersion *fversion `json:"hnsVersion,omitempty"`
	// Faults are failures the drills armed, taken by the calls they name.
	Faults []ffault `json:"faults,omitempty"`
	// Serial numbers the endpoints HNS makes, so that an ID is never
	// given twice.
	Serial int `json:"serial,omitempty"`
}

// fversion is an HNS version (hcn.Version).
type fversion struct {
	Major int `json:"Major"`
	Minor int `json:"Minor"`
}

// defaultHNSVersion is the version the fake's HNS reports unless a drill
// says otherwise: one that speaks HCN v2, as every HNS from build 17763 on
// does.
var defaultHNSVersion = fversion{Major: 13, Minor: 2}

func (st *fstate) hnsVersion() fversion {
	if st.HNSVersion != nil {
		return *st.HNSVersion
	}
	return defaultHNSVersion
}

// newEndpointID returns the ID of a new endpoint.
func (st *fstate) newEndpointID() string {
	st.Serial++
	return nameGUID(fmt.Sprintf("endpoint %d", st.Serial))
}

// ffault makes the next Count calls of Call fail with HRESULT Code.
type ffault struct {
	Call  string `json:"call"`
	Code  uint32 `json:"code"`
	Count int    `json:"count"`
}

// fault uses up one call of the first fault armed for call and returns
// its error, or nil when none is armed. It saves the state on its own: a
// call that fails with the fault saves nothing.
func (h *host) fault(call string) *hcsErr {
	var f *hcsErr
	h.update(func(st *fstate) error {
		f = st.takeFault(call)
		return nil
	})
	return f
}

// takeFault uses up one call of the first fault armed for call and
// returns its error, or nil when none is armed.
func (st *fstate) takeFault(call string) *hcsErr {
	for i := range st.Faults {
		f := &st.Faults[i]
		if f.Call != call || f.Count <= 0 {
			continue
		}
		f.Count--
		code := f.Code
		if f.Count == 0 {
			st.Faults = append(st.Faults[:i], st.Faults[i+1:]...)
		}
		return &hcsErr{code: code, msg: faultMessage(code)}
	}
	return nil
}

type fsys struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	HostName    string `json:"hostName,omitempty"`
	Owner       string `json:"owner"`
	HvPartition bool   `json:"hvPartition"`
	// State is HCS's: Created, Running or Stopped.
	State string `json:"state"`
	// Handles counts the open handles of each process (by PID); a
	// process's handles close when it exits, and a stopped system goes
	// away when the last one closes.
	Handles map[string]int `json:"handles"`
	// Proc is the init process, once created.
	Proc *fproc `json:"proc,omitempty"`
	// Endpoints are the EndpointList the system was created with; Layers
	// its read-only layer folders, topmost first; Mapped the container
	// paths of its mapped folders.
	Endpoints []string `json:"endpoints,omitempty"`
	Layers    []string `json:"layers,omitempty"`
	Mapped    []string `json:"mapped,omitempty"`
}

type fproc struct {
	PID int `json:"pid"`
	// StartedAt is the sim's start time of the run this process is; a
	// later start of the container is another process.
	StartedAt time.Time `json:"startedAt"`
}

// open counts a handle of this process on s.
func (s *fsys) open() {
	if s.Handles == nil {
		s.Handles = map[string]int{}
	}
	s.Handles[strconv.Itoa(os.Getpid())]++
}

// close counts a handle of this process on s as closed.
func (s *fsys) close() {
	k := strconv.Itoa(os.Getpid())
	if s.Handles[k]--; s.Handles[k] <= 0 {
		delete(s.Handles, k)
	}
}

// held reports whether a live process holds a handle on s; the handles
// of a process that has exited are forgotten.
func (s *fsys) held() bool {
	for pid := range s.Handles {
		if n, err := strconv.Atoi(pid); err != nil || !alive(uint32(n)) {
			delete(s.Handles, pid)
		}
	}
	return len(s.Handles) > 0
}

// alive reports whether process pid runs.
func alive(pid uint32) bool {
	if pid == uint32(os.Getpid()) {
		return true
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	var code uint32
	return windows.GetExitCodeProcess(h, &code) == nil && code == 259 // STILL_ACTIVE
}

// forget drops the stopped systems no live process holds a handle on, as
// HCS forgets them, and the sim's containers with them.
func (h *host) forget(st *fstate) error {
	for id, s := range st.Systems {
		if s.State == "Stopped" && !s.held() {
			delete(st.Systems, id)
			if err := h.model.Remove("", id); err != nil && !errors.Is(err, driver.ErrNotFound) {
				return err
			}
		}
	}
	return nil
}

// flayer is a layer folder the storage filter knows.
type flayer struct {
	Path      string `json:"path"`
	Activated bool   `json:"activated,omitempty"`
	Prepared  bool   `json:"prepared,omitempty"`
	// Size is the scratch disk's size in bytes.
	Size uint64 `json:"size,omitempty"`
}

type fendpoint struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Network  string          `json:"network"`
	Policies json.RawMessage `json:"policies,omitempty"`
	Ports    []fport         `json:"ports,omitempty"`
	// V1 reports that HNS's v1 API made it; InternalDNS is its
	// EnableInternalDNS.
	V1          bool `json:"v1,omitempty"`
	InternalDNS bool `json:"internalDNS,omitempty"`
	// DNSServers is the adapter's DNS server list, as given.
	DNSServers string `json:"dnsServers,omitempty"`
}

type fport struct {
	Protocol uint32 `json:"protocol"`
	External uint16 `json:"external"`
}

// natNetworkID is the ID of the one HNS network the fake has, named "nat"
// as Docker's default network is, until the first reboot.
const natNetworkID = "B1F5F0C6-2B52-4C9A-9B48-7C4C6B1B1A01"

// defaultScratchSize is the size of a new scratch disk: 20 GB, as
// CreateSandboxLayer makes it.
const defaultScratchSize = 20 << 30

// host is one state folder: the sim model and the fake's own state.
type host struct {
	dir   string
	model *sim.Model
	state *jsonstore.Store[fstate]
}

var (
	hostsMu  sync.Mutex
	hosts    = map[string]*host{}
	recordMu sync.Mutex // orders this process's appends to requests.jsonl
)

// stateDirEnv names the environment variable that holds the state folder.
const stateDirEnv = "FAKEHCS_STATE"

// currentHost returns the host of the state folder the environment names
// now; the tests switch folders between hosts.
func currentHost() (*host, error) {
	dir := os.Getenv(stateDirEnv)
	if dir == "" {
		return nil, fmt.Errorf("fake HCS: %s is not set", stateDirEnv)
	}
	return hostOf(dir)
}

func hostOf(dir string) (*host, error) {
	hostsMu.Lock()
	defer hostsMu.Unlock()
	if h := hosts[dir]; h != nil {
		return h, nil
	}
	store, err := sim.DirStore(dir)
	if err != nil {
		return nil, err
	}
	state, err := openState(dir)
	if err != nil {
		return nil, err
	}
	h := &host{dir: dir, model: sim.NewModel(store, nil), state: state}
	hosts[dir] = h
	return h, nil
}

// openState returns the store of the fake's state in folder dir:
// fakehcs.json, under the lock fakehcs.lock, which every process using the
// folder takes.
func openState(dir string) (*jsonstore.Store[fstate], error) {
	return jsonstore.Open[fstate](dir, "fakehcs.json", jsonstore.Options{Lock: "fakehcs.lock", Indent: true, Perm: 0o644})
}

// update runs fn on the fake's state with the folder locked and saves it
// unless fn fails.
func (h *host) update(fn func(*fstate) error) error {
	return h.state.Update(func(st *fstate) error { st.defaults(); return fn(st) })
}

func (h *host) view(fn func(*fstate) error) error {
	return h.state.View(func(st *fstate) error { st.defaults(); return fn(st) })
}

// defaults fills in what a new state folder has: no systems, layers or
// endpoints, and the nat network.
func (st *fstate) defaults() {
	if st.Systems == nil {
		st.Systems = map[string]*fsys{}
	}
	if st.Layers == nil {
		st.Layers = map[string]*flayer{}
	}
	if st.Endpoints == nil {
		st.Endpoints = map[string]*fendpoint{}
	}
	if st.Network == "" {
		st.Network = natNetworkID
	}
}

// record appends a document the fake received to requests.jsonl, for the
// tests' golden files.
func (h *host) record(call, id, doc string) {
	entry := map[string]any{"call": call}
	if id != "" {
		entry["id"] = id
	}
	if json.Valid([]byte(doc)) {
		entry["document"] = json.RawMessage(doc)
	} else if doc != "" {
		entry["document"] = doc
	}
	b, err := json.Marshal(entry)
	if err != nil {
		return
	}
	recordMu.Lock()
	defer recordMu.Unlock()
	f, err := os.OpenFile(filepath.Join(h.dir, "requests.jsonl"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	f.Write(append(b, '\n'))
}
