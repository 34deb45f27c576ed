package reconcile

import (
	"fmt"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// What specs claim of each other, decided over all of them once each is
// admitted on its own: host ports (the first in source order holds one)
// and the networks they share.

// claimPorts rejects, in source order, every admitted spec that wants a host
// port an earlier admitted spec holds.
func claimPorts(ds []Decision, order []int) {
	type owner struct {
		name string
		src  spec.Source
	}
	claimed := make(map[string]owner)
	for _, i := range order {
		d := &ds[i]
		if !d.Admitted() {
			continue
		}
		var mine []string
		for j, p := range d.Config.Ports {
			key := fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)
			if w, ok := claimed[key]; ok {
				d.Rejection = reject(ReasonConflict, fmt.Sprintf("spec.ports[%d].hostPort", j), "host port %s is already used by %s (%s:%d)", key, w.name, w.src.File, w.src.Line)
				break
			}
			mine = append(mine, key)
		}
		if d.Admitted() {
			for _, k := range mine {
				claimed[k] = owner{d.Name(), d.Spec.Source}
			}
		}
	}
}

// shareNetworks checks every "container:<name>" target: it must be another
// admitted, process-isolated spec that does not share a network itself.
func shareNetworks(ds []Decision) {
	byName := make(map[string]*Decision, len(ds))
	for i := range ds {
		byName[ds[i].Name()] = &ds[i]
	}
	for i := range ds {
		d := &ds[i]
		target := d.Config.NetworkSharedWith
		if !d.Admitted() || target == "" {
			continue
		}
		const field = "spec.network.mode"
		t, ok := byName[target]
		switch {
		case target == d.Name():
			d.Rejection = reject(ReasonInvalid, field, "a container cannot share its own network")
		case !ok:
			d.Rejection = reject(ReasonInvalid, field, "no spec named %q to share the network of", target)
		case !t.Admitted():
			d.Rejection = reject(ReasonUnsupported, field, "cannot share the network of %s: it does not run on this host (%s)", target, t.Rejection.Reason)
		case t.Config.Isolation != driver.Process:
			d.Rejection = reject(ReasonUnsupported, field, "cannot share the network of %s: it runs with %s isolation; network sharing needs process isolation on both sides", target, t.Config.Isolation)
		case t.Config.NetworkSharedWith != "":
			d.Rejection = reject(ReasonUnsupported, field, "cannot share the network of %s: it shares the network of %s itself; share with %s directly", target, t.Config.NetworkSharedWith, t.Config.NetworkSharedWith)
		}
	}
}

// identify gives every admitted config its hash and container ID.
// Targets are hashed before sharers: a sharer's config holds the target's
// container ID, which comes from the target's hash.
func identify(ds []Decision) {
	byName := make(map[string]*Decision, len(ds))
	for i := range ds {
		d := &ds[i]
		byName[d.Name()] = d
		if d.Admitted() && d.Config.NetworkSharedWith == "" {
			d.Config.Hash = Hash(identity(d))
			d.Config.ID = ContainerID(d.Config.Owner, d.Config.Name, d.Config.Hash)
		}
	}
	for i := range ds {
		d := &ds[i]
		if d.Admitted() && d.Config.NetworkSharedWith != "" {
			d.Config.NetworkSharedWith = byName[d.Config.NetworkSharedWith].Config.ID
			d.Config.Hash = Hash(identity(d))
			d.Config.ID = ContainerID(d.Config.Owner, d.Config.Name, d.Config.Hash)
		}
	}
}

// identity is what of d's config its hash covers: all of it, but the image
// digest only under imagePullPolicy Always. There a tag that moved in the
// registry is the change that rolls the container; under IfNotPresent and
// Never the container keeps the image it was created from even when the
// tag moves on the host (another spec's Always pull moved it), as the
// kubelet leaves its pods.
func identity(d *Decision) driver.Config {
	c := d.Config
	if d.Spec.Spec.ImagePullPolicy != spec.PullAlways {
		c.ImageDigest = ""
	}
	return c
}
