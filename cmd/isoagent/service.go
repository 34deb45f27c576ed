package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// The Windows service and its Event Log source share one name, so that
// `Get-Service isoagent` and `Get-WinEvent -ProviderName isoagent` find
// the same thing.
const (
	serviceName        = "isoagent"
	serviceDisplayName = "isoagent container agent"
	serviceDescription = "Keeps this host's Windows containers in line with a folder of isoagent specs. Stopping it leaves the containers running; a system shutdown stops them, each with its stopTimeout."
)

const serviceUsage = `usage: isoagent service <command> [flags]

Runs isoagent as the Windows service "isoagent", started at boot by the
Service Control Manager and logging to the Event Log (source "isoagent").
Windows only; run it from an elevated PowerShell.

commands:
  install [run flags...]  register the service as "isoagent run [run flags...]":
                          automatic (delayed) start, restart on failure, depends
                          on vmcompute and hns, runs as LocalSystem
  uninstall               stop the service, remove it and its Event Log source
  start [--timeout D]     start the service and wait until it is running
  stop [--timeout D]      stop the service and wait until it has stopped;
                          containers keep running and are adopted at next start
                          (a system shutdown stops them, each with its
                          stopTimeout, within 3 minutes)
  status                  show the service's state, process, start type and command

example:
  isoagent service install --dir C:\ProgramData\isoagent\specs --policy C:\ProgramData\isoagent\policy.yaml
`

// serviceSpec is what install registers.
type serviceSpec struct {
	Exe          string   // absolute path of isoagent.exe
	Args         []string // "run" and the run flags
	Dependencies []string // services that must run first
}

// serviceStatus is what status shows.
type serviceStatus struct {
	State        string // running, stopped, start-pending, ...
	PID          uint32
	ExitCode     uint32 // last exit code, when stopped
	StartType    string // automatic, automatic (delayed), manual, disabled
	Account      string
	Command      string // the command line the Service Control Manager runs
	Dependencies []string
	Recovery     string // "" when the system does not say
}

// serviceManager is the Service Control Manager, as the service
// subcommands use it. Errors say what to do (elevate, uninstall first,
// install first); timeouts come from ctx.
type serviceManager interface {
	Install(s serviceSpec) error
	Uninstall(ctx context.Context) error
	Start(ctx context.Context) error
	Stop(ctx context.Context) error
	Status() (serviceStatus, error)
	Close() error
}

// runService is `isoagent service`.
func runService(args []string, stdout, stderr io.Writer) int {
	if err := serviceSupported(); err != nil && !isHelp(args) {
		fmt.Fprintf(stderr, "isoagent service: %v\n", err)
		return exitUsage
	}
	return serviceCommand(args, stdout, stderr, openServiceManager)
}

// serviceCommand runs a service subcommand against the manager open
// returns; tests pass a fake.
func serviceCommand(args []string, stdout, stderr io.Writer, open func(warn io.Writer) (serviceManager, error)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, serviceUsage)
		return exitUsage
	}
	if isHelp(args) {
		fmt.Fprint(stderr, serviceUsage)
		return exitOK
	}
	sub, rest := args[0], args[1:]
	fail := func(err error) int {
		fmt.Fprintf(stderr, "isoagent service %s: %v\n", sub, err)
		return exitUsage
	}

	var (
		spec    serviceSpec
		timeout = time.Minute
	)
	switch sub {
	case "install":
		runArgs, deps, err := serviceInstallArgs(rest, stderr)
		if err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return fail(err)
		}
		spec = serviceSpec{Args: runArgs, Dependencies: deps}
	case "start", "stop", "uninstall", "status":
		fs := flag.NewFlagSet("service "+sub, flag.ContinueOnError)
		fs.SetOutput(stderr)
		if sub != "status" {
			fs.DurationVar(&timeout, "timeout", timeout, "how long to wait for the service to get there")
		}
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return exitOK
			}
			return exitUsage
		}
		if fs.NArg() > 0 {
			return fail(fmt.Errorf("unexpected arguments %q", fs.Args()))
		}
	default:
		fmt.Fprintf(stderr, "isoagent service: unknown command %q\n\n", sub)
		fmt.Fprint(stderr, serviceUsage)
		return exitUsage
	}

	m, err := open(stderr)
	if err != nil {
		return fail(err)
	}
	defer m.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	switch sub {
	case "install":
		exe, err := os.Executable()
		if err == nil {
			exe, err = filepath.Abs(exe)
		}
		if err != nil {
			return fail(fmt.Errorf("find this program's path: %w", err))
		}
		spec.Exe = exe
		if err := m.Install(spec); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "installed the %s service: %s %s\nstart it with: isoagent service start\n", serviceName, exe, strings.Join(spec.Args, " "))
	case "uninstall":
		if err := m.Uninstall(ctx); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "uninstalled the %s service; containers are left running\n", serviceName)
	case "start":
		if err := m.Start(ctx); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s is running\n", serviceName)
	case "stop":
		if err := m.Stop(ctx); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "%s is stopped; containers are left running\n", serviceName)
	case "status":
		st, err := m.Status()
		if err != nil {
			return fail(err)
		}
		printServiceStatus(stdout, st)
	}
	return exitOK
}

