package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/winbuild"
)

// defaultSimDir is where the simulated host keeps its state unless
// --sim-dir says otherwise: a per-user cache folder, so that the agent and
// `isoagent sim` find the same host without being told.
func defaultSimDir() string { return sim.DefaultDir() }

const simUsage = `usage: isoagent sim [--sim-dir DIR] <command> [flags]

Acts on the simulated host's state folder, behind the agent's back, for
drills and tests.

commands:
  ls [--owner OWNER]                      list containers (every owner by default)
  kill NAME|ID [--code N]                 end a running container's init process (exit code 1)
  rm NAME|ID                              remove a container, running or not
  host [--set VERSION] [--sku SKU] [--name NAME] [--hyperv on|off] [--unc-mounts on|off]
                                          show the host, or change it
  image REF [--build N | --version V | --missing | --reset] [--healthcheck 'CMD-SHELL LINE' | --no-healthcheck]
                                          show what the host knows of an image, or change it
  images [--pulled-only on|off]           list the images pulled into the host, or say whether it has only those
  missing-path [PATH [--exists]]          list missing host paths, or mark PATH missing (or back)
  port PORT[/udp] [--free]                reserve a host port for something outside containers
  fault [OP --count N [--error CLASS] [--delay D] | --clear]
                                          list, inject or clear faults of driver operations
  reset [--owner OWNER]                   remove every simulated container (of OWNER only with
                                          --owner), and with no --owner clear faults and missing
                                          paths too; the host's settings and images stay

The state folder is per user (--sim-dir, default %s). The simulated
containers outlive the agent, as real ones do: 'isoagent run --once'
leaves them running, and the next run adopts them; 'isoagent sim reset'
starts over.
`

// simCommand is one `isoagent sim` subcommand: it declares its flags on fs
// and returns the function that runs it once they are parsed.
type simCommand func(fs *flag.FlagSet) func(m *sim.Model, args []string, stdout io.Writer) error

func simCommands() map[string]simCommand {
	return map[string]simCommand{
		"ls":           simLs,
		"kill":         simKill,
		"rm":           simRm,
		"host":         simHost,
		"image":        simImage,
		"images":       simImages,
		"missing-path": simMissingPath,
		"port":         simPort,
		"fault":        simFault,
		"reset":        simReset,
	}
}

func runSim(args []string, stdout, stderr io.Writer) int {
	dir := defaultSimDir()
	global := flag.NewFlagSet("isoagent sim", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.StringVar(&dir, "sim-dir", dir, "")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stdout, simUsage, defaultSimDir())
			return exitOK
		}
		fmt.Fprintf(stderr, "isoagent sim: %v\n\n"+simUsage, err, defaultSimDir())
		return exitUsage
	}
	args = global.Args()
	if len(args) == 0 {
		fmt.Fprintf(stderr, simUsage, defaultSimDir())
		return exitUsage
	}
	cmd, ok := simCommands()[args[0]]
	if !ok {
		msg := fmt.Sprintf("isoagent sim: unknown command %q", args[0])
		if s := closestName(args[0], subcommands("sim")); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
		fmt.Fprintf(stderr, "%s\nrun 'isoagent sim -h' for the commands\n", msg)
		return exitUsage
	}
	fs := flag.NewFlagSet("isoagent sim "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&dir, "sim-dir", dir, "the simulated host's state folder")
	run := cmd(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	m, err := openSimModel(dir)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent sim: %v\n", err)
		return exitUsage
	}
	if err := run(m, pos, stdout); err != nil {
		fmt.Fprintf(stderr, "isoagent sim %s: %v\n", args[0], err)
		var u usageError
		if errors.As(err, &u) {
			return exitUsage
		}
		return exitProblem
	}
	return exitOK
}

// usageError is a mistake in a subcommand's arguments.
type usageError string

func (e usageError) Error() string { return string(e) }

// parseInterspersed parses flags that may come before, between or after
// positional arguments (`kill web --code 3`), which package flag alone
// stops at, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	if printFlagNames(fs, args, fs.Output()) {
		return nil, flag.ErrHelp
	}
	if reportUndefinedFlag(fs, args, true) {
		return nil, errUndefinedFlag
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func openSimModel(dir string) (*sim.Model, error) {
	store, err := sim.DirStore(dir)
	if err != nil {
		return nil, err
	}
	m := sim.NewModel(store, nil)
	// A drill on a folder no agent has used yet creates the default host,
	// as the agent would.
	if err := m.InitHost(driver.Host{}, false); err != nil {
		return nil, err
	}
	return m, nil
}

func wantArgs(args []string, min, max int, what string) error {
	if len(args) < min || len(args) > max {
		return usageError("want " + what)
	}
	return nil
}

func simLs(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	owner := fs.String("owner", "", "list only the containers of this owner")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
			return err
		}
		cs, err := m.Containers(*owner)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tID\tOWNER\tISOLATION\tSTATE\tEXIT\tPROCESS\tSTARTED\tIMAGE")
		for _, c := range cs {
			exit, started := "-", "-"
			if c.State == driver.StateExited {
				exit = strconv.Itoa(c.ExitCode)
			}
			if !c.StartedAt.IsZero() {
				started = c.StartedAt.UTC().Format(time.RFC3339)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
				c.Name, c.ID, c.Owner, c.Isolation, c.State, exit, process(c), started, c.Image)
		}
		return tw.Flush()
	}
}

