package sim_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

func TestLifecycleKeepsStateInFolder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	d, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := driver.Config{ID: "web-1", Name: "web", Isolation: driver.Process, Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022")}
	if err := d.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx, "web-1"); err != nil {
		t.Fatal(err)
	}
	// A second client (an agent after a restart) sees the same host.
	d2, err := sim.Open(dir, sim.Options{Host: driver.Host{SKU: driver.SKUClient}})
	if err != nil {
		t.Fatal(err)
	}
	h, err := d2.Host(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h.SKU != driver.SKUServer || h.OSVersion.Build != 20348 {
		t.Errorf("host = %+v, want the server 20348 host the folder was created with", h)
	}
	cs, err := d2.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0].State != driver.StateRunning || cs[0].InitPID == 0 || cs[0].Owner != sim.DefaultOwner {
		t.Fatalf("List = %+v, want web-1 running with a PID", cs)
	}
	if err := d2.Remove(ctx, "web-1"); !errors.Is(err, driver.ErrInvalidState) {
		t.Errorf("Remove running = %v, want ErrInvalidState", err)
	}
	if err := d2.Stop(ctx, "web-1", time.Second); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(ctx, "web-1"); err != nil {
		t.Fatal(err)
	}
	if cs, err := d.List(ctx); err != nil || len(cs) != 0 {
		t.Errorf("List after remove = %v, %v; want none", cs, err)
	}
}
