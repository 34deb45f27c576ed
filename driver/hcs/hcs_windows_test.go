//go:build windows

package hcs

import (
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/drivertest"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/jsonstore"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/winbuild"
	"github.com/isoagent/isoagent/winpath"
)

// These tests run against the fake HCS of driver/hcs/fakehcs (vmcompute.dll
// and computenetwork.dll in system32), normally under Wine through
// scripts/hcs-test. Without the fake they are skipped, never run against a
// real HCS by accident.

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

const testOwner = "isoagent"

// fakeHost is one host of the fake HCS: its state folder (the sim's state
// plus the fake's), a Docker store with images, and the agent's state
// folder.
type fakeHost struct {
	root   string
	hcs    string // FAKEHCS_STATE
	docker string
	agent  string
	model  *sim.Model
	// monitor is the command of the runs' monitors of the drivertest
	// harness's clients; nil runs none.
	monitor []string
}

// requireFake skips t unless the fake HCS is there: under Wine (a real
// HCS must never get the tests' containers), with vmcompute.dll in
// system32.
func requireFake(t *testing.T) {
	t.Helper()
	if !testutil.UnderWine() {
		t.Skip("not under Wine: these tests need the fake HCS (run scripts/hcs-test)")
	}
	dir := os.Getenv("SystemRoot")
	if dir == "" {
		dir = `C:\windows`
	}
	if _, err := os.Stat(filepath.Join(dir, "system32", "vmcompute.dll")); err != nil {
		t.Skip("no fake vmcompute.dll in system32: run scripts/hcs-test")
	}
}

func newFakeHost(t *testing.T) *fakeHost {
	t.Helper()
	requireFake(t)
	root := t.TempDir()
	h := &fakeHost{
		root:   root,
		hcs:    filepath.Join(root, "hcs"),
		docker: filepath.Join(root, "docker"),
		agent:  filepath.Join(root, "agent"),
	}
	t.Setenv("FAKEHCS_STATE", h.hcs)
	store, err := sim.DirStore(h.hcs)
	if err != nil {
		t.Fatal(err)
	}
	h.model = sim.NewModel(store, nil)
	v, sku := windowsVersion()
	if err := h.model.InitHost(driver.Host{OSVersion: v, SKU: sku}, true); err != nil {
		t.Fatal(err)
	}
	h.addImage(t, testImageRef, v)
	return h
}

const testImageRef = "mcr.microsoft.com/windows/servercore:ltsc2022"

// exitControlC is the exit code of a process that a graceful shutdown of
// its container ended: STATUS_CONTROL_C_EXIT, as Docker shows it.
const exitControlC = 0xC000013A

// addImage puts ref, built for v, into the Docker store and tells the sim
// (which decides what HCS accepts) the same version. Its default command
// runs until stopped; the base images' own default, cmd.exe, exits at once
// without a stdin (see TestShellWithoutStdinExitsAtOnce).
func (h *fakeHost) addImage(t *testing.T, ref string, v driver.OSVersion) {
	t.Helper()
	h.putImage(t, testImage{
		Ref: ref, OSVersion: v.String(), UtilityVM: true,
		Cmd:   []string{`C:\ServiceMonitor.exe`, "w3svc"},
		Files: []string{`C:\ServiceMonitor.exe`, `C:\inetpub\wwwroot\iisstart.htm`, `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`},
	})
}

// putImage puts im into the Docker store and tells the sim its version.
func (h *fakeHost) putImage(t *testing.T, im testImage) []string {
	t.Helper()
	layers := writeDockerImage(t, h.docker, im)
	v, err := winbuild.ParseVersion(im.OSVersion)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.model.SetImage(im.Ref, v); err != nil {
		t.Fatal(err)
	}
	return layers
}

// drill acts something out on the fake host behind the driver's back
// (see driver/hcs/fakehcs/drill.go): "reboot", "dockerd-start",
// "hns-restart", "hyperv off", "fail start 0xc0370101 1", ...
func (h *fakeHost) drill(t *testing.T, command string) {
	t.Helper()
	p, err := windows.UTF16PtrFromString(command)
	if err != nil {
		t.Fatal(err)
	}
	hr, _, _ := windows.NewLazySystemDLL("vmcompute.dll").NewProc("FakeHcsDrill").Call(uintptr(unsafe.Pointer(p)))
	if hr != 0 {
		t.Fatalf("drill %q: HRESULT 0x%08x", command, hr)
	}
}

