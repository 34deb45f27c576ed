//go:build windows && cgo

// Command fakehcs is a stand-in for the Host Compute Service on machines
// without one (Linux CI under Wine): built as a c-shared library named
// vmcompute.dll, it exports the procedures hcsshim calls, and a forwarding
// computenetwork.dll (computenetwork.def) sends HNS's Hcn* calls to it too.
// The containers themselves are driver/sim's model, kept in the state
// folder named by FAKEHCS_STATE, so the fake follows the sim's rules (image
// versions, errors, PIDs, exits derived from the command and the clock) and
// any number of processes see one host.
//
// It behaves as HCS does where hcsshim can tell: create and start complete
// with HCS_E_OPERATION_PENDING and a callback (or synchronously when
// FAKEHCS_SYNC=1), shutdown and terminate are pending and end in the
// "system exited" notification, an exited init process raises "process
// exited", a stopped system stays until its last handle closes, errors are
// HRESULTs with an HCS result document, and out-strings come from
// CoTaskMemAlloc. Every JSON document it receives is appended to
// requests.jsonl in the state folder, for the tests' golden files.
//
// It is as unkind as HCS, since a fake is only as good as what it refuses:
// documents are decoded strictly (an unknown field is invalid JSON);
// CreateComputeSystem wants layer folders that exist, a UtilityVM folder
// of one of them for Hyper-V, local folders (not UNC paths, not files) to
// map, at most the host's processors and, for process isolation, one
// processor limit; the endpoints of a system must still exist when it
// starts; Shutdown of a system that never started is an invalid state, and
// a graceful shutdown ends the init process with STATUS_CONTROL_C_EXIT;
// an exited process cannot be opened again; CreateProcess wants its
// program and working folder in the image's layers or a mapped folder,
// and cmd or PowerShell without a stdin exit at once; the storage filter
// refuses to unprepare or deactivate a layer it does not hold; ImportLayer
// (import.go) wants absolute paths, parents that exist and a staging
// folder in the transport format; a host port
// held by another endpoint, or by a process listening on it, cannot be
// mapped. HNS is there twice, as HCN (computenetwork.dll) and as the v1
// HNSCall. Drills (drill.go) act out what happens behind the agent's back:
// a reboot, dockerd starting, an HNS restart, a host without Hyper-V, and
// failures of single calls.
//
// Build: CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc GOOS=windows go build
// -buildmode=c-shared -o vmcompute.dll ./driver/hcs/fakehcs (scripts/hcs-test
// does this and builds computenetwork.dll).
package main

/*
#include <stdint.h>
typedef uintptr_t (*hcs_callback)(uint32_t type, uintptr_t context, int32_t status, const uint16_t *data);
static void call_callback(uintptr_t fn, uint32_t type, uintptr_t context, int32_t status) {
	((hcs_callback)fn)(type, context, status, 0);
}
*/
import "C"

import (
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/hresult"
	"github.com/isoagent/isoagent/winpath"
)

func main() {}

// HRESULTs, by the names the fake has long used for them; the values are
// the one table's (package hresult).
const (
	sOK                 = hresult.OK
	eOSMismatch         = hresult.OSMismatch     // at create, and at start
	eFeatureMissing     = hresult.FeatureMissing // Hyper-V is not there
	ePending            = hresult.Pending
	eInvalidState       = hresult.InvalidState
	eUnexpectedExit     = hresult.UnexpectedExit
	eInvalidJSON        = hresult.InvalidJSON
	eNotExist           = hresult.SystemNotFound
	eAlreadyExists      = hresult.SystemAlreadyExists
	eAlreadyStopped     = hresult.SystemAlreadyStopped
	eProcessStopped     = hresult.ProcessAlreadyStopped
	eElementNotFound    = hresult.ElementNotFound
	ePortExists         = hresult.PortAlreadyExists
	eInvalidArg         = hresult.InvalidArg
	eFail               = hresult.Fail
	eFileNotFound       = hresult.FileNotFound
	ePathNotFound       = hresult.PathNotFound
	eInvalidHandle      = hresult.InvalidHandle
	eNotReady           = hresult.NotReady // RS5's storage filter
	eSharingViolation   = hresult.SharingViolation
	eNotSupported       = hresult.NotSupported
	eDirectory          = hresult.Directory
	eDeviceNotConnected = hresult.DeviceNotConnected // RS5's storage filter
)

// Exit codes Windows gives a container's processes.
const (
	// exitShutdown is what a process ends with when a graceful shutdown
	// of its container ends it: STATUS_CONTROL_C_EXIT, 3221225786 as
	// Docker reports it.
	exitShutdown = 0xC000013A
	// exitTerminated is what a terminated container's processes end with.
	exitTerminated = 1
)

// Notifications (hcsshim internal/hcs/callback.go).
const (
	notifySystemExited          = 0x00000001
	notifySystemCreateCompleted = 0x00000002
	notifySystemStartCompleted  = 0x00000003
	notifyProcessExited         = 0x00010000
)

// hcsErr is a failed call: its HRESULT and the message HCS puts in the
// result document.
type hcsErr struct {
	code uint32
	msg  string
}

func (e *hcsErr) Error() string { return fmt.Sprintf("0x%08x: %s", e.code, e.msg) }

func fail(code uint32, format string, args ...any) error {
	return &hcsErr{code: code, msg: fmt.Sprintf(format, args...)}
}

// codeOf is the HRESULT for err: the sim's HCS code, or a code for the
// driver error class it belongs to.
func codeOf(err error) (uint32, string) {
	var he *hcsErr
	if errors.As(err, &he) {
		return he.code, he.msg
	}
	var se *sim.HCSError
	if errors.As(err, &se) {
		return uint32(se.Code), se.Message
	}
	switch {
	case errors.Is(err, driver.ErrNotFound):
		return eNotExist, err.Error()
	case errors.Is(err, driver.ErrInvalidState):
		return eInvalidState, err.Error()
	}
	return eFail, err.Error()
}

