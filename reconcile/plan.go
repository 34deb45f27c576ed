package reconcile

import (
	"fmt"
	"slices"
	"sort"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// ActionKind is what an Action does.
type ActionKind string

// Action kinds. Create and recreate include starting the new container.
const (
	ActionCreate   ActionKind = "create"   // create and start a container
	ActionRecreate ActionKind = "recreate" // stop and remove Old, create and start ID
	ActionStart    ActionKind = "start"    // start a created or exited container
	ActionStop     ActionKind = "stop"     // stop a running container
	ActionRemove   ActionKind = "remove"   // remove a stopped container
)

// ActionKinds returns every ActionKind, as Plan reports them.
func ActionKinds() []ActionKind {
	return []ActionKind{ActionCreate, ActionRecreate, ActionStart, ActionStop, ActionRemove}
}

// StepKinds returns the kinds of the driver steps an action consists of,
// as Observer.Action reports them: a recreate is a stop, a remove, a create
// and a start, and a create includes its start.
func StepKinds() []ActionKind {
	return []ActionKind{ActionCreate, ActionStart, ActionStop, ActionRemove}
}

// Action is one step that brings a container name closer to its spec.
type Action struct {
	Kind ActionKind `json:"kind"`
	Name string     `json:"name"`
	// ID is the container acted on; for create and recreate, the new one.
	ID string `json:"id"`
	// Old is the container a recreate replaces.
	Old    string `json:"old,omitempty"`
	Reason string `json:"reason"`
	// Restart marks a start that restarts an exited container under its
	// restart policy; the engine applies crash backoff to those.
	Restart bool `json:"restart,omitempty"`
	// Config is the config to create, for create and recreate.
	Config *driver.Config `json:"-"`
	// StopTimeout is how long a stop waits before terminating.
	StopTimeout spec.Duration `json:"-"`
	// Changes are, for a recreate that PlanRun reports, the fields of the
	// config that change, when the driver keeps the old container's
	// (driver.ConfigReader).
	Changes []FieldChange `json:"changes,omitempty"`
	// Order is how a recreate rolls the change out (rollout.go):
	// start-first or stop-first; OrderReason says why it is not the
	// spec's, when it is not. Reason ends with both.
	Order       spec.UpdateOrder `json:"order,omitempty"`
	OrderReason string           `json:"orderReason,omitempty"`
}

func (a Action) String() string {
	switch a.Kind {
	case ActionRecreate:
		return fmt.Sprintf("recreate %s: %s -> %s (%s)", a.Name, a.Old, a.ID, a.Reason)
	default:
		return fmt.Sprintf("%s %s: %s (%s)", a.Kind, a.Name, a.ID, a.Reason)
	}
}

// PlanOptions configure Plan.
type PlanOptions struct {
	// Owner is the agent's owner tag. Containers of other owners are never
	// acted on, even if a driver lists them.
	Owner string
	// Prune allows removing owned containers whose spec is gone. The engine
	// turns it off while the desired set is not known to be complete (an
	// empty folder without AllowEmpty, a file whose specs are unknown).
	Prune bool
	// MaxPrune is the prune budget (see PruneBudget): when more
	// containers would be pruned, none is.
	MaxPrune PruneBudget
}

// Plan returns what to do, in order, to make actual match desired: for each
// name (sorted) the steps of planKey. It is pure: the engine takes the same
// per-name steps, so Plan shows exactly what a run would do now (crash
// backoff aside, which only delays a restart).
func Plan(desired []Decision, actual []driver.Container, opts PlanOptions) []Action {
	byName := make(map[string]*Decision, len(desired))
	for i := range desired {
		byName[desired[i].Name()] = &desired[i]
	}
	actualBy := groupByName(actual, opts.Owner)
	names := make([]string, 0, len(byName)+len(actualBy))
	for n := range byName {
		names = append(names, n)
	}
	for n := range actualBy {
		if _, ok := byName[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	cands := pruneCandidates(byName, opts.Prune, actualBy)
	ok := overBudget(cands, len(actualBy), opts.MaxPrune, "", nil) == ""
	var actions []Action
	for _, n := range names {
		actions = append(actions, planKey(n, byName[n], actualBy[n], ok && slices.Contains(cands, n))...)
	}
	return actions
}

// HeldPrune returns the prune Plan holds back for being over the budget,
// nil when there is none: what the engine would report as PruneHeld.
func HeldPrune(desired []Decision, actual []driver.Container, opts PlanOptions) *PendingPrune {
	byName := make(map[string]*Decision, len(desired))
	for i := range desired {
		byName[desired[i].Name()] = &desired[i]
	}
	actualBy := groupByName(actual, opts.Owner)
	cands := pruneCandidates(byName, opts.Prune, actualBy)
	why := overBudget(cands, len(actualBy), opts.MaxPrune, "", nil)
	if why == "" {
		return nil
	}
	return &PendingPrune{ID: pruneID(cands), Names: cands, Budget: opts.MaxPrune.Allowed(len(actualBy)), Owned: len(actualBy), Reason: why}
}

// groupByName groups owned containers by spec name.
func groupByName(cs []driver.Container, owner string) map[string][]driver.Container {
	m := make(map[string][]driver.Container)
	for _, c := range cs {
		if c.Owner != owner {
			continue
		}
		m[c.Name] = append(m[c.Name], c)
	}
	return m
}

// planKey is the single decision function for one container name: given its
// decision (nil when no spec has the name), its owned containers on the
// host and whether they may be pruned (removed for lack of a spec, or as
// not for this host), it returns the next steps. Both Plan and the engine
// use it. Containers marked KeepOnPrune are never removed for lack of a
// spec.
func planKey(name string, d *Decision, actual []driver.Container, prune bool) []Action {
	switch {
	case d == nil && (!prune || keptOnPrune(actual)):
		return nil
	case d == nil:
		return removeAll(name, actual, "spec gone", 0)
	case !d.Admitted() && d.Rejection.Reason == ReasonNotForThisHost:
		if !prune {
			return nil
		}
		return removeAll(name, actual, "not for this host: "+d.Rejection.Message, d.Spec.Spec.StopTimeout)
	case !d.Admitted():
		// A spec that cannot run now (version, policy, port conflict) does
		// not take down what runs under its name: the fix is to the spec,
		// and the running container is still serving.
		return nil
	}
	if scheduled(d) {
		return planScheduled(name, d, actual, runNow{}) // runs are the scheduler's
	}
	cfg := &d.Config
	timeout := d.Spec.Spec.StopTimeout
	var current *driver.Container
	var stale []driver.Container
	for i := range actual {
		c := &actual[i]
		// The ID counts too: a container of another owner than the
		// default, created before the owner was part of the ID, has the
		// ID the default owner's would take, and must give it up.
		if c.Hash == cfg.Hash && c.ID == cfg.ID && current == nil {
			current = c
			continue
		}
		stale = append(stale, *c)
	}
	if current == nil {
		if len(stale) == 0 {
			return []Action{{Kind: ActionCreate, Name: name, ID: cfg.ID, Reason: "no container", Config: cfg}}
		}
		// The one replaced is the running one that has served longest;
		// any other goes first.
		slices.SortStableFunc(stale, servedLonger)
		old := stale[0]
		why := "config changed"
		if old.Hash == cfg.Hash {
			why = "container ID changed (the owner is part of it)"
		}
		var order spec.UpdateOrder
		var orderWhy string
		if old.ID != cfg.ID {
			// A change to roll out. The same ID is a repair (the
			// driver no longer vouches for the config it holds, such as
			// a container whose network went): no two of one ID can run.
			order, orderWhy = rolloutOrder(d)
			why += "; " + string(order)
			if orderWhy != "" {
				why += ": " + orderWhy
			}
		}
		acts := []Action{{Kind: ActionRecreate, Name: name, ID: cfg.ID, Old: old.ID, Reason: why, Config: cfg, StopTimeout: timeout, Order: order, OrderReason: orderWhy}}
		return append(removeAll(name, stale[1:], "superseded", timeout), acts...)
	}
	acts := removeAll(name, stale, "superseded", timeout)
	switch current.State {
	case driver.StateCreated:
		acts = append(acts, Action{Kind: ActionStart, Name: name, ID: current.ID, Reason: "created, not started"})
	case driver.StateExited:
		if why, ok := restartWanted(d.Spec.Spec.RestartPolicy, current.ExitCode); ok {
			acts = append(acts, Action{Kind: ActionStart, Name: name, ID: current.ID, Reason: why, Restart: true})
		}
	}
	return acts
}

// servedLonger orders running containers before others, the earliest
// started first.
func servedLonger(a, b driver.Container) int {
	ar, br := a.State == driver.StateRunning, b.State == driver.StateRunning
	switch {
	case ar && !br:
		return -1
	case br && !ar:
		return 1
	case ar && br:
		return a.StartedAt.Compare(b.StartedAt)
	}
	return 0
}

// restartWanted applies a restart policy to an exited container.
func restartWanted(p spec.RestartPolicy, exitCode int) (string, bool) {
	switch p {
	case spec.RestartNever:
		return "", false
	case spec.RestartOnFailure:
		if exitCode == 0 {
			return "", false
		}
		return fmt.Sprintf("exited with code %d; restartPolicy on-failure", exitCode), true
	default:
		return fmt.Sprintf("exited with code %d; restartPolicy always", exitCode), true
	}
}

// removeAll stops (when needed) and removes each container.
func removeAll(name string, cs []driver.Container, why string, timeout spec.Duration) []Action {
	var acts []Action
	for _, c := range cs {
		if c.State == driver.StateRunning {
			acts = append(acts, Action{Kind: ActionStop, Name: name, ID: c.ID, Reason: why, StopTimeout: timeout})
		}
		acts = append(acts, Action{Kind: ActionRemove, Name: name, ID: c.ID, Reason: why})
	}
	return acts
}
