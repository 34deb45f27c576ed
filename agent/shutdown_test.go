package agent

import (
	"context"
	"log/slog"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/spec"
)

// stopRecorder is a driver that notes the timeout of each Stop.
type stopRecorder struct {
	driver.Driver
	mu    sync.Mutex
	stops map[string]time.Duration
}

func (r *stopRecorder) Stop(ctx context.Context, id string, timeout time.Duration) error {
	r.mu.Lock()
	r.stops[id] = timeout
	r.mu.Unlock()
	return r.Driver.Stop(ctx, id, timeout)
}

func TestStopForShutdownGivesEachContainerItsGrace(t *testing.T) {
	specs := t.TempDir()
	testutil.WriteSpec(t, specs, "web.yaml", "web", "mcr.microsoft.com/windows/servercore:ltsc2022", "stopTimeout: 45s")
	testutil.WriteSpec(t, specs, "api.yaml", "api", "mcr.microsoft.com/windows/servercore:ltsc2022")
	d, err := sim.Open(t.TempDir(), sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, c := range []struct {
		cfg   driver.Config
		start bool
	}{
		{driver.Config{ID: "web-1", Name: "web", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022")}, true},
		{driver.Config{ID: "api-1", Name: "api", Isolation: driver.HyperV, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022")}, true},
		{driver.Config{ID: "old-1", Name: "old", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022")}, true},
		{driver.Config{ID: "idle-1", Name: "idle", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022")}, false},
	} {
		if err := d.Create(ctx, c.cfg); err != nil {
			t.Fatal(err)
		}
		if c.start {
			if err := d.Start(ctx, c.cfg.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := d.Model().AddForeign(driver.Config{ID: "docker-1", Name: "legacy", Owner: "docker", Isolation: driver.Process, Image: imageref.MustParse("example.com/legacy:ltsc2022")}); err != nil {
		t.Fatal(err)
	}

	rec := &stopRecorder{Driver: d, stops: map[string]time.Duration{}}
	if err := stopForShutdown(ctx, rec, sim.DefaultOwner, specs, spec.LoaderOptions{}, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Duration{
		"web-1": 45 * time.Second,
		"api-1": 10 * time.Second, // the spec's default
		"old-1": 10 * time.Second, // no spec any more: the default
	}
	if !maps.Equal(rec.stops, want) {
		t.Errorf("stops %v, want %v (running containers of the owner only, each with its grace)", rec.stops, want)
	}
	cs, err := d.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if c.State == driver.StateRunning {
			t.Errorf("%s is still running", c.ID)
		}
	}
	if fc, _ := d.Model().Containers("docker"); len(fc) != 1 || fc[0].State != driver.StateRunning {
		t.Errorf("the foreign container: %+v, want it running", fc)
	}
}
