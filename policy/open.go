package policy

import (
	"fmt"

	"github.com/isoagent/isoagent/spec"
)

// Open reads the policy file at path and compiles it: the policy in force
// and its Checker. An empty path gives the policy in force without a file,
// which allows nothing that pierces isolation; there is no way to run
// without a policy. A file that does not load is an error that lists its
// problems (spec.Errors).
func Open(path string) (*Policy, *Checker, error) { return OpenLocated(path, nil) }

// OpenLocated is Open with a YAML syntax error located by locate (see
// spec.LocateSyntax); nil locates nothing.
func OpenLocated(path string, locate spec.SyntaxLocator) (*Policy, *Checker, error) {
	var p *Policy
	if path != "" {
		var err error
		if p, err = LoadLocated(path, locate); err != nil {
			return nil, nil, fmt.Errorf("policy file %s is not usable:\n%w", path, err)
		}
	}
	pc, err := NewChecker(p)
	return p, pc, err
}
