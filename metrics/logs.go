package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// ContainerLogBytes is how many bytes of log entries the containers of one
// name have written, counted as the agent does (see SetLogBytesSource).
type ContainerLogBytes struct {
	Name  string
	Bytes float64
}

// logsCollector produces isoagent_container_log_bytes_total from a source
// read at gather time; the source bounds its own cost, and the exposition
// encodes the series again only when the source's version moves.
type logsCollector struct {
	desc *prometheus.Desc

	mu      sync.Mutex
	source  func() []ContainerLogBytes
	version func() uint64
}

func newLogsCollector() *logsCollector {
	return &logsCollector{desc: prometheus.NewDesc(namespace+"_container_log_bytes_total",
		"Bytes of log entries (CRI format, as written to the files) the containers of a name have written to their logs, over their runs and rotations, counted by the agent from the state folder every --stats-interval. Only with a driver that keeps container output.",
		[]string{"name"}, nil)}
}

// key returns the version the series are as of; ok is false without a
// version.
func (c *logsCollector) key() (uint64, bool) {
	c.mu.Lock()
	version := c.version
	c.mu.Unlock()
	if version == nil {
		return 0, false
	}
	return version(), true
}

func (c *logsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *logsCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	source := c.source
	c.mu.Unlock()
	if source == nil {
		return
	}
	for _, l := range source() {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, l.Bytes, l.Name)
	}
}

// gather hands the family to fn, for the exposition: a series per name,
// few enough to gather at once.
func (c *logsCollector) gather(fn func([]*dto.MetricFamily) error) error {
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		return err
	}
	mfs, err := reg.Gather()
	if err != nil {
		return err
	}
	return fn(mfs)
}

// SetLogBytesSource sets the function isoagent_container_log_bytes_total
// is computed from: one count per container name, which must never go
// back while the agent runs. fn must be safe to call from the scraping
// goroutine, must not call back into m, and should bound its own cost:
// without a version (SetLogBytesVersion) it is called at every scrape.
func (m *Metrics) SetLogBytesSource(fn func() []ContainerLogBytes) {
	m.logs.mu.Lock()
	defer m.logs.mu.Unlock()
	m.logs.source = fn
}

// SetLogBytesVersion sets a function whose value changes whenever what
// the log-bytes source returns may have (for the agent, the generation of
// its count); it may take a new count when one is due. While it stays, a
// scrape sends the series encoded last (with ContainerSeries).
func (m *Metrics) SetLogBytesVersion(fn func() uint64) {
	m.logs.mu.Lock()
	defer m.logs.mu.Unlock()
	m.logs.version = fn
}
