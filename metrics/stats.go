package metrics

import (
	"hash/maphash"
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/driver"
)

// ContainerStats is what one running container uses, with the spec name
// it runs for.
type ContainerStats struct {
	Name  string
	Stats driver.Stats
}

// CPU modes, as isoagent_container_cpu_seconds_total labels them.
const (
	CPUUser   = "user"
	CPUKernel = "kernel"
)

// statsCollector produces the per-container usage series at scrape time
// from its source, so a container that goes leaves no series behind. The
// source bounds the cost of a reading (package agent caches what the
// driver said for --stats-interval); with a version and the container
// version set, the series built from one reading are kept until either
// moves, so a scrape between readings does not build 18 series per
// container again.
type statsCollector struct {
	cpu, commit, commitPeak, workingSet, memLimit, cpuCount, cpuMax *family
	readBytes, writeBytes, reads, writes                            *family
	rxBytes, txBytes, rxPackets, txPackets, rxDrops, txDrops        *family

	mu     sync.Mutex
	source func() []ContainerStats
	// version and containers, when both are set, tell when the source
	// may say something new: a new reading, or a change of the containers
	// whose names label the series. sets counts the changes of the
	// functions themselves. built are the series of the last build, as
	// of builtAt.
	version, containers func() uint64
	sets                uint64
	built               []prometheus.Metric
	builtAt             statsKey
	haveBuilt           bool
	// unkept: the series are kept encoded elsewhere (keepNone).
	unkept bool
	// families are the usage families in name order (see writeText).
	families []*family
	seed     maphash.Seed
}

// statsKey says which reading, of which containers, series were built
// from.
type statsKey struct{ sets, version, containers uint64 }

func newStatsCollector() *statsCollector {
	labels := []string{"name", "container_id"}
	var families []*family
	fam := func(name string, vt prometheus.ValueType, help string, extra ...string) *family {
		f := newFamily(namespace+"_container_"+name, help, vt, append(labels, extra...)...)
		families = append(families, f)
		return f
	}
	counter, gauge := prometheus.CounterValue, prometheus.GaugeValue
	c := &statsCollector{
		cpu:        fam("cpu_seconds_total", counter, "CPU time the container's processes ran since it started, on all processors, by mode (user, kernel).", "mode"),
		commit:     fam("memory_commit_bytes", gauge, "Memory the container's processes committed (reserved, backed by RAM or the page file)."),
		commitPeak: fam("memory_commit_peak_bytes", gauge, "The highest commit of the container since it started."),
		workingSet: fam("memory_private_working_set_bytes", gauge, "RAM the container's processes use that no other process shares."),
		memLimit:   fam("memory_limit_bytes", gauge, "The container's memory limit; absent when it has none."),
		cpuCount:   fam("cpu_limit_cores", gauge, "The processors the container may use (its CPU count); absent when it may use all."),
		cpuMax:     fam("cpu_maximum_ratio", gauge, "The share of its processors' time the container may use (a CPU maximum of 50% is 0.5); absent when it has none."),
		readBytes:  fam("storage_read_bytes_total", counter, "Bytes the container read from storage since it started."),
		writeBytes: fam("storage_write_bytes_total", counter, "Bytes the container wrote to storage since it started."),
		reads:      fam("storage_reads_total", counter, "Storage reads of the container since it started, normalised to HCS's I/O size."),
		writes:     fam("storage_writes_total", counter, "Storage writes of the container since it started, normalised to HCS's I/O size."),
		rxBytes:    fam("network_receive_bytes_total", counter, "Bytes the container received on a network endpoint since it started.", "endpoint"),
		txBytes:    fam("network_transmit_bytes_total", counter, "Bytes the container sent on a network endpoint since it started.", "endpoint"),
		rxPackets:  fam("network_receive_packets_total", counter, "Packets the container received on a network endpoint since it started.", "endpoint"),
		txPackets:  fam("network_transmit_packets_total", counter, "Packets the container sent on a network endpoint since it started.", "endpoint"),
		rxDrops:    fam("network_receive_drops_total", counter, "Inbound packets of a network endpoint of the container dropped since it started.", "endpoint"),
		txDrops:    fam("network_transmit_drops_total", counter, "Outbound packets of a network endpoint of the container dropped since it started.", "endpoint"),
	}
	slices.SortFunc(families, func(a, b *family) int { return strings.Compare(a.name, b.name) })
	c.families, c.seed = families, maphash.MakeSeed()
	return c
}

