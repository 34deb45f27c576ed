// Package drivertest is the conformance suite every driver.Driver must
// pass: the simulated host on every OS, and the hcs driver on Windows or
// under Wine against a fake HCS. It pins what the reconcile engine relies
// on: the lifecycle in both isolation modes, owner filtering, typed errors,
// exit codes, host PIDs versus utility VMs, adoption by a second client and
// starting a container again after it exited.
//
// A driver's test runs the suite with a Harness:
//
//	func TestConformance(t *testing.T) { drivertest.Run(t, myHarness{}) }
package drivertest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winbuild"
)

// Harness makes hosts for the suite.
type Harness interface {
	// NewHost returns a fresh host with no containers, for one test.
	NewHost(t *testing.T) Host
}

// Host is one host under test, with the drills the suite needs to act on
// it from outside the driver.
type Host interface {
	// Client returns a new client of the host acting for owner, as a
	// separate agent process (or the same agent after a restart) would
	// be; it shares nothing with earlier clients but the host.
	Client(t *testing.T, owner string) driver.Driver
	// Kill ends the init process of running container id behind the
	// clients' back, with exitCode.
	Kill(t *testing.T, id string, exitCode int)
	// SetImageOSVersion makes the host report image ref as built for v.
	SetImageOSVersion(t *testing.T, ref string, v driver.OSVersion)
}

// Owner tags the suite uses: its own, and a foreign management stack's.
const (
	Owner        = "isoagent-drivertest"
	ForeignOwner = "someone-else"
)

// Images the suite sets up on each host: one built for the host's own
// version, one incompatible with process isolation, one newer than the
// host.
const (
	imageSame  = "isoagent.test/drivertest/base:same"
	imageOld   = "isoagent.test/drivertest/base:old"
	imageNewer = "isoagent.test/drivertest/base:newer"
)

// waitFor bounds how long the suite waits for a host to show a change
// (a real host takes a moment for a process to exit).
const waitFor = 30 * time.Second

// Run runs the conformance suite against the hosts h makes.
func Run(t *testing.T, h Harness) {
	type test struct {
		name string
		fn   func(*testing.T, *env)
	}
	tests := []test{
		{"HostReportsVersionAndSKU", testHost},
		{"ImageReportsOSVersion", testImage},
	}
	for _, iso := range driver.Isolations() {
		tests = append(tests, test{"Lifecycle-" + string(iso), func(t *testing.T, e *env) { testLifecycle(t, e, iso) }})
	}
	tests = append(tests, []test{
		{"ProcessIsolationShowsHostPIDs", testProcessPIDs},
		{"HyperVShowsOnlyUtilityVM", testHyperVUtilityVM},
		{"ForeignContainersAreInvisible", testOwnerFiltering},
		{"TypedErrors", testTypedErrors},
		{"ProcessVersionMismatch", testProcessMismatch},
		{"HyperVImageNewerThanHost", testHyperVMismatch},
		{"DevicesWithHyperVNotSupported", testDevicesHyperV},
		{"HostPortUsedOnce", testPortInUse},
		{"DNSServersNeedAnEndpointOfTheirOwn", testDNSServers},
		{"ExitCodeOfCommand", testExitCode},
		{"KilledBehindTheBack", testKilled},
		{"StartAgainAfterExit", testRestart},
		{"AdoptionBySecondClient", testAdoption},
	}...)
	for _, a := range abilityTests(h) {
		tests = append(tests, test{a.name, a.fn})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newEnv(t, h))
		})
	}
}

// env is one test's host, its client and the host's version.
type env struct {
	host Host
	d    driver.Driver
	ctx  context.Context
	hv   driver.OSVersion
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	host := h.NewHost(t)
	e := &env{host: host, d: host.Client(t, Owner), ctx: t.Context()}
	hi, err := e.d.Host(e.ctx)
	if err != nil {
		t.Fatalf("Host: %v", err)
	}
	e.hv = hi.OSVersion
	host.SetImageOSVersion(t, imageSame, e.hv)
	// 14393 runs with process isolation only on a 14393 host, which the
	// agent does not support.
	host.SetImageOSVersion(t, imageOld, driver.OSVersion{Major: 10, Build: 14393})
	newer := e.hv
	newer.Build++
	newer.Revision = 0
	host.SetImageOSVersion(t, imageNewer, newer)
	return e
}

