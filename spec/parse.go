package spec

import (
	"fmt"
	"reflect"
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
	var cs []*Container
	err := DecodeFile(file, data, func(doc *Document) {
		c := &Container{}
		line, col := doc.Start()
		c.Source = Source{File: file, Line: line, Column: col}
		if doc.Decode(c, containerKind) {
			validate(doc, c)
		}
		cs = append(cs, c)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range cs {
		ApplyDefaults(c)
	}
	return cs, nil
}

// containerKind is how spec files hold their documents.
var containerKind = Kind{
	Name:       KindContainer,
	NotMapping: "a spec document must be a mapping with apiVersion, kind, metadata and spec, not %s",
	Elsewhere: map[string]string{
		"Policy": "a Policy belongs in the agent's --policy file, not in the spec folder; move this document there",
	},
	Unsupported: "%q is not supported; isoagent spec files hold kind: " + KindContainer + " documents",
	ShortForms: map[reflect.Type]func(string) string{
		reflect.TypeFor[Port](): func(v string) string {
			return fmt.Sprintf(" such as {hostPort: 8080, containerPort: 80}, not the short form %q", v)
		},
		reflect.TypeFor[Mount](): func(v string) string {
			return fmt.Sprintf(` such as {hostPath: 'D:\data', containerPath: 'C:\data', readOnly: true}, not the short form %q`, v)
		},
		reflect.TypeFor[Pipe](): func(v string) string {
			return fmt.Sprintf(` such as {hostPipe: '\\.\pipe\name', containerPipe: '\\.\pipe\name'}, not the short form %q`, v)
		},
		reflect.TypeFor[Device](): func(v string) string { return fmt.Sprintf(" such as {classGUID: %s}", v) },
	},
}
