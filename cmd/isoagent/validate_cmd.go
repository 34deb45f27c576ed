package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
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
	fs.StringVar(&c.format, "format", "text", "output `format`: text (file:line:col: field: message lines) or json")
	fs.Int64Var(&c.maxFileSize, "max-file-size", spec.DefaultMaxFileSize, "largest spec file read, in `bytes`")
	fs.UintVar(&c.host.build, "host-build", 0, "check admission on a host of this Windows `build` (such as 20348); with --policy alone, 20348")
	fs.StringVar(&c.host.sku, "host-sku", "server", "`SKU` of that host: server or client")
	fs.StringVar(&c.host.policy, "policy", "", "check the specs against this boundary policy `file` too, as admitted on --host-build")
	c.registry.register(fs)
	fs.StringVar(&c.verifyKeys, "verify-signatures", "", "folders must be git checkouts at a commit signed by a key in this `file` of OpenPGP and SSH public keys; their specs are read from that commit")
}

// checks returns the extra checks the flags ask for.
func (c *validateConfig) checks() ([]validate.Check, error) {
	if c.host.build == 0 && c.host.policy == "" && !c.registry.on {
		// The start order needs no host; admission checks it otherwise.
		return []validate.Check{validate.Dependencies()}, nil
	}
	host, err := c.host.check()
	if err != nil {
		return nil, err
	}
	var pc *policy.Checker
	if c.host.policy != "" {
		if _, pc, err = policy.Open(c.host.policy); err != nil {
			return nil, err
		}
	}
	src, err := c.registry.source()
	if err != nil {
		return nil, err
	}
	return []validate.Check{validate.AdmissionWithRegistry(host, pc, src)}, nil
}

func runValidate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: isoagent validate [flags] PATH...\n\n"+
			"Checks spec files and folders. Folders are read like the agent reads them\n"+
			"(recursive, .yaml/.yml, dot files and editor leftovers ignored); a file named\n"+
			"here is checked whatever its name. Exit status: 0 all valid, 1 problems found,\n"+
			"2 usage or I/O error.\n\nflags:")
		fs.PrintDefaults()
	}
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
	if cfg.format != "text" && cfg.format != "json" {
		fmt.Fprintf(stderr, "isoagent validate: --format %q: want text or json\n", cfg.format)
		return exitUsage
	}
	if cfg.maxFileSize <= 0 {
		fmt.Fprintf(stderr, "isoagent validate: --max-file-size %d: want a positive number of bytes\n", cfg.maxFileSize)
		return exitUsage
	}
	checks, err := cfg.checks()
	if err != nil {
		fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
		return exitUsage
	}

	loadDir, err := cfg.folderLoader(paths)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
		return exitUsage
	}
	rep, ioErrs := validate.PathsWith(paths, spec.LoaderOptions{MaxFileSize: cfg.maxFileSize}, loadDir, checks...)
	for _, err := range ioErrs {
		fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
	}
	if cfg.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintf(stderr, "isoagent validate: %v\n", err)
			return exitUsage
		}
	} else {
		rep.WriteText(stdout)
	}
	fmt.Fprintf(stderr, "%s, %s, %s\n", plural(rep.Summary.Files, "file"), plural(rep.Summary.Specs, "spec"), plural(rep.Summary.Problems, "problem"))
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
	return driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: b}, SKU: sku, Name: "validate"}, nil
}
