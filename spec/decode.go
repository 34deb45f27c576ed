package spec

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"slices"
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

// decoder walks the yaml.Node tree of one document into a Go value,
// checking keys and types strictly and remembering where every field was
// written, so later validation can point at it.
type decoder struct {
	file  string
	errs  []*Error
	nodes map[string]*yaml.Node // field path → node of its value
	// texts holds the text written for fields whose type parses itself
	// (see isText), by field path, for validation to parse.
	texts map[string]string
	// suggested holds the field paths an unknown key was taken to be a
	// misspelling of.
	suggested map[string]bool
	// listed holds, for the file, the line on which the known fields of
	// each struct type were listed, so that they are listed once.
	listed map[reflect.Type]int
	// shortForms are the Kind's hints for list entries written as scalars.
	shortForms map[reflect.Type]func(string) string
	budget     int // values the document may still expand to
	limit      int // what budget started at
}

// A Document is one non-empty YAML document of a file in the agent's YAML
// format (spec files, the policy file), as DecodeFile hands it to its
// caller: decode it with Decode, then validate what was decoded, reporting
// problems with Errorf.
type Document struct {
	d        *decoder
	body     *yaml.Node
	problems []fieldError
}

// fieldError is a validation problem before it is given a position.
type fieldError struct {
	path string
	msg  string
}

// DecodeFile reads data, the content of the file named file (used in
// errors; it is not read), as YAML documents separated by "---", and calls
// fn with each non-empty one, in order. Every file of the agent's format is
// read this way, so all are read alike: strictly, with file:line:col
// errors that say how to fix them.
//
// It returns nil, or every problem of the file as a *multierror.Error of
// *Error sorted by position (see Errors): YAML syntax errors (which end
// the file: YAML cannot resynchronise after them), what Document.Decode
// found, and what fn reported with Document.Errorf, positioned once every
// document is decoded.
func DecodeFile(file string, data []byte, fn func(*Document)) error {
	var errs []*Error
	var docs []*Document
	var syntax *Error
	dec := yaml.NewDecoder(bytes.NewReader(data))
	left := maxNodesPerFile
	listed := map[reflect.Type]int{}
	for n := 0; ; n++ {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			syntax = syntaxError(file, data, err)
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
		body := &root
		if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
			body = root.Content[0]
		}
		doc := &Document{
			d:    &decoder{file: file, nodes: map[string]*yaml.Node{}, texts: map[string]string{}, suggested: map[string]bool{}, listed: listed, budget: budget, limit: budget},
			body: body,
		}
		fn(doc)
		docs = append(docs, doc)
		errs = append(errs, doc.d.errs...)
		left -= budget - max(doc.d.budget, 0)
	}
	if syntax != nil {
		errs = append(errs, syntax)
	}
	for _, doc := range docs {
		errs = append(errs, doc.positioned()...)
	}
	return JoinErrors(errs)
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

// A Kind says which kind of document a file holds, for Document.Decode.
type Kind struct {
	// Name is the value of the kind field, such as "Container".
	Name string
	// NotMapping is the message for a document that is not a mapping; its
	// %s says what the document is instead ("a list").
	NotMapping string
	// Elsewhere explains, by kind, documents of other kinds that belong in
	// another file.
	Elsewhere map[string]string
	// Unsupported is the message for a document of any other kind; its %q
	// is that kind.
	Unsupported string
	// ShortForms explain, by the type of a list's entries, how to write an
	// entry that is a mapping but was given as a scalar: given the scalar,
	// the hint to append to "must be a mapping", such as
	// " such as {path: 'D:\data'}". Types without one get no hint.
	ShortForms map[reflect.Type]func(value string) string
}

// Start returns the line and column where the document's body starts.
func (doc *Document) Start() (line, column int) { return doc.body.Line, doc.body.Column }

