package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// RunPlan is what a run of the agent would do now, as `isoagent plan`
// reports it. Its JSON shape (plan --json) is for other tools: add fields,
// never change them.
type RunPlan struct {
	// Host describes the host: "WEB-01 10.0.20348 (server)".
	Host string `json:"host"`
	// Actions are the steps a run would take, in order (see Plan).
	Actions []Action `json:"actions"`
	// Rejections are the specs admission refuses; they are not changes.
	Rejections []PlanRejection `json:"rejections"`
	Warnings   []PlanWarning   `json:"warnings"`
	// Conditions say why a run would apply or prune less than the folder
	// asks (EmptyFolderIgnored, PruneSuspended, LoadFailed).
	Conditions []Condition `json:"conditions"`
	// Invalid are the problems of the spec files that do not validate
	// (file:line:col: field: message): a run leaves their new content out.
	Invalid []string `json:"invalid"`
}

// PlanRejection is a spec admission refuses, and where it is.
type PlanRejection struct {
	Name   string      `json:"name"`
	Source spec.Source `json:"source"`
	Rejection
	// KeptRunning reports that the host has a container of this name,
	// which a run would keep as it is rather than as declared: the spec
	// ran admitted before, so the refusal is new (or the agent keeps the
	// container since it refused the spec). Such a refusal is a change
	// (NewRefusals).
	KeptRunning bool `json:"keptRunning,omitempty"`
}

// NewRefusals returns the rejections that are changes an operator must
// see: a spec meant for this host, refused, whose container the host has
// (KeptRunning). A spec refused with nothing of it on the host is taken
// to be refused now already; one meant for other hosts is no refusal.
func (p RunPlan) NewRefusals() []PlanRejection {
	var out []PlanRejection
	for _, r := range p.Rejections {
		if r.KeptRunning && r.Reason != ReasonNotForThisHost {
			out = append(out, r)
		}
	}
	return out
}

// PlanWarning is something the operator should know of an admitted spec.
type PlanWarning struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

// RunPlanOptions configure PlanRun as EngineOptions configure the engine.
type RunPlanOptions struct {
	// Admit carries the owner tag, host name, agent labels, policy and
	// resolver for admission.
	Admit AdmitOptions
	// AllowEmpty applies a snapshot without specs, as EngineOptions'.
	AllowEmpty bool
	// MaxPrune is the prune budget, as EngineOptions'.
	MaxPrune PruneBudget
}

// PlanRun computes what a newly started engine would do now on drv's host
// with the spec folder as read: snap, or loadErr when the folder could not
// be read at all (snap is then ignored). It admits and plans exactly as
// the engine does, under the same rule for an empty folder, a folder with
// unknown names and one that cannot be read (folderRule, loadFailed), so
// the actions are those a run would take (crash backoff aside, which only
// delays a restart). Errors are the driver's.
func PlanRun(ctx context.Context, drv driver.Driver, snap *spec.Snapshot, loadErr error, opts RunPlanOptions) (RunPlan, error) {
	p := RunPlan{Actions: []Action{}, Rejections: []PlanRejection{}, Warnings: []PlanWarning{}, Conditions: []Condition{}, Invalid: []string{}}
	host, err := drv.Host(ctx)
	if err != nil {
		return p, fmt.Errorf("describe host: %w", err)
	}
	p.Host = fmt.Sprintf("%s %s (%s)", host.Name, host.OSVersion, host.SKU)
	actual, err := drv.List(ctx)
	if err != nil {
		return p, fmt.Errorf("list containers: %w", err)
	}
	var ds []Decision
	var desired *desiredState // a new engine's: nothing desired, nothing pruned
	if loadErr != nil {
		p.Conditions = append(p.Conditions, loadFailed(loadErr))
	} else {
		for _, f := range snap.Files {
			for _, e := range spec.Errors(f.Err) {
				p.Invalid = append(p.Invalid, e.Error())
			}
		}
		ds = Admit(ctx, host, drv, snap.Specs, opts.Admit)
		ch := nextDesired(nil, snap, ds, opts.AllowEmpty, func() []string { return nil })
		desired = ch.next
		if ch.cond.Type != "" {
			p.Conditions = append(p.Conditions, ch.cond)
		}
	}
	var inForce []Decision
	for _, d := range ds {
		if desired.decision(d.Name()) != nil {
			inForce = append(inForce, d)
		}
	}
	popts := PlanOptions{Owner: opts.Admit.Owner, Prune: desired.pruning(), MaxPrune: opts.MaxPrune}
	p.Actions = append(p.Actions, Plan(inForce, actual, popts)...)
	describeChanges(ctx, drv, p.Actions)
	if held := HeldPrune(inForce, actual, popts); held != nil {
		p.Conditions = append(p.Conditions, Condition{Type: CondPruneHeld,
			Message: fmt.Sprintf("%s; a run would prune nothing (would remove: %s) until 'isoagent prune --confirm'", held.Reason, strings.Join(held.Names, ", "))})
	}
	owned := groupByName(actual, opts.Admit.Owner)
	for _, d := range inForce {
		if !d.Admitted() {
			p.Rejections = append(p.Rejections, PlanRejection{Name: d.Name(), Source: d.Spec.Source, Rejection: *d.Rejection, KeptRunning: len(owned[d.Name()]) > 0})
		}
		for _, w := range d.Warnings {
			p.Warnings = append(p.Warnings, PlanWarning{Name: d.Name(), Message: w})
		}
	}
	return p, nil
}
