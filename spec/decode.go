package spec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Bounds of the work one file can cause. Alias bombs ("billion laughs")
// fail fast instead of exhausting memory; a file of many small documents
// is refused past a number that no host runs; the problems reported of
// one file are capped, so that a status stays readable.
const (
	maxNodesPerDocument = 100_000
	maxNodesPerFile     = 1_000_000
	maxDocumentsPerFile = 1_000
	maxErrorsPerFile    = 100
)

// document is one decoded YAML document of a spec file.
type document struct {
	c     *Container
	nodes map[string]*yaml.Node // field path → node of its value
	root  *yaml.Node
	// errs are the problems decoding found in this document.
	errs []*Error
	// suggested holds the field paths an unknown key was taken to be a
	// misspelling of.
	suggested map[string]bool
	// decoded is false when the document was not decoded as a Container
	// at all (not a mapping, another kind): validating it would only add
	// noise.
	decoded bool
}

// decoder walks the yaml.Node tree of one document into a Container,
// checking keys and types strictly and remembering where every field was
// written, so later validation can point at it.
type decoder struct {
	file      string
	errs      []*Error
	nodes     map[string]*yaml.Node
	suggested map[string]bool
	budget    int // values the document may still expand to
	limit     int // what budget started at
}

// decodeFile splits data into documents and decodes each non-empty one.
func decodeFile(file string, data []byte) ([]document, []*Error) {
	var docs []document
	errs := eachDocument(file, data, func(body *yaml.Node, d *decoder) {
		c := &Container{}
		c.Source = Source{File: file, Line: body.Line, Column: body.Column}
		decoded := d.decodeDocument(body, c)
		docs = append(docs, document{c: c, nodes: d.nodes, root: body, errs: d.errs, suggested: d.suggested, decoded: decoded})
	})
	return docs, errs
}

// eachDocument calls fn with the body of each non-empty YAML document in
// data and a fresh decoder for it, and returns the syntax errors and
// every decoder's errors, in order. Spec files and the policy file share
// it, so both are read the same strict way. Syntax errors end the file:
// YAML cannot resynchronise after them.
func eachDocument(file string, data []byte, fn func(body *yaml.Node, d *decoder)) []*Error {
	var errs []*Error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	left := maxNodesPerFile
	for n := 0; ; n++ {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, syntaxError(file, err))
			break
		}
		if n == maxDocumentsPerFile {
			errs = append(errs, &Error{File: file, Line: root.Line, Column: root.Column,
				Message: fmt.Sprintf("more than %d documents in one file; split it into several files", maxDocumentsPerFile), limit: true})
			break
		}
		if isEmptyDocument(&root) {
			continue
		}
		if tagged := explicitTags(file, &root); len(tagged) > 0 {
			// Not decoded: a tag changes what a value means.
			errs = append(errs, tagged...)
			continue
		}
		if left == 0 {
			errs = append(errs, &Error{File: file, Line: root.Line, Column: root.Column,
				Message: fmt.Sprintf("the file expands more than %d values in all; split it into several files", maxNodesPerFile), limit: true})
			break
		}
		budget := min(maxNodesPerDocument, left)
		d := &decoder{file: file, nodes: map[string]*yaml.Node{}, suggested: map[string]bool{}, budget: budget, limit: budget}
		body := &root
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			body = root.Content[0]
		}
		fn(body, d)
		errs = append(errs, d.errs...)
		left -= budget - max(d.budget, 0)
	}
	return errs
}

// explicitTags reports every node of the tree at root written with an
// explicit tag (!!int abc, !foo, !!python/object:...): isoagent gives
// every field one type, and a tag would only make a value mean something
// else than it reads as.
func explicitTags(file string, root *yaml.Node) []*Error {
	var errs []*Error
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n.Style&yaml.TaggedStyle != 0 {
			errs = append(errs, &Error{File: file, Line: n.Line, Column: n.Column,
				Message: fmt.Sprintf("explicit YAML tags are not allowed (%s); remove it and write the value plainly, or quoted for a string", n.Tag)})
		}
		if n.Kind != yaml.AliasNode {
			stack = append(stack, n.Content...)
		}
	}
	return errs
}

