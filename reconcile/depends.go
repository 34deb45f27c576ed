package reconcile

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/health"
	"github.com/isoagent/isoagent/spec"
)

// Start order: spec.dependsOn, and the dependency a shared network implies
// ("container:<name>" waits for <name> to run). Admission checks the
// order over all the folder's specs at once, as it checks network sharing;
// the reconciler holds a container back until what it depends on meets its
// condition, as it holds back a network sharer.

// need is one dependency of a container as the engine applies it.
type need struct {
	name string
	cond spec.DependsCondition
	// network marks the dependency a shared network implies: its
	// container must run, not only have started.
	network bool
	// field is the spec field that states it, for errors.
	field string
	at    spec.Source
}

// needs returns what c depends on: its network's container first, then
// spec.dependsOn in order.
func needs(c *spec.Container) []need {
	var ns []need
	if t := c.Spec.Network.SharedWith(); t != "" {
		ns = append(ns, need{name: t, cond: spec.DependsStarted, network: true, field: "spec.network.mode"})
	}
	for i, d := range c.Spec.DependsOn {
		cond := d.Condition
		if cond == "" {
			cond = spec.DependsStarted
		}
		ns = append(ns, need{name: d.Name, cond: cond, field: fmt.Sprintf("spec.dependsOn[%d].name", i), at: d.Source})
	}
	return ns
}

// DependencyProblem is a spec that no order of creation can satisfy: a
// dependency names no spec of the folder, or closes a cycle.
type DependencyProblem struct {
	// Spec is the index of the spec in the list checked.
	Spec int
	// Field is the spec field at fault; At where it is written, when the
	// spec file tells it (zero for a shared network).
	Field   string
	At      spec.Source
	Message string
}

// DependencyProblems checks the start order of specs, every spec of a
// folder at once: the first problem of each spec whose dependencies (a
// shared network counted) name no spec of the folder or close a cycle. A
// missing network target is left to admission, which says more. It is
// pure and costs linear time in specs and dependencies.
func DependencyProblems(specs []*spec.Container) []DependencyProblem {
	byName := make(map[string]int, len(specs))
	for i, c := range specs {
		byName[c.Name()] = i
	}
	found := make(map[int]DependencyProblem)
	for i, c := range specs {
		for _, n := range needs(c) {
			if _, ok := byName[n.name]; ok || n.network {
				continue
			}
			found[i] = DependencyProblem{Spec: i, Field: n.field, At: n.at,
				Message: fmt.Sprintf("no spec of the folder is named %q; name a container declared in one of its files", n.name)}
			break
		}
	}
	for _, cycle := range cycles(specs, byName) {
		for k, i := range cycle {
			if _, ok := found[i]; ok {
				continue
			}
			next := specs[cycle[(k+1)%len(cycle)]].Name()
			path := make([]string, 0, len(cycle)+1)
			for j := range cycle {
				path = append(path, specs[cycle[(k+j)%len(cycle)]].Name())
			}
			path = append(path, specs[i].Name())
			for _, n := range needs(specs[i]) {
				if n.name == next {
					found[i] = DependencyProblem{Spec: i, Field: n.field, At: n.at,
						Message: fmt.Sprintf("the dependencies form a cycle, %s, so none of them can be created first; remove one of them", strings.Join(path, " -> "))}
					break
				}
			}
		}
	}
	out := make([]DependencyProblem, 0, len(found))
	for i := range specs {
		if p, ok := found[i]; ok {
			out = append(out, p)
		}
	}
	return out
}

