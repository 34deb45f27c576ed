// Package metrics exports what isoagent sees and does as Prometheus metrics
// and serves the agent's HTTP endpoints: /metrics, /healthz, /readyz and
// /status.
//
// A Metrics registers every collector on the registry it is given, never on
// the global one, so tests and embedders each get their own. Every labelled
// series whose label values come from a fixed set (the owners' lists, see
// Other) exists, at zero, from the moment New returns, so that rate()
// and absent() work from the first scrape. The per-container metrics are
// produced at scrape time from one snapshot of the containers (see
// SetContainerSource), so they always agree with each other and a removed
// container leaves no stale series behind.
//
// The package takes its label values from the packages that own them (see
// Other) and knows nothing else of the reconcile engine: package agent
// calls the methods of Metrics from the engine's observer hooks and hands
// the engine's status to Handler.
//
// All methods of Metrics are safe for concurrent use.
package metrics

import (
	"io"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

const namespace = "isoagent"

// Histogram buckets. A reconcile step or a driver call takes from a
// millisecond (the sim, a no-op step) to tens of seconds (a stop that waits
// out its timeout, a Hyper-V utility VM booting). Convergence spans from the
// debounce period (about 100 ms) to minutes when images are slow or a
// change touches many containers.
var (
	durationBuckets    = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	convergenceBuckets = []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600}
)

// BuildInfo describes the running agent, for isoagent_build_info.
type BuildInfo struct {
	Version string
	// GoVersion defaults to runtime.Version().
	GoVersion string
}

// Metrics holds isoagent's collectors. Create it with New.
type Metrics struct {
	labels            labelSets
	reconciles        *prometheus.CounterVec
	reconcileDuration *prometheus.HistogramVec
	actions           *prometheus.CounterVec
	driverOps         *prometheus.HistogramVec
	rejections        *prometheus.CounterVec
	specFiles         *prometheus.GaugeVec
	watchEvents       *prometheus.CounterVec
	rescans           *prometheus.CounterVec
	convergence       prometheus.Histogram
	lastSuccess       prometheus.Gauge
	policyValid       prometheus.Gauge
	registriesValid   prometheus.Gauge
	hostInfo          *infoCollector
	revision          *infoCollector
	containers        *containerCollector
	stats             *statsCollector
	logs              *logsCollector
	pulls             pullCollectors
	exposition        *containerExposition
	guard             guardMetrics
	conditions        *conditionCollector
	health            healthMetrics
	rollouts          rolloutMetrics
}

// NewRegistry returns a new registry holding the Go runtime and process
// collectors (go_*, process_*), the usual companions of an application's
// own metrics. Pass it to New and to Handler.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return reg
}

