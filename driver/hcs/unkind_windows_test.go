//go:build windows

package hcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// These tests act out on the fake HCS what a real host does behind the
// agent's back, or refuses, and pin how the driver copes.

// requests returns the documents of call the fake received, oldest first.
func (h *fakeHost) requests(t *testing.T, call string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(h.hcs, "requests.jsonl"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r struct {
			Call     string
			Document map[string]any
		}
		if line == "" || json.Unmarshal([]byte(line), &r) != nil || r.Call != call {
			continue
		}
		out = append(out, r.Document)
	}
	return out
}

// last returns the last document of call.
func (h *fakeHost) last(t *testing.T, call string) map[string]any {
	t.Helper()
	docs := h.requests(t, call)
	if len(docs) == 0 {
		t.Fatalf("the fake received no %s", call)
	}
	return docs[len(docs)-1]
}

// endpoints returns the names of HNS's endpoints.
func (h *fakeHost) endpoints(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, raw := range h.state(t).Endpoints {
		var e struct{ Name string }
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatal(err)
		}
		names = append(names, e.Name)
	}
	slices.Sort(names)
	return names
}

func (h *fakeHost) run(t *testing.T, d *Driver, cfg driver.Config) driver.Container {
	t.Helper()
	if err := d.Create(t.Context(), cfg); err != nil {
		t.Fatalf("Create %s: %v", cfg.ID, err)
	}
	if err := d.Start(t.Context(), cfg.ID); err != nil {
		t.Fatalf("Start %s: %v", cfg.ID, err)
	}
	return waitState(t, d, cfg.ID, driver.StateRunning)
}

func listed(t *testing.T, d *Driver, id string) driver.Container {
	t.Helper()
	for _, c := range mustList(t, d) {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("List does not show %s", id)
	return driver.Container{}
}

// waitFor waits, with a deadline, until cond holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatal(t.Context().Err())
		}
	}
}

// logBuffer collects a driver's log, for tests that pin what it says.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// logger logs into l and the test's output.
func (l *logBuffer) logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.MultiWriter(l, t.Output()), nil))
}

