package reconcile

import (
	"sync"
	"time"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// intake takes the desired state in: snapshots of the spec folder and the
// boundary policy they are admitted under. Every new snapshot and every
// policy change given while a snapshot is there bumps its generation, and
// the engine records the generation it admitted, so whether something new
// waits is a comparison of numbers, not of pointers. Only the latest
// snapshot and policy count. It is safe for concurrent use.
type intake struct {
	mu      sync.Mutex
	gen     uint64         // of the latest snapshot or policy handed in
	applied uint64         // of the last admission done
	snap    *spec.Snapshot // the latest snapshot handed in
	policy  Policy
	// policyGen counts the policies set, so that admission knows when
	// everything must be admitted again.
	policyGen uint64
	seenAt    time.Time // when the first change not admitted yet was seen
	// looks are the images whose description changed (the registry
	// answered, a pull ended) since the last admission.
	looks map[imageref.Ref]struct{}
}

// admission is one admission to run: the latest snapshot under the latest
// policy, as of generation gen.
type admission struct {
	gen    uint64
	snap   *spec.Snapshot
	policy Policy
	// policyGen changes with the policy.
	policyGen uint64
	// seenAt is when the first change it brings was seen; for a second look
	// at what is in force, when that look began.
	seenAt time.Time
	// looks are the images to look at again, whose description changed.
	looks []imageref.Ref
}

func newIntake(p Policy) *intake { return &intake{policy: p} }

// update hands in a snapshot whose change was first seen at seenAt and
// returns its generation.
func (in *intake) update(snap *spec.Snapshot, seenAt time.Time) uint64 {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.gen++
	in.snap = snap
	if in.seenAt.IsZero() || seenAt.Before(in.seenAt) {
		in.seenAt = seenAt
	}
	return in.gen
}

// setPolicy replaces the policy. With a snapshot there, the snapshot must
// be admitted again: it returns the new generation and true.
func (in *intake) setPolicy(p Policy) (uint64, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.policy = p
	in.policyGen++
	if in.snap == nil {
		return in.gen, false
	}
	in.gen++
	if in.seenAt.IsZero() {
		in.seenAt = time.Now()
	}
	return in.gen, true
}

// touch asks for the snapshot to be admitted again, as it is, looking
// again at the images refs. It returns the new generation and true when
// there is a snapshot.
func (in *intake) touch(refs ...imageref.Ref) (uint64, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.snap == nil {
		return in.gen, false
	}
	for _, ref := range refs {
		if in.looks == nil {
			in.looks = map[imageref.Ref]struct{}{}
		}
		in.looks[ref] = struct{}{}
	}
	in.gen++
	if in.seenAt.IsZero() {
		in.seenAt = time.Now()
	}
	return in.gen, true
}

// next returns the admission to run: the latest snapshot when it, or the
// policy, changed since the last admission; with again, also when nothing
// changed (what admission reads from the host may have). It returns false
// before the first snapshot, and when nothing changed and again is false.
func (in *intake) next(again bool) (admission, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.snap == nil || (!again && in.applied == in.gen) {
		return admission{}, false
	}
	a := admission{gen: in.gen, snap: in.snap, policy: in.policy, policyGen: in.policyGen, seenAt: in.seenAt}
	for ref := range in.looks {
		a.looks = append(a.looks, ref)
	}
	in.looks = nil
	if in.applied == in.gen {
		a.seenAt = time.Now()
	}
	return a, true
}

// done records that the admission of generation gen is in force.
func (in *intake) done(gen uint64) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.applied = max(in.applied, gen)
	if in.applied == in.gen {
		in.seenAt = time.Time{}
	}
}
