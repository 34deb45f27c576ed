package agent

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/isoagent/isoagent/containerlog"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/reconcile"
)

// logCounts counts what the containers' logs have taken in, by name, for
// isoagent_container_log_bytes_total: at most once per interval, however
// often /metrics asks. A name's count adds up what its containers wrote
// while the agent ran, so it never goes back when a container is replaced
// or removed (it starts from what the host's files say when the agent
// does).
type logCounts struct {
	counter  *containerlog.Counter
	infos    func() []metrics.ContainerInfo
	interval time.Duration
	now      func() time.Time
	log      *slog.Logger

	mu     sync.Mutex
	readAt time.Time // zero before the first count
	gen    uint64
	last   map[string]int64   // by container ID: its count at the last look
	totals map[string]float64 // by name
	out    []metrics.ContainerLogBytes
}

func newLogCounts(c *containerlog.Counter, infos func() []metrics.ContainerInfo, interval time.Duration, logger *slog.Logger) *logCounts {
	if interval <= 0 {
		interval = DefaultStatsInterval
	}
	return &logCounts{counter: c, infos: infos, interval: interval, now: time.Now, log: logger,
		last: make(map[string]int64), totals: make(map[string]float64)}
}

// get returns the counts by name, sorted, and their generation, which
// moves with every count; it counts again when the interval is over.
func (l *logCounts) get() ([]metrics.ContainerLogBytes, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now := l.now(); l.readAt.IsZero() || now.Sub(l.readAt) >= l.interval {
		l.readAt = now
		l.count()
		l.gen++
	}
	return l.out, l.gen
}

func (l *logCounts) counts() []metrics.ContainerLogBytes {
	out, _ := l.get()
	return out
}

func (l *logCounts) generation() uint64 {
	_, gen := l.get()
	return gen
}

// count looks at every container of the agent's once.
func (l *logCounts) count() {
	names := make(map[string]bool)
	ids := make(map[string]bool)
	last := make(map[string]int64, len(l.last))
	var failed error
	failures := 0
	for _, c := range l.infos() {
		if c.State == reconcile.StateElsewhere {
			continue
		}
		names[c.Name] = true
		if c.ID == "" || ids[c.ID] {
			continue
		}
		ids[c.ID] = true
		prev, had := l.last[c.ID]
		n, ok, err := l.counter.Bytes(c.ID)
		switch {
		case err != nil:
			failures, failed = failures+1, err
			if had {
				last[c.ID] = prev
			}
			continue
		case !ok:
			continue
		}
		// The counter's counts never go back; a container first seen
		// brings all it wrote.
		l.totals[c.Name] += float64(n - prev)
		last[c.ID] = n
	}
	for name := range l.totals {
		if !names[name] {
			delete(l.totals, name)
		}
	}
	l.last = last
	l.counter.Retain(func(id string) bool { return ids[id] })
	out := make([]metrics.ContainerLogBytes, 0, len(l.totals))
	for name, n := range l.totals {
		out = append(out, metrics.ContainerLogBytes{Name: name, Bytes: n})
	}
	slices.SortFunc(out, func(a, b metrics.ContainerLogBytes) int { return strings.Compare(a.Name, b.Name) })
	l.out = out
	if failures > 0 {
		l.log.Debug("counting the log bytes of some containers failed; their counts stay", "containers", failures, "err", failed)
	}
}
