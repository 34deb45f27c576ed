package reconcile

import (
	"slices"
	"testing"

	"github.com/isoagent/isoagent/driver"
)

// TestHostCacheKeepsTheNewestLook pins the one rule of the host cache's
// writes: a write is dropped for a name that a look begun later has
// written, whoever the writers are.
func TestHostCacheKeepsTheNewestLook(t *testing.T) {
	run := func(id string) driver.Container {
		return driver.Container{ID: id, Name: "a", State: driver.StateRunning}
	}
	exited := func(id string) driver.Container {
		return driver.Container{ID: id, Name: "a", State: driver.StateExited, ExitCode: 1}
	}
	type write struct {
		look    int // index of the look (its Begin) the write reports
		list    []driver.Container
		applied bool
	}
	tests := []struct {
		name   string
		looks  int // Begin is called this many times first, in order
		writes []write
		want   []driver.Container
	}{
		{"a relist begun before a worker's step does not undo it", 2,
			[]write{{1, []driver.Container{run("a-1")}, true}, {0, nil, false}},
			[]driver.Container{run("a-1")}},
		{"a relist begun after a worker's step replaces it", 2,
			[]write{{0, []driver.Container{run("a-1")}, true}, {1, []driver.Container{exited("a-1")}, true}},
			[]driver.Container{exited("a-1")}},
		{"of two relists the one begun later wins, whichever writes last", 2,
			[]write{{1, []driver.Container{exited("a-1")}, true}, {0, []driver.Container{run("a-1")}, false}},
			[]driver.Container{exited("a-1")}},
		{"one look may write a name twice", 1,
			[]write{{0, []driver.Container{run("a-1")}, true}, {0, []driver.Container{run("a-2")}, true}},
			[]driver.Container{run("a-2")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newHostCache()
			var versions []uint64
			for range tt.looks {
				versions = append(versions, c.Begin())
			}
			for i, w := range tt.writes {
				applied, _ := c.Write(versions[w.look], "a", replaceWith(w.list))
				if applied != w.applied {
					t.Errorf("write %d (look %d): applied %v, want %v", i, w.look, applied, w.applied)
				}
			}
			if got := c.Get("a"); !slices.Equal(got, tt.want) {
				t.Errorf("cached %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestHostCacheWrites(t *testing.T) {
	c := newHostCache()
	write := func(name string, f func([]driver.Container) []driver.Container) bool {
		t.Helper()
		applied, changed := c.Write(c.Begin(), name, f)
		if !applied {
			t.Fatalf("a write with a fresh version was dropped")
		}
		return changed
	}
	app := driver.Container{ID: "app-1", Name: "app", State: driver.StateCreated}
	steps := []struct {
		what    string
		write   func() bool
		changed bool
		names   []string
		running bool // app-1 runs
	}{
		{"added", func() bool { return write("app", withContainer(app)) }, true, []string{"app"}, false},
		{"started", func() bool {
			return write("app", withChange("app-1", func(c *driver.Container) { c.State = driver.StateRunning }))
		}, true, []string{"app"}, true},
		{"the same again, with a PID learnt", func() bool {
			return write("app", withChange("app-1", func(c *driver.Container) { c.InitPID = 42 }))
		}, false, []string{"app"}, true},
		{"the same ID under a second name", func() bool {
			return write("dup", withContainer(driver.Container{ID: "app-1", Name: "dup", State: driver.StateRunning}))
		}, true, []string{"app", "dup"}, true},
		{"the first name stops", func() bool {
			return write("app", withChange("app-1", func(c *driver.Container) { c.State = driver.StateExited }))
		}, true, []string{"app", "dup"}, true},
		{"the second name is removed", func() bool { return write("dup", without("app-1")) }, true, []string{"app"}, false},
		{"the first name is forgotten", func() bool { return write("app", replaceWith(nil)) }, true, nil, false},
	}
	for _, s := range steps {
		if got := s.write(); got != s.changed {
			t.Errorf("%s: changed %v, want %v", s.what, got, s.changed)
		}
		names := c.Names()
		slices.Sort(names)
		if !slices.Equal(names, s.names) {
			t.Errorf("%s: names %v, want %v", s.what, names, s.names)
		}
		if got := c.Running("app-1"); got != s.running {
			t.Errorf("%s: Running = %v, want %v", s.what, got, s.running)
		}
	}
	if got := c.snapshot()["app"]; got != nil {
		t.Errorf("a forgotten name is in the snapshot: %+v", got)
	}
}
