package validate

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/spec"
)

// Dependencies are resolved over the whole folder: a name declared in
// another file is fine; an unknown name and a cycle are problems at the
// dependency's own line and column, with its field path.
func TestAdmissionDependsOnAcrossTheFolder(t *testing.T) {
	const img = "mcr.microsoft.com/windows/servercore:ltsc2022"
	type file struct{ file, name string }
	type want struct{ file, field, msg string } // at line 7, column 22 of file (the name)
	tests := []struct {
		name  string
		specs map[file][]string
		wants []want
	}{
		{"a dependency in another file", map[file][]string{
			{"app.yaml", "app"}: {"dependsOn: [{name: db}]"},
			{"db.yaml", "db"}:   nil,
		}, nil},
		{"an unknown name", map[file][]string{
			{"app.yaml", "app"}: {"dependsOn: [{name: dbb}]"},
			{"db.yaml", "db"}:   nil,
		}, []want{{"app.yaml", "spec.dependsOn[0].name", `no spec of the folder is named "dbb"`}}},
		{"a cycle across files", map[file][]string{
			{"a.yaml", "a"}: {"dependsOn: [{name: b}]"},
			{"b.yaml", "b"}: {"dependsOn: [{name: c, condition: completed}]"},
			{"c.yaml", "c"}: {"dependsOn: [{name: a}]"},
		}, []want{
			{"a.yaml", "spec.dependsOn[0].name", "cycle, a -> b -> c -> a"},
			{"b.yaml", "spec.dependsOn[0].name", "cycle, b -> c -> a -> b"},
			{"c.yaml", "spec.dependsOn[0].name", "cycle, c -> a -> b -> c"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for f, lines := range tt.specs {
				testutil.WriteSpec(t, dir, f.file, f.name, img, lines...)
			}
			snap, err := spec.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			for check, fn := range map[string]Check{"admission": Admission(ltsc2022, nil), "dependencies": Dependencies()} {
				got := fn(snap)
				if len(got) != len(tt.wants) {
					t.Fatalf("%s: problems %v, want %d: %+v", check, got, len(tt.wants), tt.wants)
				}
				for i, e := range got {
					w := tt.wants[i]
					if e.File != filepath.Join(dir, w.file) || e.Line != 7 || e.Column != 22 || e.Field != w.field || !strings.Contains(e.Message, w.msg) {
						t.Errorf("%s: problem %d: %s:%d:%d: %s: %s, want %s:7:22: %s: %q", check, i, e.File, e.Line, e.Column, e.Field, e.Message, w.file, w.field, w.msg)
					}
				}
			}
		})
	}
}
