package validate

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/spec"
)

// TestPathsRunsExtraChecks pins the hook that admission and policy
// checks plug into: their problems land with the file they name.
func TestPathsRunsExtraChecks(t *testing.T) {
	t.Chdir("..")
	check := func(snap *spec.Snapshot) []*spec.Error {
		var errs []*spec.Error
		for _, c := range snap.Specs {
			errs = append(errs, &spec.Error{File: c.Source.File, Line: c.Source.Line, Column: c.Source.Column, Field: "spec.isolation", Message: "not on this host"})
		}
		return append(errs, &spec.Error{File: "policy.yaml", Line: 1, Message: "policy problem"})
	}
	rep, ioErrs := Paths([]string{"examples/specs/iis-web.yaml"}, spec.LoaderOptions{}, check)
	if len(ioErrs) != 0 {
		t.Fatal(ioErrs)
	}
	var out bytes.Buffer
	rep.WriteText(&out)
	want := "examples/specs/iis-web.yaml:4:1: spec.isolation: not on this host\npolicy.yaml:1: policy problem\n"
	if rep.Valid || out.String() != want {
		t.Errorf("valid %v, output:\n%s\nwant:\n%s", rep.Valid, out.String(), want)
	}
}

// TestReportJSONKeepsItsShape pins the field names of the JSON contract
// and that lists are [] rather than null.
func TestReportJSONKeepsItsShape(t *testing.T) {
	t.Chdir("..")
	rep, ioErrs := Paths([]string{"examples/bad/dup-a.yaml", "examples/bad/dup-b.yaml", "examples/specs/iis-web.yaml"}, spec.LoaderOptions{})
	if len(ioErrs) != 0 {
		t.Fatal(ioErrs)
	}
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`{"valid":false,"files":[{"path":"examples/bad/dup-a.yaml","specs":["reports"],"errors":[]},`,
		`"conflicts":[{"name":"reports","file":"examples/bad/dup-b.yaml","line":`,
		`"winner":{"file":"examples/bad/dup-a.yaml","line":`,
		`"errors":[],"summary":{"files":3,"specs":2,"problems":1}}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("report JSON lacks %s:\n%s", want, b)
		}
	}
}
