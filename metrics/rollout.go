package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// rolloutMetrics count how rollouts of changed specs ended.
type rolloutMetrics struct {
	orders, results []string
	total           *prometheus.CounterVec
}

// newRolloutMetrics makes the rollout counter with every order and result
// at zero, and registers it on reg.
func newRolloutMetrics(reg prometheus.Registerer) rolloutMetrics {
	m := rolloutMetrics{
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "rollouts_total",
			Help:      "Rollouts of a changed spec that ended, by order (start-first, stop-first) and result (succeeded; failed: the previous configuration runs until the spec changes).",
		}, []string{"order", "result"}),
	}
	for _, o := range reconcile.UpdateOrders() {
		m.orders = append(m.orders, string(o))
	}
	for _, r := range reconcile.RolloutResults() {
		m.results = append(m.results, string(r))
	}
	for _, o := range m.orders {
		for _, r := range m.results {
			m.total.WithLabelValues(o, r)
		}
	}
	reg.MustRegister(m.total)
	return m
}

// IncRollout counts a rollout that ended.
func (m *Metrics) IncRollout(order spec.UpdateOrder, result reconcile.RolloutResult) {
	m.rollouts.total.WithLabelValues(known(m.rollouts.orders, string(order)), known(m.rollouts.results, string(result))).Inc()
}
