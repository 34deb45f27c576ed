package reconcile

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// recorder is an Observer that counts what the engine did.
type recorder struct {
	mu        sync.Mutex
	actions   map[ActionKind]int
	failed    map[ActionKind]int
	results   map[Outcome]int
	restarts  []time.Time
	rejected  map[Reason]int
	converged int
}

func newRecorder() *recorder {
	return &recorder{actions: map[ActionKind]int{}, failed: map[ActionKind]int{}, results: map[Outcome]int{}, rejected: map[Reason]int{}}
}

func (r *recorder) Reconciled(res Outcome, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.results[res]++
}

func (r *recorder) Action(k ActionKind, err error, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed[k]++
		return
	}
	r.actions[k]++
}
func (r *recorder) DriverOp(driver.Op, error, time.Duration) {}
func (r *recorder) Restarted(string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.restarts = append(r.restarts, time.Now())
}
func (r *recorder) Rejected(_ string, reason Reason) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rejected[reason]++
}
func (r *recorder) Converged(time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.converged++
}

// counts returns "create=N start=N stop=N remove=N".
func (r *recorder) counts() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprintf("create=%d start=%d stop=%d remove=%d", r.actions[ActionCreate], r.actions[ActionStart], r.actions[ActionStop], r.actions[ActionRemove])
}

func (r *recorder) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.actions)
	clear(r.failed)
	clear(r.results)
	r.restarts = nil
}

// snapshot declares specs, each from its own valid file.
func snapshot(specs ...*spec.Container) *spec.Snapshot {
	snap := &spec.Snapshot{Dir: "specs", LoadedAt: time.Now()}
	for _, c := range specs {
		snap.Specs = append(snap.Specs, c)
		snap.Files = append(snap.Files, spec.File{Path: c.Source.File, Names: []string{c.Name()}})
	}
	return snap
}

const testResync = 30 * time.Second

type rig struct {
	t      *testing.T
	drv    *sim.Driver
	eng    *Engine
	rec    *recorder
	cancel context.CancelFunc
	done   chan error
}

func openSim(t *testing.T, dir string) *sim.Driver {
	t.Helper()
	d, err := sim.Open(dir, sim.Options{Host: driver.Host{Name: "WEB-01"}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// start runs an engine over drv with snap, when not nil, as the folder's
// content handed in before Run, as the agent's watcher does at start.
func start(t *testing.T, drv *sim.Driver, snap *spec.Snapshot, edit ...func(*EngineOptions)) *rig {
	t.Helper()
	r := &rig{t: t, drv: drv, rec: newRecorder(), done: make(chan error, 1)}
	opts := EngineOptions{
		Driver: drv, Workers: 2, Resync: testResync, Observer: r.rec,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, e := range edit {
		e(&opts)
	}
	r.eng = NewEngine(opts)
	r.eng.Update(snap)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- r.eng.Run(ctx) }()
	t.Cleanup(r.stop)
	return r
}

func (r *rig) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	if err := <-r.done; err != nil {
		r.t.Errorf("Run = %v", err)
	}
	r.cancel = nil
}

// apply changes the folder and tells the engine at once, as a watcher would.
func (r *rig) apply(snap *spec.Snapshot) { r.eng.Update(snap) }

// waitConverged waits, in fake time, until the engine has converged.
func (r *rig) waitConverged() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := r.eng.WaitConverged(ctx); err != nil {
		r.t.Fatalf("not converged after 10 min: %v: %+v", err, r.eng.Status())
	}
}

// settle lets the engine run for d of fake time.
func (r *rig) settle(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

// containers returns the owned containers by name.
func (r *rig) containers() map[string]driver.Container {
	r.t.Helper()
	cs, err := r.drv.List(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	m := map[string]driver.Container{}
	for _, c := range cs {
		if _, dup := m[c.Name]; dup {
			r.t.Errorf("two containers named %s", c.Name)
		}
		m[c.Name] = c
	}
	return m
}

func (r *rig) requireRunning(names ...string) map[string]driver.Container {
	r.t.Helper()
	cs := r.containers()
	for _, n := range names {
		if c, ok := cs[n]; !ok || c.State != driver.StateRunning {
			r.t.Errorf("%s: %+v, want running", n, c)
		}
	}
	return cs
}

func (r *rig) status(name string) ContainerStatus {
	for _, c := range r.eng.Status().Containers {
		if c.Name == name {
			return c
		}
	}
	r.t.Fatalf("no status for %s", name)
	return ContainerStatus{}
}

func hasCondition(conds []Condition, typ ConditionType) bool {
	return slices.ContainsFunc(conds, func(c Condition) bool { return c.Type == typ })
}

func threeSpecs() []*spec.Container {
	return []*spec.Container{ctr("a", img2022), ctr("b", img2022), ctr("c", img2022)}
}
func TestEngineConvergesFromEmpty(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...))
		r.waitConverged()
		cs := r.requireRunning("a", "b", "c")
		if got := r.rec.counts(); got != "create=3 start=3 stop=0 remove=0" {
			t.Errorf("actions %s", got)
		}
		st := r.eng.Status()
		if !st.Ready || !st.Converged || st.Host.OSVersion.Build != 20348 {
			t.Errorf("status %+v", st)
		}
		r.settle(2 * time.Second) // a relist brings the driver's view in
		a := r.status("a")
		if a.State != StateRunning || a.ContainerID != cs["a"].ID || a.InitPID == 0 || a.EffectiveIsolation != driver.Process || a.RequestedIsolation != "default" {
			t.Errorf("status of a: %+v", a)
		}
	})
}

