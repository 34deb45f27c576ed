package agent

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/reconcile"
)

// DefaultStatsInterval is how long the driver's container statistics are
// used before they are read again, unless Config.StatsInterval says.
const DefaultStatsInterval = 10 * time.Second

// statsCache reads the statistics of the running containers from the
// driver at most once per interval, however often /metrics and /status
// are asked, and keeps the reading before for CPU percentages. Readers
// asking while it reads wait for that reading.
type statsCache struct {
	r        driver.StatsReader
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu        sync.Mutex
	readAt    time.Time // by now; zero before the first reading
	cur, prev map[string]driver.Stats
	gen       uint64 // counts the readings that succeeded
}

func newStatsCache(r driver.StatsReader, interval time.Duration, logger *slog.Logger) *statsCache {
	if interval <= 0 {
		interval = DefaultStatsInterval
	}
	return &statsCache{r: r, interval: interval, now: time.Now, log: logger}
}

// get returns the current reading and the one before, by container ID,
// and the current reading's generation, which moves with every new one.
// A reading that fails keeps the last one and is logged; it is not tried
// again before the interval is over, so a failing host is not hammered.
func (c *statsCache) get(ctx context.Context) (cur, prev map[string]driver.Stats, gen uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); c.readAt.IsZero() || now.Sub(c.readAt) >= c.interval {
		c.readAt = now
		ctx, cancel := context.WithTimeout(ctx, c.interval)
		defer cancel()
		st, err := c.r.Stats(ctx)
		if err != nil {
			c.log.Warn("reading container statistics failed; the last ones stay", "err", err)
		} else {
			m := make(map[string]driver.Stats, len(st))
			for _, s := range st {
				m[s.ID] = s
			}
			c.prev, c.cur = c.cur, m
			c.gen++
		}
	}
	return c.cur, c.prev, c.gen
}

// generation is the current reading's generation, for
// metrics.SetStatsVersion; it takes a new reading when one is due.
func (c *statsCache) generation() uint64 {
	_, _, gen := c.get(context.Background())
	return gen
}

// containerStats is the metrics' view of the statistics: those of the
// containers the metrics report running (infos), by spec name. A
// container that stopped or went since the last reading has none.
func (a *Agent) containerStats(infos []metrics.ContainerInfo) []metrics.ContainerStats {
	cur, _, _ := a.stats.get(context.Background())
	out := make([]metrics.ContainerStats, 0, len(cur))
	seen := make(map[string]bool, len(cur))
	for _, c := range infos {
		s, ok := cur[c.ID]
		if !ok || !c.Running || seen[c.ID] {
			continue
		}
		seen[c.ID] = true
		out = append(out, metrics.ContainerStats{Name: c.Name, Stats: s})
	}
	return out
}

// status is the engine's status with the usage of each running container,
// as /status serves it.
func (a *Agent) status(ctx context.Context) reconcile.Status {
	st := a.eng.Status()
	if a.stats == nil {
		return st
	}
	cur, prev, _ := a.stats.get(ctx)
	// The engine may hand the same slice to others: fill in a copy.
	st.Containers = slices.Clone(st.Containers)
	for i, c := range st.Containers {
		s, ok := cur[c.ContainerID]
		if !ok || c.ContainerState != driver.StateRunning {
			continue
		}
		st.Containers[i].Usage = &reconcile.Usage{Stats: s, CPUPercent: cpuPercent(prev[c.ContainerID], s)}
	}
	return st
}

// cpuPercent is the CPU time between two readings of one run of a
// container over the time between them, in percent of one processor; nil
// when p is not an earlier reading of the same run.
func cpuPercent(p, s driver.Stats) *float64 {
	dt := s.Time.Sub(p.Time)
	if p.ID == "" || dt <= 0 || s.CPU.Total < p.CPU.Total {
		return nil
	}
	pct := float64(s.CPU.Total-p.CPU.Total) / float64(dt) * 100
	return &pct
}
