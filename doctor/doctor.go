// Package doctor is `isoagent doctor`: it checks what the agent needs on
// this host and prints each check with how it came out and, unless it
// passed, what to do about it.
//
// The driver checks its own host (an optional ability, Diagnoser: the hcs
// driver checks the Containers feature, Hyper-V, the vmcompute and hns
// services, HCN v2, the nat network, Docker's image store and
// administrator rights; the sim its simulated host). Doctor adds what
// belongs to the agent: that the spec folder, the policy file and the
// driver's state and credential-spec folders are writable by
// administrators only (on Linux: by root or the agent's user), and that
// the policy parses. It changes nothing: it creates no folder and starts
// no container.
//
// Main returns 0 when no check failed (warnings are things to know), 1
// when one did, and 2 for bad flags.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"text/tabwriter"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
)

// Exit codes of Main.
const (
	exitOK      = 0
	exitProblem = 1
	exitUsage   = 2
)

// Diagnoser is the optional ability of a driver to check its host.
type Diagnoser interface {
	Diagnose(ctx context.Context) []driver.Check
}

// Options say what to check: the flags of isoagent run that name the
// agent's folders and driver.
type Options struct {
	Driver            string // auto, hcs or sim
	Dir               string // the spec folder; "" is not checked
	Policy            string // the policy file; "" warns
	SimDir            string
	HCSStateDir       string // "" for the hcs driver's default
	DockerRoot        string // "" for Docker's own setting
	CredentialSpecDir string // "" for the driver's default
}

const usage = `usage: isoagent doctor [flags]

Checks what the agent needs on this host and prints each check with what to
do when it does not pass: for the hcs driver the Containers feature,
Hyper-V, the vmcompute and hns services, HCN v2, the nat network, Docker's
image store and administrator rights; for both drivers that the spec
folder, the policy file and the state folders are writable by
administrators only. Give it the flags isoagent run gets. Exit status: 0
no check failed, 1 a check failed, 2 bad flags.

flags:
`

// Main is isoagent doctor: it parses args, runs the checks and prints
// them to stdout.
func Main(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage); fs.PrintDefaults() }
	var o Options
	fs.StringVar(&o.Driver, "driver", "auto", "container host: auto (hcs on Windows, sim elsewhere), sim or hcs")
	fs.StringVar(&o.Dir, "dir", "", "the spec folder")
	fs.StringVar(&o.Policy, "policy", "", "the boundary policy file")
	fs.StringVar(&o.SimDir, "sim-dir", sim.DefaultDir(), "state folder of the simulated host")
	fs.StringVar(&o.HCSStateDir, "hcs-state-dir", "", `hcs driver: state folder (default %ProgramData%\isoagent)`)
	fs.StringVar(&o.DockerRoot, "docker-root", "", "hcs driver: Docker's data root (default: Docker's own setting)")
	fs.StringVar(&o.CredentialSpecDir, "credential-spec-dir", "", "folder of the gMSA credential specs (default CredentialSpecs in the driver's state folder)")
	asJSON := fs.Bool("json", false, "the same as --output json")
	output := fs.String("output", "text", "output `format`: text or json (the checks as JSON), as every isoagent command")
	fs.StringVar(output, "o", "text", "short for --output")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	switch {
	case *output == "json":
		*asJSON = true
	case *output != "text":
		fmt.Fprintf(stderr, "isoagent doctor: --output %q: want text or json\n", *output)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "isoagent doctor: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}
	checks, err := Run(context.Background(), o)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent doctor: %v\n", err)
		return exitUsage
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(checks); err != nil {
			fmt.Fprintf(stderr, "isoagent doctor: %v\n", err)
			return exitUsage
		}
	} else {
		Print(stdout, checks)
	}
	for _, c := range checks {
		if c.Status == driver.CheckFail {
			return exitProblem
		}
	}
	return exitOK
}

// Run runs every check o asks for, the driver's first. It fails only for
// options that name no driver.
func Run(ctx context.Context, o Options) ([]driver.Check, error) {
	name := o.Driver
	if name == "auto" || name == "" {
		name = driver.NameSim
		if runtime.GOOS == "windows" {
			name = driver.NameHCS
		}
	}
	var checks []driver.Check
	var folders []folder
	switch name {
	case driver.NameHCS:
		d, err := openHCS(o)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		checks = append(checks, d.Diagnose(ctx)...)
		folders = []folder{
			{name: "state folder", path: d.StateDir(), missing: missingMade},
			{name: "credential-spec folder", path: d.CredentialSpecDir(), missing: missingNone},
		}
	case driver.NameSim:
		folders = []folder{{name: "state folder", path: o.SimDir, missing: missingMade}}
		if fi, err := os.Stat(o.SimDir); err != nil || !fi.IsDir() {
			// Opening would make the host; doctor makes nothing.
			checks = append(checks, driver.Check{Name: "simulated host", Status: driver.CheckWarn,
				Detail: fmt.Sprintf("there is no simulated host in %s yet", o.SimDir), Fix: "the agent (isoagent run --driver sim) makes one"})
			break
		}
		d, err := sim.Open(o.SimDir, sim.Options{CredentialSpecDir: o.CredentialSpecDir})
		if err != nil {
			return nil, fmt.Errorf("open the simulated host %s: %w", o.SimDir, err)
		}
		checks = append(checks, d.Diagnose(ctx)...)
		folders = append(folders, folder{name: "credential-spec folder", path: d.CredentialSpecDir(), missing: missingNone})
	default:
		return nil, fmt.Errorf("--driver %q: want auto, sim or hcs", o.Driver)
	}
	checks = append(checks, specFolder(o.Dir)...)
	checks = append(checks, policyFile(o.Policy)...)
	for _, f := range folders {
		checks = append(checks, f.check())
	}
	return checks, nil
}

// Print writes one line per check, with its fix on the next line when it
// did not pass, and a summary.
func Print(w io.Writer, checks []driver.Check) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	counts := map[driver.CheckStatus]int{}
	for _, c := range checks {
		counts[c.Status]++
		fmt.Fprintf(tw, "%s\t%s\t%s\n", strings.ToUpper(string(c.Status)), c.Name, c.Detail)
		if c.Fix != "" && c.Status != driver.CheckPass {
			fmt.Fprintf(tw, "\t\tfix: %s\n", c.Fix)
		}
	}
	tw.Flush()
	warnings := plural(counts[driver.CheckWarn], "warning")
	switch {
	case counts[driver.CheckFail] > 0:
		fmt.Fprintf(w, "%d of %d checks failed, %s: the agent cannot run here as it is\n", counts[driver.CheckFail], len(checks), warnings)
	case counts[driver.CheckWarn] > 0:
		fmt.Fprintf(w, "no check failed: %d checks, %s\n", len(checks), warnings)
	default:
		fmt.Fprintf(w, "all %d checks passed\n", len(checks))
	}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