// Endpoints last one run: dockerd deletes every endpoint on nat when it
// starts, HNS forgets them when it restarts. A container made before that
// starts with a new endpoint, one running when it happens is reported as
// not matching its config, and each run's endpoint goes when it exits.
func TestEndpointsLastOneRun(t *testing.T) {
	for _, drill := range []string{"dockerd-start", "hns-restart"} {
		t.Run(drill, func(t *testing.T) {
			h := newFakeHost(t)
			var logs logBuffer
			d := h.clientWith(t, Options{Owner: testOwner, Logger: logs.logger(t)})
			cfg := config("web", driver.Process)
			cfg.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			if err := d.Create(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			h.drill(t, drill)
			if err := d.Start(t.Context(), cfg.ID); err != nil {
				t.Fatalf("Start after %s deleted the endpoint made at Create: %v", drill, err)
			}
			if c := listed(t, d, cfg.ID); c.State != driver.StateRunning || c.Hash != cfg.Hash {
				t.Fatalf("after Start: %+v, want running with its hash", c)
			}

			h.drill(t, drill)
			c := listed(t, d, cfg.ID)
			if c.State != driver.StateRunning || c.Hash != "" {
				t.Errorf("running container whose endpoint %s deleted: %+v, want it listed running with no hash (not its config), so the engine replaces it", drill, c)
			}
			if !strings.Contains(logs.String(), "no longer has the container's network endpoints") {
				t.Errorf("the driver did not say why:\n%s", logs.String())
			}

			if err := d.Stop(t.Context(), cfg.ID, 5*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(t.Context(), cfg.ID); err != nil {
				t.Fatalf("Start again: %v", err)
			}
			if c := listed(t, d, cfg.ID); c.Hash != cfg.Hash {
				t.Errorf("after starting again with a new endpoint: hash %q, want %q", c.Hash, cfg.Hash)
			}
			// The run's endpoint goes with its exit: another container can
			// map the port.
			h.Kill(t, cfg.ID, 1)
			waitState(t, d, cfg.ID, driver.StateExited)
			waitFor(t, "the run's endpoint to go", func() bool { return len(h.endpoints(t)) == 0 })
			other := config("other", driver.Process)
			other.Ports = cfg.Ports
			h.run(t, d, other)
			for _, id := range []string{"other", cfg.ID} {
				if err := d.Stop(t.Context(), id, 5*time.Second); err != nil {
					t.Fatal(err)
				}
				if err := d.Remove(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}
			h.assertClean(t)
		})
	}
}

// A container sharing another's network takes that container's endpoints
// as they are at each of its starts: the owner gets a new one every run
// (here, after dockerd deleted the old one).
func TestSharerFollowsTheOwnersEndpoints(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	owner := config("owner", driver.Process)
	owner.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
	h.run(t, d, owner)
	sharer := config("sharer", driver.Process)
	sharer.NetworkSharedWith = "owner"
	h.run(t, d, sharer)

	for _, id := range []string{"sharer", "owner"} {
		h.Kill(t, id, 1)
		waitState(t, d, id, driver.StateExited)
	}
	h.drill(t, "dockerd-start")
	if err := d.Start(t.Context(), "owner"); err != nil {
		t.Fatal(err)
	}
	ownerDoc := h.last(t, "HcsCreateComputeSystem")
	if err := d.Start(t.Context(), "sharer"); err != nil {
		t.Fatalf("Start of the sharer after the owner got a new endpoint: %v", err)
	}
	sharerDoc := h.last(t, "HcsCreateComputeSystem")
	if got, want := fmt.Sprint(sharerDoc["EndpointList"]), fmt.Sprint(ownerDoc["EndpointList"]); got != want {
		t.Errorf("sharer's EndpointList %s, want the owner's current %s", got, want)
	}
	if sharerDoc["NetworkSharedContainerName"] != "owner" {
		t.Errorf("sharer's document: %v", sharerDoc)
	}
}

// The image's working folder, environment and user are merged into the
// init process as moby merges them: a .NET image with WORKDIR C:\app and a
// relative entrypoint starts in C:\app; the spec's values win.
func TestImageProcessSettingsAreMerged(t *testing.T) {
	h := newFakeHost(t)
	h.putImage(t, testImage{
		Ref: "orders:1", OSVersion: h.hostVersion(t).String(), WorkingDir: `C:\app`, User: "ContainerUser",
		Env:        []string{`PATH=C:\Windows\system32;C:\Windows`, "ASPNETCORE_URLS=http://+:80", "Mode=image"},
		Entrypoint: []string{`Orders.Api.exe`},
		Files:      []string{`C:\app\Orders.Api.exe`},
	})
	d := h.client(t, testOwner)
	cfg := config("orders", driver.Process)
	cfg.Image = imageref.MustParse("orders:1")
	cfg.Env = map[string]string{"MODE": "spec"}
	h.run(t, d, cfg)
	p := h.last(t, "HcsCreateProcess")
	env, _ := p["Environment"].(map[string]any)
	if p["WorkingDirectory"] != `C:\app` || p["User"] != "ContainerUser" ||
		env["MODE"] != "spec" || env["Mode"] != nil || env["ASPNETCORE_URLS"] != "http://+:80" || env["PATH"] == nil {
		t.Errorf("init process document %v, want the image's folder, user and environment under the spec's MODE", p)
	}

	// The merged settings are fixed at create: a pull that changes the
	// image does not change what a restart runs.
	h.putImage(t, testImage{Ref: "orders:1", OSVersion: h.hostVersion(t).String(), WorkingDir: `C:\other`, User: "ContainerAdministrator",
		Entrypoint: []string{`Orders.Api.exe`}, Files: []string{`C:\app\Orders.Api.exe`, `C:\other\Orders.Api.exe`}})
	h.Kill(t, cfg.ID, 1)
	waitState(t, d, cfg.ID, driver.StateExited)
	if err := d.Start(t.Context(), cfg.ID); err != nil {
		t.Fatal(err)
	}
	if again := h.last(t, "HcsCreateProcess"); again["WorkingDirectory"] != `C:\app` || again["User"] != "ContainerUser" {
		t.Errorf("restart runs %v, want what the first start ran", again)
	}
}

func (h *fakeHost) hostVersion(t *testing.T) driver.OSVersion {
	t.Helper()
	v, _ := windowsVersion()
	return v
}

func TestInitCommandLine(t *testing.T) {
	tests := []struct {
		name string
		cfg  []string
		im   ResolvedImage
		want string
	}{
		{"the config's argv, quoted", []string{`C:\Program Files\app\app.exe`, "two words"}, ResolvedImage{ArgsEscaped: true, Cmd: []string{"ignored"}},
			`"C:\Program Files\app\app.exe" "two words"`},
		{"the image's argv", nil, ResolvedImage{Entrypoint: []string{"ping"}, Cmd: []string{"-t", "local host"}}, `ping -t "local host"`},
		{"ArgsEscaped: the first element as it is", nil, ResolvedImage{ArgsEscaped: true, Cmd: []string{`cmd /S /C "echo hi & ping -t localhost"`}},
			`cmd /S /C "echo hi & ping -t localhost"`},
		{"ArgsEscaped: the rest quoted", nil, ResolvedImage{ArgsEscaped: true, Entrypoint: []string{`C:\app\run.exe --flag`}, Cmd: []string{"a b", `q"`}},
			`C:\app\run.exe --flag "a b" q\"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := initCommandLine(driver.Config{Command: tt.cfg}, tt.im)
			if err != nil || got != tt.want {
				t.Errorf("initCommandLine = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	if _, err := initCommandLine(driver.Config{}, ResolvedImage{Ref: imageref.MustParse("bare")}); !errors.Is(err, driver.ErrInvalidConfig) || !driver.IsPermanent(err) {
		t.Errorf("no command anywhere: %v, want a permanent ErrInvalidConfig", err)
	}
}

// Start can fail on a real host, and the errors come back as
// *hcsshim.ContainerError and *hcsshim.ProcessError, which have no Unwrap:
// the driver still classes them, and a failed start leaves nothing.
func TestStartFailuresAreClassified(t *testing.T) {
	tests := []struct {
		name      string
		drill     string
		iso       driver.Isolation
		command   []string
		class     error // nil: not classed, a retry may help
		permanent bool
		says      string
	}{
		{"version mismatch at start", "fail start 0xc0370101", driver.Process, nil, driver.ErrVersionMismatch, true, "does not match"},
		{"Hyper-V not installed", "hyperv off", driver.HyperV, nil, driver.ErrNotSupported, true, "Install-WindowsFeature Hyper-V"},
		{"exited while booting", "fail start 0xc0370106", driver.Process, nil, nil, false, "start"},
		{"a command not in the image", "", driver.Process, []string{`C:\tools\missing.exe`, "--serve"}, driver.ErrInvalidConfig, true, `C:\tools\missing.exe`},
		{"a process document HCS refuses", "fail createprocess 0x80070057", driver.Process, nil, driver.ErrInvalidConfig, true, `"CommandLine"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			cfg := config("web", tt.iso)
			cfg.Command = tt.command
			cfg.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			cfg.Env = map[string]string{"DB_PASSWORD": "hunter2"}
			if err := d.Create(t.Context(), cfg); err != nil {
				t.Fatal(err)
			}
			if tt.drill != "" {
				h.drill(t, tt.drill)
			}
			err := d.Start(t.Context(), cfg.ID)
			switch {
			case err == nil:
				t.Fatal("Start succeeded")
			case tt.class != nil && !errors.Is(err, tt.class):
				t.Errorf("Start = %v, want an error wrapping %q", err, tt.class)
			case tt.class == nil && classOf(err) != nil:
				t.Errorf("Start = %v, want no driver class (a retry may help)", err)
			}
			if driver.IsPermanent(err) != tt.permanent {
				t.Errorf("Start = %v: permanent %v, want %v", err, driver.IsPermanent(err), tt.permanent)
			}
			if err != nil && !strings.Contains(err.Error(), tt.says) {
				t.Errorf("Start = %q, want it to say %q", err, tt.says)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("Start's error shows an environment value: %q", err)
			}
			// Nothing of the run is left: no endpoint, no mounted scratch,
			// no compute system.
			st := h.state(t)
			if len(st.Systems)+len(st.Endpoints) != 0 {
				t.Errorf("left after the failed start: systems %v, endpoints %v", keys(st.Systems), keys(st.Endpoints))
			}
			if c := listed(t, d, cfg.ID); c.State != driver.StateCreated {
				t.Errorf("after the failed start: %+v, want created", c)
			}
			if !tt.permanent {
				if err := d.Start(t.Context(), cfg.ID); err != nil {
					t.Fatalf("Start again: %v", err)
				}
				if err := d.Stop(t.Context(), cfg.ID, 5*time.Second); err != nil {
					t.Fatal(err)
				}
			}
			if err := d.Remove(t.Context(), cfg.ID); err != nil {
				t.Fatal(err)
			}
			h.assertClean(t)
		})
	}
}

// classOf returns the driver class err wraps, or nil.
func classOf(err error) error {
	for _, c := range []error{driver.ErrNotFound, driver.ErrAlreadyExists, driver.ErrInvalidState, driver.ErrVersionMismatch,
		driver.ErrPortInUse, driver.ErrHostPathNotFound, driver.ErrHostPathChanged, driver.ErrNotSupported, driver.ErrUnavailable, driver.ErrInvalidConfig} {
		if errors.Is(err, c) {
			return c
		}
	}
	return nil
}

// What HCS refuses as it stands is permanent, and says what it refused.
func TestCreateRefusalsArePermanent(t *testing.T) {
	file := filepath.Join(t.TempDir(), "app.config")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, h *fakeHost, cfg *driver.Config)
		says  string
	}{
		{"a document HCS refuses as invalid", func(t *testing.T, h *fakeHost, cfg *driver.Config) { h.drill(t, "fail create 0x80070057") }, `"SystemType":"Container"`},
		{"a mapped host path that is a file", func(t *testing.T, h *fakeHost, cfg *driver.Config) {
			cfg.Mounts = []driver.Mount{{HostPath: winpath.MustParse(file), ContainerPath: winpath.MustParse(`C:\app\app.config`)}}
		}, "is a file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.client(t, testOwner)
			cfg := config("web", driver.Process)
			tt.setup(t, h, &cfg)
			err := d.Create(t.Context(), cfg)
			if !errors.Is(err, driver.ErrInvalidConfig) || !driver.IsPermanent(err) || !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("Create = %v, want a permanent ErrInvalidConfig that says %q", err, tt.says)
			}
			h.assertClean(t)
		})
	}
}

