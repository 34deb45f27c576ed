package yamlpos_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/spec/yamlpos"
)

var _ spec.SyntaxLocator = yamlpos.Locate

const head = "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: mcr.microsoft.com/windows/nanoserver:ltsc2022\n"

// A folder loaded with Locate reports syntax errors at the fault's line
// and column; where goccy/go-yaml reads on or places the fault before
// yaml.v3's line, yaml.v3's line stands, without a column.
func TestLoaderLocatesSyntaxErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string // the problem, after the file's name
	}{
		{"first line", "apiVersion: isoagent/v1: x\nkind: Container\n", ":1:13: invalid YAML: mapping value is not allowed in this context"},
		{"first line, reserved character", "@apiVersion: isoagent/v1\n", ":1:1: invalid YAML: '@' is a reserved character"},
		{"last line", head + "  user: @admin\n", ":7:9: invalid YAML: '@' is a reserved character"},
		{"last line, unclosed list", head + "  command: [cmd, /c\n", ":7:12: invalid YAML: sequence end token ']' not found"},
		{"inside a flow mapping", head + "  env: {A: 1, B: 2,, C: 3}\n  user: ContainerUser\n", ":7:20: invalid YAML: could not find flow map content"},
		{"flow mapping left open", head + "  env: {MODE: fast\n  user: ContainerUser\n", ":8:3: invalid YAML: ',' or '}' must be specified"},
		{"second document", head + "---\n" + head + "  user: [\n", ":14:9: invalid YAML: sequence end token ']' not found"},
		// goccy/go-yaml places it on line 7, before yaml.v3's scanner.
		{"indentation", head + "  user: a\n   workingDir: C:\\app\n", ":8: invalid YAML: mapping values are not allowed in this context"},
		// goccy/go-yaml reads this one.
		{"flow mapping without a comma", head + "  env: {A: 1 B: 2 : 3}\n", ":7: invalid YAML: did not find expected ',' or '}'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "web.yaml")
			if err := os.WriteFile(file, []byte(tt.data), 0o644); err != nil {
				t.Fatal(err)
			}
			snap, err := spec.NewLoader(dir, spec.LoaderOptions{LocateSyntax: yamlpos.Locate}).Load()
			if err != nil {
				t.Fatal(err)
			}
			if len(snap.Files) != 1 {
				t.Fatalf("files %+v, want one", snap.Files)
			}
			got := snap.Files[0].Err
			if got == nil || got.Error() != file+tt.want {
				t.Errorf("problem %v, want %s", got, file+tt.want)
			}
		})
	}
}

// A hostile file is refused as fast as yaml.v3 refuses it: the second
// parse, whose time grows with the square of the nesting, is skipped.
func TestLocateSkipsDeepNesting(t *testing.T) {
	for _, data := range []string{strings.Repeat("[", 100_000), "a: " + strings.Repeat("{b: ", 20_000)} {
		start := time.Now()
		if _, _, _, ok := yamlpos.Locate([]byte(data)); ok {
			t.Errorf("Locate(%.10q...) found a position past its bounds", data)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("Locate(%.10q...) took %v", data, d)
		}
	}
}
