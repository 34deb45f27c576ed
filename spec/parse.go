package spec

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Parse decodes, validates and defaults the container specs in data, the
// content of the spec file named file (used in errors and Source; it is
// not read). Documents are separated by "---"; empty ones are skipped.
//
// A file is valid or invalid as a whole. If any document has a problem,
// Parse returns no containers and an error that is a *multierror.Error of
// *Error, one per problem, sorted by position (see Errors to list them).
// Otherwise it returns one Container per document, in file order, with
// paths, pipes and GUIDs normalised and ApplyDefaults applied; two
// documents may share a name (the Loader resolves that).
func Parse(file string, data []byte) ([]*Container, error) {
	docs, errs := decodeFile(file, data)
	for _, d := range docs {
		if d.decoded {
			errs = append(errs, d.positioned(file, validate(d.c), d.errs)...)
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	cs := make([]*Container, len(docs))
	for i, d := range docs {
		ApplyDefaults(d.c)
		cs[i] = d.c
	}
	return cs, nil
}

// positioned gives validation problems the position of the field they are
// about, or of its nearest written parent when the field is missing. A
// problem is dropped when decoding already reported one for the same field
// or a parent of it (a wrong type leaves a zero value that validation
// would report again), or when an unknown key next to it was suggested as
// its spelling ("hostpath; did you mean hostPath?" makes "hostPath is
// required" noise).
func (d document) positioned(file string, fes []fieldError, decodeErrs []*Error) []*Error {
	if len(fes) == 0 {
		return nil
	}
	reported := make(map[string]bool, len(decodeErrs))
	for _, e := range decodeErrs {
		if e.Field != "" {
			reported[e.Field] = true
		}
	}
	var out []*Error
	for _, fe := range fes {
		if d.reported(fe.path, reported) {
			continue
		}
		n := d.nodeFor(fe.path)
		out = append(out, &Error{File: file, Line: n.Line, Column: n.Column, Field: fe.path, Message: fe.msg})
	}
	return out
}

// reported reports whether path, or a parent of it, is among the fields
// decoding reported, or was suggested as a misspelling. It costs the depth
// of path, so that reporting stays linear in the number of problems.
func (d document) reported(path string, fields map[string]bool) bool {
	if d.suggested[path] {
		return true
	}
	for p := path; p != ""; p = parentPath(p) {
		if fields[p] {
			return true
		}
	}
	return false
}

func (d document) nodeFor(path string) *yaml.Node {
	for {
		if n, ok := d.nodes[path]; ok {
			return n
		}
		if path == "" {
			return d.root
		}
		path = parentPath(path)
	}
}

// parentPath strips the last element of a field path: a.b[2] → a.b,
// a.b → a, a → "".
func parentPath(p string) string {
	if strings.HasSuffix(p, "]") {
		if i := strings.LastIndexByte(p, '['); i >= 0 {
			return p[:i]
		}
	}
	if i := strings.LastIndexByte(p, '.'); i >= 0 {
		return p[:i]
	}
	return ""
}