func (e *env) config(id string, iso driver.Isolation, command ...string) driver.Config {
	return driver.Config{
		ID:        id,
		Name:      id,
		Owner:     Owner,
		Hash:      "hash-" + id,
		Isolation: iso,
		Image:     imageref.MustParse(imageSame),
		Command:   command,
	}
}

func (e *env) create(t *testing.T, cfg driver.Config) {
	t.Helper()
	if err := e.d.Create(e.ctx, cfg); err != nil {
		t.Fatalf("Create %s: %v", cfg.ID, err)
	}
}

func (e *env) start(t *testing.T, id string) {
	t.Helper()
	if err := e.d.Start(e.ctx, id); err != nil {
		t.Fatalf("Start %s: %v", id, err)
	}
}

func (e *env) run(t *testing.T, cfg driver.Config) driver.Container {
	t.Helper()
	e.create(t, cfg)
	e.start(t, cfg.ID)
	return e.get(t, e.d, cfg.ID)
}

// get returns container id as d lists it, failing the test when it is not
// listed.
func (e *env) get(t *testing.T, d driver.Driver, id string) driver.Container {
	t.Helper()
	c, ok := find(t, e.ctx, d, id)
	if !ok {
		t.Fatalf("List does not show %s", id)
	}
	return c
}

func find(t *testing.T, ctx context.Context, d driver.Driver, id string) (driver.Container, bool) {
	t.Helper()
	cs, err := d.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, c := range cs {
		if c.ID == id {
			return c, true
		}
	}
	return driver.Container{}, false
}

// waitExited waits until container id has exited and returns it.
func (e *env) waitExited(t *testing.T, id string) driver.Container {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		c := e.get(t, e.d, id)
		if c.State == driver.StateExited {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s is still %s after %s, want exited", id, c.State, waitFor)
		}
		select {
		case <-tick.C:
		case <-e.ctx.Done():
			t.Fatal(e.ctx.Err())
		}
	}
}

func wantErr(t *testing.T, what string, err, class error) {
	t.Helper()
	if !errors.Is(err, class) {
		t.Errorf("%s = %v, want an error wrapping %q", what, err, class)
	}
}

