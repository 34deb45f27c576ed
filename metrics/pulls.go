package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Image pulls: the bytes downloaded, how long pulls take, why they fail,
// how many run, and what image garbage collection frees.

// pullBuckets span a small image from a nearby registry (a second) to a
// Windows base image of several GB (an hour).
var pullBuckets = []float64{1, 5, 15, 30, 60, 120, 300, 600, 1200, 2400, 3600}

// Pull results, as isoagent_image_pull_duration_seconds labels them.
const (
	PullSuccess = "success"
	PullError   = "error"
)

type pullCollectors struct {
	reasons    []string
	bytes      prometheus.Counter
	duration   *prometheus.HistogramVec
	failures   *prometheus.CounterVec
	inProgress prometheus.Gauge
	gcFreed    prometheus.Counter
	gcRemoved  prometheus.Counter
}

func newPullCollectors(labels labelSets) pullCollectors {
	p := pullCollectors{
		reasons: labels.pullReasons,
		bytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "image_pull_bytes_total",
			Help:      "Bytes of images downloaded from registries.",
		}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "image_pull_duration_seconds",
			Help:      "Time one attempt to pull an image took, from its manifest to the host storing it, by result (success, error).",
			Buckets:   pullBuckets,
		}, []string{"result"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "image_pull_failures_total",
			Help:      "Failed attempts to look an image up in its registry or to pull it, by reason (not-found, unauthorized, unavailable, no-variant, digest-mismatch, invalid, stalled, plain-http, other).",
		}, []string{"reason"}),
		inProgress: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "image_pulls_in_progress",
			Help:      "Image pulls running now.",
		}),
		gcFreed: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "image_gc_freed_bytes_total",
			Help:      "Bytes freed by removing pulled images no container used for --image-gc-age.",
		}),
		gcRemoved: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "image_gc_removed_total",
			Help:      "Pulled images removed because no container used them for --image-gc-age.",
		}),
	}
	for _, r := range []string{PullSuccess, PullError} {
		p.duration.WithLabelValues(r)
	}
	for _, r := range p.reasons {
		p.failures.WithLabelValues(r)
	}
	return p
}

func (p pullCollectors) register(reg prometheus.Registerer) {
	reg.MustRegister(p.bytes, p.duration, p.failures, p.inProgress, p.gcFreed, p.gcRemoved)
}

// AddPullBytes counts bytes downloaded from a registry.
func (m *Metrics) AddPullBytes(n int64) { m.pulls.bytes.Add(float64(n)) }

// ObservePull records one pull attempt that ended: how long it took and
// whether it succeeded.
func (m *Metrics) ObservePull(ok bool, d time.Duration) {
	r := PullSuccess
	if !ok {
		r = PullError
	}
	m.pulls.duration.WithLabelValues(r).Observe(d.Seconds())
}

// IncPullFailure counts a failed look-up or pull with its reason (one of
// registry.Reasons).
func (m *Metrics) IncPullFailure(reason string) {
	m.pulls.failures.WithLabelValues(known(m.pulls.reasons, reason)).Inc()
}

// SetPullsInProgress records how many pulls run now.
func (m *Metrics) SetPullsInProgress(n int) { m.pulls.inProgress.Set(float64(n)) }

// AddImageGC records pulled images removed by garbage collection and the
// bytes that freed.
func (m *Metrics) AddImageGC(removed int, freed int64) {
	m.pulls.gcRemoved.Add(float64(removed))
	m.pulls.gcFreed.Add(float64(freed))
}
