// Command isoagent keeps a Windows container host in line with a folder of
// YAML container specs. See the README for the whole story.
//
// This package only wires: each subcommand parses its flags, builds the
// options of the library that does the work (package agent for run and
// the Windows service, validate for validate, reconcile.PlanRun for plan,
// the simulated host's Model for sim) and formats what comes back, with
// the exit codes below.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"

	"github.com/isoagent/isoagent/doctor"
)

// Exit codes shared by the subcommands.
const (
	exitOK      = 0
	exitProblem = 1 // invalid specs, pending changes, a timeout
	exitUsage   = 2 // bad flags, I/O errors
)

// command is one subcommand: it gets its arguments (without the command
// name) and returns the process exit code.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) int
}

func commands() []command {
	return []command{
		{"run", "keep this host's containers in line with a spec folder", runRun},
		{"plan", "print what run would do now", runPlan},
		{"validate", "check spec files and folders", runValidate},
		{"status", "show what a running agent knows", runStatus},
		{"wait", "wait until a running agent has converged", runWait},
		{"pull", "pull an image into the host's store, as the agent would", runPull},
		{"prune", "show, and with --confirm let go on, a prune the running agent holds", runPrune},
		{"service", "install and control the Windows service (Windows)", runService},
		{"sim", "act on the simulated host behind the agent's back (drills)", runSim},
		{"doctor", "check what the agent needs on this host, with the fixes", doctor.Main},
		{"export", "write Kubernetes manifests for a spec folder and its policy", runExport},
		{"version", "print the version", runVersion},
	}
}

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(args[1:], stdout, stderr)
		}
	}
	fmt.Fprintf(stderr, "isoagent: unknown command %q\n\n", args[0])
	usage(stderr)
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: isoagent <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'isoagent <command> -h' for a command's flags.")
}

// newFlagSet returns the flag set of a subcommand: errors and -h print the
// command's usage text and its flags to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usage, "\nflags:\n"); fs.PrintDefaults() }
	return fs
}

// parseFlags parses args into fs. When the command must not go on it
// returns false and the exit code: exitOK after -h, exitUsage after a bad
// flag (fs has already said what is wrong).
func parseFlags(fs *flag.FlagSet, args []string) (int, bool) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK, false
		}
		return exitUsage, false
	}
	return 0, true
}

// version is set at build time with -ldflags "-X main.version=...".
var version = ""

func agentVersion() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "isoagent %s %s %s/%s\n", agentVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return exitOK
}
