package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

// validateCheck is a check beyond decoding and validation, run over each
// snapshot validate builds (admission against a host build, a boundary
// policy). It returns the problems it finds; a problem whose File is one
// of the snapshot's files is reported with that file.
type validateCheck func(snap *spec.Snapshot) []*spec.Error

// validateConfig holds validate's flags. Checks that need flags of their
// own register them in register and build their validateCheck in checks.
type validateConfig struct {
	format      string
	maxFileSize int64
	host        hostFlags // admission and policy checks (policy.go)
	verifyKeys  string    // --verify-signatures: folders are read from their verified commit
}

func (c *validateConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.format, "format", "text", "output `format`: text (file:line:col: field: message lines) or json")
	fs.Int64Var(&c.maxFileSize, "max-file-size", spec.DefaultMaxFileSize, "largest spec file read, in `bytes`")
	fs.UintVar(&c.host.build, "host-build", 0, "check admission on a host of this Windows `build` (such as 20348); with --policy alone, 20348")
	fs.StringVar(&c.host.sku, "host-sku", "server", "`SKU` of that host: server or client")
	fs.StringVar(&c.host.policy, "policy", "", "check the specs against this boundary policy `file` too, as admitted on --host-build")
	fs.StringVar(&c.verifyKeys, "verify-signatures", "", "folders must be git checkouts at a commit signed by a key in this `file` of OpenPGP and SSH public keys; their specs are read from that commit")
}

// checks returns the extra checks the flags ask for.
func (c *validateConfig) checks() ([]validateCheck, error) {
	if c.host.build == 0 && c.host.policy == "" {
		return nil, nil
	}
	host, err := c.host.check()
	if err != nil {
		return nil, err
	}
	var pc *policy.Checker
	if c.host.policy != "" {
		if _, pc, err = loadPolicy(c.host.policy); err != nil {
			return nil, err
		}
	}
	return []validateCheck{admissionCheck(host, pc)}, nil
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
	rep, ioErrs := validatePathsWith(paths, spec.LoaderOptions{MaxFileSize: cfg.maxFileSize}, checks, loadDir)
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
		rep.writeText(stdout)
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

// validateReport is validate's result, and the stable shape of its JSON
// output (documented in docs/spec.md; add fields, never change them).
type validateReport struct {
	Valid     bool               `json:"valid"`
	Files     []validateFile     `json:"files"`
	Conflicts []validateConflict `json:"conflicts"`
	// Errors are problems that belong to no single file.
	Errors  []validateError `json:"errors"`
	Summary validateSummary `json:"summary"`
}

type validateFile struct {
	Path   string          `json:"path"`
	Specs  []string        `json:"specs"`
	Errors []validateError `json:"errors"`
}

type validateError struct {
	File    string `json:"file,omitempty"` // only in the top-level errors list
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// validateConflict is a spec left out because a file earlier in sort order
// declares the same name.
type validateConflict struct {
	Name    string      `json:"name"`
	File    string      `json:"file"`
	Line    int         `json:"line"`
	Column  int         `json:"column"`
	Winner  spec.Source `json:"winner"`
	Message string      `json:"message"`
}

type validateSummary struct {
	Files    int `json:"files"`
	Specs    int `json:"specs"`
	Problems int `json:"problems"`
}

// validatePaths loads every path, folders each on their own and the files
// named directly together, runs the checks, and reports. Paths that cannot
// be read at all are returned as errors.
func validatePaths(paths []string, opts spec.LoaderOptions, checks []validateCheck) (*validateReport, []error) {
	return validatePathsWith(paths, opts, checks, nil)
}

// validatePathsWith is validatePaths reading folders with loadDir (nil:
// as plain folders); a revision loadDir refuses is a problem of the
// folder.
func validatePathsWith(paths []string, opts spec.LoaderOptions, checks []validateCheck, loadDir folderLoader) (*validateReport, []error) {
	var snaps []*spec.Snapshot
	var files []string
	var ioErrs []error
	var refused []validateError
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			ioErrs = append(ioErrs, err)
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		var snap *spec.Snapshot
		if loadDir != nil {
			snap, err = loadDir(p, opts)
		} else {
			snap, err = spec.NewLoader(p, opts).Load()
		}
		var refusal *gitverify.RefusalError
		if errors.As(err, &refusal) {
			refused = append(refused, validateError{File: p, Message: refusal.Error()})
			continue
		}
		if err != nil {
			ioErrs = append(ioErrs, err)
			continue
		}
		snaps = append(snaps, snap)
	}
	if len(files) > 0 {
		snaps = append(snaps, spec.LoadFiles(files, opts))
	}

	rep := &validateReport{Files: []validateFile{}, Conflicts: []validateConflict{}, Errors: refused}
	if rep.Errors == nil {
		rep.Errors = []validateError{}
	}
	for _, snap := range snaps {
		rep.add(snap, checks)
	}
	rep.Summary.Problems = len(rep.Conflicts) + len(rep.Errors)
	for _, f := range rep.Files {
		rep.Summary.Problems += len(f.Errors)
	}
	rep.Summary.Files = len(rep.Files)
	rep.Valid = rep.Summary.Problems == 0
	return rep, ioErrs
}

func (r *validateReport) add(snap *spec.Snapshot, checks []validateCheck) {
	first := len(r.Files)
	byPath := map[string]int{}
	for _, f := range snap.Files {
		vf := validateFile{Path: f.Path, Specs: f.Names, Errors: []validateError{}}
		if vf.Specs == nil {
			vf.Specs = []string{}
		}
		for _, e := range spec.Errors(f.Err) {
			vf.Errors = append(vf.Errors, toValidateError(e))
		}
		byPath[f.Path] = len(r.Files)
		r.Files = append(r.Files, vf)
	}
	r.Summary.Specs += len(snap.Specs)
	for _, c := range snap.Conflicts {
		r.Conflicts = append(r.Conflicts, validateConflict{Name: c.Name, File: c.Loser.File, Line: c.Loser.Line, Column: c.Loser.Column, Winner: c.Winner,
			Message: fmt.Sprintf("name %q is already used by %s:%d; this spec is ignored until one of them is renamed", c.Name, c.Winner.File, c.Winner.Line)})
	}
	for _, check := range checks {
		for _, e := range check(snap) {
			if i, ok := byPath[e.File]; ok {
				r.Files[i].Errors = append(r.Files[i].Errors, toValidateError(e))
			} else {
				ve := toValidateError(e)
				ve.File = e.File
				r.Errors = append(r.Errors, ve)
			}
		}
	}
	for i := first; i < len(r.Files); i++ {
		slices.SortStableFunc(r.Files[i].Errors, func(a, b validateError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
	}
}

func toValidateError(e *spec.Error) validateError {
	return validateError{Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Message}
}

// writeText writes one "file:line:col: field: message" line per problem,
// files in order, conflicts with the file that lost.
func (r *validateReport) writeText(w io.Writer) {
	var lines []validateError
	for _, f := range r.Files {
		for _, e := range f.Errors {
			e.File = f.Path
			lines = append(lines, e)
		}
	}
	for _, c := range r.Conflicts {
		lines = append(lines, validateError{File: c.File, Line: c.Line, Column: c.Column, Field: "metadata.name", Message: c.Message})
	}
	lines = append(lines, r.Errors...)
	slices.SortStableFunc(lines, func(a, b validateError) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	for _, e := range lines {
		se := spec.Error{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Message}
		fmt.Fprintln(w, se.Error())
	}
}
