package metrics

import (
	"hash/maphash"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
)

// family is one metric family the exposition writes itself: its Desc for
// the registry's path (Collect) and what the text format says of it, kept
// together so the two cannot drift apart.
type family struct {
	name, help string
	vt         prometheus.ValueType
	desc       *prometheus.Desc
	// labels are the variable labels in the Desc's order; sorted are
	// their indexes in name order, the order the text format (as expfmt
	// writes a registry's gather) gives them in.
	labels []string
	sorted []int
}

func newFamily(name, help string, vt prometheus.ValueType, labels ...string) *family {
	sorted := make([]int, len(labels))
	for i := range sorted {
		sorted[i] = i
	}
	slices.SortFunc(sorted, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	return &family{name: name, help: help, vt: vt, labels: labels, sorted: sorted,
		desc: prometheus.NewDesc(name, help, labels, nil)}
}

// metric is one series of f, for the registry's path; lvs are in the
// Desc's order.
func (f *family) metric(v float64, lvs ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(f.desc, f.vt, v, lvs...)
}

// textWriter writes metric families in Prometheus's text format, byte for
// byte as expfmt writes a registry's gather of them (TestTextWriterIsExpfmt),
// into w through a buffer of its own: families written by hand skip the
// Metric and protobuf values of every series, and the registry's hashing
// and sorting of them, which at 10,000 containers cost a scrape most of
// its time and garbage.
type textWriter struct {
	w       io.Writer
	buf     []byte
	err     error
	written int64 // bytes handed on
}

// textFlushAt is how much text the writer holds before handing it on.
const textFlushAt = 32 << 10

func newTextWriter(w io.Writer) *textWriter {
	return &textWriter{w: w, buf: make([]byte, 0, textFlushAt+1024)}
}

// header writes the HELP and TYPE lines of f.
func (t *textWriter) header(f *family) {
	t.buf = append(t.buf, "# HELP "...)
	t.buf = append(t.buf, f.name...)
	t.buf = append(t.buf, ' ')
	t.buf = appendEscaped(t.buf, f.help, false)
	t.buf = append(t.buf, "\n# TYPE "...)
	t.buf = append(t.buf, f.name...)
	switch f.vt {
	case prometheus.CounterValue:
		t.buf = append(t.buf, " counter\n"...)
	case prometheus.GaugeValue:
		t.buf = append(t.buf, " gauge\n"...)
	default:
		t.buf = append(t.buf, " untyped\n"...)
	}
}

// series writes one sample of f; lvs are its label values in name order
// (f.sorted).
func (t *textWriter) series(f *family, v float64, lvs ...string) {
	t.buf = append(t.buf, f.name...)
	if len(lvs) > 0 {
		for i, lv := range lvs {
			if i == 0 {
				t.buf = append(t.buf, '{')
			} else {
				t.buf = append(t.buf, ',')
			}
			t.buf = append(t.buf, f.labels[f.sorted[i]]...)
			t.buf = append(t.buf, '=', '"')
			t.buf = appendEscaped(t.buf, lv, true)
			t.buf = append(t.buf, '"')
		}
		t.buf = append(t.buf, '}')
	}
	t.buf = append(t.buf, ' ')
	t.buf = appendFloat(t.buf, v)
	t.buf = append(t.buf, '\n')
	if len(t.buf) >= textFlushAt {
		t.flush()
	}
}

// reset makes t write to w, from nothing.
func (t *textWriter) reset(w io.Writer) {
	t.w, t.buf, t.err, t.written = w, t.buf[:0], nil, 0
}

// flush hands the text held on; the first error stays.
func (t *textWriter) flush() error {
	if t.err == nil && len(t.buf) > 0 {
		var n int
		n, t.err = t.w.Write(t.buf)
		t.written += int64(n)
	}
	t.buf = t.buf[:0]
	return t.err
}

// appendEscaped appends s escaped as expfmt escapes HELP text (quoted
// false) and label values (quoted true): backslash and newline, and the
// double quote in a label value. A string that is not UTF-8 has its bad
// bytes replaced (a registry refuses such a label value outright).
func appendEscaped(b []byte, s string, quoted bool) []byte {
	clean := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\\' || c == '\n' || (quoted && c == '"') || c >= utf8.RuneSelf {
			clean = false
			break
		}
	}
	if clean {
		return append(b, s...)
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, string(utf8.RuneError))
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			b = append(b, '\\', '\\')
		case c == '\n':
			b = append(b, '\\', 'n')
		case quoted && c == '"':
			b = append(b, '\\', '"')
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendFloat appends v as expfmt writes a sample's value.
func appendFloat(b []byte, v float64) []byte {
	switch {
	case v == 1:
		return append(b, '1')
	case v == 0:
		return append(b, '0')
	case v == -1:
		return append(b, '-', '1')
	case math.IsNaN(v):
		return append(b, "NaN"...)
	case math.IsInf(v, +1):
		return append(b, "+Inf"...)
	case math.IsInf(v, -1):
		return append(b, "-Inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// textSample is one series of a family the writer sorts before writing:
// its label values in name order.
type textSample struct {
	lvs []string
	v   float64
}

// writeSorted writes f with samples in the order a registry's gather
// sorts them (by label values in name order); nothing when there are
// none, as a registry drops a family without series.
func (t *textWriter) writeSorted(f *family, samples []textSample) {
	if len(samples) == 0 {
		return
	}
	byLabels := func(a, b textSample) int { return slices.Compare(a.lvs, b.lvs) }
	if !slices.IsSortedFunc(samples, byLabels) {
		slices.SortFunc(samples, byLabels)
	}
	t.header(f)
	for _, s := range samples {
		t.series(f, s.v, s.lvs...)
	}
}

// inNameOrder returns lvs (in the Desc's order) in name order: lvs
// itself when that is the Desc's order.
func (f *family) inNameOrder(lvs []string) []string {
	if slices.IsSorted(f.sorted) {
		return lvs
	}
	out := make([]string, len(lvs))
	for i, j := range f.sorted {
		out[i] = lvs[j]
	}
	return out
}

// digestSamples sums what samples say, in any order: equal sums tell
// families whose text is the same.
func digestSamples(seed maphash.Seed, f *family, samples []textSample) uint64 {
	sum := maphash.String(seed, f.name)
	for _, s := range samples {
		var h maphash.Hash
		h.SetSeed(seed)
		for _, lv := range s.lvs {
			h.WriteString(lv)
			h.WriteByte(0)
		}
		maphash.WriteComparable(&h, math.Float64bits(s.v))
		sum += h.Sum64()
	}
	return sum + uint64(len(samples))
}