// orderRejections returns the rejections start order adds to the
// admitted decisions of specs (by name; decided gives each name's
// decision, nil for none): those DependencyProblems finds, as invalid at
// the dependency, and, as unsupported, the specs that share the network
// of a spec it rejects. It runs after the other claims (ports, networks,
// identities), so that a spec's order problem changes nothing of the
// others' decisions but theirs. It returns nil at once when no spec has
// dependsOn: a shared network alone closes no cycle (a sharer cannot be
// shared with).
func orderRejections(specs []*spec.Container, decided map[string]*Decision) map[string]*Rejection {
	if !slices.ContainsFunc(specs, func(c *spec.Container) bool { return len(c.Spec.DependsOn) > 0 }) {
		return nil
	}
	out := make(map[string]*Rejection)
	for _, p := range DependencyProblems(specs) {
		name := specs[p.Spec].Name()
		if d := decided[name]; d != nil && d.Admitted() {
			r := reject(ReasonInvalid, p.Field, "%s", p.Message)
			r.At = p.At
			out[name] = r
		}
	}
	if len(out) == 0 {
		return nil
	}
	for _, c := range specs {
		t := c.Spec.Network.SharedWith()
		if t == "" || out[t] == nil || out[c.Name()] != nil {
			continue
		}
		if d := decided[c.Name()]; d != nil && d.Admitted() {
			out[c.Name()] = reject(ReasonUnsupported, "spec.network.mode", "cannot share the network of %s: it does not run on this host (%s)", t, ReasonInvalid)
		}
	}
	return out
}

// order applies orderRejections to the decisions of pass r over specs:
// r's decisions stay those of the claims (a.decisions, which the next
// pass starts from), and r gets a copy with the rejections in, and the
// names whose rejection for order came, went or changed.
func (a *admissions) order(specs []*spec.Container, r *admitResult) {
	rej := orderRejections(specs, r.decisions)
	if len(rej) == 0 && len(a.ordered) == 0 {
		return
	}
	decisions := maps.Clone(r.decisions)
	var changed []string
	for name := range a.ordered {
		if rej[name] == nil {
			changed = append(changed, name)
		}
	}
	for name, rj := range rej {
		if old, ok := a.ordered[name]; !ok || *old != *rj {
			changed = append(changed, name)
		}
		d := *decisions[name]
		d.Rejection = rj
		decisions[name] = &d
	}
	a.ordered = rej
	r.decisions = decisions
	if len(changed) > 0 && !r.full {
		r.changed = append(r.changed, changed...)
		if r.gen == r.base {
			a.gen++
			r.gen = a.gen
		}
	}
}

// cycles returns one cycle, as indexes into specs in dependency order, through
// each strongly connected component of the dependency graph that has one
// (Tarjan's algorithm); a spec on several cycles is on the one returned.
func cycles(specs []*spec.Container, byName map[string]int) [][]int {
	edges := make([][]int, len(specs))
	for i := range specs {
		for _, n := range needs(specs[i]) {
			if j, ok := byName[n.name]; ok && j != i {
				edges[i] = append(edges[i], j)
			}
		}
	}
	index := make([]int, len(specs)) // 0: not visited; else visit order + 1
	low := make([]int, len(specs))
	onStack := make([]bool, len(specs))
	var stack []int
	var out [][]int
	next := 1
	var visit func(v int)
	visit = func(v int) {
		index[v], low[v] = next, next
		next++
		stack = append(stack, v)
		onStack[v] = true
		for _, w := range edges[v] {
			switch {
			case index[w] == 0:
				visit(w)
				low[v] = min(low[v], low[w])
			case onStack[w]:
				low[v] = min(low[v], index[w])
			}
		}
		if low[v] != index[v] {
			return
		}
		var comp []int
		for {
			w := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[w] = false
			comp = append(comp, w)
			if w == v {
				break
			}
		}
		if len(comp) > 1 {
			out = append(out, cycleIn(comp, edges))
		}
	}
	for v := range specs {
		if index[v] == 0 {
			visit(v)
		}
	}
	return out
}

// cycleIn returns a cycle through the lowest index of comp, a strongly
// connected component, found breadth first within it.
func cycleIn(comp []int, edges [][]int) []int {
	in := make(map[int]bool, len(comp))
	for _, v := range comp {
		in[v] = true
	}
	start := slices.Min(comp)
	prev := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		v := queue[0]
		queue = queue[1:]
		for _, w := range edges[v] {
			if w == start {
				path := []int{v}
				for p := prev[v]; p != -1; p = prev[p] {
					path = append(path, p)
				}
				slices.Reverse(path)
				return path
			}
			if _, seen := prev[w]; !seen && in[w] {
				prev[w] = v
				queue = append(queue, w)
			}
		}
	}
	return comp // not reached for a strongly connected component
}