// Decode decodes the document into v, a pointer to a struct whose fields
// carry yaml tags, strictly: unknown keys (with a "did you mean"), keys
// written twice, wrong types and values that do not fit are reported with
// their position and field path, and decoding goes on past them, so that
// one read finds every problem. YAML anchors, aliases and merge keys work;
// a document that expands to more than 100,000 values is refused.
//
// A field whose type parses itself from text (it implements
// encoding.TextUnmarshaler: winpath.Path, imageref.Ref, ...) is only
// checked to be a string: its text is kept (see Text) for validation to
// parse, so that parsing it is validation's one rule for that field and
// its message comes in validation's order.
//
// The kind field is looked at first: when the document is not a mapping
// or names another kind than k.Name, Decode reports that alone and returns
// false without decoding anything; checking the rest against v's fields
// would only bury the one problem that matters.
func (doc *Document) Decode(v any, k Kind) bool {
	d := doc.d
	d.shortForms = k.ShortForms
	n := d.resolve(doc.body)
	if n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", k.NotMapping, kindName(n))
		return false
	}
	d.nodes[""] = n
	if kn := d.lookup(n, "kind"); kn != nil && kn.Kind == yaml.ScalarNode && kn.Value != k.Name {
		d.nodes["kind"] = kn
		if msg, ok := k.Elsewhere[kn.Value]; ok {
			d.errorf(kn, "kind", "%s", msg)
		} else {
			d.errorf(kn, "kind", k.Unsupported, kn.Value)
		}
		return false
	}
	d.decodeValue(n, reflect.ValueOf(v).Elem(), "")
	return true
}

// Text returns the text written for the field at path (a field path as in
// errors: "mounts[0].path") when the field's type parses itself from text
// (see Decode), or "" when the field was not written or is empty.
func (doc *Document) Text(path string) string { return doc.d.texts[path] }

// Errorf reports a problem with the field at path that validation found
// after decoding. DecodeFile positions it at the field, or at its nearest
// written parent when the field is missing. It is left out when decoding
// already reported a problem with the same field or a parent of it (a
// wrong type leaves a zero value that validation would report again), or
// when an unknown key next to it was taken for a misspelling of it
// ("hostpath; did you mean hostPath?" makes "hostPath is required" noise).
// A path of "" is the document as a whole.
func (doc *Document) Errorf(path, format string, args ...any) {
	doc.problems = append(doc.problems, fieldError{path, fmt.Sprintf(format, args...)})
}

// CheckHeader reports a missing or unsupported apiVersion and a missing
// kind, the two fields every document of the agent's format starts with;
// Decode has checked which kind a written kind is.
func (doc *Document) CheckHeader(apiVersion, kind, wantKind string) {
	switch apiVersion {
	case APIVersion:
	case "":
		doc.Errorf("apiVersion", "is missing; add apiVersion: %s", APIVersion)
	default:
		doc.Errorf("apiVersion", "%q is not supported; write apiVersion: %s", apiVersion, APIVersion)
	}
	if kind == "" {
		doc.Errorf("kind", "is missing; add kind: %s", wantKind)
	}
}

// CheckEnum reports value, the field at path, unless it is empty or one of
// allowed, suggesting the closest allowed value; it returns whether the
// value is fine.
func (doc *Document) CheckEnum(path, value string, allowed ...string) bool {
	if value == "" || slices.Contains(allowed, value) {
		return true
	}
	hint := ""
	if s := closest(value, allowed); s != "" {
		hint = "; did you mean " + s + "?"
	}
	doc.Errorf(path, "%q is not one of %s%s", value, strings.Join(allowed, ", "), hint)
	return false
}

// positioned gives the document's validation problems the position of the
// field they are about, dropping those Errorf says it drops; decodeErrs
// are the file's decoding problems.
func (doc *Document) positioned() []*Error {
	if len(doc.problems) == 0 {
		return nil
	}
	reported := make(map[string]bool, len(doc.d.errs))
	for _, e := range doc.d.errs {
		if e.Field != "" {
			reported[e.Field] = true
		}
	}
	var out []*Error
	for _, fe := range doc.problems {
		if doc.reported(fe.path, reported) {
			continue
		}
		n := doc.nodeFor(fe.path)
		out = append(out, &Error{File: doc.d.file, Line: n.Line, Column: n.Column, Field: fe.path, Message: fe.msg})
	}
	return out
}

