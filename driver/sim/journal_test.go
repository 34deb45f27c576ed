package sim_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
)

func journalSize(t *testing.T, dir string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, "journal.jsonl"))
	if err != nil {
		return 0
	}
	return fi.Size()
}

// listAll lists d's containers as JSON, so that times compare by instant
// whichever location a trip through a file gave them.
func listAll(t *testing.T, d *sim.Driver) []string {
	t.Helper()
	cs, err := d.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(cs))
	for i, c := range cs {
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}

func createStarted(t *testing.T, d *sim.Driver, id string, cmd ...string) {
	t.Helper()
	cfg := driver.Config{ID: id, Name: id, Isolation: driver.Process, Image: imageref.MustParse(ltsc2022), Command: cmd}
	if err := d.Create(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background(), id); err != nil {
		t.Fatal(err)
	}
}

// An operation on a folder-backed host writes what it changed, not the
// whole host: one start costs the same bytes on a host of 3,000
// containers as on one of 30.
func TestFolderStoreWritesWhatChanged(t *testing.T) {
	perOp := map[int]int64{}
	for _, n := range []int{30, 3000} {
		dir := t.TempDir()
		d, err := sim.Open(dir, sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		for i := range n {
			createStarted(t, d, fmt.Sprintf("c%05d", i))
		}
		if err := d.Stop(context.Background(), "c00000", time.Second); err != nil {
			t.Fatal(err)
		}
		before := journalSize(t, dir)
		if err := d.Start(context.Background(), "c00000"); err != nil {
			t.Fatal(err)
		}
		perOp[n] = journalSize(t, dir) - before
	}
	if perOp[30] <= 0 || perOp[3000] > 2*perOp[30] {
		t.Fatalf("one start wrote %d bytes on 30 containers and %d on 3,000; want the same order", perOp[30], perOp[3000])
	}
}

// Whoever reads the folder sees the host as the operations left it: a
// second store over the same folder, a store opened after the journal was
// compacted into the state file (it is, many times over, with 3,000
// containers), and one opened after an update died half-way through its
// journal line, whose next update cuts the half line off.
func TestFolderStoreReadsWhatOthersWrote(t *testing.T) {
	dir := t.TempDir()
	a, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3000 {
		d := a
		if i%3 == 0 {
			d = b
		}
		createStarted(t, d, fmt.Sprintf("c%05d", i))
		if i%7 == 0 {
			if err := d.Stop(context.Background(), fmt.Sprintf("c%05d", i), time.Second); err != nil {
				t.Fatal(err)
			}
		}
		if i%11 == 0 && i > 0 {
			if err := d.Stop(context.Background(), fmt.Sprintf("c%05d", i-1), time.Second); err != nil && i%7 != 1 {
				t.Fatal(err)
			}
			if err := d.Remove(context.Background(), fmt.Sprintf("c%05d", i-1)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := listAll(t, a)
	if got := listAll(t, b); !reflect.DeepEqual(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("the second store sees\n%s\nwhere the first sees\n%s", got[i], want[i])
			}
		}
		t.Fatalf("the second store sees %d containers, the first %d", len(got), len(want))
	}
	fresh, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, fresh); !reflect.DeepEqual(got, want) {
		t.Fatalf("a store opened afresh sees %d containers, want %d as they were", len(got), len(want))
	}

	// An update that died writing its line.
	f, err := os.OpenFile(filepath.Join(dir, "journal.jsonl"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(`{"state":{"host":`); err != nil {
		t.Fatal(err)
	}
	f.Close()
	after, err := sim.Open(dir, sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := listAll(t, after); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a half-written line: %d containers, want %d as they were", len(got), len(want))
	}
	createStarted(t, after, "late")
	if got := listAll(t, a); len(got) != len(want)+1 {
		t.Fatalf("after the next update: %d containers, want %d", len(got), len(want)+1)
	}
}
