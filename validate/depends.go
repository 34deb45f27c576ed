package validate

import (
	"fmt"

	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// Dependencies is the check of the start order over a folder, needing no
// host: a dependency (spec.dependsOn, or a shared network) that names no
// spec of the folder or closes a cycle is a problem at the dependency, as
// the agent's admission rejects it. Admission reports the same, so it is
// the check to use when no admission check runs.
func Dependencies() Check {
	return func(snap *spec.Snapshot) []*spec.Error {
		var out []*spec.Error
		for _, p := range reconcile.DependencyProblems(snap.Specs) {
			c := snap.Specs[p.Spec]
			at := c.Source
			if p.At.File != "" {
				at = p.At
			}
			out = append(out, &spec.Error{File: at.File, Line: at.Line, Column: at.Column, Field: p.Field,
				Message: fmt.Sprintf("%s is rejected (%s): %s", c.Name(), reconcile.ReasonInvalid, p.Message)})
		}
		return out
	}
}
