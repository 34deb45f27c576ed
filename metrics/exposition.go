package metrics

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// textFormat is the exposition format /metrics serves when the
// per-container series are kept encoded: Prometheus's text format, which
// every scraper reads whatever else it asks for.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// containerExposition keeps the per-container families encoded, in the
// text format and gzipped, while their version (the source's and the
// restart counts') stays: at 10,000 containers they are 20,000 series,
// and gathering, encoding and compressing them costs a scrape tens of
// milliseconds that nothing changed. Once it is in use (apart), the
// collector registered on the registry stays silent, so the series are
// not served twice.
type containerExposition struct {
	c     *containerCollector
	reg   *prometheus.Registry // holds c alone
	apart atomic.Bool

	mu       sync.Mutex
	have     bool
	at, gen  uint64
	text, gz []byte
}

// silentWhenApart is how the container collector is registered on the
// agent's registry: it stays silent once the exposition serves its series.
type silentWhenApart struct{ x *containerExposition }

func (s silentWhenApart) Describe(ch chan<- *prometheus.Desc) { s.x.c.Describe(ch) }

func (s silentWhenApart) Collect(ch chan<- prometheus.Metric) {
	if !s.x.apart.Load() {
		s.x.c.Collect(ch)
	}
}

func newContainerExposition(c *containerCollector) *containerExposition {
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	return &containerExposition{c: c, reg: reg}
}

// write writes the per-container families, gzipped or not, encoding them
// again only when their version moved. Without a version (see
// SetContainerVersion) they are encoded at every call.
func (x *containerExposition) write(w io.Writer, gzipped bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.c.mu.Lock()
	version, gen := x.c.version, x.c.restartGen
	x.c.mu.Unlock()
	var at uint64
	if version != nil {
		at = version()
	}
	if version == nil || !x.have || at != x.at || gen != x.gen {
		if err := x.encode(); err != nil {
			return err
		}
		x.have, x.at, x.gen = version != nil, at, gen
	}
	b := x.text
	if gzipped {
		b = x.gz
	}
	_, err := w.Write(b)
	return err
}

func (x *containerExposition) encode() error {
	mfs, err := x.reg.Gather()
	if err != nil {
		return fmt.Errorf("gather the per-container metrics: %w", err)
	}
	var text bytes.Buffer
	enc := expfmt.NewEncoder(&text, textFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			return fmt.Errorf("encode the per-container metrics: %w", err)
		}
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(text.Bytes()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	x.text, x.gz = text.Bytes(), gz.Bytes()
	return nil
}