func isEmptyDocument(n *yaml.Node) bool {
	if n.Kind == 0 {
		return true
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return true
		}
		n = n.Content[0]
	}
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxError turns a yaml.v3 parse error ("yaml: line 3: ...") into an
// *Error with the line. yaml.v3 does not report the column of syntax errors.
func syntaxError(file string, err error) *Error {
	msg := err.Error()
	e := &Error{File: file}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Message = "invalid YAML: " + msg
	return e
}

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// decodeDocument decodes the top level. When kind names something other
// than a Container, the rest of the document is not checked against the
// Container schema: those errors would only bury the one that matters.
func (d *decoder) decodeDocument(n *yaml.Node, c *Container) bool {
	n = d.resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "a spec document must be a mapping with apiVersion, kind, metadata and spec, not %s", kindName(n))
		return false
	}
	d.nodes[""] = n
	if k := d.lookup(n, "kind"); k != nil && k.Kind == yaml.ScalarNode && k.Value != KindContainer {
		d.nodes["kind"] = k
		switch k.Value {
		case "Policy":
			d.errorf(k, "kind", "a Policy belongs in the agent's --policy file, not in the spec folder; move this document there")
		default:
			d.errorf(k, "kind", "%q is not supported; isoagent spec files hold kind: %s documents", k.Value, KindContainer)
		}
		return false
	}
	d.decodeValue(n, reflect.ValueOf(c).Elem(), "")
	return true
}

// lookup returns the value of key in mapping n, or nil.
func (d *decoder) lookup(n *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return d.resolve(n.Content[i+1])
		}
	}
	return nil
}

// resolve follows aliases and charges the node against the budget; it
// returns nil once the budget is spent (after reporting that once).
func (d *decoder) resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if d.budget <= 0 {
		return nil
	}
	d.budget--
	if d.budget == 0 {
		d.errorf(n, "", "document is too large or expands too many aliases (more than %d values); split it", d.limit)
		return nil
	}
	return n
}

// deref follows aliases without charging the budget, for peeking.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// kindName describes n for "must be X, not <kindName>" messages.
func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "an empty value"
		case "!!str":
			return "the string " + strconv.Quote(n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return n.Value
		}
		return strconv.Quote(n.Value)
	}
	return "a document"
}

var (
	durationType = reflect.TypeFor[Duration]()
	sourceType   = reflect.TypeFor[Source]()
)

// decodeValue decodes n into v, which has the field path path.
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	n = d.resolve(n)
	if n == nil {
		return
	}
	d.nodes[path] = n
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value leaves the field unset
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "must be a string, not %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Int:
		d.decodeInt(n, v, path)
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
			d.errorf(n, path, "must be true or false, not %s", kindName(n))
			return
		}
		v.SetBool(b)
	default:
		panic(fmt.Sprintf("spec: no decoder for %s", v.Type()))
	}
}

var rangeRE = regexp.MustCompile(`^\s*\d+\s*-\s*\d+\s*$`)

func (d *decoder) decodeInt(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind == yaml.ScalarNode && rangeRE.MatchString(n.Value) {
		if strings.Contains(path, "ports[") {
			d.errorf(n, path, "port ranges are not supported; map each port with its own entry")
		} else {
			d.errorf(n, path, "ranges are not supported; give a single whole number")
		}
		return
	}
	var i int64
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		hint := ""
		if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
			if _, err := strconv.Atoi(n.Value); err == nil {
				hint = "; remove the quotes"
			}
		}
		d.errorf(n, path, "must be a whole number, not %s%s", kindName(n), hint)
		return
	}
	if i < -1<<31 || i > 1<<31-1 {
		d.errorf(n, path, "%d is out of range", i)
		return
	}
	v.SetInt(i)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, path, "must be a duration such as 10s, not %s", kindName(n))
		return
	}
	dur, err := parseDuration(n.Value)
	if err != nil {
		d.errorf(n, path, "%v", err)
		return
	}
	v.Set(reflect.ValueOf(dur))
}

// pairs returns the key/value pairs of mapping n, with YAML merge keys
// (<<: *anchor) expanded: keys written in n win over merged ones.
func (d *decoder) pairs(n *yaml.Node, path string) [][2]*yaml.Node {
	var own, merged [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Tag != "!!merge" {
			own = append(own, [2]*yaml.Node{k, val})
			continue
		}
		src := d.resolve(val)
		if src == nil {
			continue
		}
		var sources []*yaml.Node
		switch src.Kind {
		case yaml.MappingNode:
			sources = []*yaml.Node{src}
		case yaml.SequenceNode:
			for _, s := range src.Content {
				if s = d.resolve(s); s != nil {
					sources = append(sources, s)
				}
			}
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				d.errorf(s, path, "a merge key (<<) must refer to a mapping")
				continue
			}
			merged = append(merged, d.pairs(s, path)...)
		}
	}
	seen := map[string]bool{}
	for _, p := range own {
		seen[p[0].Value] = true
	}
	for _, p := range merged {
		if !seen[p[0].Value] {
			seen[p[0].Value] = true
			own = append(own, p)
		}
	}
	return own
}

