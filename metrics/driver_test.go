package metrics

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/drivertest"
	"github.com/isoagent/isoagent/driver/sim"
)

// instrumentedHarness runs the driver conformance suite through
// InstrumentDriver over the simulated host, so the wrapper is held to the
// same behaviour as the driver it wraps.
type instrumentedHarness struct{ m *Metrics }

type instrumentedHost struct {
	m     *Metrics
	model *sim.Model
}

func (h instrumentedHarness) NewHost(t *testing.T) drivertest.Host {
	model := sim.NewModel(sim.MemoryStore(), nil)
	if err := model.InitHost(driver.Host{}, false); err != nil {
		t.Fatal(err)
	}
	return instrumentedHost{h.m, model}
}

func (h instrumentedHost) Client(t *testing.T, owner string) driver.Driver {
	return h.m.InstrumentDriver(sim.NewDriver(h.model, owner, nil))
}

func (h instrumentedHost) Kill(t *testing.T, id string, code int) {
	if err := h.model.Kill(id, code); err != nil {
		t.Fatal(err)
	}
}

func (h instrumentedHost) SetImageOSVersion(t *testing.T, ref string, v driver.OSVersion) {
	if err := h.model.SetImage(ref, v); err != nil {
		t.Fatal(err)
	}
}

func TestInstrumentedDriverPassesConformance(t *testing.T) {
	m, _ := newTest(t)
	drivertest.Run(t, instrumentedHarness{m})
	for _, op := range Operations() {
		if n := histogramOf(t, m.driverOps, op).GetSampleCount(); n == 0 {
			t.Errorf("no %s call observed over the whole suite", op)
		}
	}
}

// stepClock advances by step every time it is read, so each call, which
// reads it once before and once after, takes exactly step.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func TestInstrumentedDriverTimesEveryCall(t *testing.T) {
	ctx := t.Context()
	cfg := driver.Config{ID: "web-1", Name: "web", Owner: sim.DefaultOwner, Isolation: driver.Process,
		Image: "mcr.microsoft.com/windows/servercore:ltsc2022"}
	injected := errors.New("injected")
	tests := []struct {
		op    string
		fault sim.Op
		call  func(d driver.Driver) error
	}{
		{OpHost, sim.OpHost, func(d driver.Driver) error { _, err := d.Host(ctx); return err }},
		{OpImage, sim.OpImage, func(d driver.Driver) error { _, err := d.Image(ctx, cfg.Image); return err }},
		{OpList, sim.OpList, func(d driver.Driver) error { _, err := d.List(ctx); return err }},
		{OpCreate, sim.OpCreate, func(d driver.Driver) error { return d.Create(ctx, cfg) }},
		{OpStart, sim.OpStart, func(d driver.Driver) error { return d.Start(ctx, cfg.ID) }},
		{OpStop, sim.OpStop, func(d driver.Driver) error { return d.Stop(ctx, cfg.ID, time.Second) }},
		{OpRemove, sim.OpRemove, func(d driver.Driver) error { return d.Remove(ctx, cfg.ID) }},
	}
	for _, fail := range []bool{false, true} {
		name := "success"
		if fail {
			name = "failure"
		}
		t.Run(name, func(t *testing.T) {
			m, _ := newTest(t)
			sd, err := sim.Open("", sim.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := m.InstrumentDriver(sd)
			d.(*instrumentedDriver).now = (&stepClock{t: time.Unix(0, 0), step: 250 * time.Millisecond}).now
			for _, tt := range tests {
				if fail {
					if err := sd.InjectFault(sim.Fault{Op: tt.fault, Count: 1, Err: injected}); err != nil {
						t.Fatal(err)
					}
				}
				err := tt.call(d)
				if fail && !errors.Is(err, injected) {
					t.Errorf("%s: err = %v, want the injected error passed through", tt.op, err)
				}
				if !fail && err != nil {
					t.Errorf("%s: %v", tt.op, err)
				}
				h := histogramOf(t, m.driverOps, tt.op)
				if h.GetSampleCount() != 1 || h.GetSampleSum() != 0.25 {
					t.Errorf("%s: %d observations summing to %v s, want 1 of 0.25 s", tt.op, h.GetSampleCount(), h.GetSampleSum())
				}
			}
		})
	}
}

func TestInstrumentedDriverObservesCancelledCalls(t *testing.T) {
	m, _ := newTest(t)
	sd, err := sim.Open("", sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.InjectFault(sim.Fault{Op: sim.OpList, Count: 1, Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.InstrumentDriver(sd).List(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("List with a cancelled context: %v", err)
	}
	if n := histogramOf(t, m.driverOps, OpList).GetSampleCount(); n != 1 {
		t.Errorf("%d observations, want 1", n)
	}
}