func isHelp(args []string) bool {
	return len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help")
}

// serviceInstallArgs checks the run flags given to service install the way
// run will check them, and returns the service's arguments ("run" and the
// flags, host paths made absolute) and the services it depends on.
func serviceInstallArgs(args []string, stderr io.Writer) (runArgs, deps []string, err error) {
	fs := flag.NewFlagSet("service install", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: isoagent service install [run flags...]\n\nRegisters the service as `isoagent run [run flags...]`. The run flags:\n")
		fs.PrintDefaults()
	}
	var cfg agentConfig
	cfg.register(fs)
	var logs logFlags
	logs.register(fs)
	once := fs.Bool("once", false, "not for a service: a service runs until it is stopped")
	fs.Duration("timeout", 0, "not for a service (with --once only)")
	if err := fs.Parse(args); err != nil {
		return nil, nil, err
	}
	if err := cfg.check(fs); err != nil {
		return nil, nil, err
	}
	if *once {
		return nil, nil, errors.New("--once: a service runs until it is stopped; leave --once out")
	}
	if err := logs.check(); err != nil {
		return nil, nil, err
	}
	// The Service Control Manager starts the service in
	// C:\Windows\System32, not where install ran: host paths must be
	// absolute.
	args, err = absPathFlags(fs, args, []string{"dir", "sim-dir", "policy", "log-file", "web.config.file"}, filepath.Abs)
	if err != nil {
		return nil, nil, err
	}
	if cfg.drv.name != driver.NameSim {
		// The service manager then starts HCS and HNS first, and stops
		// isoagent before them.
		deps = []string{"vmcompute", "hns"}
	}
	return append([]string{"run"}, args...), deps, nil
}

// absPathFlags returns args, as parsed by fs, with the values of the named
// flags made absolute by abs. It understands the forms the flag package
// accepts: -name value, --name value, -name=value and --name=value.
func absPathFlags(fs *flag.FlagSet, args, names []string, abs func(string) (string, error)) ([]string, error) {
	out := append([]string(nil), args...)
	for i := 0; i < len(out); i++ {
		a := out[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			break // the flag package stops here too
		}
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if !slices.Contains(names, name) {
			if f := fs.Lookup(name); f != nil && !hasValue && !isBoolFlag(f) {
				i++ // its value
			}
			continue
		}
		if !hasValue {
			i++
			if i >= len(out) {
				break
			}
			value = out[i]
		}
		if value != "" {
			p, err := abs(value)
			if err != nil {
				return nil, fmt.Errorf("--%s %s: %w", name, value, err)
			}
			value = p
		}
		if hasValue {
			out[i] = "--" + name + "=" + value
		} else {
			out[i] = value
		}
	}
	return out, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

func printServiceStatus(w io.Writer, st serviceStatus) {
	state := st.State
	switch {
	case st.PID != 0:
		state += fmt.Sprintf(" (pid %d)", st.PID)
	case st.ExitCode != 0:
		state += fmt.Sprintf(" (last exit code %d)", st.ExitCode)
	}
	rows := [][2]string{
		{"service", serviceName},
		{"state", state},
		{"start", st.StartType},
		{"account", st.Account},
		{"command", st.Command},
		{"depends on", strings.Join(st.Dependencies, ", ")},
		{"on failure", st.Recovery},
		{"logs", "Event Log, Application, source " + serviceName + ` (Get-WinEvent -ProviderName ` + serviceName + ` -MaxEvents 20)`},
	}
	for _, r := range rows {
		fmt.Fprintf(w, "%-11s %s\n", r[0]+":", orDash(r[1]))
	}
}
