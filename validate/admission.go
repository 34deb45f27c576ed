package validate

import (
	"context"
	"fmt"
	"slices"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
)

// Admission is the check of admission on host and, when pc is not nil,
// of the boundary policy: each rejection is a problem, reported at the
// spec's document with the field at fault, and a policy violation is one
// problem per field.
//
// Specs are admitted on host, as if each were meant for it; but a spec
// whose hosts or selector pick its hosts is admitted on a host of its
// image's build instead (when the tag tells it), since validate cannot
// know whether host is one of them: it is still checked against the
// policy, not refused for a build it was never meant to run on.
func Admission(host driver.Host, pc *policy.Checker) Check {
	return AdmissionWithRegistry(host, pc, nil)
}

// AdmissionWithRegistry is Admission that asks src which image each
// spec's reference names, as the agent's admission does before it pulls:
// an image with no variant for host, or of a build it cannot run, is a
// problem, and so is a registry that cannot answer. With src nil it is
// Admission, offline.
func AdmissionWithRegistry(host driver.Host, pc *policy.Checker, src reconcile.RegistrySource) Check {
	return func(snap *spec.Snapshot) []*spec.Error {
		specs := make([]*spec.Container, len(snap.Specs))
		hostOf := make([]driver.Host, len(snap.Specs))
		hosts := []driver.Host{host}
		for i, c := range snap.Specs {
			cp := *c
			cp.Spec.Hosts, cp.Spec.Selector = nil, nil
			specs[i] = &cp
			hostOf[i] = host
			if len(c.Spec.Hosts) > 0 || len(c.Spec.Selector) > 0 {
				if b := c.Spec.Image.Build(); b != 0 {
					hostOf[i].OSVersion = driver.OSVersion{Major: 10, Build: b}
				}
			}
			if !slices.Contains(hosts, hostOf[i]) {
				hosts = append(hosts, hostOf[i])
			}
		}
		// Admitted without the policy first, so that its violations can be
		// listed one by one against the effective config. Every spec is
		// admitted with the others, so ports and network sharing resolve.
		decisions := make(map[driver.Host][]reconcile.Decision, len(hosts))
		for _, h := range hosts {
			decisions[h] = reconcile.Admit(context.Background(), h, nil, specs, reconcile.AdmitOptions{Owner: "validate", Registry: src})
		}
		var out []*spec.Error
		for i := range specs {
			h := hostOf[i]
			d := decisions[h][i]
			src := d.Spec.Source
			if !d.Admitted() {
				r := d.Rejection
				if r.At.File != "" {
					src = r.At // the field's own place, where admission knows it
				}
				out = append(out, &spec.Error{File: src.File, Line: src.Line, Column: src.Column, Field: r.Field,
					Message: fmt.Sprintf("%s is rejected on host build %d (%s): %s", d.Name(), h.OSVersion.Build, r.Reason, r.Message)})
				continue
			}
			if pc == nil {
				continue
			}
			// validate reads no host, so host folders are checked as written.
			for _, v := range pc.Check(d.Spec, d.Config, policy.Leads{}) {
				out = append(out, &spec.Error{File: src.File, Line: src.Line, Column: src.Column, Field: v.Field,
					Message: fmt.Sprintf("%s is rejected (%s): %s", d.Name(), reconcile.ReasonPolicy, v.Message)})
			}
		}
		return out
	}
}