// process describes what a container shows on the host: its init
// process's PID, or its utility VM's worker process.
func process(c driver.Container) string {
	switch {
	case c.UtilityVM != nil:
		return fmt.Sprintf("vmwp %d (uvm %s)", c.UtilityVM.PID, c.UtilityVM.ID)
	case c.InitPID != 0:
		return fmt.Sprintf("pid %d", c.InitPID)
	}
	return "-"
}

func simKill(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	code := fs.Int("code", 1, "the exit code the container's init process ends with")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 1, 1, "a container name or id"); err != nil {
			return err
		}
		if err := m.Kill(args[0], *code); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "killed %s (exit code %d)\n", args[0], *code)
		return nil
	}
}

func simRm(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 1, 1, "a container name or id"); err != nil {
			return err
		}
		if err := m.ForceRemove(args[0]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed %s\n", args[0])
		return nil
	}
}

func simHost(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	set := fs.String("set", "", "make the host this OS version, e.g. 10.0.20348")
	sku := fs.String("sku", "", "make the host this SKU: server or client")
	name := fs.String("name", "", "give the host this name")
	hyperV := fs.String("hyperv", "", "on: the host can run Hyper-V isolated containers; off: it has no Hyper-V")
	unc := fs.String("unc-mounts", "", "on: the host can map folders on network shares; off: local folders only, as HCS")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
			return err
		}
		if err := simHostFeatures(m, *hyperV, *unc); err != nil {
			return err
		}
		h, err := m.Host()
		if err != nil {
			return err
		}
		if *set != "" || *sku != "" || *name != "" {
			if *set != "" {
				if h.OSVersion, err = winbuild.ParseVersion(*set); err != nil {
					return usageError(err.Error())
				}
			}
			if *sku != "" {
				h.SKU = driver.SKU(*sku)
			}
			if *name != "" {
				h.Name = *name
			}
			if err := m.InitHost(h, true); err != nil {
				return err
			}
			if h, err = m.Host(); err != nil {
				return err
			}
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "name\t%s\nos version\t%s\nsku\t%s\nhyper-v\t%s\nunc mounts\t%t\n", h.Name, h.OSVersion, h.SKU, orDash(string(h.HyperV)), h.UNCMounts)
		return tw.Flush()
	}
}

// simHostFeatures applies host --hyperv and --unc-mounts.
func simHostFeatures(m *sim.Model, hyperV, unc string) error {
	switch hyperV {
	case "":
	case "on":
		if err := m.SetHyperV(driver.Available, ""); err != nil {
			return err
		}
	case "off":
		if err := m.SetHyperV(driver.Unavailable, "the Hyper-V role is not installed (isoagent sim host --hyperv off)"); err != nil {
			return err
		}
	default:
		return usageError(fmt.Sprintf("--hyperv %q: want on or off", hyperV))
	}
	switch unc {
	case "":
		return nil
	case "on", "off":
		return m.SetUNCMounts(unc == "on")
	}
	return usageError(fmt.Sprintf("--unc-mounts %q: want on or off", unc))
}

func simImage(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	build := fs.Uint("build", 0, "make the image's OS version 10.0.N")
	version := fs.String("version", "", "make the image's OS version V, e.g. 10.0.17763.5206")
	missing := fs.Bool("missing", false, "make the host not have the image")
	reset := fs.Bool("reset", false, "forget what was set: the build comes from the tag again")
	healthcheck := fs.String("healthcheck", "", "give the image a HEALTHCHECK, as Docker writes it: 'CMD-SHELL LINE', 'CMD PROGRAM ARGS...' or NONE")
	noHealthcheck := fs.Bool("no-healthcheck", false, "take the image's HEALTHCHECK away")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 1, 1, "an image reference"); err != nil {
			return err
		}
		ref := args[0]
		if *healthcheck != "" && *noHealthcheck {
			return usageError("give --healthcheck or --no-healthcheck, not both")
		}
		if *healthcheck != "" || *noHealthcheck {
			h, err := parseImageHealthcheck(*healthcheck)
			if err != nil {
				return err
			}
			if err := m.SetImageHealthcheck(ref, h); err != nil {
				return err
			}
		}
		n := 0
		for _, set := range []bool{*build != 0, *version != "", *missing, *reset} {
			if set {
				n++
			}
		}
		if n > 1 {
			return usageError("give at most one of --build, --version, --missing and --reset")
		}
		var err error
		switch {
		case *build != 0:
			if *build > 65535 {
				return usageError(fmt.Sprintf("build %d out of range", *build))
			}
			err = m.SetImage(ref, driver.OSVersion{Major: 10, Build: uint16(*build)})
		case *version != "":
			v, perr := winbuild.ParseVersion(*version)
			if perr != nil {
				return usageError(perr.Error())
			}
			err = m.SetImage(ref, v)
		case *missing:
			err = m.RemoveImage(ref)
		case *reset:
			err = m.SetImage(ref, driver.OSVersion{})
		}
		if err != nil {
			return err
		}
		img, err := m.Image(ref)
		if errors.Is(err, driver.ErrNotFound) {
			fmt.Fprintf(stdout, "%s: missing\n", ref)
			return nil
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: os version %s, command %s", ref, img.OSVersion, strings.Join(img.Command, " "))
		if h := img.Healthcheck; h != nil {
			fmt.Fprintf(stdout, ", healthcheck %s", strings.Join(h.Test, " "))
		}
		fmt.Fprintln(stdout)
		return nil
	}
}