// Process isolation takes one processor limit, and no more processors
// than the host has; moby keeps the count and caps it.
func TestCPULimitsFollowMoby(t *testing.T) {
	n := runtime.NumCPU()
	tests := []struct {
		name          string
		iso           driver.Isolation
		res           driver.Resources
		count, max    float64
		warnings      []string
		unwantedWarns []string
	}{
		{"count over the host's processors, with a maximum", driver.Process, driver.Resources{CPUCount: n + 62, CPUMaximumPercent: 50},
			float64(n), 0, []string{"more than the host's", "cpuMaximumPercent 50 is not applied"}, nil},
		{"Hyper-V keeps both", driver.HyperV, driver.Resources{CPUCount: 1, CPUMaximumPercent: 50}, 1, 5000, nil, []string{"not applied"}},
		{"a maximum alone", driver.Process, driver.Resources{CPUMaximumPercent: 25}, 0, 2500, nil, []string{"not applied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			var logs logBuffer
			d := h.clientWith(t, Options{Owner: testOwner, Logger: logs.logger(t)})
			cfg := config("web", tt.iso)
			cfg.Resources = tt.res
			h.run(t, d, cfg)
			doc := h.last(t, "HcsCreateComputeSystem")
			count, _ := doc["ProcessorCount"].(float64)
			maximum, _ := doc["ProcessorMaximum"].(float64)
			if count != tt.count || maximum != tt.max {
				t.Errorf("ProcessorCount %v, ProcessorMaximum %v; want %v, %v", count, maximum, tt.count, tt.max)
			}
			for _, w := range tt.warnings {
				if !strings.Contains(logs.String(), w) {
					t.Errorf("the log does not warn %q:\n%s", w, logs.String())
				}
			}
			for _, w := range tt.unwantedWarns {
				if strings.Contains(logs.String(), w) {
					t.Errorf("the log warns %q:\n%s", w, logs.String())
				}
			}
		})
	}
}

