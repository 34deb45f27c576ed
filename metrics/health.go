package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/health"
)

// healthMetrics are the series of health checks: the probes, by kind,
// pre-initialised; the per-container health comes with the container
// series (healthDesc).
type healthMetrics struct {
	duration *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

func newHealthMetrics() healthMetrics {
	h := healthMetrics{
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "health_probe_duration_seconds",
			Help:      "Time one health probe of a container took, passed or failed, by kind (exec, tcp, http).",
			Buckets:   durationBuckets,
		}, []string{"kind"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "health_probe_failures_total",
			Help:      "Health probes of containers that failed (a non-zero exit code, a refused connection, an HTTP status outside 2xx and 3xx, a timeout), by kind.",
		}, []string{"kind"}),
	}
	for _, k := range health.Kinds() {
		h.duration.WithLabelValues(string(k))
		h.failures.WithLabelValues(string(k))
	}
	return h
}

func (h healthMetrics) register(reg prometheus.Registerer) { reg.MustRegister(h.duration, h.failures) }

// ObserveProbe records one health probe of kind k that took d.
func (m *Metrics) ObserveProbe(k health.Kind, d time.Duration, ok bool) {
	kind := string(k)
	m.health.duration.WithLabelValues(kind).Observe(d.Seconds())
	if !ok {
		m.health.failures.WithLabelValues(kind).Inc()
	}
}

// newHealthyFamily is isoagent_container_healthy: for a running
// container with a health check, 1 while healthy, 0 while starting or
// unhealthy, so that a container restarted for its health again and again
// stays 0; absent for a container without a check.
func newHealthyFamily() *family {
	return newFamily(namespace+"_container_healthy",
		"1 while a running container's health check passes, 0 while it has not passed yet (starting) or has failed its retries in a row (unhealthy); absent for containers without a health check.",
		prometheus.GaugeValue, "name")
}

// collectHealth hands emit the health series (of f) of snapshot, once
// per name.
func collectHealth(emit emitFunc, f *family, snapshot []ContainerInfo) {
	seen := make(map[string]bool)
	for _, ci := range snapshot {
		if seen[ci.Name] {
			continue
		}
		switch ci.Health {
		case health.Healthy:
			emit(f, 1, ci.Name)
		case health.Starting, health.Unhealthy:
			emit(f, 0, ci.Name)
		default:
			continue
		}
		seen[ci.Name] = true
	}
}
