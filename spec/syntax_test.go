package spec

import (
	"strings"
	"testing"
	"time"
)

// Syntax errors point at the fault's line and column, where yaml.v3 alone
// names the line before or none (go-yaml/yaml#205).
func TestSyntaxErrorPositions(t *testing.T) {
	head := "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: mcr.microsoft.com/windows/nanoserver:ltsc2022\n"
	tests := []struct {
		name      string
		data      string
		line, col int
		msg       string
	}{
		// The value that cannot hold a mapping.
		{"first line", "apiVersion: isoagent/v1: x\nkind: Container\n", 1, 13, "mapping value is not allowed"},
		{"first line, reserved character", "@apiVersion: isoagent/v1\n", 1, 1, "reserved character"},
		{"last line", head + "  user: @admin\n", 7, 9, "reserved character"},
		{"last line, unclosed list", head + "  command: [cmd, /c\n", 7, 12, "']' not found"},
		{"inside a flow mapping", head + "  env: {A: 1, B: 2,, C: 3}\n  user: ContainerUser\n", 7, 20, ""},
		{"flow mapping left open", head + "  env: {MODE: fast\n  user: ContainerUser\n", 8, 3, "',' or '}'"},
		// Where goccy/go-yaml reads on, yaml.v3's line stands (a scanner
		// error: its line is right), without a column.
		{"indentation", head + "  user: a\n   workingDir: C:\\app\n", 8, 0, "mapping values are not allowed"},
		{"tab indentation", "apiVersion: isoagent/v1\n\tkind: Container\n", 2, 1, ""},
		{"second document", head + "---\n" + head + "  user: [\n", 14, 9, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.data))
			errs := Errors(err)
			if len(errs) != 1 {
				t.Fatalf("Parse = %v, want one syntax error", err)
			}
			e := errs[0]
			if e.Line != tt.line || e.Column != tt.col {
				t.Errorf("at %d:%d, want %d:%d: %s", e.Line, e.Column, tt.line, tt.col, e)
			}
			if !strings.HasPrefix(e.Message, "invalid YAML: ") {
				t.Errorf("message %q does not start with %q", e.Message, "invalid YAML: ")
			}
			if !strings.Contains(e.Message, tt.msg) {
				t.Errorf("message %q lacks %q", e.Message, tt.msg)
			}
		})
	}
}

// A hostile file is refused as fast as yaml.v3 refuses it: the second
// parse, whose time grows with the square of the nesting, is skipped.
func TestSyntaxErrorOfDeepNestingIsFast(t *testing.T) {
	for _, data := range []string{strings.Repeat("[", 100_000), "a: " + strings.Repeat("{b: ", 20_000)} {
		start := time.Now()
		_, err := Parse("f.yaml", []byte(data))
		if errs := Errors(err); len(errs) != 1 || !strings.Contains(errs[0].Message, "invalid YAML") {
			t.Errorf("Parse of %.10q... = %v, want one syntax error", data, err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Parse of %.10q... took %v", data, d)
		}
	}
}
