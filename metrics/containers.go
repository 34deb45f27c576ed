package metrics

import (
	"hash/maphash"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

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
	desired, running, count, info, restarts *family
	exits, lastExit, conditions, healthy    *family
	labels                                  labelSets
	schedules                               scheduleFamilies

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
	seed      maphash.Seed
}

func newContainerCollector(labels labelSets) *containerCollector {
	return &containerCollector{
		labels: labels,
		desired: newFamily(namespace+"_containers_desired",
			"Containers the agent wants running, by effective isolation.",
			prometheus.GaugeValue, "isolation"),
		running: newFamily(namespace+"_containers_running",
			"Containers the host runs, by effective isolation.",
			prometheus.GaugeValue, "isolation"),
		count: newFamily(namespace+"_containers",
			"Containers the agent knows of, declared in the spec folder or owned on the host without a spec, by state.",
			prometheus.GaugeValue, "state"),
		info: newFamily(namespace+"_container_info",
			"One series per container the agent knows of, naming its container ID on the host (empty when there is none), isolation, image and state. Always 1.",
			prometheus.GaugeValue, "name", "container_id", "isolation", "image", "state"),
		restarts: newFamily(namespace+"_container_restarts_total",
			"Restarts of a container by its restart policy since the agent started.",
			prometheus.CounterValue, "name"),
		exits: newFamily(namespace+"_container_exits_total",
			"Exits of a container's init process since the agent started, by reason: completed (code 0), failed (another code), stopped (by the agent), unhealthy (stopped by the agent for failing its health check), unknown.",
			prometheus.CounterValue, "name", "reason"),
		conditions: newFamily(namespace+"_container_conditions",
			"Containers a condition holds for, by kind: CrashLoopBackOff (waiting out its crash backoff), ImagePullFailed, WaitingForDependency, KeptRunning (its spec is refused; what ran is left alone), Invalid (its file is invalid; the last good spec stays), Conflict, PruneHeld.",
			prometheus.GaugeValue, "kind"),
		lastExit: newFamily(namespace+"_container_last_exit_code",
			"The exit code of a container's last run, for containers that have ended one.",
			prometheus.GaugeValue, "name"),
		healthy:      newHealthyFamily(),
		restartCount: make(map[string]float64),
		exitCount:    make(map[string]map[reconcile.ExitReason]float64),
		schedules:    newScheduleFamilies(),
		seed:         maphash.MakeSeed(),
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
	for _, f := range c.families() {
		ch <- f.desc
	}
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
	c.collectFrom(snapshot, nil,
		func(f *family, v float64, lvs ...string) { send(f.metric(v, lvs...)) },
		func(f *family, v float64, lvs ...string) { ch <- f.metric(v, lvs...) })
}

// families are the per-container families, schedules and health
// included.
func (c *containerCollector) families() []*family {
	sd := c.schedules
	return []*family{c.exits, c.lastExit, c.conditions, c.desired, c.running, c.count, c.info, c.restarts, c.healthy,
		sd.lastRun, sd.nextRun, sd.lastExit, sd.missed, sd.skipped}
}

// emitFunc takes one series of f, its label values in the Desc's order.
type emitFunc func(f *family, v float64, lvs ...string)

// collectFrom hands the series of snapshot to emit, or only those of the
// families want accepts when it is set: those of the others are not even
// built. Schedule series go to direct, the others to emit.
func (c *containerCollector) collectFrom(snapshot []ContainerInfo, want func(*family) bool, emit, direct emitFunc) {
	wanted := func(f *family) bool { return want == nil || want(f) }
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
		emit(c.desired, float64(n), iso)
	}
	for iso, n := range running {
		if !wanted(c.running) {
			break
		}
		emit(c.running, float64(n), iso)
	}
	for state, n := range byState {
		if !wanted(c.count) {
			break
		}
		emit(c.count, float64(n), state)
	}
	for kind, n := range byCondition {
		if !wanted(c.conditions) {
			break
		}
		emit(c.conditions, float64(n), kind)
	}
	for k := range infos {
		if !wanted(c.info) {
			break
		}
		emit(c.info, 1, k.name, k.id, k.isolation, k.image, k.state)
	}
	if wanted(c.schedules.lastRun) {
		// The schedule families are built together: a want takes all or
		// none of them.
		c.schedules.collect(direct, snapshot)
	}
	if wanted(c.healthy) {
		collectHealth(emit, c.healthy, snapshot)
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
			emit(c.restarts, counts[i], name)
		}
		for _, r := range reconcile.ExitReasons() {
			if wanted(c.exits) {
				emit(c.exits, exits[i][r], name, string(r))
			}
		}
		if code, ok := lastExit[name]; ok && wanted(c.lastExit) {
			emit(c.lastExit, float64(code), name)
		}
	}
}

// read asks the source for a snapshot (none without a source).
func (c *containerCollector) read() []ContainerInfo { return readSource(&c.mu, &c.source) }

// pieces are the per-container families of snapshot in groups (each in
// name order, each family's series sorted as a registry's gather sorts
// them), each with a digest of what it says, so that the exposition
// encodes again only the groups that changed: at 10,000 containers they
// are about 80,000 series (five exit reasons per name), and an engine
// change usually touches the info and the counts, not the exits.
func (c *containerCollector) pieces(snapshot []ContainerInfo) []piece {
	sd := c.schedules
	groups := [][]*family{
		{c.desired, c.running, c.count, c.conditions, sd.lastRun, sd.nextRun, sd.lastExit, sd.missed, sd.skipped},
		{c.info}, {c.healthy}, {c.restarts}, {c.exits}, {c.lastExit},
	}
	out := make([]piece, len(groups))
	for i, g := range groups {
		samples := make(map[*family][]textSample, len(g))
		keep := func(f *family, v float64, lvs ...string) {
			samples[f] = append(samples[f], textSample{f.inNameOrder(lvs), v})
		}
		c.collectFrom(snapshot, func(f *family) bool { return slices.Contains(g, f) }, keep, keep)
		g = slices.Clone(g)
		slices.SortFunc(g, func(a, b *family) int { return strings.Compare(a.name, b.name) })
		var digest uint64
		for _, f := range g {
			digest = digest*31 + digestSamples(c.seed, f, samples[f])
		}
		out[i] = piece{digest: digest, digested: true, write: func(t *textWriter) {
			for _, f := range g {
				t.writeSorted(f, samples[f])
			}
		}}
	}
	return out
}
