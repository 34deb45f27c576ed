package agent

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/internal/testutil"
)

// closingDriver is a driver with a Close, as the hcs driver has, that
// notes its calls.
type closingDriver struct {
	driver.Driver
	mu     sync.Mutex
	closes int
	err    error
}

func (d *closingDriver) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closes++
	return d.err
}

// component is a Component that runs until ctx ends, or until it is told
// to stop with err, and can report its health.
type component struct {
	stop    chan error
	stopped chan struct{}
	health  error
}

func newComponent() *component {
	return &component{stop: make(chan error), stopped: make(chan struct{})}
}

func (c *component) Run(ctx context.Context) error {
	defer close(c.stopped)
	select {
	case <-ctx.Done():
		return nil
	case err := <-c.stop:
		return err
	}
}

func (c *component) Health() error { return c.health }

func newTestAgent(t *testing.T, drv driver.Driver) *Agent {
	t.Helper()
	dir := t.TempDir()
	testutil.WriteSpec(t, dir, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022")
	a, err := New(t.Context(), Config{Dir: dir, Driver: drv, Poll: testResync})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func openSim(t *testing.T) *sim.Driver {
	t.Helper()
	d, err := sim.Open("", sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A component that stops, failing or not, stops every other; Run returns
// once all have, with each error under its component's name.
func TestRunStopsEveryComponentWhenOneStops(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		wantErr string
	}{
		{"one fails", errors.New("folder gone"), "broken: folder gone"},
		{"one ends of its own accord", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := newTestAgent(t, openSim(t))
				broken, other := newComponent(), newComponent()
				a.add("broken", broken)
				a.add("other", other)
				done := make(chan error, 1)
				go func() { done <- a.Run(context.Background()) }()
				synctest.Wait()
				broken.stop <- tt.err
				err := <-done
				if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || err.Error() != tt.wantErr) {
					t.Errorf("Run = %v, want %q", err, tt.wantErr)
				}
				select {
				case <-other.stopped:
				default:
					t.Error("Run returned before the other component stopped")
				}
			})
		})
	}
}

func TestHealthJoinsTheComponentsThatCanTell(t *testing.T) {
	a := newTestAgent(t, openSim(t))
	if err := a.Health(); err != nil {
		t.Fatalf("Health of an agent whose parts say nothing = %v", err)
	}
	ok, sick := newComponent(), newComponent()
	sick.health = errors.New("no read of the folder for 5m")
	a.add("ok", ok)
	a.add("sick", sick)
	if err := a.Health(); err == nil || err.Error() != "sick: no read of the folder for 5m" {
		t.Errorf("Health = %v, want the sick component's reason under its name", err)
	}
}

// The driver is closed once, when the agent is closed after running and
// stopping its containers; the containers keep running across Close.
func TestCloseClosesTheDriverOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := &closingDriver{Driver: openSim(t)}
		a := newTestAgent(t, drv)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		if err := a.WaitConverged(ctx); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if drv.closes != 0 {
			t.Fatal("Run closed the driver; StopContainers may still need it")
		}
		if err := a.Close(); err != nil {
			t.Fatal(err)
		}
		if err := a.Close(); err != nil || drv.closes != 1 {
			t.Errorf("second Close = %v after %d closes, want nil after one", err, drv.closes)
		}
		cs, err := drv.List(t.Context())
		if err != nil || len(cs) != 1 || cs[0].State != driver.StateRunning {
			t.Errorf("after Close the host has %+v (%v), want web running", cs, err)
		}
	})
}

func TestCloseReportsTheDriversError(t *testing.T) {
	drv := &closingDriver{Driver: openSim(t), err: errors.New("handle of web: access denied")}
	a := newTestAgent(t, drv)
	if err := a.Close(); err == nil || !strings.Contains(err.Error(), "close the sim driver: handle of web: access denied") {
		t.Errorf("Close = %v", err)
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(dir string) Config
		want string
	}{
		{"no folder", func(string) Config { return Config{Driver: openSim(t)} }, "a spec folder and a driver are required"},
		{"no driver", func(dir string) Config { return Config{Dir: dir} }, "a spec folder and a driver are required"},
		{"a policy file that does not load", func(dir string) Config {
			return Config{Dir: dir, Driver: openSim(t), PolicyFile: dir + "/missing.yaml"}
		}, "policy file " + "DIR/missing.yaml is not usable (1 problems, logged above)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, err := New(t.Context(), tt.cfg(dir))
			if want := strings.ReplaceAll(tt.want, "DIR", dir); err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("New = %v, want %q", err, want)
			}
		})
	}
}
