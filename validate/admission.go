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
// policy, not refused for a build it was never meant to run on. AdmissionAs
// acts as a named host instead, and can ask a registry.
func Admission(host driver.Host, pc *policy.Checker) Check { return AdmissionAs(host, pc, nil, nil) }

// Identity is the name and labels of the host validate acts as, matched
// against specs' hosts and selector as the agent of that host matches
// them (its --hostname and --label).
type Identity struct {
	// HostName is matched by hosts globs; empty leaves hosts unchecked.
	HostName string
	// Labels are matched by selectors; a spec with a selector is for no
	// host without labels.
	Labels map[string]string
}

// AdmissionAs is Admission acting as the host of id: a spec whose hosts
// or selector exclude it is not meant for that host, and so no problem
// and not checked further; the others are admitted on host as that
// host's agent would admit them. Without a host name, a spec with hosts
// is admitted on its image's build, as by Admission. A nil id is
// Admission's host.
//
// With src, it asks src which image each spec's reference names, as the
// agent's admission does before it pulls: an image with no variant for
// host, or of a build it cannot run, is a problem, and so is a registry
// that cannot answer. With src nil it stays offline.
func AdmissionAs(host driver.Host, pc *policy.Checker, id *Identity, src reconcile.RegistrySource) Check {
	return func(snap *spec.Snapshot) []*spec.Error {
		specs := make([]*spec.Container, len(snap.Specs))
		hostOf := make([]driver.Host, len(snap.Specs))
		hosts := []driver.Host{host}
		for i, c := range snap.Specs {
			cp := *c
			specs[i] = &cp
			hostOf[i] = host
			// What validate cannot tell (hosts without a host name; both
			// without an identity) is dropped, and such a spec is admitted
			// on its image's build.
			unknown := len(c.Spec.Hosts) > 0 && (id == nil || id.HostName == "") ||
				len(c.Spec.Selector) > 0 && id == nil
			if id == nil || id.HostName == "" {
				cp.Spec.Hosts = nil
			}
			if id == nil {
				cp.Spec.Selector = nil
			}
			if unknown {
				if b := c.Spec.Image.Build(); b != 0 {
					hostOf[i].OSVersion = driver.OSVersion{Major: 10, Build: b}
				}
			}
			if !slices.Contains(hosts, hostOf[i]) {
				hosts = append(hosts, hostOf[i])
			}
		}
		opts := reconcile.AdmitOptions{Owner: "validate", Registry: src}
		if id != nil {
			opts.HostName, opts.Labels = id.HostName, id.Labels
		}
		// Admitted without the policy first, so that its violations can be
		// listed one by one against the effective config. Every spec is
		// admitted with the others, so ports and network sharing resolve.
		decisions := make(map[driver.Host][]reconcile.Decision, len(hosts))
		for _, h := range hosts {
			decisions[h] = reconcile.Admit(context.Background(), h, nil, specs, opts)
		}
		var out []*spec.Error
		for i := range specs {
			h := hostOf[i]
			d := decisions[h][i]
			src := d.Spec.Source
			if !d.Admitted() {
				r := d.Rejection
				if r.Reason == reconcile.ReasonNotForThisHost {
					continue
				}
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
