package drivertest

import (
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// testInspect: a driver.Inspector shows one container as List shows it,
// in every state of its life, to another client too, and wraps
// ErrNotFound for a container that is not there for its owner.
func testInspect(t *testing.T, e *env) {
	in, ok := e.d.(driver.Inspector)
	if !ok {
		t.Skip("the driver reads no container alone (no driver.Inspector)")
	}
	second, ok := e.host.Client(t, Owner).(driver.Inspector)
	if !ok {
		t.Fatal("a second client of the driver is no driver.Inspector")
	}
	same := func(what, id string) driver.Container {
		t.Helper()
		listed := e.get(t, e.d, id)
		for _, c := range []driver.Inspector{in, second} {
			got, err := c.Inspect(e.ctx, id)
			if err != nil {
				t.Fatalf("Inspect(%s) %s: %v", id, what, err)
			}
			if !sameContainer(got, listed) {
				t.Errorf("Inspect(%s) %s = %+v, want %+v as List shows it", id, what, got, listed)
			}
		}
		return listed
	}

	proc := e.config("inspect-proc", driver.Process)
	e.create(t, proc)
	if c := same("created", proc.ID); c.State != driver.StateCreated {
		t.Errorf("created: %+v, want state created", c)
	}
	e.start(t, proc.ID)
	if c := same("running", proc.ID); c.State != driver.StateRunning || c.InitPID <= 0 {
		t.Errorf("running: %+v, want running with a host PID", c)
	}
	uvm := e.run(t, e.config("inspect-uvm", driver.HyperV))
	if c := same("running with Hyper-V", uvm.ID); c.UtilityVM == nil || c.UtilityVM.PID <= 0 {
		t.Errorf("running with Hyper-V: %+v, want a utility VM", c)
	}
	quick := e.config("inspect-quick", driver.Process, "cmd", "/c", "exit 3")
	e.create(t, quick)
	e.start(t, quick.ID)
	e.waitExited(t, quick.ID)
	if c := same("after its exit", quick.ID); c.State != driver.StateExited || c.ExitCode != 3 || c.InitPID != 0 {
		t.Errorf("after its exit: %+v, want exited with 3 and no process", c)
	}

	foreign := e.host.Client(t, ForeignOwner)
	fcfg := e.config("inspect-foreign", driver.Process)
	fcfg.Owner = ForeignOwner
	if err := foreign.Create(e.ctx, fcfg); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Stop(e.ctx, proc.ID, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := e.d.Remove(e.ctx, proc.ID); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ what, id string }{
		{"of no such container", "no-such"},
		{"of a foreign container", fcfg.ID},
		{"of a removed container", proc.ID},
	} {
		_, err := in.Inspect(e.ctx, tt.id)
		wantErr(t, "Inspect "+tt.what, err, driver.ErrNotFound)
	}
}

// sameContainer reports whether a and b say the same of a container: the
// same instants (in whichever location) and utility VM.
func sameContainer(a, b driver.Container) bool {
	times := func(c *driver.Container) []time.Time {
		ts := []time.Time{c.CreatedAt, c.StartedAt, c.FinishedAt}
		c.CreatedAt, c.StartedAt, c.FinishedAt = time.Time{}, time.Time{}, time.Time{}
		return ts
	}
	ta, tb := times(&a), times(&b)
	for i := range ta {
		if !ta[i].Equal(tb[i]) {
			return false
		}
	}
	if (a.UtilityVM == nil) != (b.UtilityVM == nil) || a.UtilityVM != nil && *a.UtilityVM != *b.UtilityVM {
		return false
	}
	a.UtilityVM, b.UtilityVM = nil, nil
	return a == b
}
