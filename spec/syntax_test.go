package spec

import (
	"strings"
	"testing"
)

// YAML syntax errors are at the line of the fault, where yaml.v3 names
// the line before for its parser's problems, or none on the first line
// (go-yaml/yaml#205). yaml.v3 tells no column; LocateSyntax adds it.
func TestSyntaxErrorLines(t *testing.T) {
	head := doc() // six lines
	tests := []struct {
		name string
		data string
		line int
		msg  string
	}{
		{"first line, scanner", "apiVersion: isoagent/v1: x\nkind: Container\n", 1, "mapping values are not allowed"},
		{"first line, reserved character", "@apiVersion: isoagent/v1\n", 1, "cannot start any token"},
		{"first line, flow mapping", "{apiVersion: isoagent/v1, kind: [Container}\n", 1, "did not find expected ',' or ']'"},
		{"last line, reserved character", head + "  user: @admin\n", 7, "cannot start any token"},
		{"last line, unclosed list", head + "  command: [cmd, /c\n", 7, "did not find expected ',' or ']'"},
		{"last line, unclosed list, no line break", head + "  command: [cmd, /c", 7, "did not find expected ',' or ']'"},
		{"inside a flow mapping", head + "  env: {A: 1, B: 2,, C: 3}\n  user: ContainerUser\n", 7, "did not find expected node content"},
		{"flow mapping left open", head + "  env: {MODE: fast\n  user: ContainerUser\n", 7, "did not find expected ',' or '}'"},
		{"key left of the mapping", head + "  user: a\n bad: 1\n", 8, "did not find expected key"},
		{"indentation", head + "  user: a\n   workingDir: C:\\app\n", 8, "mapping values are not allowed"},
		{"tab indentation", "apiVersion: isoagent/v1\n\tkind: Container\n", 2, "tab character"},
		{"second document", head + "---\n" + head + "  user: [\n", 14, "did not find expected node content"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.data))
			errs := Errors(err)
			if len(errs) != 1 {
				t.Fatalf("Parse = %v, want one syntax error", err)
			}
			e := errs[0]
			if e.Line != tt.line || e.Column != 0 {
				t.Errorf("at %d:%d, want line %d: %s", e.Line, e.Column, tt.line, e)
			}
			if want := "invalid YAML: "; !strings.HasPrefix(e.Message, want) || !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q, want %q and %q", e.Message, want, tt.msg)
			}
		})
	}
}

// A reader's error (an encoding, a control character) has no line from
// yaml.v3, and is given none rather than a wrong one.
func TestSyntaxErrorOfReaderHasNoLine(t *testing.T) {
	_, err := Parse("f.yaml", []byte(doc()+"  user: a\x01b\n"))
	errs := Errors(err)
	if len(errs) != 1 || errs[0].Line != 0 || !strings.Contains(errs[0].Message, "control characters") {
		t.Fatalf("Parse = %v, want one control-character error without a line", err)
	}
}

// LocateSyntax takes the locator's position only where it does not
// contradict yaml.v3: not before yaml.v3's line, not past the file.
func TestLocateSyntax(t *testing.T) {
	data := []byte(doc() + "  env: {MODE: fast\n  user: ContainerUser\n") // yaml.v3: line 7
	at := func(line, col int, ok bool) SyntaxLocator {
		return func([]byte) (int, int, string, bool) { return line, col, "found it", ok }
	}
	tests := []struct {
		name   string
		locate SyntaxLocator
		want   string
	}{
		{"taken", at(8, 3, true), "f.yaml:8:3: invalid YAML: found it"},
		{"on yaml.v3's line", at(7, 8, true), "f.yaml:7:8: invalid YAML: found it"},
		{"before yaml.v3's line", at(6, 1, true), "f.yaml:7: invalid YAML: did not find expected ',' or '}'"},
		{"past the file", at(9, 1, true), "f.yaml:7: invalid YAML: did not find expected ',' or '}'"},
		{"none found", at(0, 0, false), "f.yaml:7: invalid YAML: did not find expected ',' or '}'"},
		{"no locator", nil, "f.yaml:7: invalid YAML: did not find expected ',' or '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", data)
			if got := LocateSyntax(err, data, tt.locate); got == nil || got.Error() != tt.want {
				t.Errorf("LocateSyntax = %v, want %s", got, tt.want)
			}
		})
	}
	// Problems that are not YAML syntax are left alone.
	bad := []byte(doc("frobnicate: 1"))
	_, err := Parse("f.yaml", bad)
	if got := LocateSyntax(err, bad, at(1, 1, true)); got.Error() != err.Error() {
		t.Errorf("LocateSyntax moved a schema problem: %v, was %v", got, err)
	}
}
