package metrics

import (
	"maps"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/reconcile"
)

// ContainerInfo is what the per-container metrics need to know of one
// container the agent manages or has refused.
type ContainerInfo struct {
	// Name is the spec name. It is the only label whose values are not
	// from a fixed set, with ID.
	Name string
	// ID is the ID of the container on the host, for joins with the
	// series of other exporters (windows_exporter's container_id); empty
	// when there is none.
	ID string
	// Isolation is the effective isolation (one of driver.Isolations),
	// or, for a spec admission refused before choosing one, the isolation
	// it asked for (which may be spec.IsolationDefault). Anything else is
	// reported as Other.
	Isolation string
	// Image is the image reference from the spec.
	Image string
	// State is the state the engine reports; a value outside
	// reconcile.States is reported as Other. A spec meant for other hosts
	// (reconcile.StateElsewhere) is counted in isoagent_containers and has
	// no per-container series.
	State reconcile.State
	// Desired reports that the agent wants the container running: it was
	// admitted and its restart policy does not leave it exited.
	Desired bool
	// Running reports that the host runs it.
	Running bool
	// LastExitCode is the exit code of its last run, when it has ended
	// one.
	LastExitCode *int
	// Schedule is set for a scheduled spec (schedule.go).
	Schedule *ScheduleInfo
	// Conditions are the kinds of the container's conditions, counted in
	// isoagent_container_conditions.
	Conditions []reconcile.ConditionType
	// Health is the running container's health; empty without a health
	// check (health.go).
	Health health.State
}

// containerCollector produces the per-container metrics from one snapshot
// per scrape, so that desired, running, the state counts and the info
// series always describe the same moment.
type containerCollector struct {
	desired, running, count, info, restarts *prometheus.Desc
	exits, lastExit, conditions             *prometheus.Desc
	labels                                  labelSets
	schedules                               scheduleDescs

	mu           sync.Mutex
	source       func() []ContainerInfo
	restartCount map[string]float64
	// version, when set, tells when the source may say something new;
	// built are the series of the last scrape, as of version built
	// and the restarts counted then (restartGen).
	version    func() uint64
	restartGen uint64
	built      []prometheus.Metric
	builtAt    uint64
	builtGen   uint64
	haveBuilt  bool
	// unkept: the series are kept encoded elsewhere (keepNone).
	unkept    bool
	exitCount map[string]map[reconcile.ExitReason]float64
}

func newContainerCollector(labels labelSets) *containerCollector {
	return &containerCollector{
		labels: labels,
		desired: prometheus.NewDesc(namespace+"_containers_desired",
			"Containers the agent wants running, by effective isolation.",
			[]string{"isolation"}, nil),
		running: prometheus.NewDesc(namespace+"_containers_running",
			"Containers the host runs, by effective isolation.",
			[]string{"isolation"}, nil),
		count: prometheus.NewDesc(namespace+"_containers",
			"Containers the agent knows of, declared in the spec folder or owned on the host without a spec, by state.",
			[]string{"state"}, nil),
		info: prometheus.NewDesc(namespace+"_container_info",
			"One series per container the agent knows of, naming its container ID on the host (empty when there is none), isolation, image and state. Always 1.",
			[]string{"name", "container_id", "isolation", "image", "state"}, nil),
		restarts: prometheus.NewDesc(namespace+"_container_restarts_total",
			"Restarts of a container by its restart policy since the agent started.",
			[]string{"name"}, nil),
		exits: prometheus.NewDesc(namespace+"_container_exits_total",
			"Exits of a container's init process since the agent started, by reason: completed (code 0), failed (another code), stopped (by the agent), unhealthy (stopped by the agent for failing its health check), unknown.",
			[]string{"name", "reason"}, nil),
		conditions: prometheus.NewDesc(namespace+"_container_conditions",
			"Containers a condition holds for, by kind: CrashLoopBackOff (waiting out its crash backoff), ImagePullFailed, WaitingForDependency, KeptRunning (its spec is refused; what ran is left alone), Invalid (its file is invalid; the last good spec stays), Conflict, PruneHeld.",
			[]string{"kind"}, nil),
		lastExit: prometheus.NewDesc(namespace+"_container_last_exit_code",
			"The exit code of a container's last run, for containers that have ended one.",
			[]string{"name"}, nil),
		restartCount: make(map[string]float64),
		exitCount:    make(map[string]map[reconcile.ExitReason]float64),
		schedules:    newScheduleDescs(),
	}
}