// result finishes a call: it writes the HCS result document for a failure
// into *result (when the caller passed one) and returns the HRESULT.
func result(err error, res **uint16) uintptr {
	if err == nil {
		return sOK
	}
	code, msg := codeOf(err)
	if code == ePending {
		return uintptr(code)
	}
	if res != nil {
		doc, _ := json.Marshal(map[string]any{
			"Error":        int32(code),
			"ErrorMessage": msg,
			"ErrorEvents":  []map[string]any{{"Message": msg, "Source": "fakehcs"}},
		})
		*res = coTaskString(string(doc))
	}
	return uintptr(code)
}

var (
	ole32              = windows.NewLazySystemDLL("ole32.dll")
	procCoTaskMemAlloc = ole32.NewProc("CoTaskMemAlloc")
)

// coTaskString returns s as a NUL-terminated UTF-16 string in memory from
// CoTaskMemAlloc, which hcsshim frees with CoTaskMemFree.
func coTaskString(s string) *uint16 {
	u, err := windows.UTF16FromString(s)
	if err != nil {
		u, _ = windows.UTF16FromString(strings.ReplaceAll(s, "\x00", ""))
	}
	p, _, _ := procCoTaskMemAlloc.Call(uintptr(len(u) * 2))
	if p == 0 {
		return nil
	}
	copy(unsafe.Slice((*uint16)(unsafe.Pointer(p)), len(u)), u)
	return (*uint16)(unsafe.Pointer(p))
}

func str(p *uint16) string { return windows.UTF16PtrToString(p) }

// pending reports whether operations complete asynchronously (the
// default, as HCS mostly does) rather than at once.
func pending() bool { return os.Getenv("FAKEHCS_SYNC") != "1" }

// Handles. A handle belongs to this process; the state behind it is the
// state folder's.
type sysHandle struct {
	h  *host
	id string

	mu       sync.Mutex
	callback uintptr
	context  uintptr
	queued   []notification // completions raised before a callback was registered
	exited   bool           // "system exited" delivered
	boot     int            // the host's boot the handle was opened in
}

type procHandle struct {
	h         *host
	id        string
	pid       int
	startedAt time.Time
	exec      *execProc // nil for the init process

	mu       sync.Mutex
	callback uintptr
	context  uintptr
	exited   bool
}

var (
	handlesMu  sync.Mutex
	nextHandle uintptr = 0x1000
	systems            = map[uintptr]*sysHandle{}
	processes          = map[uintptr]*procHandle{}
	callbacks          = map[uintptr]uintptr{} // callback handle -> system or process handle
	pollOnce   sync.Once
)

func newHandle() uintptr {
	nextHandle += 4
	return nextHandle
}

func sysOf(h uintptr) (*sysHandle, error) {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	s := systems[h]
	if s == nil {
		return nil, fail(eInvalidHandle, "invalid compute system handle")
	}
	return s, nil
}

func procOf(h uintptr) (*procHandle, error) {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	p := processes[h]
	if p == nil {
		return nil, fail(eInvalidHandle, "invalid process handle")
	}
	return p, nil
}

// notify calls a registered callback on its own goroutine, as HCS calls
// back on its own threads; status is the HRESULT the notification
// carries.
func notify(callback, context uintptr, n notification) {
	go C.call_callback(C.uintptr_t(callback), C.uint32_t(n.typ), C.uintptr_t(context), C.int32_t(int32(n.status)))
}

// notification is a notification and its status.
type notification struct {
	typ    uint32
	status uint32
}

// complete raises the completion of an asynchronous operation on s: now
// when a callback is registered, else when one is.
func (s *sysHandle) complete(typ, status uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := notification{typ, status}
	if typ == notifySystemExited {
		s.exited = true
	}
	if s.callback == 0 {
		s.queued = append(s.queued, n)
		return
	}
	notify(s.callback, s.context, n)
}

// poll watches, for as long as the process lives, the systems and
// processes that have callbacks, and raises "system exited" and "process
// exited" when the state folder says so. Polling lets a change made by
// another process (or derived from the clock) reach this one.
func poll() {
	for range time.Tick(20 * time.Millisecond) {
		handlesMu.Lock()
		var ss []*sysHandle
		var ps []*procHandle
		for _, s := range systems {
			ss = append(ss, s)
		}
		for _, p := range processes {
			ps = append(ps, p)
		}
		handlesMu.Unlock()
		for _, s := range ss {
			s.mu.Lock()
			watch := s.callback != 0 && !s.exited
			s.mu.Unlock()
			if watch && systemStopped(s.h, s.id) {
				s.mu.Lock()
				if s.callback != 0 && !s.exited {
					s.exited = true
					notify(s.callback, s.context, notification{typ: notifySystemExited})
				}
				s.mu.Unlock()
			}
		}
		for _, p := range ps {
			p.mu.Lock()
			watch := p.callback != 0 && !p.exited
			p.mu.Unlock()
			if !watch {
				continue
			}
			if exited, _ := p.status(); exited {
				p.mu.Lock()
				if p.callback != 0 && !p.exited {
					p.exited = true
					notify(p.callback, p.context, notification{typ: notifyProcessExited})
				}
				p.mu.Unlock()
			}
		}
	}
}

func systemStopped(h *host, id string) bool {
	stopped := true
	h.view(func(st *fstate) error {
		if s := st.Systems[id]; s != nil && s.State != "Stopped" {
			stopped = false
		}
		return nil
	})
	return stopped
}

// simContainer returns the sim's view of container id.
func simContainer(h *host, id string) (driver.Container, bool) {
	cs, err := h.model.Containers("")
	if err != nil {
		return driver.Container{}, false
	}
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	return driver.Container{}, false
}

// processExited tells whether the init process pid of container id, from
// the run that started at startedAt, has exited, and its exit code.
func processExited(h *host, id string, pid int, startedAt time.Time) (bool, int) {
	c, ok := simContainer(h, id)
	if !ok || !c.StartedAt.Equal(startedAt) {
		return true, 1
	}
	if c.State != driver.StateRunning {
		return true, c.ExitCode
	}
	return false, 0
}

