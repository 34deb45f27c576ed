package spec

import "fmt"

// DependsCondition is what a dependency must have done before the
// container that depends on it is created, with Compose's meaning.
type DependsCondition string

// Dependency conditions.
const (
	// DependsStarted: the dependency's container has been started (it
	// runs, or ran and exited).
	DependsStarted DependsCondition = "started"
	// DependsHealthy: the dependency's container passes its health check
	// (its spec's, or its image's HEALTHCHECK).
	DependsHealthy DependsCondition = "healthy"
	// DependsCompleted: the dependency's container exited with code 0.
	DependsCompleted DependsCondition = "completed"
)

// Dependency is one entry of spec.dependsOn: the container named Name,
// declared in any file of the folder, must meet Condition (default
// started) before this container is created. A name that no spec of the
// folder declares, and a cycle, are refused when the folder's specs are
// admitted together, since one file alone cannot tell.
type Dependency struct {
	Name      string           `yaml:"name" json:"name"`
	Condition DependsCondition `yaml:"condition,omitempty" json:"condition,omitempty"`
	// Source is where Name is written, for the errors about it that
	// only the whole folder can tell (an unknown name, a cycle).
	Source Source `yaml:"-" json:"-"`
}

// dependsOn checks spec.dependsOn of the container self: names of other
// containers, each once, with a known condition.
func (v *validator) dependsOn(self string, deps []Dependency) {
	seen := make(map[string]int, len(deps))
	for i := range deps {
		d := &deps[i]
		dp := fmt.Sprintf("spec.dependsOn[%d]", i)
		n := v.doc.nodeFor(dp + ".name")
		d.Source = Source{File: v.doc.d.file, Line: n.Line, Column: n.Column}
		if !v.name(dp+".name", d.Name, "give the name of the container this one waits for, such as db") {
			continue
		}
		if d.Name == self {
			v.errorf(dp+".name", "a container cannot depend on itself; name another container")
			continue
		}
		if j, dup := seen[d.Name]; dup {
			v.errorf(dp+".name", "%q is already spec.dependsOn[%d]; name a dependency once", d.Name, j)
			continue
		}
		seen[d.Name] = i
		v.enum(dp+".condition", string(d.Condition), string(DependsStarted), string(DependsHealthy), string(DependsCompleted))
	}
}
