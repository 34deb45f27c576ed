package reconcile

import (
	"cmp"
	"context"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// admissions is the engine's admission of the desired state, pass after
// pass. It keeps each name's decision and what the decision was made of,
// so that a pass admits what changed: the specs whose *spec.Container
// changed (the loader keeps a file's specs, by content hash, while its
// content stays), the specs whose image the host now describes otherwise,
// the specs whose mounts or secrets a resync's second look reads again,
// and the specs whose decisions depend on those: the others wanting one
// of their host ports (transitively, since the first in source order
// holds a port), and the specs sharing their networks (transitively).
// A new host description or policy admits everything again, as does the
// first pass. A pass's decisions are those Admit gives for the snapshot
// (TestIncrementalAdmissionIsAdmit compares them over random edits).
//
// A full pass hands its decisions over as they become final, in growing
// chunks in source order, so that the engine starts on the first specs
// while it admits the others.
//
// Its methods are called from the engine's Run goroutine only. The maps
// of decisions it returns are never changed afterwards.
type admissions struct {
	host      driver.Host
	policyGen uint64
	snap      *spec.Snapshot // admitted last; nil before the first pass
	names     map[string]*admittedSpec
	// Indexes over names: the names whose own admission wants a host port
	// (by port key), whose spec shares a name's network (by that name),
	// and whose spec runs an image.
	ports   map[string]map[string]struct{}
	sharers map[string]map[string]struct{}
	byImage map[imageKey]map[string]struct{}
	// images is what the host (or the registry) said of each image, under
	// each pull policy, at its last look.
	images map[imageKey]imageInfo
	// decisions are the last pass's, and gen counts the passes that
	// changed them.
	decisions map[string]*Decision
	gen       uint64
	// ordered are the rejections for start order of the last pass
	// (depends.go), applied over decisions.
	ordered map[string]*Rejection
}

// admittedSpec is what admission made of one spec: its own admission
// (pre), the rejections the claims of others added, and the decision in
// force.
type admittedSpec struct {
	spec     *spec.Container
	pre      Decision
	portRej  *Rejection // a host port another spec holds
	shareRej *Rejection // the network it shares cannot be shared
	final    *Decision
}

// newAdmittedSpec is c's entry, with pre, its own admission. An admitted
// spec that shares no network is identified at once, so that when the
// claims of others leave its decision as its own admission, final can be
// pre itself rather than a copy (see keep): one decision per spec kept,
// not two. Identifying is idempotent (Hash leaves out ID and Hash), so the
// decisions derived from pre come out the same.
func newAdmittedSpec(c *spec.Container, pre Decision) *admittedSpec {
	e := &admittedSpec{spec: c, pre: pre}
	if e.pre.Admitted() && e.pre.Config.NetworkSharedWith == "" {
		identifyOne(&e.pre, nil)
	}
	return e
}

// keep returns the decision to keep as final for d, derived from e.pre by
// postClaim or postShare, the claims and identifyOne: e.pre itself when d
// says what it says (pre does not change once made, so it may be handed
// out). A decision is identified only when admitted: d, rejected by
// others' claims, loses the identification pre got.
func (e *admittedSpec) keep(d *Decision) *Decision {
	p := &e.pre
	if !d.Admitted() && p.Admitted() {
		d.Config.Hash, d.Config.ID = "", ""
	}
	if d.Rejection == p.Rejection && d.Config.ID == p.Config.ID && d.Config.Hash == p.Config.Hash &&
		d.Config.NetworkSharedWith == p.Config.NetworkSharedWith {
		return p
	}
	return d
}

// postClaim is the decision once host ports are claimed.
func (e *admittedSpec) postClaim() *Decision {
	d := e.pre
	if d.Rejection == nil {
		d.Rejection = e.portRej
	}
	return &d
}

// postShare is the decision once networks are shared, before the config
// is identified.
func (e *admittedSpec) postShare() *Decision {
	d := e.postClaim()
	if d.Rejection == nil {
		d.Rejection = e.shareRej
	}
	return d
}

// sharer reports whether the decision shares another's network once host
// ports are claimed, which shareNetworks then checks.
func (e *admittedSpec) sharer() bool {
	return e.pre.Admitted() && e.portRej == nil && e.pre.Config.NetworkSharedWith != ""
}

// admitPass is what one pass admits.
type admitPass struct {
	ctx    context.Context
	host   driver.Host
	images ImageSource
	snap   *spec.Snapshot
	opts   AdmitOptions
	// policyGen changes with the policy, which admits everything again.
	policyGen uint64
	// again is a resync's second look: what admission reads from the
	// host (images, where mounts lead) is read again.
	again bool
	// looks are images whose description changed (the registry answered,
	// a pull ended): they are looked at again.
	looks []imageref.Ref
	// publish, when set, is given the decisions of a full pass as they
	// become final, in chunks: the map of the decisions so far (not
	// changed afterwards) and the names it adds.
	publish func(decisions map[string]*Decision, names []string)
}

// admitResult is what a pass decided.
type admitResult struct {
	// decisions are the decisions for the snapshot, by name.
	decisions map[string]*Decision
	// changed are the names whose decision may differ from those of the
	// pass before (whose map had generation base); full reports that
	// every name may.
	changed []string
	full    bool
	gen     uint64
	base    uint64
}

// firstChunk is how many decisions a full pass hands over first; each
// chunk after that is twice the one before.
const firstChunk = 256

// admit runs a pass.
func (a *admissions) admit(p admitPass) admitResult {
	base := a.gen
	order, unique := snapshotOrder(p.snap.Specs)
	switch {
	case !unique:
		// Two specs of one name (a snapshot not from a Loader): admitted
		// as a whole, as Admit has it, and the next pass is full.
		ds := Admit(p.ctx, p.host, p.images, p.snap.Specs, p.opts)
		decisions := make(map[string]*Decision, len(ds))
		for i := range ds {
			decisions[ds[i].Name()] = &ds[i]
		}
		*a = admissions{decisions: decisions, gen: a.gen + 1}
		return admitResult{decisions: decisions, full: true, gen: a.gen, base: base}
	case a.snap == nil || p.host != a.host || p.policyGen != a.policyGen:
		ordered := a.ordered
		a.full(p, order)
		a.gen++
		a.ordered = ordered
		r := admitResult{decisions: a.decisions, full: true, gen: a.gen, base: base}
		a.order(p.snap.Specs, &r)
		return r
	}
	changed := a.incremental(p, order)
	if len(changed) > 0 {
		a.gen++
	}
	r := admitResult{decisions: a.decisions, changed: changed, gen: a.gen, base: base}
	a.order(p.snap.Specs, &r)
	return r
}

// specOrder tells whether spec a comes before spec b in a snapshot's
// list: networks are shared in that order, each sharer seeing its target
// as sharing left it by then (see shareNetworks). sorted reports the
// order of a Loader's snapshots, by name.
type specOrder struct {
	pos    map[string]int // nil when sorted
	sorted bool
}

func (o specOrder) before(a, b string) bool {
	if o.sorted {
		return a < b
	}
	return o.pos[a] < o.pos[b]
}

// snapshotOrder returns the order of specs, and whether each name is
// there once.
func snapshotOrder(specs []*spec.Container) (specOrder, bool) {
	sorted := true
	for i := 1; i < len(specs); i++ {
		if specs[i-1].Name() >= specs[i].Name() {
			sorted = false
			break
		}
	}
	if sorted {
		return specOrder{sorted: true}, true
	}
	pos := make(map[string]int, len(specs))
	for i, c := range specs {
		if _, dup := pos[c.Name()]; dup {
			return specOrder{}, false
		}
		pos[c.Name()] = i
	}
	return specOrder{pos: pos}, true
}

// full admits every spec again, as Admit does.
func (a *admissions) full(p admitPass, so specOrder) {
	*a = admissions{
		host: p.host, policyGen: p.policyGen, snap: p.snap,
		names:   make(map[string]*admittedSpec, len(p.snap.Specs)),
		ports:   map[string]map[string]struct{}{},
		sharers: map[string]map[string]struct{}{},
		byImage: map[imageKey]map[string]struct{}{},
		gen:     a.gen,
	}
	adm := newAdmitter(p)
	specs := p.snap.Specs
	order := sourceOrder(specs, so)
	decisions := make(map[string]*Decision, len(specs))
	claimed := portClaims{}
	var batch []string
	chunk := firstChunk
	for _, i := range order {
		c := specs[i]
		e := newAdmittedSpec(c, adm.admitOne(c))
		a.names[c.Name()] = e
		a.index(e)
		d := e.postClaim()
		claimed.claim(d)
		if e.pre.Admitted() && !d.Admitted() {
			e.portRej = d.Rejection
		}
		if e.sharer() {
			continue // decided once every target is
		}
		if d.Admitted() {
			identifyOne(d, nil)
		}
		d = e.keep(d)
		e.final = d
		decisions[c.Name()] = d
		batch = append(batch, c.Name())
		if p.publish != nil && len(batch) >= chunk {
			p.publish(maps.Clone(decisions), batch)
			batch, chunk = nil, 2*chunk
		}
	}
	// Networks are shared in the snapshot's order.
	for _, c := range specs {
		if e := a.names[c.Name()]; e.sharer() {
			a.share(e, so)
		}
	}
	for _, c := range specs {
		e := a.names[c.Name()]
		if !e.sharer() {
			continue
		}
		d := e.postShare()
		if d.Admitted() {
			identifyOne(d, a.names[d.Config.NetworkSharedWith].final)
		}
		d = e.keep(d)
		e.final = d
		decisions[c.Name()] = d
		batch = append(batch, c.Name())
	}
	if p.publish != nil && len(batch) > 0 {
		p.publish(maps.Clone(decisions), batch)
	}
	a.decisions = decisions
	a.images = adm.imageOS
}

// share decides whether sharer e can share its target's network, its
// target as sharing in the order so leaves it when it comes to e.
func (a *admissions) share(e *admittedSpec, so specOrder) {
	var t *Decision
	if te := a.names[e.pre.Config.NetworkSharedWith]; te != nil {
		t = te.postClaim()
		if so.before(te.spec.Name(), e.spec.Name()) {
			t = te.postShare()
		}
	}
	e.shareRej = shareVerdict(e.postClaim(), t)
}

// incremental admits what changed since the last pass and returns the
// names whose decision it made again.
func (a *admissions) incremental(p admitPass, so specOrder) []string {
	adm := newAdmitter(p)
	redo := map[string]struct{}{}
	diffSpecs(a.snap.Specs, p.snap.Specs, func(name string) { redo[name] = struct{}{} })
	if !so.sorted {
		// The order sharing goes in may have moved: every sharer again.
		for _, sharers := range a.sharers {
			for name := range sharers {
				redo[name] = struct{}{}
			}
		}
	}
	a.snap = p.snap
	looks := map[imageref.Ref]bool{}
	for _, ref := range p.looks {
		looks[ref] = true
	}
	for key := range a.byImage {
		// What the host says of images may have changed without the
		// folder changing: at a resync, or when told.
		if p.again || looks[key.ref] {
			adm.image(key.ref, key.policy)
		}
	}
	if p.again {
		// So may where mounts lead, and what secrets hold (a rotated
		// secret's digest is in the config).
		mounts := p.opts.Resolver != nil && p.opts.Policy != nil
		for name, e := range a.names {
			s := &e.spec.Spec
			if mounts && len(s.Mounts) > 0 || len(s.EnvFrom) > 0 || len(s.SecretMounts) > 0 {
				redo[name] = struct{}{}
			}
		}
	}
	if len(redo) == 0 && !a.imagesChanged(adm) {
		return nil
	}
	bySpec := make(map[string]*spec.Container, len(redo))
	for _, c := range p.snap.Specs {
		if _, ok := redo[c.Name()]; ok {
			bySpec[c.Name()] = c
		}
	}
	keys := map[string]struct{}{} // host ports whose claims must be made again
	readmit := func(name string) {
		if e := a.names[name]; e != nil {
			a.unindex(e, keys)
			delete(a.names, name)
		}
		c := a.specOf(name, bySpec, so)
		if c == nil {
			return
		}
		e := newAdmittedSpec(c, adm.admitOne(c))
		a.names[name] = e
		a.index(e)
		for _, port := range e.ownPorts() {
			keys[port] = struct{}{}
		}
	}
	for name := range redo {
		readmit(name)
	}
	// An image the host now describes otherwise changes every spec that
	// runs it, as a full pass would see.
	for changed := true; changed; {
		changed = false
		for key, info := range adm.imageOS {
			if old, ok := a.images[key]; ok && old.equal(info) {
				continue
			}
			a.images[key] = info
			for name := range a.byImage[key] {
				if _, ok := redo[name]; !ok {
					redo[name] = struct{}{}
					readmit(name)
					changed = true
				}
			}
		}
	}
	// Host ports: every spec wanting a port whose claims changed, and
	// those wanting theirs, claim again in source order.
	component := a.portComponent(keys)
	claimers := make([]*admittedSpec, 0, len(component))
	for name := range component {
		claimers = append(claimers, a.names[name])
	}
	slices.SortFunc(claimers, func(x, y *admittedSpec) int { return sourceCmp(x.spec, y.spec, so) })
	claimed := portClaims{}
	for _, e := range claimers {
		d := e.pre
		claimed.claim(&d)
		e.portRej = nil
		if e.pre.Admitted() && !d.Admitted() {
			e.portRej = d.Rejection
		}
		redo[e.spec.Name()] = struct{}{}
	}
	// Networks: the sharers of every name decided again, transitively.
	for queue := slices.Collect(maps.Keys(redo)); len(queue) > 0; {
		name := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for s := range a.sharers[name] {
			if _, ok := redo[s]; !ok {
				redo[s] = struct{}{}
				queue = append(queue, s)
			}
		}
	}
	names := slices.SortedFunc(maps.Keys(redo), func(x, y string) int {
		switch {
		case x == y:
			return 0
		case so.before(x, y):
			return -1
		}
		return 1
	})
	for _, name := range names {
		switch e := a.names[name]; {
		case e == nil:
		case e.sharer():
			a.share(e, so)
		default:
			e.shareRej = nil
		}
	}
	decisions := maps.Clone(a.decisions)
	var changedNames []string
	decide := func(name string, d *Decision) {
		old := a.decisions[name]
		switch {
		case d == nil && old == nil:
			return
		case d == nil:
			delete(decisions, name)
		case old != nil && reflect.DeepEqual(*old, *d):
			a.names[name].final = old
			return
		default:
			a.names[name].final = d
			decisions[name] = d
		}
		changedNames = append(changedNames, name)
	}
	for _, sharers := range []bool{false, true} {
		for _, name := range names {
			e := a.names[name]
			if e == nil {
				if !sharers {
					decide(name, nil)
				}
				continue
			}
			if e.sharer() != sharers {
				continue
			}
			d := e.postShare()
			if d.Admitted() {
				var target *Decision
				if sharers {
					target = a.names[d.Config.NetworkSharedWith].final
				}
				identifyOne(d, target)
			}
			decide(name, e.keep(d))
		}
	}
	a.decisions = decisions
	return changedNames
}

// imagesChanged reports whether the pass's looks at images found any
// described otherwise than before.
func (a *admissions) imagesChanged(adm *admitter) bool {
	for key, info := range adm.imageOS {
		if old, ok := a.images[key]; !ok || !old.equal(info) {
			return true
		}
	}
	return false
}

// specOf returns the spec of name in the snapshot being admitted, nil
// when it declares none.
func (a *admissions) specOf(name string, known map[string]*spec.Container, so specOrder) *spec.Container {
	if c, ok := known[name]; ok {
		return c
	}
	specs := a.snap.Specs
	if !so.sorted {
		if i, ok := so.pos[name]; ok {
			return specs[i]
		}
		return nil
	}
	if i, ok := slices.BinarySearchFunc(specs, name, func(c *spec.Container, n string) int { return strings.Compare(c.Name(), n) }); ok {
		return specs[i]
	}
	return nil
}

// ownPorts are the host ports e's own admission wants.
func (e *admittedSpec) ownPorts() []string {
	if !e.pre.Admitted() {
		return nil
	}
	keys := make([]string, len(e.pre.Config.Ports))
	for i, p := range e.pre.Config.Ports {
		keys[i] = portKey(p)
	}
	return keys
}

func (a *admissions) index(e *admittedSpec) {
	name := e.spec.Name()
	for _, k := range e.ownPorts() {
		addTo(a.ports, k, name)
	}
	if t := e.spec.Spec.Network.SharedWith(); t != "" {
		addTo(a.sharers, t, name)
	}
	if key := imageKeyOf(e.spec); !key.ref.IsZero() {
		addTo(a.byImage, key, name)
	}
}

// unindex takes e out of the indexes, adding the host ports it wanted to
// keys.
func (a *admissions) unindex(e *admittedSpec, keys map[string]struct{}) {
	name := e.spec.Name()
	for _, k := range e.ownPorts() {
		removeFrom(a.ports, k, name)
		keys[k] = struct{}{}
	}
	if t := e.spec.Spec.Network.SharedWith(); t != "" {
		removeFrom(a.sharers, t, name)
	}
	if key := imageKeyOf(e.spec); !key.ref.IsZero() {
		removeFrom(a.byImage, key, name)
	}
}

// portComponent returns the names wanting one of keys, and those wanting
// a port one of them wants, and so on.
func (a *admissions) portComponent(keys map[string]struct{}) map[string]struct{} {
	names := map[string]struct{}{}
	queue := slices.Collect(maps.Keys(keys))
	seen := maps.Clone(keys)
	for len(queue) > 0 {
		k := queue[len(queue)-1]
		queue = queue[:len(queue)-1]
		for name := range a.ports[k] {
			if _, ok := names[name]; ok {
				continue
			}
			names[name] = struct{}{}
			for _, k2 := range a.names[name].ownPorts() {
				if _, ok := seen[k2]; !ok {
					seen[k2] = struct{}{}
					queue = append(queue, k2)
				}
			}
		}
	}
	return names
}

func addTo[K comparable](m map[K]map[string]struct{}, k K, name string) {
	s := m[k]
	if s == nil {
		s = map[string]struct{}{}
		m[k] = s
	}
	s[name] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[string]struct{}, k K, name string) {
	if s := m[k]; s != nil {
		delete(s, name)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

// diffSpecs calls changed for every name whose spec differs between two
// lists sorted by name: added, removed or another *spec.Container.
func diffSpecs(old, next []*spec.Container, changed func(name string)) {
	i, j := 0, 0
	for i < len(old) || j < len(next) {
		switch {
		case j == len(next) || i < len(old) && old[i].Name() < next[j].Name():
			changed(old[i].Name())
			i++
		case i == len(old) || next[j].Name() < old[i].Name():
			changed(next[j].Name())
			j++
		default:
			if old[i] != next[j] {
				changed(next[j].Name())
			}
			i, j = i+1, j+1
		}
	}
}

// sourceOrder returns the indexes of specs in the order host ports are
// claimed in, as Admit claims them: by source file, then line, then the
// snapshot's order.
func sourceOrder(specs []*spec.Container, so specOrder) []int {
	order := make([]int, len(specs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return sourceCmp(specs[i], specs[j], so) })
	return order
}

func sourceCmp(a, b *spec.Container, so specOrder) int {
	if c := strings.Compare(a.Source.File, b.Source.File); c != 0 {
		return c
	}
	if c := cmp.Compare(a.Source.Line, b.Source.Line); c != 0 {
		return c
	}
	switch {
	case a == b:
		return 0
	case so.before(a.Name(), b.Name()):
		return -1
	}
	return 1
}

// imageKeyOf is what admission asks about c's image.
func imageKeyOf(c *spec.Container) imageKey {
	return imageKey{c.Spec.Image, c.Spec.ImagePullPolicy}
}
