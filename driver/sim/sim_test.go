package sim_test

import (
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/drivertest"
	"github.com/isoagent/isoagent/driver/sim"
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
}
