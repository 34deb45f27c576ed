package metrics

import (
	"bytes"

	"fmt"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"
)

// textFormat is the exposition format /metrics serves when the
// per-container series are kept encoded: Prometheus's text format, which
// every scraper reads whatever else it asks for.
var textFormat = expfmt.NewFormat(expfmt.TypeTextPlain)

// containerExposition keeps the per-container families encoded, in the
// text format, gzipped, while their version (the source's and the
// restart counts') stays: at 10,000 containers they are about 80,000
// series, and encoding and compressing them costs a scrape tens of
// milliseconds that nothing changed. The usage families and the log counts are kept
// apart, while their readings (and the containers) stay: they change once
// per --stats-interval, the others when the engine's state does. Once it
// is in use (apart), the collectors registered on the registry stay
// silent, so the series are not served twice. The families are written
// straight from the collectors' data (textWriter), not gathered through a
// registry.
type containerExposition struct {
	apart atomic.Bool

	mu    sync.Mutex
	parts [3]*encodedPart
	// zw and text are reused from one encode to the next: a compressor
	// is hundreds of kilobytes.
	zw   *gzip.Writer
	text *textWriter
}

// encodedPart is the families of one collector, kept encoded while key
// stays.
type encodedPart struct {
	// read takes what the families say now and returns the pieces that
	// write them.
	read func() []piece
	// key returns what the families are as of; ok false means they must
	// be read again.
	key  func() (k any, ok bool)
	have bool
	at   any
	// kept are the pieces as encoded last, in order.
	kept []keptPiece
}

// piece is some families of a part, one gzip member of the exposition.
type piece struct {
	write func(*textWriter)
	// digest, when digested, sums what write writes: a piece whose
	// digest is that of the piece kept in its place keeps that one.
	digest   uint64
	digested bool
}

// keptPiece is a piece as encoded.
type keptPiece struct {
	digest   uint64
	digested bool
	// gz is the families in the text format, gzipped (nil for none).
	// Only the gzip member is kept, and a scrape that does not accept
	// gzip gets it decompressed: at 10,000 containers with usage series
	// the text is about 20 MiB, its gzip member a few, and Prometheus
	// asks for gzip.
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

// exposureLevel is the compression of the kept parts, chosen by
// measurement (docs/benchmarks.md, "scrape"): at 10,000 containers the
// usage text is about 20 MiB, compressed once per reading, and
// klauspost/compress's fastest level takes half the time of the
// standard library's (a third of its default level's) for a member 8%
// larger than the default level's.
const exposureLevel = gzip.BestSpeed

func newContainerExposition(c *containerCollector, stats *statsCollector, logs *logsCollector) *containerExposition {
	type containerKey struct{ at, gen uint64 }
	zw, _ := gzip.NewWriterLevel(io.Discard, exposureLevel) // a valid level: no error
	return &containerExposition{zw: zw, text: newTextWriter(io.Discard), parts: [3]*encodedPart{
		{read: func() []piece { return c.pieces(c.read()) }, key: func() (any, bool) {
			c.mu.Lock()
			version, gen := c.version, c.restartGen
			c.mu.Unlock()
			if version == nil {
				return nil, false
			}
			return containerKey{version(), gen}, true
		}},
		{read: func() []piece {
			reading := stats.read()
			return []piece{{write: func(t *textWriter) { stats.writeText(t, reading) }, digest: stats.digest(reading), digested: true}}
		}, key: func() (any, bool) { return stats.key() }},
		{read: func() []piece {
			counts := logs.read()
			return []piece{{write: func(t *textWriter) { logs.writeText(t, counts) }}}
		}, key: func() (any, bool) { return logs.key() }},
	}}
}

// write writes the per-container families and then the usage families,
// gzipped or not (one gzip member per piece), encoding a piece again only
// when its part's version moved and what it says changed. Without a
// version (see SetContainerVersion and SetStatsVersion) they are read at
// every call.
func (x *containerExposition) write(w io.Writer, gzipped bool) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	for _, p := range x.parts {
		// The key is taken before reading: a change in between makes
		// the next call read again.
		at, ok := p.key()
		if !ok || !p.have || at != p.at {
			pieces := p.read()
			if len(p.kept) != len(pieces) {
				p.kept = make([]keptPiece, len(pieces))
			}
			for i, pc := range pieces {
				k := &p.kept[i]
				if pc.digested && k.digested && pc.digest == k.digest {
					continue
				}
				gz, err := x.encode(pc.write, len(k.gz))
				if err != nil {
					return err
				}
				*k = keptPiece{digest: pc.digest, digested: pc.digested, gz: gz}
			}
			p.have, p.at = ok, at
		}
		for _, k := range p.kept {
			if err := k.writeTo(w, gzipped); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeTo writes the families as encoded, gzipped or not.
func (k keptPiece) writeTo(w io.Writer, gzipped bool) error {
	if gzipped || len(k.gz) == 0 {
		_, err := w.Write(k.gz)
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(k.gz))
	if err != nil {
		return fmt.Errorf("read the per-container metrics kept: %w", err)
	}
	if _, err := io.Copy(w, zr); err != nil {
		return err
	}
	return zr.Close()
}

// encode returns what write writes, gzipped, written straight into the
// compressor (the text is never whole in memory); nil when it writes
// nothing. sizeHint is the size of the member it replaces.
func (x *containerExposition) encode(write func(*textWriter), sizeHint int) ([]byte, error) {
	gz := bytes.NewBuffer(make([]byte, 0, sizeHint+sizeHint/8))
	x.zw.Reset(gz)
	t := x.text
	t.reset(x.zw)
	write(t)
	if err := t.flush(); err != nil {
		return nil, fmt.Errorf("encode the per-container metrics: %w", err)
	}
	if t.written == 0 {
		// No series (no stats source): no gzip member either, which
		// would cost a compressor at every scrape.
		return nil, nil
	}
	if err := x.zw.Close(); err != nil {
		return nil, fmt.Errorf("encode the per-container metrics: %w", err)
	}
	out := gz.Bytes()
	if cap(out) > len(out)+len(out)/4 {
		// Kept until the next change: without much spare capacity.
		out = bytes.Clone(out)
	}
	return out, nil
}

// readSource calls the source *fn holds, read under mu but called
// without it (a source may read the driver); none without a source.
func readSource[T any](mu *sync.Mutex, fn *func() []T) []T {
	mu.Lock()
	f := *fn
	mu.Unlock()
	if f == nil {
		return nil
	}
	return f()
}