// reported reports whether path, or a parent of it, is among the fields
// decoding reported, or was suggested as a misspelling. It costs the depth
// of path, so that reporting stays linear in the number of problems.
func (doc *Document) reported(path string, fields map[string]bool) bool {
	if doc.d.suggested[path] {
		return true
	}
	for p := path; p != ""; p = parentPath(p) {
		if fields[p] {
			return true
		}
	}
	return false
}

func (doc *Document) nodeFor(path string) *yaml.Node {
	for {
		if n, ok := doc.d.nodes[path]; ok {
			return n
		}
		if path == "" {
			return doc.body
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

func (d *decoder) errorf(n *yaml.Node, field, format string, args ...any) {
	e := &Error{File: d.file, Field: field, Message: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line, e.Column = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
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
	durationType        = reflect.TypeFor[Duration]()
	sourceType          = reflect.TypeFor[Source]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// isText reports whether values of t parse themselves from text, so that
// YAML writes them as strings.
func isText(t reflect.Type) bool { return reflect.PointerTo(t).Implements(textUnmarshalerType) }

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
	if isText(v.Type()) {
		if n.Kind != yaml.ScalarNode {
			d.errorf(n, path, "must be a string, not %s", kindName(n))
			return
		}
		d.texts[path] = n.Value // parsed by validation, see Document.Decode
		return
	}
	if v.Type() == durationType {
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		// An optional field whose zero value means something (update.monitor 0s).
		p := reflect.New(v.Type().Elem())
		d.decodeValue(n, p.Elem(), path)
		v.Set(p)
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
			msg, suggestion, unknown := unknownKeyMessage(k.Value, names)
			if suggestion != "" {
				d.suggested[strings.TrimPrefix(path+"."+suggestion, ".")] = true
			}
			if unknown {
				msg += knownFieldsText(names, d.listed[v.Type()])
				if d.listed[v.Type()] == 0 {
					d.listed[v.Type()] = k.Line
				}
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
		if elem := v.Type().Elem(); (elem.Kind() == reflect.String || isText(elem)) && n.Kind == yaml.ScalarNode {
			hint = fmt.Sprintf(`; write [%q]`, n.Value)
		}
		d.errorf(n, path, "must be a list, not %s%s", kindName(n), hint)
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if r := deref(item); r.Kind == yaml.ScalarNode && r.Tag != "!!null" && s.Type().Elem().Kind() == reflect.Struct && !isText(s.Type().Elem()) {
			d.errorf(r, ipath, "must be a mapping%s", d.shortFormHint(v.Type().Elem(), r.Value))
			continue
		}
		d.decodeValue(item, s.Index(i), ipath)
	}
	v.Set(s)
}

// shortFormHint explains how to write a list entry of type t given as a
// scalar (Docker's short string form: "8080:80", 'D:\data:C:\data:ro') as
// a mapping, when the document's Kind knows how.
func (d *decoder) shortFormHint(t reflect.Type, value string) string {
	if hint, ok := d.shortForms[t]; ok {
		return hint(value)
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
	reflect.TypeFor[HealthCheck](): {
		"test":         "Compose's test is written here as exec, a list without CMD (exec: [curl, -f, http://localhost/]), or as tcp: {port: 80} or http: {port: 80, path: /}; remove test",
		"start_period": "this is startPeriod here; write startPeriod",
		"httpGet":      "this is http here; write http: {port: 80, path: /healthz}",
		"tcpSocket":    "this is tcp here; write tcp: {port: 80}",
	},
	reflect.TypeFor[Resources](): {
		"limits": "resources are limits already: write memoryMB, cpuCount or cpuMaximumPercent under resources, without limits",
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
