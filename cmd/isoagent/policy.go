package main

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/metrics"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winbuild"
)

// policyFlagUsage is the help of --policy, the same for run, plan and
// validate.
const policyFlagUsage = "boundary policy `file`: the mounts, pipes, ports, devices and isolation specs may use; without it nothing that pierces isolation is allowed"

// loadPolicy reads the policy file at path and compiles it. An empty path
// gives the policy in force without a file, which allows nothing that
// pierces isolation: there is no way to run without a policy.
func loadPolicy(path string) (*policy.Policy, *policy.Checker, error) {
	var p *policy.Policy
	if path != "" {
		var err error
		if p, err = policy.Load(path); err != nil {
			return nil, nil, fmt.Errorf("policy file %s is not usable:\n%w", path, err)
		}
	}
	pc, err := policy.NewChecker(p)
	return p, pc, err
}

// resolverOf returns drv's ability to tell where a mount really leads
// (the hcs driver on Windows), or nil when it has none.
func resolverOf(drv driver.Driver) policy.Resolver {
	if r, ok := drv.(policy.Resolver); ok {
		return r
	}
	return nil
}

// policyStartError logs each problem of a policy file the agent cannot
// start with on its own line, and returns the error that stops it.
func policyStartError(logger *slog.Logger, path string, err error) error {
	problems := spec.Errors(err)
	for _, e := range problems {
		logger.Error("invalid policy file", "problem", e.Error())
	}
	return fmt.Errorf("policy file %s is not usable (%d problems, logged above); fix it, or run without --policy to allow nothing that pierces isolation", path, len(problems))
}

// policyFollower applies every change of the policy file to the engine and
// reports whether the file is usable in status and in the
// isoagent_policy_valid gauge.
type policyFollower struct {
	watcher *spec.FileWatcher[*policy.Policy]
	eng     *reconcile.Engine
	metrics *metrics.Metrics
}

// Run follows the policy file until ctx is done.
func (f *policyFollower) Run(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range f.watcher.Updates() {
			f.apply(u)
		}
	}()
	err := f.watcher.Run(ctx)
	<-done
	return err
}

func (f *policyFollower) apply(u spec.FileUpdate[*policy.Policy]) {
	if u.Err != nil {
		f.eng.SetPolicyError(u.Err)
		f.metrics.SetPolicyValid(false)
		return
	}
	pc, err := policy.NewChecker(u.Value)
	if err != nil {
		// policy.Parse validated it; this would be a bug, and the policy in
		// force stays.
		f.eng.SetPolicyError(err)
		f.metrics.SetPolicyValid(false)
		return
	}
	f.eng.SetPolicy(pc)
	f.eng.SetPolicyError(nil)
	f.metrics.SetPolicyValid(true)
}

// admissionCheck is validate's check of admission and, when pc is not nil,
// the boundary policy: each rejection is a problem, reported at the spec's
// document with the field at fault, and a policy violation is one problem
// per field.
//
// Specs are admitted on host, as if each were meant for it; but a spec
// whose hosts or selector pick its hosts is admitted on a host of its
// image's build instead (when the tag tells it), since validate cannot
// know whether host is one of them: it is still checked against the
// policy, not refused for a build it was never meant to run on.
func admissionCheck(host driver.Host, pc *policy.Checker) validateCheck {
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
			decisions[h] = reconcile.Admit(context.Background(), h, nil, specs, reconcile.AdmitOptions{Owner: "validate"})
		}
		var out []*spec.Error
		for i := range specs {
			h := hostOf[i]
			d := decisions[h][i]
			src := d.Spec.Source
			if !d.Admitted() {
				r := d.Rejection
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

// hostFlags describe the host validate admits specs for.
type hostFlags struct {
	build  uint
	sku    string
	policy string
}

func (h *hostFlags) check() (driver.Host, error) {
	sku := driver.SKU(strings.ToLower(h.sku))
	if sku != driver.SKUServer && sku != driver.SKUClient {
		return driver.Host{}, fmt.Errorf("--host-sku %q: want server or client", h.sku)
	}
	if h.build > 65535 {
		return driver.Host{}, fmt.Errorf("--host-build %d: want a Windows build number such as 20348", h.build)
	}
	b := uint16(h.build)
	if b == 0 {
		b = winbuild.LTSC2022
	}
	return driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: b}, SKU: sku, Name: "validate"}, nil
}