func testHost(t *testing.T, e *env) {
	h, err := e.d.Host(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !h.OSVersion.Known() || h.OSVersion.Major != 10 {
		t.Errorf("Host OS version = %s, want 10.0.x", h.OSVersion)
	}
	if !slices.Contains(driver.SKUs(), h.SKU) {
		t.Errorf("Host SKU = %q, want one of %q", h.SKU, driver.SKUs())
	}
	if h.Name == "" || h.Driver == "" {
		t.Errorf("Host = %+v, want a name and a driver", h)
	}
}

func testImage(t *testing.T, e *env) {
	img, err := e.d.Image(e.ctx, imageref.MustParse(imageSame))
	if err != nil {
		t.Fatal(err)
	}
	if img.OSVersion.Build != e.hv.Build {
		t.Errorf("Image(%s).OSVersion = %s, want %s", imageSame, img.OSVersion, e.hv)
	}
	if len(img.Command) == 0 {
		t.Errorf("Image(%s) has no default command", imageSame)
	}
}

func testLifecycle(t *testing.T, e *env, iso driver.Isolation) {
	before := time.Now().Add(-time.Minute)
	cfg := e.config("life-"+string(iso), iso)
	e.create(t, cfg)
	c := e.get(t, e.d, cfg.ID)
	want := driver.Container{ID: cfg.ID, Name: cfg.Name, Owner: Owner, Hash: cfg.Hash, Isolation: iso, Image: cfg.Image, State: driver.StateCreated}
	if got := identity(c); got != want {
		t.Errorf("after Create: %+v, want %+v", got, want)
	}
	if c.CreatedAt.Before(before) || c.InitPID != 0 || c.UtilityVM != nil {
		t.Errorf("after Create: CreatedAt %v, InitPID %d, UtilityVM %v; want a recent time and no process", c.CreatedAt, c.InitPID, c.UtilityVM)
	}

	e.start(t, cfg.ID)
	c = e.get(t, e.d, cfg.ID)
	if c.State != driver.StateRunning || c.StartedAt.IsZero() || !c.FinishedAt.IsZero() {
		t.Errorf("after Start: state %s, started %v, finished %v; want running, started, not finished", c.State, c.StartedAt, c.FinishedAt)
	}

	if err := e.d.Stop(e.ctx, cfg.ID, 10*time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	c = e.get(t, e.d, cfg.ID)
	if c.State != driver.StateExited || c.FinishedAt.Before(c.StartedAt) || c.InitPID != 0 || c.UtilityVM != nil {
		t.Errorf("after Stop: %+v, want exited, finished after start, no process", c)
	}

	if err := e.d.Remove(e.ctx, cfg.ID); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	if _, ok := find(t, e.ctx, e.d, cfg.ID); ok {
		t.Errorf("List still shows %s after Remove", cfg.ID)
	}
}

// identity is the part of a container that comes from its config and
// state, without times and processes.
func identity(c driver.Container) driver.Container {
	return driver.Container{ID: c.ID, Name: c.Name, Owner: c.Owner, Hash: c.Hash, Isolation: c.Isolation, Image: c.Image, State: c.State, ExitCode: c.ExitCode}
}

func testProcessPIDs(t *testing.T, e *env) {
	a := e.run(t, e.config("pid-a", driver.Process))
	b := e.run(t, e.config("pid-b", driver.Process))
	for _, c := range []driver.Container{a, b} {
		if c.InitPID <= 0 || c.UtilityVM != nil {
			t.Errorf("%s: InitPID %d, UtilityVM %v; want a host PID and no utility VM", c.ID, c.InitPID, c.UtilityVM)
		}
	}
	if a.InitPID == b.InitPID {
		t.Errorf("two running containers share host PID %d", a.InitPID)
	}
}

func testHyperVUtilityVM(t *testing.T, e *env) {
	a := e.run(t, e.config("uvm-a", driver.HyperV))
	b := e.run(t, e.config("uvm-b", driver.HyperV))
	for _, c := range []driver.Container{a, b} {
		if c.InitPID != 0 || c.UtilityVM == nil || c.UtilityVM.ID == "" || c.UtilityVM.PID <= 0 {
			t.Fatalf("%s: InitPID %d, UtilityVM %+v; want no host PID and a utility VM with an id and a vmwp PID", c.ID, c.InitPID, c.UtilityVM)
		}
	}
	if *a.UtilityVM == *b.UtilityVM {
		t.Errorf("two containers share utility VM %+v", *a.UtilityVM)
	}
}

func testOwnerFiltering(t *testing.T, e *env) {
	foreign := e.host.Client(t, ForeignOwner)
	cfg := e.config("foreign-1", driver.Process)
	cfg.Owner = ForeignOwner
	if err := foreign.Create(e.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := foreign.Start(e.ctx, cfg.ID); err != nil {
		t.Fatal(err)
	}
	e.run(t, e.config("mine-1", driver.Process))

	cs, err := e.d.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].ID != "mine-1" {
		t.Errorf("List = %v, want only mine-1", ids(cs))
	}
	wantErr(t, "Stop of a foreign container", e.d.Stop(e.ctx, cfg.ID, time.Second), driver.ErrNotFound)
	wantErr(t, "Remove of a foreign container", e.d.Remove(e.ctx, cfg.ID), driver.ErrNotFound)
	if c := e.get(t, foreign, cfg.ID); c.State != driver.StateRunning {
		t.Errorf("foreign container is %s after the attempts, want running", c.State)
	}
}

func ids(cs []driver.Container) []string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.ID
	}
	return s
}

