package sim_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/drivertest"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/monitor"
)

// folderHarness makes hosts kept in a state folder; each client opens the
// folder afresh, as another agent process would.
type folderHarness struct{}

type folderHost struct{ dir string }

func (folderHarness) NewHost(t *testing.T) drivertest.Host { return folderHost{dir: t.TempDir()} }

func (h folderHost) Client(t *testing.T, owner string) driver.Driver {
	d, err := sim.Open(h.dir, sim.Options{Owner: owner})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (h folderHost) model(t *testing.T) *sim.Model {
	store, err := sim.DirStore(h.dir)
	if err != nil {
		t.Fatal(err)
	}
	return sim.NewModel(store, nil)
}

func (h folderHost) Kill(t *testing.T, id string, code int) {
	if err := h.model(t).Kill(id, code); err != nil {
		t.Fatal(err)
	}
}

func (h folderHost) SetImageOSVersion(t *testing.T, ref string, v driver.OSVersion) {
	if err := h.model(t).SetImage(ref, v); err != nil {
		t.Fatal(err)
	}
}

// memoryHarness makes hosts kept in memory, whose clients share one Model.
type memoryHarness struct{}

type memoryHost struct{ m *sim.Model }

func (memoryHarness) NewHost(t *testing.T) drivertest.Host {
	m := sim.NewModel(sim.MemoryStore(), nil)
	if err := m.InitHost(driver.Host{}, false); err != nil {
		t.Fatal(err)
	}
	return memoryHost{m}
}

func (h memoryHost) Client(t *testing.T, owner string) driver.Driver {
	return sim.NewDriver(h.m, owner, nil)
}

func (h memoryHost) Kill(t *testing.T, id string, code int) {
	if err := h.m.Kill(id, code); err != nil {
		t.Fatal(err)
	}
}

func (h memoryHost) SetImageOSVersion(t *testing.T, ref string, v driver.OSVersion) {
	if err := h.m.SetImage(ref, v); err != nil {
		t.Fatal(err)
	}
}

func TestConformance(t *testing.T) {
	t.Run("Folder", func(t *testing.T) { drivertest.Run(t, folderHarness{}) })
	t.Run("Memory", func(t *testing.T) { drivertest.Run(t, memoryHarness{}) })
	t.Run("Monitored", func(t *testing.T) { drivertest.Run(t, monitoredHarness{}) })
}

// monitorEnv makes the test binary the monitor of a run, as `isoagent
// monitor` is (see TestMain).
const monitorEnv = "ISOAGENT_SIM_TEST_MONITOR"

func TestMain(m *testing.M) {
	if os.Getenv(monitorEnv) == "1" {
		dir := os.Args[len(os.Args)-1]
		if err := monitor.Run(context.Background(), dir, sim.MonitorRuntime{}, os.Stdout, monitor.Options{}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// monitorCommand is the command of the runs' monitors: this test binary.
func monitorCommand(t *testing.T) []string {
	t.Helper()
	t.Setenv(monitorEnv, "1")
	return []string{os.Args[0]}
}

// monitoredHarness makes folder hosts whose runs have monitor processes,
// as the agent's are.
type monitoredHarness struct{}

type monitoredHost struct {
	folderHost
	command []string
}

func (monitoredHarness) KeepsOutput() bool { return true }

func (monitoredHarness) NewHost(t *testing.T) drivertest.Host {
	h := monitoredHost{folderHost{dir: t.TempDir()}, monitorCommand(t)}
	// Stop what runs before the folder goes, so that no monitor writes
	// into it as it is removed.
	t.Cleanup(func() { stopAll(t, h.dir) })
	return h
}

func (h monitoredHost) Client(t *testing.T, owner string) driver.Driver {
	d, err := sim.Open(h.dir, sim.Options{Owner: owner, Monitor: h.command})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// stopAll stops every running container of the host in dir, waiting for
// their monitors.
func stopAll(t *testing.T, dir string) {
	t.Helper()
	m := folderHost{dir: dir}.model(t)
	cs, err := m.Containers("")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.State != driver.StateRunning {
			continue
		}
		d, err := sim.Open(dir, sim.Options{Owner: c.Owner, Monitor: []string{os.Args[0]}})
		if err != nil {
			t.Fatal(err)
		}
		d.List(context.Background()) // finds the monitors again
		if err := d.Stop(context.Background(), c.ID, time.Second); err != nil {
			t.Errorf("stop %s: %v", c.ID, err)
		}
		d.Close()
	}
	// The monitors of runs that ended by themselves may still be writing.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := monitor.Layout{Dir: dir}
	for _, c := range cs {
		runs, err := l.Runs(c.ID)
		if err != nil {
			t.Error(err)
		}
		for _, r := range runs {
			h, err := monitor.Open(r)
			if err != nil {
				t.Error(err)
				continue
			}
			if _, err := h.Wait(ctx); err != nil && !errors.Is(err, monitor.ErrNoExit) {
				t.Errorf("wait for the monitor of %s: %v", r, err)
			}
		}
	}
}
