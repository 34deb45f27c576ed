package sim

import (
	"context"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
)

// A run that ends at once is reported even when Watch sweeps between the
// model's start and the driver's note of the run: that sweep reads the
// run's changes before the driver knows to watch it, and a sweep that
// then looked only at changes since would never see it again. The race
// is played here in the order that loses the exit, one step at a time.
func TestExitBetweenStartAndNoteIsReported(t *testing.T) {
	d, err := Open("", Options{})
	if err != nil {
		t.Fatal(err)
	}
	var exits []driver.Container
	defer d.w.add(func(c driver.Container) { exits = append(exits, c) })()
	d.sweep() // Watch's first sweep: the cursor stands at the empty host.

	ctx := context.Background()
	cfg := driver.Config{
		ID: "job-1", Name: "job", Isolation: driver.Process,
		Image:   imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"),
		Command: []string{"cmd", "/c", "exit", "3"},
	}
	if err := d.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	// Start, as Driver.Start does it, with Watch's sweep in between.
	if err := d.model.Start(d.owner, cfg.ID); err != nil {
		t.Fatal(err)
	}
	d.sweep() // sees the run ended, not yet watched: nothing to report
	d.started(cfg.ID)
	if len(exits) != 0 {
		t.Fatalf("reported before the run was noted: %+v", exits)
	}
	d.sweep() // the wake started asks for

	if len(exits) != 1 || exits[0].ID != cfg.ID || exits[0].ExitCode != 3 || exits[0].State != driver.StateExited {
		t.Fatalf("exits reported: %+v, want job-1 exited 3 once", exits)
	}
	d.sweep()
	if len(exits) != 1 {
		t.Errorf("the exit was reported %d times", len(exits))
	}
}