func testTypedErrors(t *testing.T, e *env) {
	e.run(t, e.config("err-1", driver.Process))
	tests := []struct {
		what  string
		err   error
		class error
	}{
		{"Create with a taken id", e.d.Create(e.ctx, e.config("err-1", driver.Process)), driver.ErrAlreadyExists},
		{"Start of an unknown id", e.d.Start(e.ctx, "no-such"), driver.ErrNotFound},
		{"Stop of an unknown id", e.d.Stop(e.ctx, "no-such", time.Second), driver.ErrNotFound},
		{"Remove of an unknown id", e.d.Remove(e.ctx, "no-such"), driver.ErrNotFound},
		{"Remove of a running container", e.d.Remove(e.ctx, "err-1"), driver.ErrInvalidState},
	}
	for _, tt := range tests {
		wantErr(t, tt.what, tt.err, tt.class)
	}
	if c := e.get(t, e.d, "err-1"); c.State != driver.StateRunning || c.Hash != "hash-err-1" {
		t.Errorf("err-1 after the failed calls: %+v, want it running and unchanged", c)
	}
	if err := e.d.Stop(e.ctx, "err-1", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Stop(e.ctx, "err-1", time.Second); err != nil {
		t.Errorf("Stop of an exited container = %v, want nil", err)
	}
}

func testProcessMismatch(t *testing.T, e *env) {
	old := driver.OSVersion{Major: 10, Build: 14393}
	if winbuild.ProcessCompatible(e.hv, old) {
		t.Skipf("host %s runs %s images with process isolation", e.hv, old)
	}
	cfg := e.config("old-process", driver.Process)
	cfg.Image = imageref.MustParse(imageOld)
	err := e.d.Create(e.ctx, cfg)
	wantErr(t, "Create process-isolated with an old image", err, driver.ErrVersionMismatch)
	if err != nil && !driver.IsPermanent(err) {
		t.Errorf("version mismatch %v is not permanent", err)
	}
	// The same image runs with Hyper-V isolation.
	cfg = e.config("old-hyperv", driver.HyperV)
	cfg.Image = imageref.MustParse(imageOld)
	e.run(t, cfg)
}

func testHyperVMismatch(t *testing.T, e *env) {
	cfg := e.config("newer-hyperv", driver.HyperV)
	cfg.Image = imageref.MustParse(imageNewer)
	wantErr(t, "Create Hyper-V with an image newer than the host", e.d.Create(e.ctx, cfg), driver.ErrVersionMismatch)
}

func testDevicesHyperV(t *testing.T, e *env) {
	cfg := e.config("gpu-hyperv", driver.HyperV)
	cfg.Devices = []string{"5B45201D-F2F2-4F3B-85BB-30FF1F953599"}
	wantErr(t, "Create Hyper-V with a device", e.d.Create(e.ctx, cfg), driver.ErrNotSupported)
}

func testPortInUse(t *testing.T, e *env) {
	a := e.config("port-a", driver.Process)
	a.Ports = []driver.Port{{HostPort: 18080, ContainerPort: 80, Protocol: "tcp"}}
	e.run(t, a)
	b := e.config("port-b", driver.Process)
	b.Ports = []driver.Port{{HostPort: 18080, ContainerPort: 8080, Protocol: "tcp"}}
	// A driver may find the conflict when it creates the container or
	// when it starts it.
	err := e.d.Create(e.ctx, b)
	if err == nil {
		err = e.d.Start(e.ctx, b.ID)
	}
	wantErr(t, "a second container mapping host port 18080", err, driver.ErrPortInUse)

	// Another protocol is another port.
	c := e.config("port-c", driver.Process)
	c.Ports = []driver.Port{{HostPort: 18080, ContainerPort: 53, Protocol: "udp"}}
	e.run(t, c)
}

// testDNSServers: DNS servers and a host name of a config's own run, in
// both isolations; DNS servers without a network endpoint of the
// container's own are a config the host refuses.
func testDNSServers(t *testing.T, e *env) {
	servers := []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("fd00::53")}
	for _, iso := range []driver.Isolation{driver.Process, driver.HyperV} {
		cfg := e.config("dns-"+string(iso), iso)
		cfg.DNS, cfg.HostName = servers, "web-01"
		if c := e.run(t, cfg); c.State != driver.StateRunning {
			t.Errorf("%s with DNS servers and a host name: %s, want running", iso, c.State)
		}
	}
	none := e.config("dns-none", driver.Process)
	none.Network, none.DNS = "none", servers
	err := e.d.Create(e.ctx, none)
	wantErr(t, "Create with DNS servers and network none", err, driver.ErrInvalidConfig)
	if !driver.IsPermanent(err) {
		t.Errorf("Create with DNS servers and network none = %v, want a permanent error", err)
	}
}