func (c *containerCollector) setSource(fn func() []ContainerInfo) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.source, c.haveBuilt = fn, false
}

func (c *containerCollector) setVersion(fn func() uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version, c.haveBuilt = fn, false
}

// incRestart keeps counting across the container's absence from a
// snapshot (a spec file rewritten, a container recreated), so the counter
// never goes backwards while the agent runs.
func (c *containerCollector) incRestart(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.restartCount[name]++
	c.restartGen++
}

// incExit counts one exit, kept as restarts are.
func (c *containerCollector) incExit(name string, reason reconcile.ExitReason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.exitCount[name]
	if m == nil {
		m = make(map[reconcile.ExitReason]float64)
		c.exitCount[name] = m
	}
	m[reason]++
	c.restartGen++ // the series built must be built again
}

// keepNone tells the collector that the exposition keeps its series
// encoded (ContainerSeries): it gathers them only when their version
// moved, so series kept here as well would only wait for the next change,
// which builds them anew (at 10,000 containers about 30 MiB of live heap,
// and as much again while a scrape gathers them).
func (c *containerCollector) keepNone() {
	c.mu.Lock()
	c.unkept, c.built, c.haveBuilt = true, nil, false
	c.mu.Unlock()
}

func (c *containerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.exits
	ch <- c.lastExit
	ch <- c.conditions
	ch <- c.desired
	ch <- c.running
	ch <- c.count
	ch <- c.info
	ch <- c.restarts
	ch <- healthyDesc
	c.schedules.describe(ch)
}

