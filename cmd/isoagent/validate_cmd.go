package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/spec/yamlpos"
	"github.com/isoagent/isoagent/validate"
	"github.com/isoagent/isoagent/winbuild"
)

// validateConfig holds validate's flags. Checks that need flags of their
// own register them in register and build their validate.Check in checks.
type validateConfig struct {
	format      string
	maxFileSize int64
	host        hostFlags // admission and policy checks
	verifyKeys  string    // --verify-signatures: folders are read from their verified commit
	registry    registryAccess
}

func (c *validateConfig) register(fs *flag.FlagSet) {
	registerOutput(fs, &c.format, "text: file:line:col: field: message lines; json: the report", []string{"json"}, []string{"format"})
	fs.Int64Var(&c.maxFileSize, "max-file-size", spec.DefaultMaxFileSize, "largest spec file read, in `bytes`")
	fs.UintVar(&c.host.build, "host-build", 0, "check admission on a host of this Windows `build` (such as 20348); with --policy, --hostname or --label alone, 20348")
	fs.StringVar(&c.host.sku, "host-sku", "server", "`SKU` of that host: server or client")
	fs.StringVar(&c.host.policy, "policy", "", "check the specs against this boundary policy `file` too, as admitted on --host-build")
	c.registry.register(fs)
	fs.StringVar(&c.host.name, "hostname", "", "act as the agent of the host of this `name`: specs whose hosts globs exclude it are not checked further")
	c.host.labels = labelFlags{}
	fs.Var(c.host.labels, "label", "with --hostname, or alone: that host's agent label k=v (repeatable); specs whose selector excludes the host are not checked further")
	fs.StringVar(&c.verifyKeys, "verify-signatures", "", "folders must be git checkouts at a commit signed by a key in this `file` of OpenPGP and SSH public keys; their specs are read from that commit")
}

// checks returns the extra checks the flags ask for, and the problems of
// the policy file when it does not load for them (the specs are then
// checked without it). An error is a flag or a policy file that cannot be
// read.
func (c *validateConfig) checks() ([]validate.Check, []*spec.Error, error) {
	if c.host.build == 0 && c.host.policy == "" && c.host.name == "" && len(c.host.labels) == 0 && !c.registry.on {
		// The start order needs no host; admission checks it otherwise.
		return []validate.Check{validate.Dependencies()}, nil, nil
	}
	host, err := c.host.check()
	if err != nil {
		return nil, nil, err
	}
	var pc *policy.Checker
	var policyErrs []*spec.Error
	if c.host.policy != "" {
		// A file that is not there is a mistake on the command line; one
		// that does not parse is a problem found, like a spec's.
		if _, err := os.Stat(c.host.policy); err != nil {
			return nil, nil, fmt.Errorf("--policy: %w", err)
		}
		if _, pc, err = policy.OpenLocated(c.host.policy, yamlpos.Locate); err != nil {
			if policyErrs = spec.Errors(err); len(policyErrs) == 0 {
				return nil, nil, err
			}
			pc = nil
		}
	}
	src, err := c.registry.source()
	if err != nil {
		return nil, nil, err
	}
	var id *validate.Identity
	if c.host.name != "" || len(c.host.labels) > 0 {
		id = &validate.Identity{HostName: c.host.name, Labels: c.host.labels}
	}
	return []validate.Check{validate.AdmissionAs(host, pc, id, src)}, policyErrs, nil
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, validateUsage, "\nflags:\n"); fs.PrintDefaults() }
	var cfg validateConfig
	cfg.register(fs)
	paths, err := parseInterspersed(fs, args) // flags may follow the paths, as people type them
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(paths) == 0 {
		fmt.Fprintln(stderr, "isoagent validate: give at least one spec file or folder")
		fs.Usage()
		return exitUsage
	}
	if cfg.maxFileSize <= 0 {
		fmt.Fprintf(stderr, "isoagent validate: --max-file-size %d: want a positive number of bytes\n", cfg.maxFileSize)
		return exitUsage
	}
	checks, policyErrs, err := cfg.checks()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
		return exitUsage
	}

	loadDir, err := cfg.folderLoader(paths)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
		return exitUsage
	}
	rep, ioErrs := validate.PathsWith(paths, spec.LoaderOptions{MaxFileSize: cfg.maxFileSize, LocateSyntax: yamlpos.Locate}, loadDir, checks...)
	rep.AddProblems(policyErrs)
	if cfg.format == "json" {
		// The report is on stdout; say on stderr too what could not be
		// read. In text the report's line for it is the one line.
		for _, err := range ioErrs {
			fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
			return exitUsage
		}
	} else {
		rep.WriteText(stdout)
	}
	if rep.Summary.Files > 0 || len(ioErrs) == 0 {
		fmt.Fprintf(stderr, "%s, %s, %s\n", plural(rep.Summary.Files, "file"), plural(rep.Summary.Specs, "spec"), plural(rep.Summary.Problems, "problem"))
	}
	switch {
	case len(ioErrs) > 0:
		return exitUsage
	case !rep.Valid:
		return exitProblem
	}
	return exitOK
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// hostFlags describe the host validate admits specs for.
type hostFlags struct {
	build  uint
	sku    string
	policy string
	name   string
	labels labelFlags
}

func (h *hostFlags) check() (driver.Host, error) {
	sku, err := driver.ParseSKU(strings.ToLower(h.sku))
	if err != nil {
		return driver.Host{}, fmt.Errorf("--host-sku: %w", err)
	}
	if h.build > 65535 {
		return driver.Host{}, fmt.Errorf("--host-build %d: want a Windows build number such as 20348", h.build)
	}
	b := uint16(h.build)
	if b == 0 {
		b = winbuild.LTSC2022
	}
	name := h.name
	if name == "" {
		name = "validate"
	}
	return driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: b}, SKU: sku, Name: name}, nil
}

const validateUsage = `usage: isoagent validate [flags] PATH...

Checks spec files and folders without touching a host, and prints one
file:line:col: field: message line per problem. Folders are read as the
agent reads them (recursive, .yaml/.yml, dot files and editor leftovers
ignored); a file named here is checked whatever its name.

Always checked: the YAML, every field's name, type and value, the rules
between fields, and that no two specs share a name.

With --host-build (and --host-sku): admission as the agent of a host of
that Windows build does it: the image's build against the host's with the
isolation asked for, features the host cannot give, host ports and
network sharing between the specs, and secret references (validate has no
secrets folder, so a spec using a secret is reported as unreadable).
Without --hostname or --label, every spec is taken to be meant for that
host, except that a spec with hosts or a selector is admitted on its own
image's build.

With --hostname and --label: acting as that host's agent, specs whose
hosts or selector exclude it are not meant for it and are not checked
further; the others are admitted on --host-build (default 20348).

With --policy: the boundary policy file is checked (its problems are
problems of this run) and every admitted spec against it: mounts, pipes,
ports, devices, isolation, network sharing, credential specs and secrets.
Host folders are compared as written: junctions and links are not
followed, as the agent does on the host. Without --policy the policy is
not checked, though the agent without one allows nothing that pierces
isolation.

Exit status: 0 all valid, 1 problems found (in the specs or the policy
file), 2 usage errors or a path or policy file that cannot be read.
`
