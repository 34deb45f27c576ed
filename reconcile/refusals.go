package reconcile

import (
	"fmt"
	"slices"

	"github.com/isoagent/isoagent/spec"
)

// RefusalReasons returns the Reasons that are refusals: every one but
// ReasonNotForThisHost. A spec meant for other hosts is no problem of
// this host (StateElsewhere), and a spec repository shared by many hosts
// declares many of those.
func RefusalReasons() []Reason {
	return slices.DeleteFunc(Reasons(), func(r Reason) bool { return r == ReasonNotForThisHost })
}

// ReasonDuplicate is the Reason of a Refusal whose file declares a name
// another file declares too, and lost it (spec.Conflict). It is not an
// admission Reason: the spec never reaches admission.
const ReasonDuplicate Reason = "duplicate"

// Refusal is a spec meant for this host that does not run as declared:
// admission refuses it, or another file's spec of the same name wins.
type Refusal struct {
	Name string `json:"name"`
	// Source is where the spec is declared.
	Source  spec.Source `json:"source,omitzero"`
	Reason  Reason      `json:"reason"`
	Field   string      `json:"field,omitempty"`
	Message string      `json:"message"`
}

// String is "web (specs/web.yaml:1): policy: spec.ports[0]: message".
func (r Refusal) String() string { return r.Brief() + ": " + r.Message }

// Brief is String without the message: "web (specs/web.yaml:1): policy:
// spec.ports[0]", for where the message is shown already.
func (r Refusal) Brief() string {
	s := r.Name
	if r.Source.File != "" {
		at := r.Source.File
		if r.Source.Line > 0 {
			at = fmt.Sprintf("%s:%d", at, r.Source.Line)
		}
		s += " (" + at + ")"
	}
	s += ": " + string(r.Reason)
	if r.Field != "" {
		s += ": " + r.Field
	}
	return s
}

// Refused returns the specs meant for this host that do not run as
// declared, by name: those admission refuses (states rejected, conflict
// and invalid; not those meant for other hosts, nor those whose image is
// being looked up or pulled, which the engine still works on), and the
// losers of a name two files declare. With the invalid files (Files), they
// are what "converged" leaves undone.
func (st Status) Refused() []Refusal {
	var out []Refusal
	for _, c := range st.Containers {
		switch c.State {
		case StateRejected, StateConflict, StateInvalid:
		default:
			continue
		}
		if c.Rejection == nil {
			continue
		}
		out = append(out, Refusal{Name: c.Name, Source: c.Source, Reason: c.Rejection.Reason, Field: c.Rejection.Field, Message: c.Rejection.Message})
	}
	for _, c := range st.Conflicts {
		out = append(out, Refusal{Name: c.Name, Source: c.Loser, Reason: ReasonDuplicate,
			Message: fmt.Sprintf("%s:%d declares it too and wins", c.Winner.File, c.Winner.Line)})
	}
	slices.SortStableFunc(out, func(a, b Refusal) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}