// New creates isoagent's collectors, registers them on reg and returns
// them. It panics, as prometheus.MustRegister does, when reg already holds
// one of them: registering twice on one registry is a programming error.
func New(reg prometheus.Registerer, info BuildInfo) *Metrics {
	if info.GoVersion == "" {
		info.GoVersion = runtime.Version()
	}
	labels := newLabelSets()
	m := &Metrics{
		labels: labels,
		reconciles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "reconcile_total",
			Help:      "Reconciles of one container name, by result: success (the host matches the spec or the next step was taken), error (retried with backoff), requeue (asked to come back later).",
		}, []string{"result"}),
		reconcileDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "reconcile_duration_seconds",
			Help:      "Time one reconcile of one container name took, by result.",
			Buckets:   durationBuckets,
		}, []string{"result"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "actions_total",
			Help:      "Actions taken on containers (create, start, stop, remove), by result (success, error).",
		}, []string{"action", "result"}),
		driverOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "driver_operation_duration_seconds",
			Help:      "Time a call to the container host driver took, successful or not, by operation.",
			Buckets:   durationBuckets,
		}, []string{"operation"}),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "admission_rejections_total",
			Help:      "Specs newly refused by admission, by reason; a spec that stays refused is counted once. A spec meant for other hosts is no refusal and is not counted.",
		}, []string{"reason"}),
		specFiles: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "spec_files",
			Help:      "Spec files in the watched folder at the last scan, by state (valid, invalid).",
		}, []string{"state"}),
		watchEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "watch_events_total",
			Help:      "Signals that the spec folder may have changed, by trigger (event, resync, overflow).",
		}, []string{"trigger"}),
		rescans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "rescans_total",
			Help:      "Scans of the spec folder, by the trigger that caused them (event, resync, overflow).",
		}, []string{"trigger"}),
		convergence: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "convergence_seconds",
			Help:      "Time from a change of the spec folder being seen (or the agent starting) to the host matching it, per change.",
			Buckets:   convergenceBuckets,
		}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "last_successful_reconcile_timestamp_seconds",
			Help:      "Unix time of the last full reconcile that completed without error; 0 until the first one.",
		}),
		policyValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "policy_valid",
			Help:      "1 when the boundary policy in force is the policy file's current content (or no --policy is given), 0 while the file is unusable and the last good policy stays in force.",
		}),
		registriesValid: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace,
			Name:      "registries_valid",
			Help:      "1 when the registries credentials in force are the registries file's current content (or no --registries is given), 0 while the file is unusable and the last good one stays in force.",
		}),
		hostInfo: newInfoCollector(prometheus.NewDesc(
			namespace+"_host_info",
			"The container host: Windows version, build, SKU (server, client) and driver (sim, hcs). Always 1.",
			[]string{"os_version", "build", "sku", "driver"}, nil)),
		revision: newInfoCollector(prometheus.NewDesc(
			namespace+"_config_revision_info",
			"The git revision of the spec folder's content the agent works from, when it can be told. Always 1.",
			[]string{"revision"}, nil)),
		containers: newContainerCollector(labels),
		stats:      newStatsCollector(),
		logs:       newLogsCollector(),
		pulls:      newPullCollectors(labels),
		guard:      newGuardMetrics(labels),
		conditions: newConditionCollector(labels),
		health:     newHealthMetrics(),
	}
	build := newInfoCollector(prometheus.NewDesc(
		namespace+"_build_info",
		"The agent's version and the Go version it was built with. Always 1.",
		[]string{"version", "goversion"}, nil))
	build.set(info.Version, info.GoVersion)

	m.policyValid.Set(1)
	m.registriesValid.Set(1)
	for _, r := range labels.reconcileResults {
		m.reconciles.WithLabelValues(r)
		m.reconcileDuration.WithLabelValues(r)
	}
	for _, a := range labels.actions {
		for _, r := range labels.actionResults {
			m.actions.WithLabelValues(a, r)
		}
	}
	for _, op := range labels.operations {
		m.driverOps.WithLabelValues(op)
	}
	for _, r := range labels.reasons {
		m.rejections.WithLabelValues(r)
	}
	for _, s := range labels.fileStates {
		m.specFiles.WithLabelValues(s)
	}
	for _, t := range labels.triggers {
		m.watchEvents.WithLabelValues(t)
		m.rescans.WithLabelValues(t)
	}

	m.rollouts = newRolloutMetrics(reg)
	m.exposition = newContainerExposition(m.containers, m.stats, m.logs)
	reg.MustRegister(
		m.reconciles, m.reconcileDuration, m.actions, m.driverOps,
		m.rejections, m.specFiles, m.watchEvents, m.rescans,
		m.convergence, m.lastSuccess, m.policyValid, m.registriesValid, m.hostInfo, m.revision, build, m.conditions,
		silentWhenApart{m.exposition, m.containers}, silentWhenApart{m.exposition, m.stats}, silentWhenApart{m.exposition, m.logs},
	)
	m.pulls.register(reg)
	m.health.register(reg)
	reg.MustRegister(m.guard.collectors()...)
	return m
}

// SetPolicyValid records whether the policy file in force is its current
// content (true), or is unusable and the last good policy stays (false).
func (m *Metrics) SetPolicyValid(valid bool) {
	v := 0.0
	if valid {
		v = 1
	}
	m.policyValid.Set(v)
}

// SetRegistriesValid records whether the registries file in force is its
// current content (true), or is unusable and the last good one stays
// (false).
func (m *Metrics) SetRegistriesValid(valid bool) {
	v := 0.0
	if valid {
		v = 1
	}
	m.registriesValid.Set(v)
}

// ObserveReconcile records one reconcile of one container name: its
// outcome and how long it took.
func (m *Metrics) ObserveReconcile(o reconcile.Outcome, d time.Duration) {
	result := known(m.labels.reconcileResults, o)
	m.reconciles.WithLabelValues(result).Inc()
	m.reconcileDuration.WithLabelValues(result).Observe(d.Seconds())
}

// IncAction counts one step taken on a container (one of
// reconcile.StepKinds) with its result (reconcile.OutcomeSuccess or
// reconcile.OutcomeError). How long the step took is recorded by the
// driver operation it consists of; see ObserveDriverOp.
func (m *Metrics) IncAction(step reconcile.ActionKind, result reconcile.Outcome) {
	m.actions.WithLabelValues(known(m.labels.actions, step), known(m.labels.actionResults, result)).Inc()
}

// ObserveDriverOp records how long one driver call took, whether it
// succeeded or not.
func (m *Metrics) ObserveDriverOp(op driver.Op, d time.Duration) {
	m.driverOps.WithLabelValues(known(m.labels.operations, op)).Observe(d.Seconds())
}

