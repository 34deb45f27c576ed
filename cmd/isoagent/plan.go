package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/spec/yamlpos"
)

const planUsage = `usage: isoagent plan --dir DIR [flags]
       isoagent plan --addr ADDR [--http.config.file FILE] [--output json|text]

Prints what 'isoagent run' would do now: the containers it would create,
recreate, start, stop or remove, with the reason and, for a recreate, the
fields that change, and the specs admission rejects. A rejection of a spec
whose container runs is a change (the spec ran admitted before, and a run
would keep the container as it is); one with nothing on the host is not.
With --addr, the running agent at ADDR makes the plan, from its own folder
with its own policy, host name, labels and owner, rather than from flags
that may differ from its own; the flags that describe the agent are then
refused. Exit status: 0 no changes, 1 changes, 2 errors.
`

func runPlan(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("plan", planUsage, stderr)
	var a agentFlags
	a.register(fs)
	var output string
	registerOutput(fs, &output, "json: the plan as JSON", []string{"json"}, nil)
	var reg registryAccess
	reg.register(fs)
	var cf clientFlags
	cf.register(fs)
	if code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if remote, code := planRemote(fs, cf, output, stdout, stderr); remote {
		return code
	}
	if err := a.check(fs); err != nil {
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return exitUsage
	}
	src, err := reg.source()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return exitUsage
	}
	out, loadErr, err := plan(context.Background(), a, src)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return exitUsage
	}
	if output == outputJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
			return exitUsage
		}
	} else {
		printPlan(stdout, out)
	}
	if loadErr != nil {
		// The plan says what a run would do meanwhile; the folder is
		// still not what the caller meant.
		fmt.Fprintf(stderr, "isoagent plan: %v\n", loadErr)
		return exitUsage
	}
	return planExit(out, stderr)
}

// planExit is plan's exit status for out, a plan made here or by the
// agent (--addr): exitProblem when a run would change anything, a spec
// newly refused while its container runs included.
func planExit(out reconcile.RunPlan, stderr io.Writer) int {
	for _, r := range out.NewRefusals() {
		fmt.Fprintf(stderr, "isoagent plan: %s would be rejected while its container runs: a run keeps the container as it is, not as declared\n", r.Name)
	}
	if len(out.Actions) > 0 || len(out.NewRefusals()) > 0 {
		return exitProblem
	}
	return exitOK
}

// plan computes what run would do now, with the same admission, the same
// per-container decisions and the same rule for an empty or unreadable
// folder as the engine (reconcile.PlanRun). loadErr says why the folder
// could not be read; the plan is still made, as a run would go on.
func plan(ctx context.Context, a agentFlags, src reconcile.RegistrySource) (p reconcile.RunPlan, loadErr, err error) {
	g, err := a.gitops.open(a.dir)
	if err != nil {
		return p, nil, err
	}
	snap, loadErr := g.loader(a.dir, spec.LoaderOptions{MaxFileSize: a.maxFileSize, LocateSyntax: yamlpos.Locate}).Load()
	if loadErr != nil {
		loadErr = fmt.Errorf("load %s: %w", a.dir, loadErr)
	}
	a.drv.secrets = g.secretSource()
	drv, _, err := openDriver(a.drv)
	if err != nil {
		return p, loadErr, err
	}
	defer func() { err = errors.Join(err, closeDriver(drv)) }()
	_, pc, err := policy.OpenLocated(a.policy, yamlpos.Locate)
	if err != nil {
		return p, loadErr, err
	}
	p, err = reconcile.PlanRun(ctx, drv, snap, loadErr, reconcile.RunPlanOptions{
		Admit:      reconcile.AdmitOptions{Owner: a.drv.owner, HostName: a.hostname, Labels: a.labels, Policy: pc, Resolver: policy.ResolverOf(drv), Secrets: g.secretSource(), Registry: src},
		AllowEmpty: a.allowEmpty,
		MaxPrune:   g.budget,
	})
	return p, loadErr, err
}

func printPlan(w io.Writer, out reconcile.RunPlan) {
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
		// What each recreate changes, after the table so as not to
		// stretch its columns.
		for _, act := range out.Actions {
			for _, c := range act.Changes {
				fmt.Fprintf(w, "  %s: %s\n", act.Name, c)
			}
		}
	}
	elsewhere := 0
	for _, r := range out.Rejections {
		if r.Rejection.Reason == reconcile.ReasonNotForThisHost {
			elsewhere++ // no refusal: meant for other hosts, as status says
			continue
		}
		fmt.Fprintf(w, "rejected %s (%s:%d): %s\n", r.Name, r.Source.File, r.Source.Line, r.Rejection.Error())
	}
	if elsewhere > 0 {
		fmt.Fprintf(w, "%s for other hosts not shown (--output json lists them)\n", plural(elsewhere, "spec"))
	}
	for _, wn := range out.Warnings {
		fmt.Fprintf(w, "warning %s: %s\n", wn.Name, wn.Message)
	}
	for _, c := range out.Conditions {
		fmt.Fprintf(w, "%s: %s\n", c.Type, c.Message)
	}
	for _, e := range out.Invalid {
		fmt.Fprintf(w, "invalid %s\n", e)
	}
}

// planRemote runs `plan --addr`: when --addr or --http.config.file is
// given, the agent there makes the plan (GET /plan) and remote is true.
// The flags that describe an agent are its then, and refused here.
func planRemote(fs *flag.FlagSet, cf clientFlags, output string, stdout, stderr io.Writer) (remote bool, code int) {
	var client, local []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "addr", "http.config.file":
			client = append(client, "--"+f.Name)
		case "output", "json", "o":
		default:
			local = append(local, "--"+f.Name)
		}
	})
	if len(client) == 0 {
		return false, 0
	}
	if len(local) > 0 {
		fmt.Fprintf(stderr, "isoagent plan: %s: with --addr the agent plans with its own folder, policy and host; drop %s\n", strings.Join(local, ", "), strings.Join(local, ", "))
		return true, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isoagent plan: unexpected arguments %q\n", fs.Args())
		return true, exitUsage
	}
	a, err := cf.open()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return true, exitUsage
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body, status, err := a.do(ctx, http.MethodGet, "/plan", nil)
	switch {
	case err != nil:
		fmt.Fprintf(stderr, "isoagent plan: %v\n", err)
		return true, exitUsage
	case status == http.StatusNotFound:
		fmt.Fprintf(stderr, "isoagent plan: the agent at %s does not make plans (an older version); run plan with its flags instead\n", cf.addr)
		return true, exitUsage
	case status != http.StatusOK:
		fmt.Fprintf(stderr, "isoagent plan: %s/plan: %d %s: %s\n", a.base, status, http.StatusText(status), body)
		return true, exitUsage
	}
	var out reconcile.RunPlan
	if err := json.Unmarshal(body, &out); err != nil {
		fmt.Fprintf(stderr, "isoagent plan: the agent at %s sent a plan this version cannot read: %v\n", cf.addr, err)
		return true, exitUsage
	}
	if output == outputJSON {
		stdout.Write(body)
		fmt.Fprintln(stdout)
	} else {
		printPlan(stdout, out)
	}
	for _, c := range out.Conditions {
		if c.Type == reconcile.CondLoadFailed {
			fmt.Fprintf(stderr, "isoagent plan: %s\n", c.Message)
			return true, exitUsage
		}
	}
	return true, planExit(out, stderr)
}