func (h *fakeHost) client(t *testing.T, owner string) *Driver {
	return h.clientWith(t, Options{Owner: owner})
}

// clientWith is client with opts; the host's folders and a logger into
// the test's output are filled in where opts leaves them out.
func (h *fakeHost) clientWith(t *testing.T, opts Options) *Driver {
	if opts.StateDir == "" {
		opts.StateDir = h.agent
	}
	if opts.Images == nil {
		opts.Images = DockerStore{Root: h.docker}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	d := New(opts)
	// The fake's utility VMs have no vmwp.exe to find; the sim knows
	// their PIDs.
	d.workerPID = func(vmID string) int {
		cs, _ := h.model.Containers("")
		for _, c := range cs {
			if c.UtilityVM != nil && strings.EqualFold(c.UtilityVM.ID, vmID) {
				return c.UtilityVM.PID
			}
		}
		return 0
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return d
}

// The drivertest harness; monitor, when set, is the command of the runs'
// monitors (isoagent.exe monitor).
type harness struct{ monitor []string }

func (hs harness) NewHost(t *testing.T) drivertest.Host {
	h := newFakeHost(t)
	if len(hs.monitor) > 0 {
		h.monitor = hs.monitor
		h.stopMonitorsAtEnd(t)
	}
	return h
}

func (hs harness) KeepsOutput() bool { return len(hs.monitor) > 0 }

func (h *fakeHost) Client(t *testing.T, owner string) driver.Driver {
	return h.clientWith(t, Options{Owner: owner, Monitor: h.monitor})
}

func (h *fakeHost) Kill(t *testing.T, id string, code int) {
	if err := h.model.Kill(id, code); err != nil {
		t.Fatal(err)
	}
}

func (h *fakeHost) SetImageOSVersion(t *testing.T, ref string, v driver.OSVersion) {
	h.addImage(t, ref, v)
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, harness{})
}

// TestConformanceWithMonitors runs the suite with a monitor process per
// run (isoagent.exe monitor, which creates the init process with pipes).
func TestConformanceWithMonitors(t *testing.T) {
	drivertest.Run(t, harness{monitor: monitorCommand(t)})
}

// fakeState is the fake HCS's own state file.
type fakeState struct {
	Systems   map[string]json.RawMessage
	Layers    map[string]json.RawMessage
	Endpoints map[string]json.RawMessage
}

func (h *fakeHost) state(t *testing.T) fakeState {
	t.Helper()
	// Under the fake's lock, as the fake reads it: a read while the fake
	// replaces the file would make its rename fail.
	store, err := jsonstore.Open[fakeState](h.hcs, "fakehcs.json", jsonstore.Options{Lock: "fakehcs.lock"})
	if err != nil {
		t.Fatal(err)
	}
	var st fakeState
	if err := store.View(func(v *fakeState) error { st = *v; return nil }); err != nil {
		t.Fatal(err)
	}
	return st
}

// assertClean fails t unless nothing is left on the host: no compute
// system (so no handle is open either: the fake keeps a stopped system
// until its last handle closes), no layer known to the storage filter, no
// endpoint, no scratch folder and no record.
func (h *fakeHost) assertClean(t *testing.T) {
	t.Helper()
	st := h.state(t)
	if len(st.Systems)+len(st.Layers)+len(st.Endpoints) != 0 {
		b, _ := json.Marshal(st)
		t.Errorf("left on the host: systems %v, layers %v, endpoints %v\n%s", keys(st.Systems), keys(st.Layers), keys(st.Endpoints), b)
	}
	if cs, _ := h.model.Containers(""); len(cs) != 0 {
		t.Errorf("the sim still has %d containers", len(cs))
	}
	for _, dir := range []string{"layers", "containers"} {
		entries, _ := os.ReadDir(filepath.Join(h.agent, dir))
		if len(entries) != 0 {
			t.Errorf("agent folder %s still holds %d entries", dir, len(entries))
		}
	}
}

func keys(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func config(id string, iso driver.Isolation) driver.Config {
	return driver.Config{ID: id, Name: id, Owner: testOwner, Hash: "h-" + id, Isolation: iso, Image: imageref.MustParse(testImageRef)}
}

// waitState waits until d lists id in state want, and returns it.
func waitState(t *testing.T, d driver.Driver, id string, want driver.State) driver.Container {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		cs, err := d.List(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			if c.ID == id && c.State == want {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become %s: %+v", id, want, cs)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// TestDocuments pins the exact HCS and HCN documents the driver sends for
// each kind of mapping, as the fake recorded them.
func TestDocuments(t *testing.T) {
	tests := []struct {
		name   string
		config func(*driver.Config)
		// before runs first; its documents are not part of the golden file.
		before func(t *testing.T, h *fakeHost, d *Driver)
	}{
		{name: "process"},
		{name: "hyperv", config: func(c *driver.Config) { c.Isolation = driver.HyperV }},
		{name: "mount", config: func(c *driver.Config) {
			c.Mounts = []driver.Mount{
				{HostPath: winpath.MustParse(`D:\sites\web`), ContainerPath: winpath.MustParse(`C:\inetpub\wwwroot`), ReadOnly: true},
				{HostPath: winpath.MustParse(`D:\logs`), ContainerPath: winpath.MustParse(`D:\`)},
			}
		}},
		{name: "pipe", config: func(c *driver.Config) {
			c.Pipes = []driver.Pipe{{HostPipe: winpath.MustParsePipe(`\\.\pipe\metrics`), ContainerPipe: winpath.MustParsePipe(`\\.\pipe\agent-metrics`)}}
		}},
		{name: "port", config: func(c *driver.Config) {
			c.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}, {HostPort: 5353, ContainerPort: 53, Protocol: "udp"}}
		}},
		{name: "network-none", config: func(c *driver.Config) { c.Network = "none" }},
		{name: "shared-network", config: func(c *driver.Config) { c.NetworkSharedWith = "net-owner" },
			before: func(t *testing.T, h *fakeHost, d *Driver) {
				if err := d.Create(t.Context(), config("net-owner", driver.Process)); err != nil {
					t.Fatal(err)
				}
				if err := d.Start(t.Context(), "net-owner"); err != nil {
					t.Fatal(err)
				}
			}},
		{name: "device", config: func(c *driver.Config) { c.Devices = []string{"5B45201D-F2F2-4F3B-85BB-30FF1F953599"} }},
		{name: "resources", config: func(c *driver.Config) {
			c.Resources = driver.Resources{CPUCount: 1, CPUMaximumPercent: 50, MemoryMB: 2048}
		}},
		{name: "dns", config: func(c *driver.Config) { c.DNSSearch = []string{"corp.example", "example.com"} }},
		{name: "dns-servers", config: func(c *driver.Config) {
			c.DNS = []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("10.0.1.53")}
		}},
		{name: "hostname", config: func(c *driver.Config) { c.HostName = "web-01" }},
		{name: "credential-spec", config: func(c *driver.Config) { c.CredentialSpec = "webapp01.json" },
			before: func(t *testing.T, h *fakeHost, d *Driver) { h.writeCredentialSpec(t, "webapp01.json", gmsa) }},
		{name: "command", config: func(c *driver.Config) {
			c.Command = []string{`C:\ServiceMonitor.exe`, "w3svc", "two words", `quote"d`}
			c.WorkingDir = `C:\inetpub`
			c.Env = map[string]string{"ASPNETCORE_ENVIRONMENT": "Production"}
			c.User = "ContainerUser"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			if tt.before != nil {
				tt.before(t, h, d)
			}
			log := filepath.Join(h.hcs, "requests.jsonl")
			os.Remove(log)
			cfg := config("web", driver.Process)
			if tt.config != nil {
				tt.config(&cfg)
			}
			if err := d.Create(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(t.Context(), cfg.ID); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(log)
			if err != nil {
				t.Fatal(err)
			}
			got := normalise(string(b), h.root)
			testutil.Golden(t, filepath.Join("testdata", "documents", tt.name+".golden"), []byte(got), *update)
		})
	}
}

var volumeGUID = regexp.MustCompile(`Volume\{[0-9A-Fa-f-]{36}\}`)

// normalise makes a request log independent of the test's folders: they
// become $ROOT, and scratch volume GUIDs (derived from the path) VOLUME.
func normalise(s, root string) string {
	for _, r := range []string{root, strings.ToLower(root)} {
		s = strings.ReplaceAll(s, strings.ReplaceAll(r, `\`, `\\`), "$ROOT")
	}
	s = volumeGUID.ReplaceAllString(s, "Volume{VOLUME}")
	// One document per line, indented, for readable diffs.
	var out strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		var v any
		if json.Unmarshal([]byte(line), &v) != nil {
			out.WriteString(line + "\n")
			continue
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		out.Write(append(b, '\n'))
	}
	return out.String()
}

// TestErrorsAreTyped pins the HCS and HNS errors the driver turns into the
// driver's classes, and that a failed Create leaves nothing behind.
func TestErrorsAreTyped(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, h *fakeHost, d *Driver) driver.Config
		class error
	}{
		{"version mismatch 0xc0370101", func(t *testing.T, h *fakeHost, d *Driver) driver.Config {
			h.addImage(t, "app:ltsc2019", driver.OSVersion{Major: 10, Build: 17763})
			cfg := config("old", driver.Process)
			cfg.Image = imageref.MustParse("app:ltsc2019")
			return cfg
		}, driver.ErrVersionMismatch},
		{"port already exists", func(t *testing.T, h *fakeHost, d *Driver) driver.Config {
			first := config("first", driver.Process)
			first.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			if err := d.Create(t.Context(), first); err != nil {
				t.Fatal(err)
			}
			cfg := config("second", driver.Process)
			cfg.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 8080, Protocol: "tcp"}}
			return cfg
		}, driver.ErrPortInUse},
		{"mapped folder missing", func(t *testing.T, h *fakeHost, d *Driver) driver.Config {
			if err := h.model.SetMissingPath(`D:\gone`, true); err != nil {
				t.Fatal(err)
			}
			cfg := config("lost", driver.Process)
			cfg.Mounts = []driver.Mount{{HostPath: winpath.MustParse(`D:\gone\data`), ContainerPath: winpath.MustParse(`C:\data`)}}
			return cfg
		}, driver.ErrHostPathNotFound},
		{"image not in the store", func(t *testing.T, h *fakeHost, d *Driver) driver.Config {
			cfg := config("nothere", driver.Process)
			cfg.Image = imageref.MustParse("example/not-pulled:1")
			return cfg
		}, driver.ErrNotFound},
		{"shared network of a missing container", func(t *testing.T, h *fakeHost, d *Driver) driver.Config {
			cfg := config("lonely", driver.Process)
			cfg.NetworkSharedWith = "absent"
			return cfg
		}, driver.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			cfg := tt.setup(t, h, d)
			err := d.Create(t.Context(), cfg)
			if !errors.Is(err, tt.class) {
				t.Fatalf("Create = %v, want an error wrapping %q", err, tt.class)
			}
			if cs, lerr := d.List(t.Context()); lerr != nil {
				t.Fatal(lerr)
			} else {
				for _, c := range cs {
					if c.ID == cfg.ID {
						t.Errorf("List shows %s after its Create failed", cfg.ID)
					}
				}
			}
			for _, c := range mustList(t, d) {
				if err := d.Remove(t.Context(), c.ID); err != nil {
					t.Fatal(err)
				}
			}
			h.assertClean(t)
		})
	}
}

func mustList(t *testing.T, d driver.Driver) []driver.Container {
	t.Helper()
	cs, err := d.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// TestLifecycleLeavesNothing runs containers of every kind through their
// whole life, with asynchronous and with synchronous HCS completions, and
// checks that nothing is left afterwards.
func TestLifecycleLeavesNothing(t *testing.T) {
	for _, mode := range []string{"pending", "sync"} {
		for _, iso := range []driver.Isolation{driver.Process, driver.HyperV} {
			t.Run(mode+"/"+string(iso), func(t *testing.T) {
				if mode == "sync" {
					t.Setenv("FAKEHCS_SYNC", "1")
				}
				h := newFakeHost(t)
				d := h.client(t, testOwner)
				cfg := config("web", iso)
				cfg.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
				cfg.Mounts = []driver.Mount{{HostPath: winpath.MustParse(`D:\data`), ContainerPath: winpath.MustParse(`C:\data`)}}
				quick := config("quick", iso)
				quick.Command = []string{"cmd", "/c", "exit 7"}
				for _, c := range []driver.Config{cfg, quick} {
					if err := d.Create(t.Context(), c); err != nil {
						t.Fatal(err)
					}
					if err := d.Start(t.Context(), c.ID); err != nil {
						t.Fatal(err)
					}
				}
				if c := waitState(t, d, "quick", driver.StateExited); c.ExitCode != 7 {
					t.Errorf("quick exited with %d, want 7", c.ExitCode)
				}
				if err := d.Stop(t.Context(), "web", 5*time.Second); err != nil {
					t.Fatal(err)
				}
				for _, id := range []string{"web", "quick"} {
					if err := d.Remove(t.Context(), id); err != nil {
						t.Fatal(err)
					}
				}
				h.assertClean(t)
			})
		}
	}
}

// childEnv names the state folder a child test process works in.
const childEnv = "ISOAGENT_HCS_TEST_CHILD"

// TestChildAgent is the first agent process of TestAdoptionAfterRestart:
// it starts containers and exits without stopping them.
func TestChildAgent(t *testing.T) {
	root := os.Getenv(childEnv)
	if root == "" {
		t.Skip("run by TestAdoptionAfterRestart")
	}
	d := New(Options{Owner: testOwner, StateDir: filepath.Join(root, "agent"), Images: DockerStore{Root: filepath.Join(root, "docker")}})
	for _, id := range []string{"survivor", "killed-while-down"} {
		if err := d.Create(t.Context(), config(id, driver.Process)); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestAdoptionAfterRestart: a new agent process finds the containers an
// earlier one started and keeps them running. The exit code of one that
// ended while no agent ran is lost (HCS cannot open a process that has
// exited) and is reported as unknown, never as a made-up 0.
func TestAdoptionAfterRestart(t *testing.T) {
	h := newFakeHost(t)
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildAgent$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+h.root)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("first agent process: %v\n%s", err, out)
	}
	before, err := h.model.Containers(testOwner)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 || before[0].State != driver.StateRunning || before[1].State != driver.StateRunning {
		t.Fatalf("after the first agent exited the host has %+v, want two running containers", before)
	}
	if err := h.model.Kill("killed-while-down", 42); err != nil {
		t.Fatal(err)
	}

	d := h.client(t, testOwner)
	c := waitState(t, d, "survivor", driver.StateRunning)
	var survivorPID int
	for _, b := range before {
		if b.ID == "survivor" {
			survivorPID = b.InitPID
		}
	}
	if c.InitPID != survivorPID || c.Hash != "h-survivor" || c.Name != "survivor" {
		t.Errorf("adopted survivor = %+v, want PID %d, its name and hash", c, survivorPID)
	}
	if k := waitState(t, d, "killed-while-down", driver.StateExited); k.ExitCode != exitUnknown {
		t.Errorf("exit code of the container killed while no agent ran = %d, want %d (unknown)", k.ExitCode, exitUnknown)
	}
	// The adopted container is tracked: stopping it records its exit, the
	// code a graceful shutdown gives (STATUS_CONTROL_C_EXIT).
	if err := d.Stop(t.Context(), "survivor", 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if c := waitState(t, d, "survivor", driver.StateExited); c.ExitCode != exitControlC {
		t.Errorf("survivor exit code after Stop = %d, want %d", c.ExitCode, exitControlC)
	}
	for _, id := range []string{"survivor", "killed-while-down"} {
		if err := d.Remove(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	h.assertClean(t)
}

func TestHostReportsWindowsVersion(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	hi, err := d.Host(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	v, sku := windowsVersion()
	if hi.OSVersion != v || hi.SKU != sku || hi.Driver != driver.NameHCS || hi.Name == "" {
		t.Errorf("Host = %+v, want %s %s from RtlGetVersion, driver hcs and a name", hi, v, sku)
	}
}

// readyProbe acts out a Windows Server 2022 host ready for the driver;
// the tests change one part of it at a time.
func readyProbe() hostProbe {
	return hostProbe{
		version: func() (driver.OSVersion, driver.SKU) {
			return driver.OSVersion{Major: 10, Build: 20348}, driver.SKUServer
		},
		vmcompute: func() error { return nil },
		elevated:  func() bool { return true },
		service: func(string) (serviceState, error) {
			return serviceState{Installed: true, StartType: windows.SERVICE_DEMAND_START, State: windows.SERVICE_RUNNING}, nil
		},
		hns: func() (hcn.Version, error) { return hcn.Version{Major: 13, Minor: 2}, nil },
	}
}

func TestPreflight(t *testing.T) {
	notFound := func() error { return errors.New("module not found") }
	oldBuild := func(v driver.OSVersion) func() (driver.OSVersion, driver.SKU) {
		return func() (driver.OSVersion, driver.SKU) { return v, driver.SKUServer }
	}
	service := func(broken string, st serviceState, err error) func(string) (serviceState, error) {
		return func(name string) (serviceState, error) {
			if name == broken {
				return st, err
			}
			return serviceState{Installed: true, StartType: windows.SERVICE_DEMAND_START, State: windows.SERVICE_STOPPED}, nil
		}
	}
	tests := []struct {
		name string
		edit func(*hostProbe)
		want []string // fragments of the message; none means no error
	}{
		{"ready", func(*hostProbe) {}, nil},
		{"old build", func(p *hostProbe) { p.version = oldBuild(driver.OSVersion{Major: 10, Build: 14393}) }, []string{"17763"}},
		{"no containers feature", func(p *hostProbe) { p.vmcompute = notFound }, []string{"Install-WindowsFeature Containers"}},
		{"not administrator", func(p *hostProbe) { p.elevated = func() bool { return false } }, []string{"administrator"}},
		{"no vmcompute service", func(p *hostProbe) { p.service = service("vmcompute", serviceState{}, nil) }, []string{"vmcompute service", "not installed", "Install-WindowsFeature Containers"}},
		{"hns disabled", func(p *hostProbe) {
			p.service = service("hns", serviceState{Installed: true, StartType: windows.SERVICE_DISABLED, State: windows.SERVICE_STOPPED}, nil)
		}, []string{"hns service", "disabled", "Set-Service hns -StartupType Manual"}},
		{"a service control manager that cannot be asked only warns", func(p *hostProbe) { p.service = service("hns", serviceState{}, windows.ERROR_ACCESS_DENIED) }, nil},
		{"HNS without HCN v2", func(p *hostProbe) {
			p.hns = func() (hcn.Version, error) { return hcn.Version{Major: 7, Minor: 2}, nil }
		}, []string{"HNS 7.2", "HCN v2", "update Windows"}},
		{"HNS does not answer", func(p *hostProbe) {
			p.hns = func() (hcn.Version, error) { return hcn.Version{}, errors.New("RPC server unavailable") }
		}, []string{"Start-Service hns"}},
		{"everything wrong", func(p *hostProbe) {
			p.version = oldBuild(driver.OSVersion{Major: 6, Minor: 1, Build: 7601})
			p.vmcompute = notFound
			p.elevated = func() bool { return false }
		}, []string{"17763", "Install-WindowsFeature Containers", "administrator"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := readyProbe()
			tt.edit(&p)
			err := p.preflight()
			if len(tt.want) == 0 {
				if err != nil {
					t.Errorf("preflight = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("preflight = nil, want an error mentioning %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("preflight = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

func TestMain(m *testing.M) {
	// hcsshim logs through logrus's global logger; the errors it logs when
	// a driver closes its handles on purpose are noise here.
	logrus.SetOutput(io.Discard)
	os.Exit(m.Run())
}

// TestListCollectsWhatACrashedCreateLeft: an agent that died in the middle
// of a Create left a mounted scratch layer and an endpoint but no record;
// the next List releases them.
func TestListCollectsWhatACrashedCreateLeft(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	cfg := config("crashed", driver.Process)
	cfg.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
	im, err := d.images.Resolve(t.Context(), imageref.MustParse(testImageRef))
	if err != nil {
		t.Fatal(err)
	}
	scratch := filepath.Join(h.agent, "layers", cfg.ID)
	if err := os.MkdirAll(filepath.Dir(scratch), 0o755); err != nil {
		t.Fatal(err)
	}
	di := hcsshim.DriverInfo{}
	if err := hcsshim.CreateScratchLayer(di, scratch, "", im.Layers); err != nil {
		t.Fatal(err)
	}
	if err := hcsshim.ActivateLayer(di, scratch); err != nil {
		t.Fatal(err)
	}
	if err := hcsshim.PrepareLayer(di, scratch, im.Layers); err != nil {
		t.Fatal(err)
	}
	if _, err := d.createEndpoint(cfg); err != nil {
		t.Fatal(err)
	}
	if cs := mustList(t, d); len(cs) != 0 {
		t.Errorf("List = %+v, want nothing", cs)
	}
	h.assertClean(t)
	// The port is free again.
	if err := d.Create(t.Context(), cfg); err != nil {
		t.Fatalf("Create after the cleanup: %v", err)
	}
}