// parseImageHealthcheck reads a HEALTHCHECK as `isoagent sim image
// --healthcheck` takes it; "" is none.
func parseImageHealthcheck(s string) (*driver.ImageHealthcheck, error) {
	kind, rest, _ := strings.Cut(strings.TrimSpace(s), " ")
	rest = strings.TrimSpace(rest)
	switch {
	case s == "":
		return nil, nil
	case kind == "NONE" && rest == "":
		return &driver.ImageHealthcheck{Test: []string{"NONE"}}, nil
	case kind == "CMD-SHELL" && rest != "":
		return &driver.ImageHealthcheck{Test: []string{"CMD-SHELL", rest}}, nil
	case kind == "CMD" && rest != "":
		return &driver.ImageHealthcheck{Test: append([]string{"CMD"}, strings.Fields(rest)...)}, nil
	}
	return nil, usageError(fmt.Sprintf("--healthcheck %q: write CMD-SHELL LINE, CMD PROGRAM ARGS... or NONE, such as 'CMD-SHELL curl -f http://localhost/'", s))
}

func simMissingPath(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	exists := fs.Bool("exists", false, "make PATH exist again")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 0, 1, "at most one host path"); err != nil {
			return err
		}
		if len(args) == 1 {
			if err := m.SetMissingPath(args[0], !*exists); err != nil {
				return err
			}
		}
		ps, err := m.MissingPaths()
		if err != nil {
			return err
		}
		for _, p := range ps {
			fmt.Fprintln(stdout, p)
		}
		return nil
	}
}

func simPort(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	free := fs.Bool("free", false, "free the port again")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 1, 1, "a host port such as 8080 or 53/udp"); err != nil {
			return err
		}
		num, proto, _ := strings.Cut(args[0], "/")
		port, err := strconv.Atoi(num)
		if err != nil {
			return usageError(fmt.Sprintf("port %q: want a number", num))
		}
		if err := m.ReservePort(port, proto, !*free); err != nil {
			return usageError(err.Error())
		}
		verb := "reserved"
		if *free {
			verb = "freed"
		}
		fmt.Fprintf(stdout, "%s host port %s\n", verb, args[0])
		return nil
	}
}

func simFault(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	count := fs.Int("count", 1, "how many of the next calls the fault applies to")
	class := fs.String("error", "", "fail the calls with this error class: "+strings.Join(sim.ErrorClassNames(), ", "))
	delay := fs.Duration("delay", 0, "delay the calls by this long first")
	clearAll := fs.Bool("clear", false, "drop every fault")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 0, 1, "at most one operation"); err != nil {
			return err
		}
		switch {
		case *clearAll:
			if err := m.ClearFaults(); err != nil {
				return err
			}
		case len(args) == 1:
			op, err := sim.ParseOp(args[0])
			if err != nil {
				return usageError(err.Error())
			}
			f := sim.Fault{Op: op, Count: *count, Delay: *delay}
			if *class != "" {
				err, ok := sim.ErrorClass(*class)
				if !ok {
					return usageError(fmt.Sprintf("unknown error class %q (want one of %s)", *class, strings.Join(sim.ErrorClassNames(), ", ")))
				}
				f.Err = err
			}
			if err := m.InjectFault(f); err != nil {
				return usageError(err.Error())
			}
		}
		faults, err := m.Faults()
		if err != nil {
			return err
		}
		for _, f := range faults {
			fmt.Fprintln(stdout, f)
		}
		return nil
	}
}

func simReset(fs *flag.FlagSet) func(*sim.Model, []string, io.Writer) error {
	owner := fs.String("owner", "", "remove only the containers of this owner, and nothing else")
	return func(m *sim.Model, args []string, stdout io.Writer) error {
		if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
			return err
		}
		cs, err := m.Containers(*owner)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if err := m.ForceRemove(c.ID); err != nil {
				return fmt.Errorf("remove %s: %w", c.ID, err)
			}
		}
		if *owner != "" {
			fmt.Fprintf(stdout, "removed %d containers of %s\n", len(cs), *owner)
			return nil
		}
		faults, err := m.Faults()
		if err != nil {
			return err
		}
		if err := m.ClearFaults(); err != nil {
			return err
		}
		paths, err := m.MissingPaths()
		if err != nil {
			return err
		}
		for _, p := range paths {
			if err := m.SetMissingPath(p, false); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "removed %d containers, cleared %d faults and %d missing paths; the host's settings and images stay\n", len(cs), len(faults), len(paths))
		return nil
	}
}