// Point 5(a): an agent restart over an unchanged folder adopts everything.
func TestEngineAdoptsAfterRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		snap := snapshot(threeSpecs()...)
		first := start(t, openSim(t, dir), snap)
		first.waitConverged()
		before := first.containers()
		first.stop()

		second := start(t, openSim(t, dir), snap)
		second.waitConverged()
		second.settle(2 * testResync)
		if got := second.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("second engine acted: %s", got)
		}
		after := second.requireRunning("a", "b", "c")
		for n, c := range before {
			if after[n].ID != c.ID || !after[n].StartedAt.Equal(c.StartedAt) {
				t.Errorf("%s changed across the restart: %+v -> %+v", n, c, after[n])
			}
		}
	})
}

// Point 5(c): a change to the effective config recreates exactly that
// container.
func TestEngineRecreatesExactlyTheChangedContainer(t *testing.T) {
	changes := map[string]func(*spec.Spec){
		"isolation": func(s *spec.Spec) { s.Isolation = spec.IsolationHyperV },
		"image":     func(s *spec.Spec) { s.Image = imageref.MustParse("mcr.microsoft.com/windows/nanoserver:ltsc2022") },
		"command":   func(s *spec.Spec) { s.Command = []string{"ping", "-t", "localhost"} },
		"env":       func(s *spec.Spec) { s.Env = map[string]string{"X": "1"} },
		"mount": func(s *spec.Spec) {
			s.Mounts = []spec.Mount{{HostPath: winpath.MustParse(`D:\data`), ContainerPath: winpath.MustParse(`C:\data`)}}
		},
		"pipe": func(s *spec.Spec) {
			s.Pipes = []spec.Pipe{{HostPipe: winpath.MustParsePipe(`\\.\pipe\p`), ContainerPipe: winpath.MustParsePipe(`\\.\pipe\p`)}}
		},
		"port":      func(s *spec.Spec) { s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80}} },
		"device":    func(s *spec.Spec) { s.Devices = []spec.Device{{ClassGUID: "5B45201D-F2F2-4F3B-85BB-30FF1F953599"}} },
		"resources": func(s *spec.Spec) { s.Resources.MemoryMB = 512 },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				specs := threeSpecs()
				r := start(t, openSim(t, ""), snapshot(specs...))
				r.waitConverged()
				before := r.containers()
				r.rec.reset()

				changed := *specs[1]
				change(&changed.Spec)
				r.apply(snapshot(specs[0], &changed, specs[2]))
				r.waitConverged()
				r.settle(testResync)

				if got := r.rec.counts(); got != "create=1 start=1 stop=1 remove=1" {
					t.Errorf("actions %s, want one recreate", got)
				}
				after := r.requireRunning("a", "b", "c")
				if after["a"].ID != before["a"].ID || after["c"].ID != before["c"].ID {
					t.Error("an unchanged container was recreated")
				}
				if after["b"].ID == before["b"].ID {
					t.Error("the changed container kept its ID")
				}
			})
		})
	}
}

func TestEngineNoChangeForRestartPolicyOrLabels(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		specs := threeSpecs()
		r := start(t, openSim(t, ""), snapshot(specs...))
		r.waitConverged()
		r.rec.reset()
		b := *specs[1]
		b.Spec.RestartPolicy = spec.RestartNever
		b.Spec.StopTimeout = spec.Duration(time.Minute)
		b.Metadata.Labels = map[string]string{"team": "x"}
		r.apply(snapshot(specs[0], &b, specs[2]))
		r.waitConverged()
		if got := r.rec.counts(); got != "create=0 start=0 stop=0 remove=0" {
			t.Errorf("actions %s", got)
		}
	})
}

// Drift: a container killed or removed behind the agent's back is put right
// within one resync interval.
func TestEngineResyncRestoresDrift(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := start(t, openSim(t, ""), snapshot(threeSpecs()...))
		r.waitConverged()
		r.settle(2 * time.Second)
		r.rec.reset()
		m := r.drv.Model()
		if err := m.Kill("a", 137); err != nil {
			t.Fatal(err)
		}
		if err := m.ForceRemove("b"); err != nil {
			t.Fatal(err)
		}
		r.settle(testResync + time.Second)
		r.requireRunning("a", "b", "c")
		if got := r.rec.counts(); got != "create=1 start=2 stop=0 remove=0" {
			t.Errorf("actions %s, want a restarted and b created", got)
		}
		if n := r.status("a").RestartCount; n != 1 {
			t.Errorf("restart count of a = %d, want 1", n)
		}
	})
}

func TestEnginePrunesOwnedContainersOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, "")
		foreign := driver.Config{ID: "docker-c", Name: "c", Owner: "docker", Isolation: driver.Process, Image: imageref.MustParse(img2022)}
		if err := drv.Model().AddForeign(foreign); err != nil {
			t.Fatal(err)
		}
		specs := threeSpecs()
		r := start(t, drv, snapshot(specs...))
		r.waitConverged()
		r.rec.reset()
		r.apply(snapshot(specs[0], specs[1]))
		r.waitConverged()
		if got := r.rec.counts(); got != "create=0 start=0 stop=1 remove=1" {
			t.Errorf("actions %s, want c pruned", got)
		}
		if _, ok := r.containers()["c"]; ok {
			t.Error("c still there")
		}
		all, err := drv.Model().Containers("")
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(all, func(c driver.Container) bool { return c.ID == "docker-c" && c.State == driver.StateRunning }) {
			t.Errorf("the foreign container was touched: %+v", all)
		}
	})
}
