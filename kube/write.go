package kube

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// Marshal returns o as one YAML document: its comment and notes as YAML
// comments, then the object. Fields Kubernetes fills in (an empty status,
// a null creationTimestamp) are left out.
func Marshal(o Object) ([]byte, error) {
	var b bytes.Buffer
	for _, c := range o.Specs {
		fmt.Fprintf(&b, "# From spec %s (%s:%d).\n", c.Name(), filepath.ToSlash(c.Source.File), c.Source.Line)
	}
	if o.Comment != "" {
		comment(&b, o.Comment)
	}
	for _, n := range o.Notes {
		msg := n.Spec + ": "
		if n.Field != "" {
			msg += n.Field + ": "
		}
		comment(&b, "NOTE "+msg+n.Message)
	}
	data, err := json.Marshal(o.Object)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.Kind(), o.Name(), err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.Kind(), o.Name(), err)
	}
	prune(m)
	y, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", o.Kind(), o.Name(), err)
	}
	b.Write(y)
	return b.Bytes(), nil
}

// comment writes s as YAML comment lines, wrapped near 100 columns.
func comment(b *bytes.Buffer, s string) {
	line := "#"
	for _, w := range strings.Fields(s) {
		if len(line)+1+len(w) > 100 && line != "#" {
			b.WriteString(line + "\n")
			line = "#  "
		}
		line += " " + w
	}
	b.WriteString(line + "\n")
}

// prune drops the null and empty-object fields the typed API writes for
// what the server fills in (status: {}, creationTimestamp: null,
// resources: {}), everywhere in m.
func prune(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			prune(x)
			if len(x) == 0 {
				delete(m, k)
			}
		case []any:
			for _, e := range x {
				if em, ok := e.(map[string]any); ok {
					prune(em)
				}
			}
		}
	}
}

// Write writes objs to w as a multi-document YAML stream.
func Write(w io.Writer, objs []Object) error {
	var b bytes.Buffer
	for i, o := range objs {
		if i > 0 {
			b.WriteString("---\n")
		}
		doc, err := Marshal(o)
		if err != nil {
			return err
		}
		b.Write(doc)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// FileName is the file WriteDir writes o to: kind-name.yaml, in lower
// case.
func FileName(o Object) string {
	return strings.ToLower(o.Kind()) + "-" + o.Name() + ".yaml"
}

// WriteDir writes each object to a file of its own in dir (see FileName),
// creating dir. Files of earlier exports that no object has now are left
// alone.
func WriteDir(dir string, objs []Object) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, o := range objs {
		doc, err := Marshal(o)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, FileName(o)), doc, 0o644); err != nil {
			return err
		}
	}
	return nil
}