// uniquePairs returns the key-value pairs of mapping n, merge keys
// expanded, whose keys are plain strings written once, and reports every
// other key; noun names the keys in that report ("field names").
func (d *decoder) uniquePairs(n *yaml.Node, path, noun string) [][2]*yaml.Node {
	var out [][2]*yaml.Node
	firstAt := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, path) {
		k := p[0]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, path, "%s must be plain strings, not %s", noun, kindName(k))
			continue
		}
		if prev, ok := firstAt[k.Value]; ok {
			d.errorf(k, joinPath(path, k.Value), "written twice (first on line %d); keep one", prev.Line)
			continue
		}
		firstAt[k.Value] = k
		out = append(out, p)
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping of fields, not %s", kindName(n))
		return
	}
	fields, names := structFields(v.Type())
	for _, p := range d.uniquePairs(n, path, "field names") {
		k, val := p[0], p[1]
		fpath := joinPath(path, k.Value)
		idx, ok := fields[k.Value]
		if !ok {
			if reason, ok := typeKeyReasons[v.Type()][k.Value]; ok {
				d.errorf(k, fpath, "%s", reason)
				continue
			}
			msg, suggestion := unknownKeyMessage(k.Value, names)
			if suggestion != "" {
				d.suggested[strings.TrimPrefix(path+"."+suggestion, ".")] = true
			}
			d.errorf(k, fpath, "%s", msg)
			continue
		}
		d.decodeValue(val, v.Field(idx), fpath)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		hint := ""
		if v.Type().Elem().Kind() == reflect.String && n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(`; write [%q]`, n.Value)
		}
		d.errorf(n, path, "must be a list, not %s%s", kindName(n), hint)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if r := deref(item); r.Kind == yaml.ScalarNode && r.Tag != "!!null" && s.Type().Elem().Kind() == reflect.Struct {
			d.errorf(r, ipath, "must be a mapping%s", shortFormHint(v.Type().Elem(), r.Value))
			continue
		}
		d.decodeValue(item, s.Index(i), ipath)
	}
	v.Set(s)
}

// shortFormHint explains how to write an entry given in Docker's short
// string form ("8080:80", 'D:\data:C:\data:ro') as a mapping.
func shortFormHint(t reflect.Type, value string) string {
	switch t {
	case reflect.TypeFor[Port]():
		return fmt.Sprintf(" such as {hostPort: 8080, containerPort: 80}, not the short form %q", value)
	case reflect.TypeFor[Mount]():
		return fmt.Sprintf(` such as {hostPath: 'D:\data', containerPath: 'C:\data', readOnly: true}, not the short form %q`, value)
	case reflect.TypeFor[Pipe]():
		return fmt.Sprintf(` such as {hostPipe: '\\.\pipe\name', containerPipe: '\\.\pipe\name'}, not the short form %q`, value)
	case reflect.TypeFor[Device]():
		return fmt.Sprintf(" such as {classGUID: %s}", value)
	case reflect.TypeFor[MountRule]():
		return fmt.Sprintf(" such as {path: %s, readOnly: true}", QuoteYAML(value))
	}
	return ""
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.errorf(n, path, "must be a mapping of names to strings, not %s", kindName(n))
		return
	}
	m := reflect.MakeMap(v.Type())
	for _, p := range d.uniquePairs(n, path, "names") {
		k, val := p[0], p[1]
		kpath := joinPath(path, k.Value)
		r := d.resolve(val)
		if r == nil {
			continue
		}
		d.nodes[kpath] = r
		if r.Kind != yaml.ScalarNode || r.Tag == "!!null" {
			d.errorf(r, kpath, `must be a string, not %s; write "" for an empty value`, kindName(r))
			continue
		}
		m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(r.Value))
	}
	v.Set(m)
}

// typeKeyReasons explains keys that make sense elsewhere but not in one
// particular mapping.
var typeKeyReasons = map[reflect.Type]map[string]string{
	reflect.TypeFor[Pipe](): {
		"readOnly":  "a named pipe cannot be mapped read-only (the pipe's server decides what clients may do); remove readOnly",
		"read_only": "a named pipe cannot be mapped read-only (the pipe's server decides what clients may do); remove read_only",
	},
}

// structFields maps the yaml names of t's fields to their indexes, and
// lists the names for suggestions.
func structFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" || name == "" || f.Type == sourceType {
			continue
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

// simpleKeyRE matches map keys that read well in a dotted field path.
var simpleKeyRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// joinPath appends key to a field path: spec + image = spec.image; keys that
// would be ambiguous after a dot are quoted: spec.env["A.B"].
func joinPath(path, key string) string {
	if !simpleKeyRE.MatchString(key) {
		return path + "[" + strconv.Quote(key) + "]"
	}
	if path == "" {
		return key
	}
	return path + "." + key
}
