package metrics

import (
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

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
	cpu, commit, commitPeak, workingSet, memLimit, cpuCount, cpuMax *prometheus.Desc
	readBytes, writeBytes, reads, writes                            *prometheus.Desc
	rxBytes, txBytes, rxPackets, txPackets, rxDrops, txDrops        *prometheus.Desc

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
	// families are the usage families by name (see gatherEach).
	families []statsFamily
}

// statsKey says which reading, of which containers, series were built
// from.
type statsKey struct{ sets, version, containers uint64 }

func newStatsCollector() *statsCollector {
	labels := []string{"name", "container_id"}
	var families []statsFamily
	desc := func(name, help string, extra ...string) *prometheus.Desc {
		d := prometheus.NewDesc(namespace+"_container_"+name, help, append(labels, extra...), nil)
		families = append(families, statsFamily{namespace + "_container_" + name, d})
		return d
	}
	c := &statsCollector{
		cpu:        desc("cpu_seconds_total", "CPU time the container's processes ran since it started, on all processors, by mode (user, kernel).", "mode"),
		commit:     desc("memory_commit_bytes", "Memory the container's processes committed (reserved, backed by RAM or the page file)."),
		commitPeak: desc("memory_commit_peak_bytes", "The highest commit of the container since it started."),
		workingSet: desc("memory_private_working_set_bytes", "RAM the container's processes use that no other process shares."),
		memLimit:   desc("memory_limit_bytes", "The container's memory limit; absent when it has none."),
		cpuCount:   desc("cpu_limit_cores", "The processors the container may use (its CPU count); absent when it may use all."),
		cpuMax:     desc("cpu_maximum_ratio", "The share of its processors' time the container may use (a CPU maximum of 50% is 0.5); absent when it has none."),
		readBytes:  desc("storage_read_bytes_total", "Bytes the container read from storage since it started."),
		writeBytes: desc("storage_write_bytes_total", "Bytes the container wrote to storage since it started."),
		reads:      desc("storage_reads_total", "Storage reads of the container since it started, normalised to HCS's I/O size."),
		writes:     desc("storage_writes_total", "Storage writes of the container since it started, normalised to HCS's I/O size."),
		rxBytes:    desc("network_receive_bytes_total", "Bytes the container received on a network endpoint since it started.", "endpoint"),
		txBytes:    desc("network_transmit_bytes_total", "Bytes the container sent on a network endpoint since it started.", "endpoint"),
		rxPackets:  desc("network_receive_packets_total", "Packets the container received on a network endpoint since it started.", "endpoint"),
		txPackets:  desc("network_transmit_packets_total", "Packets the container sent on a network endpoint since it started.", "endpoint"),
		rxDrops:    desc("network_receive_drops_total", "Inbound packets of a network endpoint of the container dropped since it started.", "endpoint"),
		txDrops:    desc("network_transmit_drops_total", "Outbound packets of a network endpoint of the container dropped since it started.", "endpoint"),
	}
	slices.SortFunc(families, func(a, b statsFamily) int { return strings.Compare(a.name, b.name) })
	c.families = families
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
	for _, d := range []*prometheus.Desc{
		c.cpu, c.commit, c.commitPeak, c.workingSet, c.memLimit, c.cpuCount, c.cpuMax,
		c.readBytes, c.writeBytes, c.reads, c.writes,
		c.rxBytes, c.txBytes, c.rxPackets, c.txPackets, c.rxDrops, c.txDrops,
	} {
		ch <- d
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
	c.each(stats, nil, func(m prometheus.Metric) { out = append(out, m) })
	return out
}

// each hands emit the usage series of one reading, or only those of the
// family only when it is set.
func (c *statsCollector) each(stats []ContainerStats, only *prometheus.Desc, emit func(prometheus.Metric)) {
	for _, cs := range stats {
		s := cs.Stats
		name, id := cs.Name, s.ID
		series := func(d *prometheus.Desc, t prometheus.ValueType, v float64, extra ...string) {
			if only == nil || d == only {
				emit(prometheus.MustNewConstMetric(d, t, v, append([]string{name, id}, extra...)...))
			}
		}
		counter := func(d *prometheus.Desc, v uint64, extra ...string) {
			series(d, prometheus.CounterValue, float64(v), extra...)
		}
		gauge := func(d *prometheus.Desc, v float64) { series(d, prometheus.GaugeValue, v) }
		series(c.cpu, prometheus.CounterValue, s.CPU.User.Seconds(), CPUUser)
		series(c.cpu, prometheus.CounterValue, s.CPU.Kernel.Seconds(), CPUKernel)
		gauge(c.commit, float64(s.Memory.CommitBytes))
		gauge(c.commitPeak, float64(s.Memory.CommitPeakBytes))
		gauge(c.workingSet, float64(s.Memory.PrivateWorkingSetBytes))
		if s.Limits.MemoryMB > 0 {
			gauge(c.memLimit, float64(s.Limits.MemoryMB)*(1<<20))
		}
		if s.Limits.CPUCount > 0 {
			gauge(c.cpuCount, float64(s.Limits.CPUCount))
		}
		if s.Limits.CPUMaximumPercent > 0 {
			gauge(c.cpuMax, float64(s.Limits.CPUMaximumPercent)/100)
		}
		counter(c.readBytes, s.Storage.ReadBytes)
		counter(c.writeBytes, s.Storage.WriteBytes)
		counter(c.reads, s.Storage.ReadCount)
		counter(c.writes, s.Storage.WriteCount)
		for _, n := range s.Network {
			counter(c.rxBytes, n.ReceiveBytes, n.Endpoint)
			counter(c.txBytes, n.TransmitBytes, n.Endpoint)
			counter(c.rxPackets, n.ReceivePackets, n.Endpoint)
			counter(c.txPackets, n.TransmitPackets, n.Endpoint)
			counter(c.rxDrops, n.ReceiveDrops, n.Endpoint)
			counter(c.txDrops, n.TransmitDrops, n.Endpoint)
		}
	}
}

// gatherEach gathers the usage families of one reading one family at a
// time, in name order as a registry gathers them, and hands each to fn:
// at 10,000 containers a reading is 180,000 series, and gathering them
// all at once held each series three times over (its Metric, its
// protobuf and the label pairs both share) until the last was encoded,
// about 80 MiB of a scrape's peak; one family at a time holds a
// sixteenth of that.
func (c *statsCollector) gatherEach(fn func([]*dto.MetricFamily) error) error {
	c.mu.Lock()
	source := c.source
	c.mu.Unlock()
	if source == nil {
		return nil
	}
	stats := source()
	for _, f := range c.families {
		reg := prometheus.NewRegistry()
		if err := reg.Register(familyCollector{f.desc, func(ch chan<- prometheus.Metric) {
			c.each(stats, f.desc, func(m prometheus.Metric) { ch <- m })
		}}); err != nil {
			return err
		}
		mfs, err := reg.Gather()
		if err != nil {
			return err
		}
		if err := fn(mfs); err != nil {
			return err
		}
	}
	return nil
}

// statsFamily is one usage family, by its name.
type statsFamily struct {
	name string
	desc *prometheus.Desc
}

// familyCollector collects one family.
type familyCollector struct {
	desc    *prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (f familyCollector) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }
func (f familyCollector) Collect(ch chan<- prometheus.Metric) { f.collect(ch) }

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
