package reconcile

import (
	"fmt"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// What specs claim of each other, decided over all of them once each is
// admitted on its own: host ports (the first in source order holds one)
// and the networks they share. Admit decides them for all specs at once;
// the engine's admissions decide them again for the specs a change
// reaches, one decision at a time, with the same functions.

// claimPorts rejects, in source order, every admitted spec that wants a host
// port an earlier admitted spec holds.
func claimPorts(ds []Decision, order []int) {
	claimed := portClaims{}
	for _, i := range order {
		claimed.claim(&ds[i])
	}
}

// portClaims are the host ports claimed so far, by port key.
type portClaims map[string]portOwner

type portOwner struct {
	name string
	src  spec.Source
}

// portKey is how a host port is claimed: "8080/tcp".
func portKey(p driver.Port) string { return fmt.Sprintf("%d/%s", p.HostPort, p.Protocol) }

// claim rejects d, when it is admitted and wants a host port claimed
// already, and otherwise claims its ports. Decisions must be claimed in
// source order.
func (claimed portClaims) claim(d *Decision) {
	if !d.Admitted() {
		return
	}
	var mine []string
	for j, p := range d.Config.Ports {
		key := portKey(p)
		if w, ok := claimed[key]; ok {
			d.Rejection = reject(ReasonConflict, fmt.Sprintf("spec.ports[%d].hostPort", j), "host port %s is already used by %s (%s:%d)", key, w.name, w.src.File, w.src.Line)
			return
		}
		mine = append(mine, key)
	}
	for _, k := range mine {
		claimed[k] = portOwner{d.Name(), d.Spec.Source}
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
		if !d.Admitted() || d.Config.NetworkSharedWith == "" {
			continue
		}
		d.Rejection = shareVerdict(d, byName[d.Config.NetworkSharedWith])
	}
}

// shareVerdict is the rejection of d, an admitted spec sharing the network
// of another, when its target t (nil when no spec has its name) cannot be
// shared with, as t stands when shareNetworks comes to d; nil when it can.
func shareVerdict(d, t *Decision) *Rejection {
	const field = "spec.network.mode"
	target := d.Config.NetworkSharedWith
	switch {
	case target == d.Name():
		return reject(ReasonInvalid, field, "a container cannot share its own network")
	case t == nil:
		return reject(ReasonInvalid, field, "no spec named %q to share the network of", target)
	case !t.Admitted() && t.Rejection.Reason == ReasonNotForThisHost:
		return reject(ReasonUnsupported, field, "cannot share the network of %s: its spec is meant for other hosts (%s)", target, t.Rejection.Field)
	case !t.Admitted():
		// Not "it does not run": a refused spec's container is kept
		// running. What runs of either is told by status.
		return reject(ReasonUnsupported, field, "cannot share the network of %s: its spec is rejected (%s); this spec is admitted again once %s's is", target, t.Rejection.Reason, target)
	case t.Config.Isolation != driver.Process:
		return reject(ReasonUnsupported, field, "cannot share the network of %s: it runs with %s isolation; network sharing needs process isolation on both sides", target, t.Config.Isolation)
	case t.Config.NetworkSharedWith != "":
		return reject(ReasonUnsupported, field, "cannot share the network of %s: it shares the network of %s itself; share with %s directly", target, t.Config.NetworkSharedWith, t.Config.NetworkSharedWith)
	}
	return nil
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
			identifyOne(d, nil)
		}
	}
	for i := range ds {
		d := &ds[i]
		if d.Admitted() && d.Config.NetworkSharedWith != "" {
			identifyOne(d, byName[d.Config.NetworkSharedWith])
		}
	}
}

// identifyOne gives d, admitted, its hash and container ID; a sharer gets
// its target's container ID in its config first.
func identifyOne(d, target *Decision) {
	if target != nil {
		d.Config.NetworkSharedWith = target.Config.ID
	}
	d.Config.Hash = Hash(identity(d))
	d.Config.ID = ContainerID(d.Config.Owner, d.Config.Name, d.Config.Hash)
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