// IncRestart counts one restart of the named container by its restart
// policy. The count is exported as isoagent_container_restarts_total for as
// long as the container appears in the container source's snapshots.
func (m *Metrics) IncRestart(name string) {
	m.containers.incRestart(name)
}

// IncExit counts one exit of the named container's init process, with
// its reason; exported as isoagent_container_exits_total as restarts are.
func (m *Metrics) IncExit(name string, reason reconcile.ExitReason) {
	m.containers.incExit(name, reason)
}

// IncRejection counts a spec admission newly refuses, with the reason.
// Call it when a spec becomes refused, not again at every resync while it
// stays so.
// A spec meant for other hosts (reconcile.ReasonNotForThisHost) is not
// counted: a spec repository shared by many hosts declares many.
func (m *Metrics) IncRejection(reason reconcile.Reason) {
	if reason == reconcile.ReasonNotForThisHost {
		return
	}
	m.rejections.WithLabelValues(known(m.labels.reasons, reason)).Inc()
}

// IncWatchEvent counts one signal that the spec folder may have changed.
func (m *Metrics) IncWatchEvent(t spec.Trigger) {
	m.watchEvents.WithLabelValues(known(m.labels.triggers, t)).Inc()
}

// IncRescan counts one scan of the spec folder and what triggered it.
func (m *Metrics) IncRescan(t spec.Trigger) {
	m.rescans.WithLabelValues(known(m.labels.triggers, t)).Inc()
}

// ObserveConvergence records the time from a change being seen (or the
// agent starting) to the host matching it.
func (m *Metrics) ObserveConvergence(d time.Duration) {
	m.convergence.Observe(d.Seconds())
}

// SetLastSuccessfulReconcile records when the last full reconcile completed
// without error.
func (m *Metrics) SetLastSuccessfulReconcile(t time.Time) {
	m.lastSuccess.Set(float64(t.UnixNano()) / 1e9)
}

// SetHostInfo records the container host the agent drives. The previous
// series, if any, is replaced.
func (m *Metrics) SetHostInfo(h driver.Host) {
	m.hostInfo.set(
		h.OSVersion.String(),
		strconv.FormatUint(uint64(h.OSVersion.Build), 10),
		known(m.labels.skus, h.SKU),
		known(m.labels.drivers, h.Driver),
	)
}

// SetConfigRevision records the git revision of the spec folder's content.
// The previous revision's series is removed, so there is at most one; an
// empty rev (the revision cannot be told) leaves none.
func (m *Metrics) SetConfigRevision(rev string) {
	if rev == "" {
		m.revision.set()
		return
	}
	m.revision.set(rev)
}

// SetSpecFiles records how many spec files the last scan found valid and
// invalid.
func (m *Metrics) SetSpecFiles(valid, invalid int) {
	m.specFiles.WithLabelValues(FileValid).Set(float64(valid))
	m.specFiles.WithLabelValues(FileInvalid).Set(float64(invalid))
}

// SetContainerSource sets the function the per-container metrics are
// computed from at every scrape. It replaces any earlier source; until one
// is set, the per-container gauges are zero. fn must be safe to call from
// the scraping goroutine and must not call back into m.
func (m *Metrics) SetContainerSource(fn func() []ContainerInfo) {
	m.containers.setSource(fn)
}

// SetContainerVersion sets a function whose value changes whenever what
// the container source returns may have (reconcile.Engine.StateVersion).
// While it and the restart counts stay the same, a scrape sends the
// per-container series it built last instead of asking the source and
// building them again. Without it every scrape asks the source.
func (m *Metrics) SetContainerVersion(fn func() uint64) {
	m.containers.setVersion(fn)
	m.stats.setContainerVersion(fn)
}

// ContainerSeries hands the per-container series over to /metrics as
// text kept encoded between changes of the container version, and the
// usage series as text kept between changes of the stats version too (see
// Endpoints.Extra): from then on the registry New was given no longer
// gathers them, and the function returned writes them, in Prometheus's
// text format, gzipped or not.
func (m *Metrics) ContainerSeries() func(w io.Writer, gzipped bool) error {
	m.exposition.apart.Store(true)
	m.containers.keepNone()
	m.stats.keepNone()
	return m.exposition.write
}

// infoCollector exports one "info" series (value 1) whose label values are
// replaced as a whole, so a scrape never sees the old and the new series
// together, nor neither.
type infoCollector struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	values []string // nil: no series
}

func newInfoCollector(desc *prometheus.Desc) *infoCollector {
	return &infoCollector{desc: desc}
}

// set replaces the series' label values; no values removes the series.
func (c *infoCollector) set(values ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(values) == 0 {
		c.values = nil
		return
	}
	c.values = values
}

func (c *infoCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *infoCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	values := c.values
	c.mu.Unlock()
	if values != nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, 1, values...)
	}
}