func (c *statsCollector) setSource(fn func() []ContainerStats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.source = fn
	c.sets++
}

func (c *statsCollector) setVersion(fn func() uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = fn
	c.sets++
}

func (c *statsCollector) setContainerVersion(fn func() uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.containers = fn
	c.sets++
}

// key returns what the source would say now, without asking it; ok is
// false when that cannot be told and the series must be built again.
// The version functions are called without the lock: the agent's may
// read the driver.
func (c *statsCollector) key() (k statsKey, ok bool) {
	c.mu.Lock()
	version, containers, sets := c.version, c.containers, c.sets
	c.mu.Unlock()
	if version == nil || containers == nil {
		return statsKey{}, false
	}
	return statsKey{sets, version(), containers()}, true
}

// keepNone is containerCollector.keepNone.
func (c *statsCollector) keepNone() {
	c.mu.Lock()
	c.unkept, c.built, c.haveBuilt = true, nil, false
	c.mu.Unlock()
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, f := range c.families {
		ch <- f.desc
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	// The key is taken before the source is asked: a reading in between
	// makes the next scrape build again.
	at, keyed := c.key()
	c.mu.Lock()
	keyed = keyed && !c.unkept
	if keyed && c.haveBuilt && at == c.builtAt {
		built := c.built
		c.mu.Unlock()
		for _, m := range built {
			ch <- m
		}
		return
	}
	source := c.source
	c.mu.Unlock()
	if source == nil {
		return
	}
	built := c.build(source())
	for _, m := range built {
		ch <- m
	}
	if keyed {
		c.mu.Lock()
		c.built, c.builtAt, c.haveBuilt = built, at, true
		c.mu.Unlock()
	}
}

// build returns the usage series of one reading.
func (c *statsCollector) build(stats []ContainerStats) []prometheus.Metric {
	out := make([]prometheus.Metric, 0, 18*len(stats))
	for _, cs := range stats {
		c.each(cs.Stats, nil, func(f *family, v float64, extra string) {
			if len(f.labels) == 3 {
				out = append(out, f.metric(v, cs.Name, cs.Stats.ID, extra))
			} else {
				out = append(out, f.metric(v, cs.Name, cs.Stats.ID))
			}
		})
	}
	return out
}

// each hands emit the usage series of one container's reading, or only
// those of the family only when it is set, with the value of the family's
// third label (mode, endpoint) when it has one.
func (c *statsCollector) each(s driver.Stats, only *family, emit func(f *family, v float64, extra string)) {
	series := func(f *family, v float64, extra string) {
		if only == nil || f == only {
			emit(f, v, extra)
		}
	}
	counter := func(f *family, v uint64) { series(f, float64(v), "") }
	series(c.cpu, s.CPU.User.Seconds(), CPUUser)
	series(c.cpu, s.CPU.Kernel.Seconds(), CPUKernel)
	series(c.commit, float64(s.Memory.CommitBytes), "")
	series(c.commitPeak, float64(s.Memory.CommitPeakBytes), "")
	series(c.workingSet, float64(s.Memory.PrivateWorkingSetBytes), "")
	if s.Limits.MemoryMB > 0 {
		series(c.memLimit, float64(s.Limits.MemoryMB)*(1<<20), "")
	}
	if s.Limits.CPUCount > 0 {
		series(c.cpuCount, float64(s.Limits.CPUCount), "")
	}
	if s.Limits.CPUMaximumPercent > 0 {
		series(c.cpuMax, float64(s.Limits.CPUMaximumPercent)/100, "")
	}
	counter(c.readBytes, s.Storage.ReadBytes)
	counter(c.writeBytes, s.Storage.WriteBytes)
	counter(c.reads, s.Storage.ReadCount)
	counter(c.writes, s.Storage.WriteCount)
	for _, n := range s.Network {
		series(c.rxBytes, float64(n.ReceiveBytes), n.Endpoint)
		series(c.txBytes, float64(n.TransmitBytes), n.Endpoint)
		series(c.rxPackets, float64(n.ReceivePackets), n.Endpoint)
		series(c.txPackets, float64(n.TransmitPackets), n.Endpoint)
		series(c.rxDrops, float64(n.ReceiveDrops), n.Endpoint)
		series(c.txDrops, float64(n.TransmitDrops), n.Endpoint)
	}
}

// read asks the source for a reading (none without a source).
func (c *statsCollector) read() []ContainerStats { return readSource(&c.mu, &c.source) }

// writeText writes the usage families of one reading in the text
// format, one family after another in name order and each family's
// series in the order a registry's gather sorts them (by container ID,
// then mode or endpoint, then name), straight from the reading: at
// 10,000 containers a reading is 180,000 series, and gathering them
// through a registry built a Metric, a protobuf and label pairs for each,
// most of a scrape's CPU and garbage.
func (c *statsCollector) writeText(t *textWriter, stats []ContainerStats) {
	order := make([]int, len(stats))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		if c := strings.Compare(stats[a].Stats.ID, stats[b].Stats.ID); c != 0 {
			return c
		}
		return strings.Compare(stats[a].Name, stats[b].Name)
	})
	type sample struct {
		extra string
		v     float64
	}
	var row []sample
	for _, f := range c.families {
		started := false
		for _, i := range order {
			cs := &stats[i]
			row = row[:0]
			c.each(cs.Stats, f, func(_ *family, v float64, extra string) { row = append(row, sample{extra, v}) })
			if len(row) == 0 {
				continue
			}
			if !started {
				t.header(f)
				started = true
			}
			if len(f.labels) == 2 {
				for _, r := range row {
					t.series(f, r.v, cs.Stats.ID, cs.Name)
				}
				continue
			}
			// In name order the third label (endpoint, mode) comes
			// between container_id and name.
			slices.SortStableFunc(row, func(a, b sample) int { return strings.Compare(a.extra, b.extra) })
			for _, r := range row {
				t.series(f, r.v, cs.Stats.ID, r.extra, cs.Name)
			}
		}
	}
}

