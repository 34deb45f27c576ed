package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/isoagent/isoagent/reconcile"
)

// conditionCollector exports the engine-wide conditions as
// isoagent_condition{kind}: 1 while one holds, 0 otherwise, a series for
// every kind of reconcile.EngineConditionTypes from the start, read from
// its source at every scrape.
type conditionCollector struct {
	desc  *prometheus.Desc
	kinds []string
	mu    sync.Mutex
	fn    func() []reconcile.Condition
}

func newConditionCollector(labels labelSets) *conditionCollector {
	return &conditionCollector{
		desc: prometheus.NewDesc(namespace+"_condition",
			"1 while an engine-wide condition holds, else 0, by kind: EmptyFolderIgnored (the folder declares no specs; nothing is pruned), PolicyInvalid and RegistriesInvalid (the file is unusable; the last good one stays in force), LoadFailed (the spec folder cannot be read), HostNotListed and DriverUnavailable (the host's containers cannot be listed), PruneSuspended, PruneHeld, RevisionRefused. isoagent status shows the message.",
			[]string{"kind"}, nil),
		kinds: labels.engineConditions,
	}
}

func (c *conditionCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *conditionCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	fn := c.fn
	c.mu.Unlock()
	holds := make(map[string]float64, len(c.kinds))
	for _, k := range c.kinds {
		holds[k] = 0
	}
	if fn != nil {
		for _, cond := range fn() {
			holds[known(c.kinds, cond.Type)] = 1
		}
	}
	for k, v := range holds {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, v, k)
	}
}

// SetConditionSource sets the function the engine-wide condition gauge
// (isoagent_condition) is read from at every scrape: the conditions that
// hold now (reconcile.Engine.Conditions). fn must be safe to call from
// the scraping goroutine and cheap.
func (m *Metrics) SetConditionSource(fn func() []reconcile.Condition) {
	m.conditions.mu.Lock()
	defer m.conditions.mu.Unlock()
	m.conditions.fn = fn
}
