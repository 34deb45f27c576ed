package reconcile

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestConditionTypesListEveryType pins that ConditionTypes lists every
// ConditionType the package declares, so that the condition gauges,
// pre-initialised from it, have a series for each kind an alert may ask
// for.
func TestConditionTypesListEveryType(t *testing.T) {
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	declared := map[string]ConditionType{} // constant name -> value
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, s := range g.Specs {
				v := s.(*ast.ValueSpec)
				if id, ok := v.Type.(*ast.Ident); !ok || id.Name != "ConditionType" {
					continue
				}
				for i, n := range v.Names {
					lit, ok := v.Values[i].(*ast.BasicLit)
					if !ok {
						t.Fatalf("%s: want a string literal", n.Name)
					}
					val, err := strconv.Unquote(lit.Value)
					if err != nil {
						t.Fatal(err)
					}
					declared[n.Name] = ConditionType(val)
				}
			}
		}
	}
	if len(declared) == 0 {
		t.Fatal("found no ConditionType constants")
	}
	for name, v := range declared {
		if !slices.Contains(ConditionTypes(), v) {
			t.Errorf("%s (%q) is not in ConditionTypes", name, v)
		}
	}
	engine, ctr := EngineConditionTypes(), ContainerConditionTypes()
	for _, c := range ConditionTypes() {
		if !slices.Contains(engine, c) && !slices.Contains(ctr, c) {
			t.Errorf("%s is neither an engine nor a container condition", c)
		}
	}
}
