package containerlog

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"

	"github.com/isoagent/isoagent/crilog"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/monitor"
)

// A Counter tells how many bytes of log entries containers have written
// over all their runs (monitor.LogBytes), as cheaply as asking often
// needs: a run's config is read once, and afterwards a look costs the
// listing of the container's runs and the count of its current log
// (crilog.Written: a stat and a small file). The count it returns for a
// container never goes back, even while a log rotates. It is safe for
// concurrent use.
type Counter struct {
	runs driver.RunKeeper

	mu   sync.Mutex
	seen map[string]counted // by container ID
}

// counted is what a Counter knows of a container.
type counted struct {
	dir    string // its current run, as of the last look
	before int64  // what the runs before dir wrote
	bytes  int64  // the largest count returned
}

// NewCounter returns a Counter of the runs rk keeps.
func NewCounter(rk driver.RunKeeper) *Counter {
	return &Counter{runs: rk, seen: make(map[string]counted)}
}

// Bytes returns how many bytes of log entries container id has written
// in all its runs; ok is false for a container with no run kept (it never
// started, or the driver keeps no output).
func (c *Counter) Bytes(id string) (n int64, ok bool, err error) {
	runs, err := c.runs.Runs(id)
	if err != nil {
		return 0, false, fmt.Errorf("the runs of %s: %w", id, err)
	}
	if len(runs) == 0 {
		c.mu.Lock()
		delete(c.seen, id)
		c.mu.Unlock()
		return 0, false, nil
	}
	dir := runs[len(runs)-1]
	c.mu.Lock()
	k, known := c.seen[id]
	c.mu.Unlock()
	if !known || k.dir != dir {
		cfg, err := monitor.ReadConfig(dir)
		if err != nil {
			return 0, false, err
		}
		k.dir, k.before = dir, cfg.LogBytesBefore
	}
	written, err := crilog.Written(monitor.LogPath(dir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) { // a run that has not written yet has no log
		return 0, false, err
	}
	k.bytes = max(k.bytes, k.before+written)
	c.mu.Lock()
	c.seen[id] = k
	c.mu.Unlock()
	return k.bytes, true, nil
}

// Retain forgets the containers keep does not hold, so that what the
// Counter keeps follows the host.
func (c *Counter) Retain(keep func(id string) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.seen {
		if !keep(id) {
			delete(c.seen, id)
		}
	}
}
