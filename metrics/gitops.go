package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/gitverify"
)

// guardMetrics are the metrics of the GitOps guard rails: refused
// revisions and held prunes.
type guardMetrics struct {
	refusals *prometheus.CounterVec
	refusing prometheus.Gauge
	refused  *infoCollector
	prune    *pruneCollector
}

func newGuardMetrics(labels labelSets) guardMetrics {
	g := guardMetrics{
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "revision_refusals_total",
			Help:      "Revisions of the spec checkout refused with --verify-signatures, by reason (unsigned, untrusted, invalid); each revision is counted once.",
		}, []string{"reason"}),
		refusing: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "revision_refused",
			Help:      "1 while the spec checkout is at a revision refused with --verify-signatures (isoagent_revision_refused_info names it), else 0.",
		}),
		refused: newInfoCollector(prometheus.NewDesc(
			namespace+"_revision_refused_info",
			"The revision the spec checkout is at while it is refused (not signed by a trusted key), with the reason; absent while the checkout's revision is verified. Always 1.",
			[]string{"revision", "reason"}, nil)),
		prune: &pruneCollector{
			pending: prometheus.NewDesc(namespace+"_prune_pending_containers",
				"Containers a held prune would remove: the latest change prunes more than the prune budget allows (or the agent runs on another folder), so none is removed until 'isoagent prune --confirm' or a change that fits. 0 when nothing is held.",
				nil, nil),
			budget: prometheus.NewDesc(namespace+"_prune_budget_containers",
				"How many containers one change may prune now (--max-prune).", nil, nil),
		},
	}
	for _, r := range labels.refusalReasons {
		g.refusals.WithLabelValues(r)
	}
	return g
}

func (g guardMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.refusals, g.refusing, g.refused, g.prune}
}

// SetRevisionRefused records that the checkout is at revision rev, refused
// for reason, and counts it: call it once per refused revision. An empty
// rev records that the checkout's revision is verified again.
func (m *Metrics) SetRevisionRefused(rev string, reason gitverify.Reason) {
	if rev == "" {
		m.guard.refused.set()
		m.guard.refusing.Set(0)
		return
	}
	m.guard.refusing.Set(1)
	r := known(m.labels.refusalReasons, reason)
	m.guard.refusals.WithLabelValues(r).Inc()
	m.guard.refused.set(rev, r)
}

// SetPruneSource sets the function the prune gauges are read from at every
// scrape: the containers a held prune would remove, and the budget. fn
// must be safe to call from the scraping goroutine.
func (m *Metrics) SetPruneSource(fn func() (pending, budget int)) {
	m.guard.prune.mu.Lock()
	defer m.guard.prune.mu.Unlock()
	m.guard.prune.fn = fn
}

type pruneCollector struct {
	pending, budget *prometheus.Desc
	mu              sync.Mutex
	fn              func() (int, int)
}

func (c *pruneCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.pending; ch <- c.budget }

func (c *pruneCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fn := c.fn
	c.mu.Unlock()
	var pending, budget int
	if fn != nil {
		pending, budget = fn()
	}
	ch <- prometheus.MustNewConstMetric(c.pending, prometheus.GaugeValue, float64(pending))
	ch <- prometheus.MustNewConstMetric(c.budget, prometheus.GaugeValue, float64(budget))
}
