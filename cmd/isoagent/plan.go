package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

const planUsage = `usage: isoagent plan --dir DIR [flags]

Prints what 'isoagent run' would do now: the containers it would create,
recreate, start, stop or remove, with the reason, and the specs admission
rejects (those are not changes). Exit status: 0 no changes, 1 changes,
2 errors.
`

// planOutput is what plan --json prints.
type planOutput struct {
	Host       string                `json:"host"`
	Actions    []reconcile.Action    `json:"actions"`
	Rejections []planRejection       `json:"rejections"`
	Warnings   []planWarning         `json:"warnings"`
	Conditions []reconcile.Condition `json:"conditions"`
}

type planRejection struct {
	Name   string      `json:"name"`
	Source spec.Source `json:"source"`
	reconcile.Rejection
}

type planWarning struct {
	Name    string `json:"name"`
	Message string `json:"message"`
}

func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("plan", planUsage, stderr)
	var a agentFlags
	a.register(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if err := a.check(fs); err != nil {
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return exitUsage
	}
	out, err := plan(context.Background(), a)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
			return exitUsage
		}
	} else {
		printPlan(stdout, out)
	}
	if len(out.Actions) > 0 {
		return exitProblem
	}
	return exitOK
}

// plan computes what run would do now, with the same admission and the
// same per-container decisions as the engine.
func plan(ctx context.Context, a agentFlags) (planOutput, error) {
	out := planOutput{Actions: []reconcile.Action{}, Rejections: []planRejection{}, Warnings: []planWarning{}, Conditions: []reconcile.Condition{}}
	g, err := a.gitops.open(a.dir)
	if err != nil {
		return out, err
	}
	snap, err := g.loader(a.dir, spec.LoaderOptions{}, slog.New(slog.DiscardHandler), nil).Load()
	if err != nil {
		return out, fmt.Errorf("load %s: %w", a.dir, err)
	}
	a.drv.secrets = g.secretSource()
	drv, _, err := openDriver(a.drv)
	if err != nil {
		return out, err
	}
	host, err := drv.Host(ctx)
	if err != nil {
		return out, fmt.Errorf("describe host: %w", err)
	}
	out.Host = fmt.Sprintf("%s %s (%s)", host.Name, host.OSVersion, host.SKU)
	actual, err := drv.List(ctx)
	if err != nil {
		return out, fmt.Errorf("list containers: %w", err)
	}
	_, pc, err := loadPolicy(a.policy)
	if err != nil {
		return out, err
	}
	ds := reconcile.Admit(ctx, host, drv, snap.Specs, reconcile.AdmitOptions{Owner: a.drv.owner, HostName: a.hostname, Labels: a.labels, Policy: pc, Resolver: resolverOf(drv), Secrets: g.secretSource()})
	prune, cond := reconcile.Prunable(snap, a.allowEmpty)
	if !prune {
		out.Conditions = append(out.Conditions, cond)
	}
	if len(snap.Specs) == 0 && !a.allowEmpty {
		ds = nil // run ignores such a snapshot
	}
	popts := reconcile.PlanOptions{Owner: a.drv.owner, Prune: prune, MaxPrune: g.budget}
	out.Actions = append(out.Actions, reconcile.Plan(ds, actual, popts)...)
	if p := reconcile.HeldPrune(ds, actual, popts); p != nil {
		out.Conditions = append(out.Conditions, reconcile.Condition{Type: reconcile.CondPruneHeld,
			Message: fmt.Sprintf("%s; run would prune nothing (would remove: %s) until 'isoagent prune --confirm'", p.Reason, strings.Join(p.Names, ", "))})
	}
	for _, d := range ds {
		if !d.Admitted() {
			out.Rejections = append(out.Rejections, planRejection{Name: d.Name(), Source: d.Spec.Source, Rejection: *d.Rejection})
		}
		for _, w := range d.Warnings {
			out.Warnings = append(out.Warnings, planWarning{Name: d.Name(), Message: w})
		}
	}
	return out, nil
}

func printPlan(w io.Writer, out planOutput) {
	fmt.Fprintf(w, "host %s\n", out.Host)
	if len(out.Actions) == 0 {
		fmt.Fprintln(w, "no changes")
	} else {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, act := range out.Actions {
			id := act.ID
			if act.Old != "" {
				id = act.Old + " -> " + act.ID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t(%s)\n", act.Kind, act.Name, id, act.Reason)
		}
		tw.Flush()
	}
	for _, r := range out.Rejections {
		fmt.Fprintf(w, "rejected %s (%s:%d): %s\n", r.Name, r.Source.File, r.Source.Line, r.Rejection.Error())
	}
	for _, wn := range out.Warnings {
		fmt.Fprintf(w, "warning %s: %s\n", wn.Name, wn.Message)
	}
	for _, c := range out.Conditions {
		fmt.Fprintf(w, "%s: %s\n", c.Type, c.Message)
	}
}