// digest sums what the series of stats say, so that a reading whose
// series are those encoded last is told without encoding it.
func (c *statsCollector) digest(stats []ContainerStats) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	for _, cs := range stats {
		h.WriteString(cs.Name)
		h.WriteByte(0)
		h.WriteString(cs.Stats.ID)
		h.WriteByte(0)
		c.each(cs.Stats, nil, func(f *family, v float64, extra string) {
			h.WriteString(f.name)
			h.WriteByte(0)
			h.WriteString(extra)
			h.WriteByte(0)
			maphash.WriteComparable(&h, math.Float64bits(v))
		})
	}
	return h.Sum64()
}

// SetStatsSource sets the function the per-container usage series
// (isoagent_container_cpu_seconds_total and its companions) are computed
// from at scrape time. It replaces any earlier source; until one is set
// there are none. fn must be safe to call from the scraping goroutine, must
// not call back into m, and should bound its own cost: without a stats
// version (SetStatsVersion) it is called at every scrape.
func (m *Metrics) SetStatsSource(fn func() []ContainerStats) {
	m.stats.setSource(fn)
}

// SetStatsVersion sets a function whose value changes whenever what the
// stats source returns may have, apart from changes of the containers
// (those the container version, SetContainerVersion, tells): for the
// agent, the generation of its cached reading. It may take a new reading
// when one is due. While it and the container version stay the same, a
// scrape sends the usage series built last (kept encoded with
// ContainerSeries) instead of asking the source; without either, every
// scrape asks the source.
func (m *Metrics) SetStatsVersion(fn func() uint64) {
	m.stats.setVersion(fn)
}
