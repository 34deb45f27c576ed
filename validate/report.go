// Package validate checks spec files and folders without a host, as
// `isoagent validate` does in a config repository's pipeline: each is read
// the way the agent reads its folder, and checks beyond decoding and
// validation (admission on a host of a given build, the boundary policy)
// plug in as a Check.
//
// It promises a stable Report: the JSON of `isoagent validate --format
// json` and the text lines of WriteText are contracts other tools parse.
package validate

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"

	"github.com/isoagent/isoagent/gitverify"
	"github.com/isoagent/isoagent/spec"
)

// Check is a check beyond decoding and validation, run over each snapshot
// Paths reads (admission on a host of a given build, a boundary policy).
// It returns the problems it finds; a problem whose File is one of the
// snapshot's files is reported with that file, any other among the
// report's Errors.
type Check func(snap *spec.Snapshot) []*spec.Error

// Report is what validating spec files and folders found, and the stable
// shape of `isoagent validate --format json` (documented in docs/spec.md;
// add fields, never change them). Lists are empty, never null, so that
// consumers need no null check.
type Report struct {
	Valid     bool       `json:"valid"`
	Files     []File     `json:"files"`
	Conflicts []Conflict `json:"conflicts"`
	// Errors are problems that belong to no single file.
	Errors  []Error `json:"errors"`
	Summary Summary `json:"summary"`
}

// File is one spec file read, with the specs it declares and its
// problems.
type File struct {
	Path   string   `json:"path"`
	Specs  []string `json:"specs"`
	Errors []Error  `json:"errors"`
}

// Error is one problem, at a line and column of a file.
type Error struct {
	File    string `json:"file,omitempty"` // only in the top-level errors list
	Line    int    `json:"line"`
	Column  int    `json:"column"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Conflict is a spec left out because a file earlier in sort order
// declares the same name.
type Conflict struct {
	Name    string      `json:"name"`
	File    string      `json:"file"`
	Line    int         `json:"line"`
	Column  int         `json:"column"`
	Winner  spec.Source `json:"winner"`
	Message string      `json:"message"`
}

// Summary counts what was read and found.
type Summary struct {
	Files    int `json:"files"`
	Specs    int `json:"specs"`
	Problems int `json:"problems"`
}

// Paths reads every path as the agent reads a spec folder (each folder on
// its own; the files named directly together, as one set, whatever their
// names), runs the checks over each set, and reports. Paths that cannot be
// read at all are returned as errors, and are problems of the report too,
// so that the report never says valid of what it could not read.
func Paths(paths []string, opts spec.LoaderOptions, checks ...Check) (*Report, []error) {
	return PathsWith(paths, opts, nil, checks...)
}

// FolderLoader reads a spec folder other than as a plain folder: from
// its verified git commit (package gitverify).
type FolderLoader func(dir string, opts spec.LoaderOptions) (*spec.Snapshot, error)

// PathsWith is Paths with folders read by load (nil: as plain folders).
// A revision load refuses (a *gitverify.RefusalError) is a problem of the
// folder, not an error reading it.
func PathsWith(paths []string, opts spec.LoaderOptions, load FolderLoader, checks ...Check) (*Report, []error) {
	if load == nil {
		load = func(dir string, opts spec.LoaderOptions) (*spec.Snapshot, error) {
			return spec.NewLoader(dir, opts).Load()
		}
	}
	var snaps []*spec.Snapshot
	var files []string
	var ioErrs []error
	rep := &Report{Files: []File{}, Conflicts: []Conflict{}, Errors: []Error{}}
	unreadable := func(p string, err error) {
		ioErrs = append(ioErrs, err)
		cause := err
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
			cause = pe.Err // the report names the path already
		}
		rep.Errors = append(rep.Errors, Error{File: p, Message: fmt.Sprintf("cannot read it: %v", cause)})
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			unreadable(p, err)
			continue
		}
		if !fi.IsDir() {
			files = append(files, p)
			continue
		}
		snap, err := load(p, opts)
		if refusal := (*gitverify.RefusalError)(nil); errors.As(err, &refusal) {
			rep.Errors = append(rep.Errors, Error{File: p, Message: err.Error()})
			continue
		}
		if err != nil {
			unreadable(p, err)
			continue
		}
		snaps = append(snaps, snap)
	}
	if len(files) > 0 {
		snaps = append(snaps, spec.LoadFiles(files, opts))
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

func (r *Report) add(snap *spec.Snapshot, checks []Check) {
	first := len(r.Files)
	byPath := map[string]int{}
	for _, f := range snap.Files {
		vf := File{Path: f.Path, Specs: f.Names, Errors: []Error{}}
		if vf.Specs == nil {
			vf.Specs = []string{}
		}
		for _, e := range spec.Errors(f.Err) {
			vf.Errors = append(vf.Errors, toError(e))
		}
		byPath[f.Path] = len(r.Files)
		r.Files = append(r.Files, vf)
	}
	r.Summary.Specs += len(snap.Specs)
	for _, c := range snap.Conflicts {
		r.Conflicts = append(r.Conflicts, Conflict{Name: c.Name, File: c.Loser.File, Line: c.Loser.Line, Column: c.Loser.Column, Winner: c.Winner,
			Message: fmt.Sprintf("name %q is already used by %s:%d; this spec is ignored until one of them is renamed", c.Name, c.Winner.File, c.Winner.Line)})
	}
	for _, check := range checks {
		for _, e := range check(snap) {
			if i, ok := byPath[e.File]; ok {
				r.Files[i].Errors = append(r.Files[i].Errors, toError(e))
			} else {
				ve := toError(e)
				ve.File = e.File
				r.Errors = append(r.Errors, ve)
			}
		}
	}
	for i := first; i < len(r.Files); i++ {
		slices.SortStableFunc(r.Files[i].Errors, func(a, b Error) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
		})
	}
}

func toError(e *spec.Error) Error {
	return Error{Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Message}
}

// WriteText writes one "file:line:col: field.path: message" line per
// problem, by file and position, conflicts on the spec that lost: the
// lines GitHub, GitLab and most editors turn into annotations.
func (r *Report) WriteText(w io.Writer) {
	var lines []Error
	for _, f := range r.Files {
		for _, e := range f.Errors {
			e.File = f.Path
			lines = append(lines, e)
		}
	}
	for _, c := range r.Conflicts {
		lines = append(lines, Error{File: c.File, Line: c.Line, Column: c.Column, Field: "metadata.name", Message: c.Message})
	}
	lines = append(lines, r.Errors...)
	slices.SortStableFunc(lines, func(a, b Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	for _, e := range lines {
		se := spec.Error{File: e.File, Line: e.Line, Column: e.Column, Field: e.Field, Message: e.Message}
		fmt.Fprintln(w, se.Error())
	}
}
