package containerlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/isoagent/isoagent/crilog"
	"github.com/isoagent/isoagent/monitor"
)

func TestCounterFollowsAppendsRotationsAndRuns(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	line := []byte("a line of output")
	entry := entrySize(t, at, line)

	l := monitor.Layout{Dir: t.TempDir()}
	c := NewCounter(l)
	if n, ok, err := c.Bytes("c"); err != nil || ok || n != 0 {
		t.Fatalf("Bytes of a container that never ran = %d, %v, %v; want 0, false", n, ok, err)
	}

	total := 0 // entries written so far, over every run
	for run := 1; run <= 3; run++ {
		dir, err := l.NewRun("c", monitor.Config{Name: "web"}, 1)
		if err != nil {
			t.Fatal(err)
		}
		w, err := crilog.Create(monitor.LogPath(dir), crilog.Options{MaxSize: 10 * entry, MaxFiles: 3})
		if err != nil {
			t.Fatal(err)
		}
		// Batches between looks: appends, a rotation that leaves a
		// shorter file, one that leaves a longer file than the last look
		// saw, and one that leaves a file of the same size (on a file
		// system that hands the deleted file's inode to the new one).
		for _, batch := range []int{0, 2, 3, 8, 15, 1, 40} {
			for range batch {
				if err := w.WriteAt(at, crilog.Stdout, false, line); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			total += batch
			n, ok, err := c.Bytes("c")
			if want := int64(total) * entry; err != nil || !ok || n != want {
				t.Fatalf("run %d, after %d more entries: Bytes = %d, %v, %v; want %d (%d entries)", run, batch, n, ok, err, want, total)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}

	c.Retain(func(string) bool { return false })
	if len(c.seen) != 0 {
		t.Errorf("after Retain of nothing the counter keeps %d containers", len(c.seen))
	}
	if n, ok, err := c.Bytes("c"); err != nil || !ok || n != int64(total)*entry {
		t.Errorf("Bytes counted afresh = %d, %v, %v; want %d", n, ok, err, int64(total)*entry)
	}
}

// entrySize is the size of one entry of line stamped at, in a log that
// never rotates.
func entrySize(t *testing.T, at time.Time, line []byte) int64 {
	t.Helper()
	p := filepath.Join(t.TempDir(), "one.log")
	w, err := crilog.Create(p, crilog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteAt(at, crilog.Stdout, false, line); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