func (c *containerCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	source, version, gen := c.source, c.version, c.restartGen
	keep := version != nil && !c.unkept
	var at uint64
	if keep {
		at = version()
		if c.haveBuilt && at == c.builtAt && gen == c.builtGen {
			built := c.built
			c.mu.Unlock()
			for _, m := range built {
				ch <- m
			}
			return
		}
	}
	c.mu.Unlock()
	var built []prometheus.Metric
	send := func(m prometheus.Metric) {
		if keep {
			built = append(built, m)
		}
		ch <- m
	}
	defer func() {
		if !keep {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.built, c.builtAt, c.builtGen, c.haveBuilt = built, at, gen, true
	}()
	var snapshot []ContainerInfo
	if source != nil {
		// Called without the lock: the source may take its own locks and
		// take its time.
		snapshot = source()
	}
	c.collectFrom(snapshot, nil, ch, send)
}

// collectFrom sends the series of snapshot, or only those of the
// families want accepts when it is set: those of the others are not even
// built. Schedule series go to ch, the others to send.
func (c *containerCollector) collectFrom(snapshot []ContainerInfo, want func(*prometheus.Desc) bool, ch chan<- prometheus.Metric, send func(prometheus.Metric)) {
	wanted := func(d *prometheus.Desc) bool { return want == nil || want(d) }
	desired := make(map[string]int)
	running := make(map[string]int)
	byState := make(map[string]int)
	for _, iso := range c.labels.isolations {
		desired[iso], running[iso] = 0, 0
	}
	for _, s := range c.labels.states {
		byState[s] = 0
	}
	byCondition := make(map[string]int)
	for _, k := range c.labels.containerConditions {
		byCondition[k] = 0
	}
	wantInfo := wanted(c.info)
	wantNames := wanted(c.restarts) || wanted(c.exits) || wanted(c.lastExit)
	type infoKey struct{ name, id, isolation, image, state string }
	infos := make(map[infoKey]bool)
	lastExit := make(map[string]int)
	var names []string
	for _, ci := range snapshot {
		iso := known(c.labels.isolations, ci.Isolation)
		state := known(c.labels.states, ci.State)
		if ci.Desired {
			desired[iso]++
		}
		if ci.Running {
			running[iso]++
		}
		byState[state]++
		for _, k := range ci.Conditions {
			byCondition[known(c.labels.containerConditions, k)]++
		}
		if ci.State == reconcile.StateElsewhere {
			// Counted, but not this host's container: a spec repository
			// shared by many hosts must not give each the series of all.
			continue
		}
		if wantInfo {
			// A name appears twice when a conflicting spec is reported
			// next to the one that won; identical label sets are one
			// series.
			infos[infoKey{ci.Name, ci.ID, known(c.labels.infoIsolations, ci.Isolation), ci.Image, state}] = true
		}
		if !wantNames {
			continue
		}
		names = append(names, ci.Name)
		if ci.LastExitCode != nil {
			lastExit[ci.Name] = *ci.LastExitCode
		}
	}

	for iso, n := range desired {
		if !wanted(c.desired) {
			break
		}
		send(prometheus.MustNewConstMetric(c.desired, prometheus.GaugeValue, float64(n), iso))
	}
	for iso, n := range running {
		if !wanted(c.running) {
			break
		}
		send(prometheus.MustNewConstMetric(c.running, prometheus.GaugeValue, float64(n), iso))
	}
	for state, n := range byState {
		if !wanted(c.count) {
			break
		}
		send(prometheus.MustNewConstMetric(c.count, prometheus.GaugeValue, float64(n), state))
	}
	for kind, n := range byCondition {
		if !wanted(c.conditions) {
			break
		}
		send(prometheus.MustNewConstMetric(c.conditions, prometheus.GaugeValue, float64(n), kind))
	}
	for k := range infos {
		if !wanted(c.info) {
			break
		}
		send(prometheus.MustNewConstMetric(c.info, prometheus.GaugeValue, 1, k.name, k.id, k.isolation, k.image, k.state))
	}
	if wanted(c.schedules.lastRun) {
		// The schedule families are built together: a want takes all or
		// none of them.
		c.schedules.collect(ch, snapshot)
	}
	if wanted(healthyDesc) {
		collectHealth(send, snapshot)
	}
	if !wantNames {
		return
	}

	slices.Sort(names)
	names = slices.Compact(names)
	c.mu.Lock()
	counts := make([]float64, len(names))
	exits := make([]map[reconcile.ExitReason]float64, len(names))
	for i, name := range names {
		counts[i] = c.restartCount[name]
		exits[i] = maps.Clone(c.exitCount[name])
	}
	c.mu.Unlock()
	for i, name := range names {
		if wanted(c.restarts) {
			send(prometheus.MustNewConstMetric(c.restarts, prometheus.CounterValue, counts[i], name))
		}
		for _, r := range reconcile.ExitReasons() {
			if wanted(c.exits) {
				send(prometheus.MustNewConstMetric(c.exits, prometheus.CounterValue, exits[i][r], name, string(r)))
			}
		}
		if code, ok := lastExit[name]; ok && wanted(c.lastExit) {
			send(prometheus.MustNewConstMetric(c.lastExit, prometheus.GaugeValue, float64(code), name))
		}
	}
}

// gatherEach gathers the per-container families of one reading of the
// source in groups, one after another, and hands each group's to fn: at
// 10,000 containers they are about 80,000 series (five exit reasons per
// name), and gathered at once each was held as its Metric, its protobuf
// and their shared label pairs until the last was encoded.
func (c *containerCollector) gatherEach(fn func([]*dto.MetricFamily) error) error {
	c.mu.Lock()
	source := c.source
	c.mu.Unlock()
	var snapshot []ContainerInfo
	if source != nil {
		snapshot = source()
	}
	sd := c.schedules
	groups := [][]*prometheus.Desc{
		{c.desired, c.running, c.count, c.conditions, sd.lastRun, sd.nextRun, sd.lastExit, sd.missed, sd.skipped},
		{c.info}, {healthyDesc}, {c.restarts}, {c.exits}, {c.lastExit},
	}
	for _, g := range groups {
		want := func(d *prometheus.Desc) bool { return slices.Contains(g, d) }
		reg := prometheus.NewRegistry()
		if err := reg.Register(groupCollector{descs: g, collect: func(ch chan<- prometheus.Metric) {
			c.collectFrom(snapshot, want, ch, func(m prometheus.Metric) { ch <- m })
		}}); err != nil {
			return err
		}
		mfs, err := reg.Gather()
		if err != nil {
			return err
		}
		if err := fn(mfs); err != nil {
			return err
		}
	}
	return nil
}

// groupCollector collects the families of descs.
type groupCollector struct {
	descs   []*prometheus.Desc
	collect func(chan<- prometheus.Metric)
}

func (g groupCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range g.descs {
		ch <- d
	}
}

func (g groupCollector) Collect(ch chan<- prometheus.Metric) { g.collect(ch) }
