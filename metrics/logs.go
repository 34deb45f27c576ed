package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
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
	family *family

	mu      sync.Mutex
	source  func() []ContainerLogBytes
	version func() uint64
}

func newLogsCollector() *logsCollector {
	return &logsCollector{family: newFamily(namespace+"_container_log_bytes_total",
		"Bytes of log entries (CRI format, as written to the files) the containers of a name have written to their logs, over their runs and rotations, counted by the agent from the state folder every --stats-interval. Only with a driver that keeps container output.",
		prometheus.CounterValue, "name")}
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

func (c *logsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.family.desc }

func (c *logsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, l := range c.read() {
		ch <- c.family.metric(l.Bytes, l.Name)
	}
}

// read asks the source for the counts (none without a source).
func (c *logsCollector) read() []ContainerLogBytes { return readSource(&c.mu, &c.source) }

// writeText writes the family of counts in the text format, for the
// exposition.
func (c *logsCollector) writeText(t *textWriter, counts []ContainerLogBytes) {
	samples := make([]textSample, len(counts))
	for i, l := range counts {
		samples[i] = textSample{[]string{l.Name}, l.Bytes}
	}
	t.writeSorted(c.family, samples)
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
