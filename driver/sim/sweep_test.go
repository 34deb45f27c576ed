package sim_test

import (
	"context"
	"fmt"
	"runtime"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

// An operation of a host without monitors costs what it touches, not what
// the host holds: the start that reports a run's exit before the next run
// (a sweep of the runs that changed) allocates as much on a host of 2,000
// running containers as on one of 10. (Before, each start listed, copied
// and sorted every container, as every wake of Watch did: under churn the
// sim's sweeps were most of the agent's CPU.)
func TestStartCostDoesNotGrowWithHost(t *testing.T) {
	perOp := map[int]uint64{}
	for _, n := range []int{10, 2000} {
		d, err := sim.Open("", sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		create := func(id string) {
			if err := d.Create(ctx, driver.Config{ID: id, Name: id, Isolation: driver.Process, Image: imageref.MustParse(ltsc2022)}); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		for i := range n {
			create(fmt.Sprintf("pre-%d", i))
		}
		create("cycled")
		const ops = 200
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range ops {
			if err := d.Stop(ctx, "cycled", 0); err != nil {
				t.Fatal(err)
			}
			if err := d.Start(ctx, "cycled"); err != nil {
				t.Fatal(err)
			}
		}
		runtime.ReadMemStats(&after)
		perOp[n] = (after.TotalAlloc - before.TotalAlloc) / ops
	}
	if perOp[2000] > 2*perOp[10]+1024 {
		t.Errorf("a stop and start allocate %d bytes on a host of 2,000 containers, %d on one of 10: the cost grows with the host", perOp[2000], perOp[10])
	}
}
