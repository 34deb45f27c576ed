package spec

import (
	"strings"
	"testing"
)

func TestDependsOnParses(t *testing.T) {
	c := parseOne(t, doc("dependsOn:", "  - name: db", "  - {name: migrate, condition: completed}"))
	got := c.Spec.DependsOn
	if len(got) != 2 {
		t.Fatalf("dependsOn = %+v, want 2 entries", got)
	}
	want := []struct {
		name      string
		cond      DependsCondition
		line, col int
	}{
		{"db", DependsStarted, 8, 13},
		{"migrate", DependsCompleted, 9, 14},
	}
	for i, w := range want {
		d := got[i]
		if d.Name != w.name || d.Condition != w.cond {
			t.Errorf("dependsOn[%d] = %s/%s, want %s/%s", i, d.Name, d.Condition, w.name, w.cond)
		}
		if d.Source != (Source{File: "web.yaml", Line: w.line, Column: w.col}) {
			t.Errorf("dependsOn[%d].Source = %+v, want web.yaml:%d:%d", i, d.Source, w.line, w.col)
		}
	}
}

func TestDependsOnRejects(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		wantField string
		wantMsg   string
	}{
		{"name missing", []string{"dependsOn: [{condition: started}]"}, "spec.dependsOn[0].name", "is required"},
		{"name invalid", []string{"dependsOn: [{name: DB_1}]"}, "spec.dependsOn[0].name", `such as "db-1"`},
		{"itself", []string{"dependsOn: [{name: web}]"}, "spec.dependsOn[0].name", "cannot depend on itself"},
		{"twice", []string{"dependsOn: [{name: db}, {name: db, condition: completed}]"}, "spec.dependsOn[1].name", "already spec.dependsOn[0]"},
		{"condition unknown", []string{"dependsOn: [{name: db, condition: complete}]"}, "spec.dependsOn[0].condition", "did you mean completed?"},
		{"compose short form", []string{"dependsOn: [db]"}, "spec.dependsOn[0]", "mapping"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := doc(tt.lines...)
			_, err := Parse("web.yaml", []byte(src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error\n%s", src)
			}
			for _, e := range Errors(err) {
				if e.Field == tt.wantField && strings.Contains(e.Message, tt.wantMsg) {
					if e.Line != 7 || e.Column == 0 {
						t.Errorf("error %q is at line %d col %d, want on line 7", e, e.Line, e.Column)
					}
					return
				}
			}
			t.Errorf("no error on field %q mentioning %q; got:\n%v", tt.wantField, tt.wantMsg, err)
		})
	}
}
