package metrics

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// textFormat is the exposition format /metrics serves when the
// per-container series are kept encoded: Prometheus's text format, which
// every scraper reads whatever else it asks for.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// containerExposition keeps the per-container families encoded, in the
// text format, gzipped, while their version (the source's and the
// restart counts') stays: at 10,000 containers they are 20,000 series,
// and gathering, encoding and compressing them costs a scrape tens of
// milliseconds that nothing changed. The usage families and the log
// counts are kept apart, while their readings (and the containers) stay:
// they change once per --stats-interval, the others when the engine's
// state does. Once it is in use (apart), the collectors registered on the
// registry stay silent, so the series are not served twice.
type containerExposition struct {
	apart atomic.Bool

	mu    sync.Mutex
	parts [3]*encodedPart
}

// encodedPart is the families of one registry, kept encoded while key
// stays.
type encodedPart struct {
	// gather hands the families to encode to fn, in one call or several.
	gather func(fn func([]*dto.MetricFamily) error) error
	// key returns what the families are as of; ok false means they must
	// be encoded again.
	key  func() (k any, ok bool)
	have bool
	at   any
	// gz is the families in the text format, gzipped. Only the gzip
	// member is kept, and a scrape that does not accept gzip gets it
	// decompressed: at 10,000 containers with usage series the text is
	// about 24 MiB, its gzip member 3.6 MiB, and Prometheus asks for
	// gzip.
	gz []byte
}

// silentWhenApart is how a collector the exposition serves is registered
// on the agent's registry: it stays silent once the exposition serves its
// series.
type silentWhenApart struct {
	x *containerExposition
	c prometheus.Collector
}

func (s silentWhenApart) Describe(ch chan<- *prometheus.Desc) { s.c.Describe(ch) }

func (s silentWhenApart) Collect(ch chan<- prometheus.Metric) {
	if !s.x.apart.Load() {
		s.c.Collect(ch)
	}
}

func newContainerExposition(c *containerCollector, stats *statsCollector, logs *logsCollector) *containerExposition {
	type containerKey struct{ at, gen uint64 }
	return &containerExposition{parts: [3]*encodedPart{
		{gather: c.gatherEach, key: func() (any, bool) {
			c.mu.Lock()
			version, gen := c.version, c.restartGen
			c.mu.Unlock()
			if version == nil {
				return nil, false
			}
			return containerKey{version(), gen}, true
		}},
		{gather: stats.gatherEach, key: func() (any, bool) { return stats.key() }},
		{gather: logs.gather, key: func() (any, bool) { return logs.key() }},
	}}
}

// write writes the per-container families and then the usage families,
// gzipped or not (one gzip member each), encoding each again only when
// its version moved. Without a version (see SetContainerVersion and
// SetStatsVersion) they are encoded at every call.
func (x *containerExposition) write(w io.Writer, gzipped bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range x.parts {
		// The key is taken before gathering: a change in between makes
		// the next call encode again.
		at, ok := p.key()
		if !ok || !p.have || at != p.at {
			if err := p.encode(); err != nil {
				return err
			}
			p.have, p.at = ok, at
		}
		if err := p.writeTo(w, gzipped); err != nil {
			return err
		}
	}
	return nil
}

// writeTo writes the families as encoded last, gzipped or not.
func (p *encodedPart) writeTo(w io.Writer, gzipped bool) error {
	if gzipped || len(p.gz) == 0 {
		_, err := w.Write(p.gz)
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(p.gz))
	if err != nil {
		return fmt.Errorf("read the per-container metrics kept: %w", err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		return err
	}
	return zr.Close()
}

func (p *encodedPart) encode() error {
	// Encoded straight into the compressor: the text is never whole in
	// memory.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	enc := expfmt.NewEncoder(zw, textFormat)
	families := 0
	err := p.gather(func(mfs []*dto.MetricFamily) error {
		for _, mf := range mfs {
			families++
			if err := enc.Encode(mf); err != nil {
				return fmt.Errorf("encode the per-container metrics: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("gather the per-container metrics: %w", err)
	}
	if families == 0 {
		// No series (no stats source): no gzip member either, which
		// would cost a compressor at every scrape.
		p.gz = nil
		return nil
	}
	if err := zw.Close(); err != nil {
		return err
	}
	// Kept until the next change: without the spare capacity the
	// buffer grew with.
	p.gz = bytes.Clone(gz.Bytes())
	return nil
}
