package sim_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

// BenchmarkCreateStart measures one create and start on a host that
// already holds n containers. A folder store appends what an operation
// changed to its journal (and rewrites the state file only once the
// journal outgrows it), so its cost should not grow with n; the memory
// store is the baseline.
func BenchmarkCreateStart(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		for _, store := range []string{"memory", "folder", "memory-watched"} {
			b.Run(fmt.Sprintf("%s/%d", store, n), func(b *testing.B) {
				dir := ""
				if store == "folder" {
					dir = b.TempDir()
				}
				d, err := sim.Open(dir, sim.Options{})
				if err != nil {
					b.Fatal(err)
				}
				ctx := b.Context()
				if store == "memory-watched" {
					// As the agent does: a watch for exits, which sweeps
					// after every operation.
					wctx, cancel := context.WithCancel(ctx)
					done := make(chan struct{})
					go func() { defer close(done); d.Watch(wctx, func(driver.Container) {}) }()
					b.Cleanup(func() { cancel(); <-done })
				}
				create := func(id string) {
					if err := d.Create(ctx, driver.Config{ID: id, Name: id, Isolation: driver.Process, Image: imageref.MustParse(ltsc2022)}); err != nil {
						b.Fatal(err)
					}
					if err := d.Start(ctx, id); err != nil {
						b.Fatal(err)
					}
				}
				for i := range n {
					create(fmt.Sprintf("pre-%d", i))
				}
				i := 0
				for b.Loop() {
					create(fmt.Sprintf("c-%d", i))
					i++
				}
			})
		}
	}
}

// BenchmarkStats measures one reading of the statistics of 1,000 running
// containers: what the agent does at most once per --stats-interval.
func BenchmarkStats(b *testing.B) {
	const n = 1000
	d, err := sim.Open("", sim.Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	for i := range n {
		id := fmt.Sprintf("c%04d", i)
		if err := d.Create(ctx, driver.Config{ID: id, Name: id, Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Command: []string{"dotnet", "api.dll"}}); err != nil {
			b.Fatal(err)
		}
		if err := d.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		st, err := d.Stats(ctx)
		if err != nil || len(st) != n {
			b.Fatalf("Stats: %d, %v", len(st), err)
		}
	}
}