func testExitCode(t *testing.T, e *env) {
	for _, iso := range driver.Isolations() {
		cfg := e.config(fmt.Sprintf("exit3-%s", iso), iso, "cmd", "/c", "exit 3")
		e.create(t, cfg)
		e.start(t, cfg.ID)
		c := e.waitExited(t, cfg.ID)
		if c.ExitCode != 3 || c.FinishedAt.IsZero() || c.InitPID != 0 || c.UtilityVM != nil {
			t.Errorf("%s: %+v, want exit code 3, a finish time and no process", cfg.ID, c)
		}
	}
}

func testKilled(t *testing.T, e *env) {
	cfg := e.config("victim", driver.Process)
	e.run(t, cfg)
	e.host.Kill(t, cfg.ID, 137)
	c := e.waitExited(t, cfg.ID)
	if c.ExitCode != 137 {
		t.Errorf("exit code after Kill = %d, want 137", c.ExitCode)
	}
}

func testRestart(t *testing.T, e *env) {
	cfg := e.config("again", driver.Process)
	first := e.run(t, cfg)
	e.host.Kill(t, cfg.ID, 1)
	e.waitExited(t, cfg.ID)
	e.start(t, cfg.ID)
	c := e.get(t, e.d, cfg.ID)
	if c.State != driver.StateRunning || c.ExitCode != 0 || !c.FinishedAt.IsZero() {
		t.Errorf("after starting again: %+v, want running with the exit cleared", c)
	}
	if c.InitPID == 0 || c.InitPID == first.InitPID {
		t.Errorf("init PID after starting again = %d, want a new one (was %d)", c.InitPID, first.InitPID)
	}
	if c.StartedAt.Before(first.StartedAt) || !c.CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("times after starting again: created %v started %v, first created %v started %v", c.CreatedAt, c.StartedAt, first.CreatedAt, first.StartedAt)
	}
	wantErr(t, "Start of a running container", e.d.Start(e.ctx, cfg.ID), driver.ErrInvalidState)
}

func testAdoption(t *testing.T, e *env) {
	running := e.run(t, e.config("adopt-run", driver.Process))
	e.create(t, e.config("adopt-created", driver.HyperV))

	second := e.host.Client(t, Owner)
	cs, err := second.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	first, err := e.d.List(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || len(first) != 2 {
		t.Fatalf("second client lists %v, first %v; want both containers", ids(cs), ids(first))
	}
	for i := range cs {
		if identity(cs[i]) != identity(first[i]) || !cs[i].StartedAt.Equal(first[i].StartedAt) || cs[i].InitPID != first[i].InitPID {
			t.Errorf("second client sees %+v, first %+v", cs[i], first[i])
		}
	}
	if c := e.get(t, second, running.ID); c.InitPID != running.InitPID {
		t.Errorf("second client sees PID %d, want %d", c.InitPID, running.InitPID)
	}
	if err := second.Stop(e.ctx, running.ID, 10*time.Second); err != nil {
		t.Fatalf("second client Stop: %v", err)
	}
	for _, id := range []string{running.ID, "adopt-created"} {
		if err := second.Remove(e.ctx, id); err != nil {
			t.Fatalf("second client Remove %s: %v", id, err)
		}
	}
	if cs, err := e.d.List(e.ctx); err != nil || len(cs) != 0 {
		t.Errorf("first client lists %v, %v after the second removed everything", ids(cs), err)
	}
}