// status tells whether the process of p has exited, and its exit code.
func (p *procHandle) status() (bool, int) {
	if p.exec != nil {
		return p.exec.exited()
	}
	return processExited(p.h, p.id, p.pid, p.startedAt)
}

//export HcsEnumerateComputeSystems
func HcsEnumerateComputeSystems(query *uint16, systemsOut **uint16, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	var q struct {
		IDs    []string `json:"Ids"`
		Types  []string
		Names  []string
		Owners []string
	}
	if s := str(query); s != "" {
		if err := json.Unmarshal([]byte(s), &q); err != nil {
			return result(fail(eInvalidJSON, "query: %v", err), res)
		}
	}
	in := func(v string, set []string) bool {
		if len(set) == 0 {
			return true
		}
		for _, s := range set {
			if strings.EqualFold(s, v) {
				return true
			}
		}
		return false
	}
	list := []map[string]any{}
	err = h.update(func(st *fstate) error {
		if err := h.forget(st); err != nil {
			return err
		}
		for _, s := range st.Systems {
			if !in(s.ID, q.IDs) || !in("Container", q.Types) || !in(s.Name, q.Names) || !in(s.Owner, q.Owners) {
				continue
			}
			list = append(list, properties(h, s))
		}
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	b, _ := json.Marshal(list)
	*systemsOut = coTaskString(string(b))
	return sOK
}

// properties is the schema-v1 ContainerProperties of s.
func properties(h *host, s *fsys) map[string]any {
	p := map[string]any{
		"Id": s.ID, "Name": s.Name, "Owner": s.Owner, "SystemType": "Container",
		"RuntimeOsType": "windows", "State": s.State, "Stopped": s.State == "Stopped",
	}
	if c, ok := simContainer(h, s.ID); ok && c.UtilityVM != nil && s.State == "Running" {
		p["RuntimeId"] = c.UtilityVM.ID
	}
	if !s.HvPartition {
		p["SiloGuid"] = nameGUID("silo:" + s.ID)
	}
	return p
}

// v1Config is the schema-v1 ContainerConfig (hcsshim's schema1), every
// field HCS knows: the fake decodes documents strictly, as HCS refuses a
// field it does not know.
type v1Config struct {
	SystemType              string
	Name                    string
	Owner                   string
	VolumePath              string
	IgnoreFlushesDuringBoot bool
	LayerFolderPath         string
	Layers                  []struct{ ID, Path string }
	Credentials             string
	ProcessorCount          uint32
	ProcessorWeight         uint64
	ProcessorMaximum        int64
	StorageIOPSMaximum      uint64
	StorageBandwidthMaximum uint64
	StorageSandboxSize      uint64
	MemoryMaximumInMB       int64
	HostName                string
	MappedDirectories       []struct {
		HostPath, ContainerPath          string
		ReadOnly                         bool
		BandwidthMaximum, IOPSMaximum    uint64
		CreateInUtilityVM, LinuxMetadata bool
	}
	MappedPipes []struct{ HostPath, ContainerPipeName string }
	HvPartition bool
	HvRuntime   *struct {
		ImagePath, LinuxInitrdFile, LinuxKernelFile, LinuxBootParameters, BootSource string
		SkipTemplate, WritableBootSource                                             bool
	}
	NetworkSharedContainerName  string
	EndpointList                []string
	Servicing                   bool
	AllowUnqualifiedDNSQuery    bool
	DNSSearchList               string
	ContainerType               string
	TerminateOnLastHandleClosed bool
	MappedVirtualDisks          []json.RawMessage
	AssignedDevices             []struct {
		InterfaceClassGUID string `json:"InterfaceClassGuid"`
	}
}

// decodeStrict decodes doc into v, refusing fields v does not have, as
// HCS's schema parser does.
func decodeStrict(doc string, v any) error {
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fail(eInvalidJSON, "The JSON document is invalid: %v", err)
	}
	return nil
}

// imageMarker is the file in an image's top layer folder that names the
// image for the fake (real HCS reads the base layer's registry hives): the
// sim's image catalog then gives its OS version.
const imageMarker = "fakehcs-image.txt"

// checkConfig applies the rules HCS applies to a document before it makes
// a compute system of it.
func checkConfig(c *v1Config) error {
	if c.SystemType != "Container" {
		return fail(eInvalidArg, "SystemType %q is not supported", c.SystemType)
	}
	if len(c.Layers) == 0 {
		return fail(eInvalidArg, "Layers is empty")
	}
	for _, l := range c.Layers {
		if fi, err := os.Stat(l.Path); err != nil || !fi.IsDir() {
			return fail(ePathNotFound, "The system cannot find the path specified. (layer %s)", l.Path)
		}
	}
	if c.HvPartition {
		if c.HvRuntime == nil || c.HvRuntime.ImagePath == "" {
			return fail(eInvalidArg, "HvRuntime.ImagePath is required for a Hyper-V container")
		}
		// The utility VM image is the UtilityVM folder of one of the
		// container's layers.
		ok := false
		for _, l := range c.Layers {
			if strings.EqualFold(filepath.Clean(c.HvRuntime.ImagePath), filepath.Join(l.Path, "UtilityVM")) {
				ok = true
			}
		}
		if fi, err := os.Stat(c.HvRuntime.ImagePath); !ok || err != nil || !fi.IsDir() {
			return fail(ePathNotFound, "The system cannot find the path specified. (utility VM image %s is not the UtilityVM folder of a layer)", c.HvRuntime.ImagePath)
		}
	} else {
		if c.VolumePath == "" || strings.HasSuffix(c.VolumePath, `\`) {
			return fail(eInvalidArg, "VolumePath %q must be a volume path without a trailing backslash", c.VolumePath)
		}
		// For Windows Server containers the processor controls are
		// mutually exclusive (moby's verifyPlatformContainerResources).
		set := 0
		for _, v := range []bool{c.ProcessorCount > 0, c.ProcessorWeight > 0, c.ProcessorMaximum > 0} {
			if v {
				set++
			}
		}
		if set > 1 {
			return fail(eInvalidArg, "The parameter is incorrect. (ProcessorCount, ProcessorWeight and ProcessorMaximum are mutually exclusive for process isolation)")
		}
	}
	if n := runtime.NumCPU(); c.ProcessorCount > uint32(n) {
		return fail(eInvalidArg, "The parameter is incorrect. (ProcessorCount %d is more than the host's %d processors)", c.ProcessorCount, n)
	}
	if c.ProcessorMaximum < 0 || c.ProcessorMaximum > 10000 || c.ProcessorWeight > 10000 {
		return fail(eInvalidArg, "The parameter is incorrect. (ProcessorMaximum and ProcessorWeight range from 1 to 10000)")
	}
	if c.Credentials != "" {
		// A credential spec is the JSON New-CredentialSpec writes: the
		// domain to join and the gMSA to act as.
		var cs struct {
			CmsPlugins       []string
			DomainJoinConfig *struct{ DnsName, NetBiosName string }
		}
		if err := json.Unmarshal([]byte(c.Credentials), &cs); err != nil || len(cs.CmsPlugins) == 0 || cs.DomainJoinConfig == nil {
			return fail(eInvalidArg, "The parameter is incorrect. (Credentials is not a credential spec)")
		}
	}
	for _, m := range c.MappedDirectories {
		switch {
		case strings.HasPrefix(m.HostPath, `\\`):
			// Mapped folders are local folders only (moby#27100).
			return fail(eNotSupported, "The request is not supported. (mapped folder %s is not on a local drive)", m.HostPath)
		case !filepath.IsAbs(m.HostPath):
			return fail(eInvalidArg, "The parameter is incorrect. (mapped folder %s is not an absolute path)", m.HostPath)
		}
		if fi, err := os.Stat(m.HostPath); err == nil && !fi.IsDir() {
			return fail(eInvalidArg, "The parameter is incorrect. (mapped folder %s is a file)", m.HostPath)
		}
	}
	return nil
}

//export HcsCreateComputeSystem
func HcsCreateComputeSystem(id *uint16, configuration *uint16, identity uintptr, system *uintptr, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	sid, doc := str(id), str(configuration)
	h.record("HcsCreateComputeSystem", sid, doc)
	var c v1Config
	if err := decodeStrict(doc, &c); err != nil {
		return result(err, res)
	}
	if err := checkConfig(&c); err != nil {
		return result(err, res)
	}
	cfg := driver.Config{ID: sid, Name: c.Name, Owner: c.Owner, Isolation: driver.Process, NetworkSharedWith: c.NetworkSharedContainerName}
	// The limits shape the sim's statistics; ProcessorMaximum is in
	// hundredths of a percent.
	cfg.Resources = driver.Resources{CPUCount: int(c.ProcessorCount), CPUMaximumPercent: int(c.ProcessorMaximum / 100), MemoryMB: int(c.MemoryMaximumInMB)}
	if c.HvPartition {
		cfg.Isolation = driver.HyperV
	}
	if b, err := os.ReadFile(filepath.Join(c.Layers[0].Path, imageMarker)); err == nil {
		ref, err := imageref.Parse(strings.TrimSpace(string(b)))
		if err != nil {
			return result(fail(eInvalidArg, "the image marker of layer %s: %v", c.Layers[0].Path, err), res)
		}
		cfg.Image = ref
	}
	fs := &fsys{ID: sid, Name: c.Name, HostName: c.HostName, Owner: c.Owner, HvPartition: c.HvPartition, State: "Created", Endpoints: c.EndpointList}
	fs.open()
	for _, l := range c.Layers {
		fs.Layers = append(fs.Layers, l.Path)
	}
	for _, m := range c.MappedDirectories {
		host, err := winpath.Parse(m.HostPath)
		if err != nil {
			return result(fail(eInvalidArg, "MappedDirectories: HostPath: %v", err), res)
		}
		target, err := winpath.Parse(m.ContainerPath)
		if err != nil {
			return result(fail(eInvalidArg, "MappedDirectories: ContainerPath: %v", err), res)
		}
		cfg.Mounts = append(cfg.Mounts, driver.Mount{HostPath: host, ContainerPath: target, ReadOnly: m.ReadOnly})
		fs.Mapped = append(fs.Mapped, m.ContainerPath)
	}
	for _, p := range c.MappedPipes {
		host, err := winpath.ParsePipe(p.HostPath)
		if err != nil {
			return result(fail(eInvalidArg, "MappedPipes: HostPath: %v", err), res)
		}
		target, err := winpath.ParsePipe(`\\.\pipe\` + p.ContainerPipeName)
		if err != nil {
			return result(fail(eInvalidArg, "MappedPipes: ContainerPipeName: %v", err), res)
		}
		cfg.Pipes = append(cfg.Pipes, driver.Pipe{HostPipe: host, ContainerPipe: target})
	}
	for _, d := range c.AssignedDevices {
		cfg.Devices = append(cfg.Devices, d.InterfaceClassGUID)
	}
	if f := h.fault("create"); f != nil {
		return result(f, res)
	}
	var boot int
	err = h.update(func(st *fstate) error {
		boot = st.Boot
		if err := h.forget(st); err != nil {
			return err
		}
		if old := st.Systems[sid]; old != nil {
			return fail(eAlreadyExists, "A virtual machine or container with the specified identifier already exists.")
		}
		if !c.HvPartition {
			l := st.Layers[layerKey(c.LayerFolderPath)]
			if l == nil || !l.Prepared {
				return fail(eInvalidState, "the scratch layer %s is not activated and prepared", c.LayerFolderPath)
			}
		}
		for _, ep := range c.EndpointList {
			if st.Endpoints[strings.ToUpper(ep)] == nil {
				return fail(eElementNotFound, "Element not found. (endpoint %s)", ep)
			}
		}
		if err := h.model.Create(cfg); err != nil {
			return err
		}
		st.Systems[sid] = fs
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	s := &sysHandle{h: h, id: sid, boot: boot}
	handlesMu.Lock()
	hd := newHandle()
	systems[hd] = s
	handlesMu.Unlock()
	*system = hd
	if pending() {
		s.complete(notifySystemCreateCompleted, 0)
		return ePending
	}
	return sOK
}

//export HcsOpenComputeSystem
func HcsOpenComputeSystem(id *uint16, system *uintptr, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	sid := str(id)
	var boot int
	err = h.update(func(st *fstate) error {
		boot = st.Boot
		if err := h.forget(st); err != nil {
			return err
		}
		s := st.Systems[sid]
		if s == nil {
			return fail(eNotExist, "A virtual machine or container with the specified identifier does not exist.")
		}
		s.open()
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	handlesMu.Lock()
	hd := newHandle()
	systems[hd] = &sysHandle{h: h, id: sid, boot: boot}
	handlesMu.Unlock()
	*system = hd
	return sOK
}

// system returns the state of the compute system s is a handle of. A
// handle from before a reboot is invalid.
func (s *sysHandle) system(st *fstate) (*fsys, error) {
	if s.boot != st.Boot {
		return nil, fail(eInvalidHandle, "The handle is invalid.")
	}
	fs := st.Systems[s.id]
	if fs == nil {
		return nil, fail(eNotExist, "A virtual machine or container with the specified identifier does not exist.")
	}
	return fs, nil
}

//export HcsCloseComputeSystem
func HcsCloseComputeSystem(system uintptr) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, nil)
	}
	handlesMu.Lock()
	delete(systems, system)
	handlesMu.Unlock()
	err = s.h.update(func(st *fstate) error {
		fs, err := s.system(st)
		if err != nil {
			return nil // gone with the reboot, or already forgotten
		}
		fs.close()
		// HCS forgets a stopped system with its last handle.
		return s.h.forget(st)
	})
	return result(err, nil)
}

//export HcsStartComputeSystem
func HcsStartComputeSystem(system uintptr, options *uint16, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	var exited *hcsErr
	f := s.h.fault("start")
	err = s.h.update(func(st *fstate) error {
		fs, err := s.system(st)
		if err != nil {
			return err
		}
		if fs.State != "Created" {
			return fail(eInvalidState, "A virtual machine or container is not in a valid state (%s) to start.", fs.State)
		}
		if fs.HvPartition && st.NoHyperV {
			return fail(eFeatureMissing, faultMessage(eFeatureMissing))
		}
		// Endpoints are attached at start: one HNS dropped since the
		// create fails it.
		for _, ep := range fs.Endpoints {
			if st.Endpoints[strings.ToUpper(ep)] == nil {
				return fail(eElementNotFound, "Element not found. (endpoint %s)", ep)
			}
		}
		if f != nil {
			if f.code != eUnexpectedExit {
				return f
			}
			// The system dies while it boots.
			fs.State = "Stopped"
			if !pending() {
				return f
			}
			exited = f
			return nil
		}
		fs.State = "Running"
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	if exited != nil {
		// The start completes with the failure, and the system exits.
		s.complete(notifySystemStartCompleted, exited.code)
		s.complete(notifySystemExited, exited.code)
		return ePending
	}
	if pending() {
		s.complete(notifySystemStartCompleted, 0)
		return ePending
	}
	return sOK
}

// stop ends system id: a graceful shutdown ends its init process with the
// code Windows gives (STATUS_CONTROL_C_EXIT), a terminate with 1, and
// HCS's system is stopped. Only a running system can be shut down; a
// created one can be terminated.
func stop(s *sysHandle, terminate bool) error {
	return s.h.update(func(st *fstate) error {
		fs, err := s.system(st)
		if err != nil {
			return err
		}
		switch fs.State {
		case "Stopped":
			return fail(eAlreadyStopped, "The operation could not be started because the system is already stopped.")
		case "Created":
			if !terminate {
				return fail(eInvalidState, "A virtual machine or container is not in a valid state (Created) to shut down.")
			}
		}
		if c, ok := simContainer(s.h, s.id); ok && c.State == driver.StateRunning {
			code := exitShutdown
			if terminate {
				code = exitTerminated
			}
			if err := s.h.model.Kill(s.id, code); err != nil {
				return err
			}
		}
		fs.State = "Stopped"
		return nil
	})
}

//export HcsShutdownComputeSystem
func HcsShutdownComputeSystem(system uintptr, options *uint16, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	if err := stop(s, false); err != nil {
		return result(err, res)
	}
	return ePending
}

//export HcsTerminateComputeSystem
func HcsTerminateComputeSystem(system uintptr, options *uint16, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	if err := stop(s, true); err != nil {
		return result(err, res)
	}
	return ePending
}

//export HcsGetComputeSystemProperties
func HcsGetComputeSystemProperties(system uintptr, query *uint16, props **uint16, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	var p map[string]any
	err = s.h.view(func(st *fstate) error {
		fs, err := s.system(st)
		if err != nil {
			return err
		}
		p = properties(s.h, fs)
		if strings.Contains(str(query), "Statistics") && fs.State == "Running" {
			if stats, ok := statisticsV1(s.h, s.id); ok {
				p["Statistics"] = stats
			}
		}
		if strings.Contains(str(query), "ProcessList") && fs.Proc != nil {
			if exited, _ := processExited(s.h, s.id, fs.Proc.PID, fs.Proc.StartedAt); !exited {
				p["ProcessList"] = []map[string]any{{"ProcessId": fs.Proc.PID, "ImageName": "init"}}
			}
		}
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	b, _ := json.Marshal(p)
	*props = coTaskString(string(b))
	return sOK
}

//export HcsModifyComputeSystem
func HcsModifyComputeSystem(system uintptr, configuration *uint16, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	s.h.record("HcsModifyComputeSystem", s.id, str(configuration))
	return result(fail(eInvalidArg, "the fake HCS does not modify compute systems"), res)
}

//export HcsRegisterComputeSystemCallback
func HcsRegisterComputeSystemCallback(system uintptr, callback uintptr, context uintptr, callbackHandle *uintptr) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, nil)
	}
	pollOnce.Do(func() { go poll() })
	s.mu.Lock()
	s.callback, s.context = callback, context
	for _, n := range s.queued {
		notify(callback, context, n)
	}
	s.queued = nil
	s.mu.Unlock()
	handlesMu.Lock()
	cb := newHandle()
	callbacks[cb] = system
	handlesMu.Unlock()
	*callbackHandle = cb
	return sOK
}

//export HcsUnregisterComputeSystemCallback
func HcsUnregisterComputeSystemCallback(callbackHandle uintptr) uintptr {
	handlesMu.Lock()
	h := callbacks[callbackHandle]
	delete(callbacks, callbackHandle)
	s := systems[h]
	handlesMu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.callback = 0
		s.mu.Unlock()
	}
	return sOK
}

// hcsProcessInformation is HCS_PROCESS_INFORMATION.
type hcsProcessInformation struct {
	ProcessID                     uint32
	_                             uint32
	StdInput, StdOutput, StdError uintptr
}

// v1Process is the schema-v1 ProcessConfig, every field HCS knows.
type v1Process struct {
	ApplicationName   string
	CommandLine       string
	CommandArgs       []string
	User              string
	WorkingDirectory  string
	Environment       map[string]string
	EmulateConsole    bool
	CreateStdInPipe   bool
	CreateStdOutPipe  bool
	CreateStdErrPipe  bool
	ConsoleSize       [2]uint
	CreateInUtilityVm bool
	OCISpecification  json.RawMessage
}

//export HcsCreateProcess
func HcsCreateProcess(system uintptr, params *uint16, infoPtr unsafe.Pointer, process *uintptr, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	doc := str(params)
	s.h.record("HcsCreateProcess", s.id, doc)
	var pc v1Process
	if err := decodeStrict(doc, &pc); err != nil {
		return result(err, res)
	}
	argv, err := windows.DecomposeCommandLine(pc.CommandLine)
	if err != nil || len(argv) == 0 {
		return result(fail(eInvalidArg, "The parameter is incorrect. (command line %q: %v)", pc.CommandLine, err), res)
	}
	if f := s.h.fault("createprocess"); f != nil {
		return result(f, res)
	}
	var (
		p        *fproc
		exec     bool   // a process besides the init process
		hostName string // the container's, for exec
	)
	err = s.h.update(func(st *fstate) error {
		fs, err := s.system(st)
		switch {
		case err != nil:
			return err
		case fs.State != "Running":
			return fail(eInvalidState, "A virtual machine or container is not in a valid state (%s) to create a process.", fs.State)
		}
		ctr := containerFS{layers: fs.Layers, mapped: fs.Mapped}
		wd := pc.WorkingDirectory
		if wd == "" {
			wd = `C:\Windows\System32`
		}
		if !ctr.isDir(wd) {
			return fail(eDirectory, "The directory name is invalid. (working directory %s)", wd)
		}
		if _, ok := ctr.findProgram(argv[0], wd, pc.Environment); !ok {
			return fail(eFileNotFound, "The system cannot find the file specified. (%s)", argv[0])
		}
		if exitsWithoutStdin(argv) && !pc.CreateStdInPipe {
			// A shell reading commands from a stdin it does not have reads
			// the end of its input at once.
			argv = []string{"cmd", "/c", "exit", "0"} // what the sim acts out as exiting at once
		}
		if fs.Proc != nil {
			exec, hostName = true, fs.HostName
			if hostName == "" {
				hostName = fs.Name
			}
			p = fs.Proc
			return nil
		}
		if err := s.h.model.StartProcess("", s.id, argv); err != nil {
			return err
		}
		c, ok := simContainer(s.h, s.id)
		if !ok {
			return fail(eNotExist, "container vanished")
		}
		pid := c.InitPID
		if pid == 0 {
			// Hyper-V: a process inside the utility VM, not on the host.
			pid = 1000 + int(c.StartedAt.UnixNano()/1000%1000)*4
		}
		p = &fproc{PID: pid, StartedAt: c.StartedAt}
		fs.Proc = p
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	pipes, err := newStdio(pc)
	if err != nil {
		return result(fail(eFail, "%v", err), res)
	}
	ph := &procHandle{h: s.h, id: s.id, pid: p.PID, startedAt: p.StartedAt}
	if exec {
		ph.exec = startExec(s.h, s.id, hostName, p.StartedAt, argv, pc.EmulateConsole, pipes)
		ph.pid = ph.exec.pid
	} else if err := actInit(s.h, s.id, p.StartedAt, pipes); err != nil {
		pipes.closeAll()
		return result(err, res)
	}
	handlesMu.Lock()
	hd := newHandle()
	processes[hd] = ph
	handlesMu.Unlock()
	info := hcsProcessInformation{ProcessID: uint32(ph.pid)}
	pipes.info(&info)
	*(*hcsProcessInformation)(infoPtr) = info
	*process = hd
	return sOK
}

//export HcsOpenProcess
func HcsOpenProcess(system uintptr, pid uint32, process *uintptr, res **uint16) uintptr {
	s, err := sysOf(system)
	if err != nil {
		return result(err, res)
	}
	if x := execOf(s.id, int(pid)); x != nil {
		if exited, _ := x.exited(); exited {
			return result(fail(eElementNotFound, "Element not found. (process %d has exited)", pid), res)
		}
		handlesMu.Lock()
		hd := newHandle()
		processes[hd] = &procHandle{h: s.h, id: s.id, pid: x.pid, exec: x}
		handlesMu.Unlock()
		*process = hd
		return sOK
	}
	var p *fproc
	err = s.h.view(func(st *fstate) error {
		fs, err := s.system(st)
		if err != nil {
			return err
		}
		if fs.Proc == nil || fs.Proc.PID != int(pid) {
			return fail(eElementNotFound, "Element not found. (process %d)", pid)
		}
		// A process that has exited cannot be opened: HCS keeps no exit
		// code for whoever did not hold a handle when it ended.
		if exited, _ := processExited(s.h, s.id, fs.Proc.PID, fs.Proc.StartedAt); exited {
			return fail(eElementNotFound, "Element not found. (process %d has exited)", pid)
		}
		p = fs.Proc
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	handlesMu.Lock()
	hd := newHandle()
	processes[hd] = &procHandle{h: s.h, id: s.id, pid: p.PID, startedAt: p.StartedAt}
	handlesMu.Unlock()
	*process = hd
	return sOK
}

//export HcsCloseProcess
func HcsCloseProcess(process uintptr) uintptr {
	handlesMu.Lock()
	defer handlesMu.Unlock()
	if processes[process] == nil {
		return result(fail(eInvalidHandle, "invalid process handle"), nil)
	}
	delete(processes, process)
	return sOK
}

//export HcsTerminateProcess
func HcsTerminateProcess(process uintptr, res **uint16) uintptr {
	p, err := procOf(process)
	if err != nil {
		return result(err, res)
	}
	if exited, _ := p.status(); exited {
		return result(fail(eProcessStopped, "%s", hresult.Code(hresult.ProcessAlreadyStopped).Text()), res)
	}
	if p.exec != nil {
		p.exec.cancel()
		return sOK
	}
	return result(p.h.model.Kill(p.id, 1), res)
}

//export HcsSignalProcess
func HcsSignalProcess(process uintptr, options *uint16, res **uint16) uintptr {
	return HcsTerminateProcess(process, res)
}

//export HcsGetProcessInfo
func HcsGetProcessInfo(process uintptr, infoPtr unsafe.Pointer, res **uint16) uintptr {
	p, err := procOf(process)
	if err != nil {
		return result(err, res)
	}
	*(*hcsProcessInformation)(infoPtr) = hcsProcessInformation{ProcessID: uint32(p.pid)}
	return sOK
}

//export HcsGetProcessProperties
func HcsGetProcessProperties(process uintptr, props **uint16, res **uint16) uintptr {
	p, err := procOf(process)
	if err != nil {
		return result(err, res)
	}
	exited, code := p.status()
	b, _ := json.Marshal(map[string]any{"ProcessId": p.pid, "Exited": exited, "ExitCode": uint32(code)})
	*props = coTaskString(string(b))
	return sOK
}

//export HcsModifyProcess
func HcsModifyProcess(process uintptr, settings *uint16, res **uint16) uintptr {
	if _, err := procOf(process); err != nil {
		return result(err, res)
	}
	return sOK
}

//export HcsRegisterProcessCallback
func HcsRegisterProcessCallback(process uintptr, callback uintptr, context uintptr, callbackHandle *uintptr) uintptr {
	p, err := procOf(process)
	if err != nil {
		return result(err, nil)
	}
	pollOnce.Do(func() { go poll() })
	p.mu.Lock()
	p.callback, p.context = callback, context
	p.mu.Unlock()
	handlesMu.Lock()
	cb := newHandle()
	callbacks[cb] = process
	handlesMu.Unlock()
	*callbackHandle = cb
	return sOK
}

//export HcsUnregisterProcessCallback
func HcsUnregisterProcessCallback(callbackHandle uintptr) uintptr {
	handlesMu.Lock()
	h := callbacks[callbackHandle]
	delete(callbacks, callbackHandle)
	p := processes[h]
	handlesMu.Unlock()
	if p != nil {
		p.mu.Lock()
		p.callback = 0
		p.mu.Unlock()
	}
	return sOK
}

//export HcsGetServiceProperties
func HcsGetServiceProperties(query *uint16, props **uint16, res **uint16) uintptr {
	*props = coTaskString(`{"SupportedSchemaVersions":[{"Major":1,"Minor":0},{"Major":2,"Minor":1}]}`)
	return sOK
}

// Layers. The storage filter's state is the layer table in fakehcs.json;
// scratch layers are real folders with an (empty) sandbox.vhdx.

func layerKey(path string) string { return strings.ToLower(filepath.Clean(path)) }

// layerDescriptor is WC_LAYER_DESCRIPTOR.
type layerDescriptor struct {
	LayerID [16]byte
	Flags   uint32
	Path    *uint16
}

func descriptorPaths(descs unsafe.Pointer, n uint32) []string {
	if descs == nil || n == 0 {
		return nil
	}
	var paths []string
	for _, d := range unsafe.Slice((*layerDescriptor)(descs), n) {
		paths = append(paths, str(d.Path))
	}
	return paths
}

func layerCall(call, path string, fn func(st *fstate, l *flayer) error) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	err = h.update(func(st *fstate) error {
		l := st.Layers[layerKey(path)]
		if l == nil {
			return fail(eFileNotFound, "%s %s: The system cannot find the file specified.", call, path)
		}
		return fn(st, l)
	})
	return result(err, nil)
}

//export CreateSandboxLayer
func CreateSandboxLayer(info unsafe.Pointer, id *uint16, parent uintptr, descs unsafe.Pointer, n uint32) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	path := str(id)
	parents := descriptorPaths(descs, n)
	b, _ := json.Marshal(map[string]any{"path": path, "parents": parents})
	h.record("CreateSandboxLayer", "", string(b))
	if len(parents) == 0 {
		return result(fail(eInvalidArg, "CreateSandboxLayer needs the parent layers"), nil)
	}
	for _, p := range parents {
		if _, err := os.Stat(p); err != nil {
			return result(fail(eFileNotFound, "parent layer %s: The system cannot find the path specified.", p), nil)
		}
	}
	err = h.update(func(st *fstate) error {
		if st.Layers[layerKey(path)] != nil {
			return fail(hresult.AlreadyExists, "%s (%s)", hresult.Code(hresult.AlreadyExists).Text(), path)
		}
		if err := os.MkdirAll(path, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(path, "sandbox.vhdx"), nil, 0o644); err != nil {
			return err
		}
		st.Layers[layerKey(path)] = &flayer{Path: path, Size: defaultScratchSize}
		return nil
	})
	return result(err, nil)
}

//export ExpandSandboxSize
func ExpandSandboxSize(info unsafe.Pointer, id *uint16, size uint64) uintptr {
	if h, err := currentHost(); err == nil {
		b, _ := json.Marshal(map[string]any{"path": str(id), "size": size})
		h.record("ExpandSandboxSize", "", string(b))
	}
	return layerCall("ExpandSandboxSize", str(id), func(_ *fstate, l *flayer) error {
		switch {
		case l.Activated:
			return fail(eSharingViolation, "The process cannot access the file because it is being used by another process. (the scratch disk is attached)")
		case size < l.Size:
			return fail(eInvalidArg, "The parameter is incorrect. (a disk of %d bytes cannot shrink to %d)", l.Size, size)
		}
		l.Size = size
		return nil
	})
}

//export ActivateLayer
func ActivateLayer(info unsafe.Pointer, id *uint16) uintptr {
	if h, err := currentHost(); err == nil {
		if f := h.fault("activate"); f != nil {
			return result(f, nil)
		}
	}
	return layerCall("ActivateLayer", str(id), func(st *fstate, l *flayer) error {
		l.Activated = true
		return nil
	})
}

//export PrepareLayer
func PrepareLayer(info unsafe.Pointer, id *uint16, descs unsafe.Pointer, n uint32) uintptr {
	parents := descriptorPaths(descs, n)
	if h, err := currentHost(); err == nil {
		if f := h.fault("prepare"); f != nil {
			return result(f, nil)
		}
	}
	return layerCall("PrepareLayer", str(id), func(st *fstate, l *flayer) error {
		if !l.Activated {
			return fail(eNotReady, "The device is not ready. (layer not activated)")
		}
		if len(parents) == 0 {
			return fail(eInvalidArg, "PrepareLayer needs the parent layers")
		}
		for _, p := range parents {
			if _, err := os.Stat(p); err != nil {
				return fail(ePathNotFound, "The system cannot find the path specified. (parent layer %s)", p)
			}
		}
		if l.Prepared {
			return fail(eInvalidState, "the layer is already prepared")
		}
		l.Prepared = true
		return nil
	})
}

//export UnprepareLayer
func UnprepareLayer(info unsafe.Pointer, id *uint16) uintptr {
	return layerCall("UnprepareLayer", str(id), func(_ *fstate, l *flayer) error {
		if !l.Prepared {
			return fail(eNotReady, "The device is not ready. (the layer is not prepared)")
		}
		l.Prepared = false
		return nil
	})
}

//export DeactivateLayer
func DeactivateLayer(info unsafe.Pointer, id *uint16) uintptr {
	return layerCall("DeactivateLayer", str(id), func(_ *fstate, l *flayer) error {
		switch {
		case l.Prepared:
			return fail(eInvalidState, "the layer is still prepared")
		case !l.Activated:
			return fail(eNotReady, "The device is not ready. (the layer is not activated)")
		}
		l.Activated = false
		return nil
	})
}

// DestroyLayer removes a layer folder, a scratch layer the filter knows
// or a read-only layer it never held (an imported one), unless it is
// active.
//
//export DestroyLayer
func DestroyLayer(info unsafe.Pointer, id *uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	path := str(id)
	err = h.update(func(st *fstate) error {
		if l := st.Layers[layerKey(path)]; l != nil && l.Activated {
			return fail(eSharingViolation, "%s (layer is active)", hresult.Code(hresult.SharingViolation).Text())
		}
		fi, err := os.Stat(path)
		switch {
		case err != nil:
			return fail(eFileNotFound, "DestroyLayer %s: The system cannot find the file specified.", path)
		case !fi.IsDir():
			return fail(eDirectory, "DestroyLayer %s: The directory name is invalid.", path)
		}
		if err := removeAll(path); err != nil {
			return err
		}
		delete(st.Layers, layerKey(path))
		return nil
	})
	return result(err, nil)
}

//export LayerExists
func LayerExists(info unsafe.Pointer, id *uint16, exists *uint32) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	*exists = 0
	h.view(func(st *fstate) error {
		if st.Layers[layerKey(str(id))] != nil {
			*exists = 1
		}
		return nil
	})
	return sOK
}

//export GetLayerMountPath
func GetLayerMountPath(info unsafe.Pointer, id *uint16, length *uintptr, buffer *uint16) uintptr {
	path := str(id)
	var mount string
	rc := layerCall("GetLayerMountPath", path, func(_ *fstate, l *flayer) error {
		if !l.Activated || !l.Prepared {
			return fail(eInvalidState, "the layer is not mounted")
		}
		mount = `\\?\Volume{` + nameGUID("volume:"+layerKey(path)) + `}\`
		return nil
	})
	if rc != sOK {
		return rc
	}
	u, _ := windows.UTF16FromString(mount)
	if buffer == nil {
		*length = uintptr(len(u))
		return sOK
	}
	if *length < uintptr(len(u)) {
		return result(fail(hresult.InsufficientBuf, "%s", hresult.Code(hresult.InsufficientBuf).Text()), nil)
	}
	copy(unsafe.Slice(buffer, len(u)), u)
	return sOK
}

//export NameToGuid
func NameToGuid(name *uint16, guid unsafe.Pointer) uintptr {
	*(*[16]byte)(guid) = nameGUIDBytes(str(name))
	return sOK
}

// nameGUIDBytes derives a stable GUID from name, in the spirit of HCS's
// NameToGuid (a name-based, version 5 style GUID).
func nameGUIDBytes(name string) [16]byte {
	sum := sha1.Sum([]byte(strings.ToLower(name)))
	var g [16]byte
	copy(g[:], sum[:16])
	g[7] = g[7]&0x0f | 0x50
	g[8] = g[8]&0x3f | 0x80
	return g
}

// nameGUID formats nameGUIDBytes as Windows' GUID structure prints
// (Data1-3 little-endian, upper case).
func nameGUID(name string) string {
	g := windows.GUID{}
	b := nameGUIDBytes(name)
	copy((*[16]byte)(unsafe.Pointer(&g))[:], b[:])
	return strings.Trim(strings.ToUpper(g.String()), "{}")
}

// removeAll removes path and everything under it one entry at a time:
// os.RemoveAll deletes through FileDispositionInformationEx, which Wine 8
// does not implement, and this library is not built with the test
// overlay that teaches Go the fallback.
func removeAll(path string) error {
	var dirs []string
	err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			dirs = append(dirs, p)
			return nil
		}
		return os.Remove(p)
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Remove(dirs[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