func TestLongHostNameIsWarnedAbout(t *testing.T) {
	h := newFakeHost(t)
	var logs logBuffer
	d := h.clientWith(t, Options{Owner: testOwner, Logger: logs.logger(t)})
	for _, name := range []string{"fifteen-chars-x", "sixteen-chars-xy"} {
		cfg := config(name, driver.Process)
		h.run(t, d, cfg)
	}
	var warned []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "longer than the 15 characters NetBIOS keeps") {
			warned = append(warned, line)
		}
	}
	if len(warned) != 1 || !strings.Contains(warned[0], "sixteen-chars-xy") {
		t.Errorf("warnings %q, want one, for the 16-character name", warned)
	}
}

// A restart of the host: HCS forgets every compute system and the storage
// filter every mounted layer, HNS every endpoint, and the nat network comes
// back with a new ID. A new agent finds its containers exited (the exit
// code is lost) and starts them again.
func TestAfterARebootContainersStartAgain(t *testing.T) {
	h := newFakeHost(t)
	first := h.clientWith(t, Options{Owner: testOwner})
	cfg := config("web", driver.Process)
	cfg.Ports = []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
	h.run(t, first, cfg)
	hv := config("vm", driver.HyperV)
	h.run(t, first, hv)
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	h.drill(t, "reboot")

	d := h.client(t, testOwner)
	for _, id := range []string{"web", "vm"} {
		c := waitState(t, d, id, driver.StateExited)
		if c.ExitCode != exitUnknown {
			t.Errorf("%s after the reboot: exit code %d, want %d (unknown)", id, c.ExitCode, exitUnknown)
		}
		if err := d.Start(t.Context(), id); err != nil {
			t.Fatalf("Start %s after the reboot: %v", id, err)
		}
		waitState(t, d, id, driver.StateRunning)
	}
	for _, id := range []string{"web", "vm"} {
		if err := d.Stop(t.Context(), id, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := d.Remove(t.Context(), id); err != nil {
			t.Fatal(err)
		}
	}
	h.assertClean(t)
}

// `docker image prune` removes layers only isoagent's containers use; after
// a new pull the image is in other folders. Start finds out, resolves the
// image again and gives the container a new scratch layer.
func TestStartAfterTheImageLayersWent(t *testing.T) {
	h := newFakeHost(t)
	var logs logBuffer
	d := h.clientWith(t, Options{Owner: testOwner, Logger: logs.logger(t)})
	ref := "app:1"
	v := h.hostVersion(t).String()
	old := h.putImage(t, testImage{Ref: ref, OSVersion: v, Cmd: []string{`C:\ServiceMonitor.exe`}, Files: []string{`C:\ServiceMonitor.exe`}})
	cfg := config("web", driver.Process)
	cfg.Image = imageref.MustParse(ref)
	h.run(t, d, cfg)
	if err := d.Stop(t.Context(), cfg.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	for _, l := range old {
		if err := os.RemoveAll(l); err != nil {
			t.Fatal(err)
		}
	}

	err := d.Start(t.Context(), cfg.ID)
	if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), "docker pull "+ref) {
		t.Fatalf("Start with the image gone = %v, want ErrNotFound saying to pull it", err)
	}

	pulled := h.putImage(t, testImage{Ref: ref, OSVersion: v, Pull: "again", Cmd: []string{`C:\ServiceMonitor.exe`}, Files: []string{`C:\ServiceMonitor.exe`}})
	if err := d.Start(t.Context(), cfg.ID); err != nil {
		t.Fatalf("Start after the image was pulled again: %v", err)
	}
	doc := h.last(t, "HcsCreateComputeSystem")
	if b, _ := json.Marshal(doc["Layers"]); !strings.Contains(string(b), strings.ReplaceAll(filepath.Base(pulled[0]), `\`, `\\`)) {
		t.Errorf("Layers %s, want the new pull's %v", b, pulled)
	}
	if !strings.Contains(logs.String(), "image layers the container was created from are gone") {
		t.Errorf("the driver did not say it:\n%s", logs.String())
	}
	if err := d.Stop(t.Context(), cfg.ID, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(t.Context(), cfg.ID); err != nil {
		t.Fatal(err)
	}
	h.assertClean(t)
}

// The storage filter of Windows Server 2019 fails now and then with
// ERROR_NOT_READY; hcsshim tries again, and so does the driver. A prepare
// that fails for good leaves the layer deactivated, nothing more.
func TestScratchMountFailures(t *testing.T) {
	t.Run("not ready, twice", func(t *testing.T) {
		h := newFakeHost(t)
		d := h.client(t, testOwner)
		cfg := config("web", driver.Process)
		h.drill(t, "fail prepare 0x80070015 2")
		if err := d.Create(t.Context(), cfg); err != nil {
			t.Fatalf("Create with the filter not ready twice: %v", err)
		}
		if err := d.Start(t.Context(), cfg.ID); err != nil {
			t.Fatal(err)
		}
		h.Kill(t, cfg.ID, 1)
		waitState(t, d, cfg.ID, driver.StateExited)
		// A start after an exit mounts the scratch again.
		h.drill(t, "fail activate 0x8007048F 1")
		if err := d.Start(t.Context(), cfg.ID); err != nil {
			t.Fatalf("Start with the device not connected once: %v", err)
		}
	})
	t.Run("prepare fails", func(t *testing.T) {
		h := newFakeHost(t)
		d := h.client(t, testOwner)
		cfg := config("web", driver.Process)
		h.drill(t, "fail prepare 0x80004005 1")
		if err := d.Create(t.Context(), cfg); err == nil {
			t.Fatal("Create succeeded")
		}
		h.assertClean(t)
	})
}

func TestScratchGrowsToTheConfiguredSize(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want float64 // 0: not grown
	}{
		{"default: Docker's 127 GB", 0, DefaultScratchSize},
		{"configured", 50 << 30, 50 << 30},
		{"kept as HCS makes it", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFakeHost(t)
			d := h.clientWith(t, Options{Owner: testOwner, ScratchSize: tt.size})
			h.run(t, d, config("web", driver.Process))
			docs := h.requests(t, "ExpandSandboxSize")
			switch {
			case tt.want == 0 && len(docs) != 0:
				t.Errorf("ExpandSandboxSize called: %v", docs)
			case tt.want != 0 && (len(docs) != 1 || docs[0]["size"] != tt.want):
				t.Errorf("ExpandSandboxSize calls %v, want one with size %v", docs, tt.want)
			}
		})
	}
}

// HNS cannot map a host port that a process on the host listens on; it
// says so with ERROR_SHARING_VIOLATION (and the v1 API only in text).
func TestHostPortHeldByAHostProcess(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	cfg := config("web", driver.Process)
	cfg.Ports = []driver.Port{{HostPort: port, ContainerPort: 80, Protocol: "tcp"}}
	err = d.Create(t.Context(), cfg)
	if err == nil {
		err = d.Start(t.Context(), cfg.ID)
	}
	if !errors.Is(err, driver.ErrPortInUse) || !strings.Contains(err.Error(), "a process on the host") {
		t.Fatalf("a port a host process holds: %v, want ErrPortInUse saying so", err)
	}
	l.Close()
	h.run(t, d, cfg)
}

// Flushes are skipped on a container's first boot only.
func TestIgnoreFlushesOnTheFirstStartOnly(t *testing.T) {
	h := newFakeHost(t)
	d := h.client(t, testOwner)
	cfg := config("web", driver.Process)
	h.run(t, d, cfg)
	h.Kill(t, cfg.ID, 1)
	waitState(t, d, cfg.ID, driver.StateExited)
	if err := d.Start(t.Context(), cfg.ID); err != nil {
		t.Fatal(err)
	}
	var got []any
	for _, doc := range h.requests(t, "HcsCreateComputeSystem") {
		got = append(got, doc["IgnoreFlushesDuringBoot"])
	}
	if fmt.Sprint(got) != "[true <nil>]" {
		t.Errorf("IgnoreFlushesDuringBoot of the two boots: %v, want true, then unset", got)
	}
}

// cmd.exe (the base images' default) and PowerShell read their commands
// from stdin; without one they exit at once, with 0.
func TestShellWithoutStdinExitsAtOnce(t *testing.T) {
	h := newFakeHost(t)
	h.putImage(t, testImage{Ref: "servercore:plain", OSVersion: h.hostVersion(t).String(), Cmd: []string{`c:\windows\system32\cmd.exe`},
		Env: []string{`PATH=C:\Windows\system32;C:\Windows;C:\Windows\System32\WindowsPowerShell\v1.0`}})
	d := h.client(t, testOwner)
	for _, c := range []struct {
		id      string
		command []string
	}{{"cmd", nil}, {"powershell", []string{"powershell", "-NoProfile"}}} {
		cfg := config(c.id, driver.Process)
		cfg.Image, cfg.Command = imageref.MustParse("servercore:plain"), c.command
		if err := d.Create(t.Context(), cfg); err != nil {
			t.Fatal(err)
		}
		if err := d.Start(t.Context(), cfg.ID); err != nil {
			t.Fatal(err)
		}
		if got := waitState(t, d, cfg.ID, driver.StateExited); got.ExitCode != 0 {
			t.Errorf("%s exited with %d, want 0", c.id, got.ExitCode)
		}
	}
}