// waitingFor says what the admitted decision d waits for before its
// container may be created (or, created, started): the first of its
// dependencies whose condition does not hold under the desired state ds and
// the containers get returns for a name; "" when none.
func waitingFor(ds *desiredState, get func(string) []driver.Container, healthOf func(id string) (HealthState, bool), d *Decision) string {
	if d == nil || !d.Admitted() {
		return ""
	}
	for _, n := range needs(d.Spec) {
		if why := unmet(ds.decision(n.name), get(n.name), healthOf, n); why != "" {
			return why
		}
	}
	return ""
}

// unmet says why dependency n, with decision dd and containers actual, does
// not meet its condition, or returns ""; healthOf tells a container's
// health (Engine.healthOf).
func unmet(dd *Decision, actual []driver.Container, healthOf func(id string) (HealthState, bool), n need) string {
	what := fmt.Sprintf("waiting for %s to start", n.name)
	switch {
	case n.cond == spec.DependsHealthy:
		what = fmt.Sprintf("waiting for %s to be healthy", n.name)
	case n.network:
		what = fmt.Sprintf("waiting for %s, whose network it shares, to run", n.name)
	case n.cond == spec.DependsCompleted:
		what = fmt.Sprintf("waiting for %s to complete (exit with code 0)", n.name)
	}
	if dd == nil {
		return what + ": no spec declares it"
	}
	if !dd.Admitted() {
		return fmt.Sprintf("%s: it does not run on this host (%s: %s)", what, dd.Rejection.Reason, dd.Rejection.Message)
	}
	var c *driver.Container
	for i := range actual {
		if actual[i].ID == dd.Config.ID && actual[i].Hash == dd.Config.Hash {
			c = &actual[i]
		}
	}
	switch {
	case c == nil:
		return what + ": it has no container yet"
	case n.network || n.cond == spec.DependsStarted:
		if c.State == driver.StateRunning || c.State == driver.StateExited && !n.network {
			return ""
		}
		return fmt.Sprintf("%s: it is %s", what, c.State)
	case n.cond == spec.DependsCompleted:
		if c.State == driver.StateExited && c.ExitCode == 0 {
			return ""
		}
		if c.State == driver.StateExited {
			return fmt.Sprintf("%s: it exited with code %d", what, c.ExitCode)
		}
		return fmt.Sprintf("%s: it is %s", what, c.State)
	case n.cond == spec.DependsHealthy:
		if c.State != driver.StateRunning {
			return fmt.Sprintf("%s: it is %s", what, c.State)
		}
		state, hasCheck := HealthState(""), false
		if healthOf != nil {
			state, hasCheck = healthOf(c.ID)
		}
		switch {
		case !hasCheck:
			return fmt.Sprintf("%s: it has no health check (neither its spec nor its image has one); give %s a spec.healthcheck, or depend on it with condition: started", what, n.name)
		case state == health.Healthy:
			return ""
		}
		return fmt.Sprintf("%s: it is %s", what, state)
	}
	return fmt.Sprintf("%s: condition %s is not supported", what, n.cond)
}

// dependsPoll is how often a container waiting for its dependencies looks
// again; the cache it looks at changes with relists and the engine's own
// steps.
const dependsPoll = networkPoll

// dependsWait holds back creating a container, or starting one created
// but never started, until its dependencies meet their conditions. A
// restart under the restart policy does not wait: Compose orders
// creation, not restarts.
func (r *containerReconciler) dependsWait(ds *desiredState, name string, d *Decision, a Action) time.Duration {
	switch {
	case a.Kind == ActionCreate, a.Kind == ActionRecreate, a.Kind == ActionStart && !a.Restart:
	default:
		return 0
	}
	var healthOf func(string) (HealthState, bool)
	if r.health != nil {
		healthOf = r.health.stateOf
	}
	why := waitingFor(ds, r.cache.Get, healthOf, d)
	if why == "" {
		return 0
	}
	r.log.Debug("waiting for a dependency", "spec", name, "why", why)
	return dependsPoll
}
