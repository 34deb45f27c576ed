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
			errs = append(errs, d.positioned(file, validate(d.c), errs)...)
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
	var out []*Error
	for _, fe := range fes {
		if d.reported(fe.path, decodeErrs) {
			continue
		}
		n := d.nodeFor(fe.path)
		out = append(out, &Error{File: file, Line: n.Line, Column: n.Column, Field: fe.path, Message: fe.msg})
	}
	return out
}

func (d document) reported(path string, decodeErrs []*Error) bool {
	if d.suggested[path] {
		return true
	}
	for _, e := range decodeErrs {
		if e.Field == "" {
			continue
		}
		if path == e.Field || strings.HasPrefix(path, e.Field+".") || strings.HasPrefix(path, e.Field+"[") {
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
