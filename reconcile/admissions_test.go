package reconcile

import (
	"context"
	"fmt"
	"io/fs"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// TestIncrementalAdmissionIsAdmit edits a folder's specs at random (new,
// changed, removed and moved specs; host ports that collide; networks
// shared with specs that come and go, chains of sharing; isolations;
// images of every build; specs for other hosts) and lets the host change
// what it says of images and of where mounts lead, and the policy change,
// then admits each snapshot with the engine's admissions, told only the
// new snapshot. Each pass must decide exactly what Admit decides for the
// snapshot from scratch, and name every name whose decision changed.
func TestIncrementalAdmissionIsAdmit(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	steps := 150
	if testing.Short() {
		seeds, steps = seeds[:3], 60
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rnd := rand.New(rand.NewPCG(seed, 11))
			g := &specGen{rnd: rnd, specs: map[string]*spec.Container{}}
			imgs := &changingImages{builds: map[string]uint16{}}
			res := &changingResolver{real: map[string]string{}}
			secrets := &changingSecrets{digests: map[string]string{"db": "d1"}}
			host := server(20348)
			var pol Policy
			policyGen := uint64(0)
			var a admissions
			var prev map[string]*Decision
			nInc := 0
			defer func() { t.Log("incremental passes", nInc) }()
			for step := range steps {
				for range 1 + rnd.IntN(4) {
					g.edit()
				}
				again := rnd.IntN(4) == 0
				if again {
					// What the host says may change between looks; the
					// resync's second look reads it again.
					imgs.change(rnd)
					res.change(rnd)
					secrets.change(rnd)
				}
				switch rnd.IntN(30) {
				case 0:
					pol, policyGen = denyOutside{}, policyGen+1
				case 1:
					pol, policyGen = nil, policyGen+1
				case 2:
					host.HyperV = []driver.Availability{driver.Available, driver.Unavailable}[rnd.IntN(2)]
				}
				snap := g.snapshot(rnd.IntN(8) == 0)
				opts := AdmitOptions{Owner: "isoagent", Policy: pol, Resolver: res, Secrets: secrets, Labels: map[string]string{"role": "web"}}
				r := a.admit(admitPass{ctx: context.Background(), host: host, images: imgs, snap: snap, opts: opts, policyGen: policyGen, again: again})
				want := Admit(context.Background(), host, imgs, snap.Specs, opts)
				if !r.full {
					nInc++
				}
				if len(r.decisions) != len(want) {
					t.Fatalf("step %d: %d decisions, want %d", step, len(r.decisions), len(want))
				}
				for i := range want {
					got := r.decisions[want[i].Name()]
					if got == nil || !reflect.DeepEqual(*got, want[i]) {
						t.Fatalf("step %d (%s): decision for %s\n got %s\nwant %s", step, g.lastEdits(), want[i].Name(), describeDecision(got), describeDecision(&want[i]))
					}
				}
				if !r.full && r.base == a.gen-boolInt(len(r.changed) > 0) {
					for name, d := range r.decisions {
						if old := prev[name]; (old == nil || !reflect.DeepEqual(*old, *d)) && !slices.Contains(r.changed, name) {
							t.Fatalf("step %d (%s): %s changed but is not named", step, g.lastEdits(), name)
						}
					}
					for name := range prev {
						if r.decisions[name] == nil && !slices.Contains(r.changed, name) {
							t.Fatalf("step %d: %s went but is not named", step, name)
						}
					}
				}
				prev = r.decisions
				g.edits = nil
			}
		})
	}
}

func boolInt(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func describeDecision(d *Decision) string {
	if d == nil {
		return "none"
	}
	return fmt.Sprintf("rejection=%+v config={iso %s id %s shares %q ports %v mounts %v} imageOS=%v warnings=%q",
		d.Rejection, d.Config.Isolation, d.Config.ID, d.Config.NetworkSharedWith, d.Config.Ports, d.Config.Mounts, d.ImageOS, d.Warnings)
}

// specGen keeps a random set of specs and edits it; specs it does not
// edit stay the same pointers, as a loader keeps them.
type specGen struct {
	rnd   *rand.Rand
	specs map[string]*spec.Container
	gen   int
	edits []string
}

var genNames = []string{"a", "b", "c", "d", "e", "f", "g", "h", "web", "db"}

func (g *specGen) lastEdits() string { return strings.Join(g.edits, "; ") }

func (g *specGen) edit() {
	name := genNames[g.rnd.IntN(len(genNames))]
	if _, ok := g.specs[name]; ok && g.rnd.IntN(4) == 0 {
		delete(g.specs, name)
		g.edits = append(g.edits, "remove "+name)
		return
	}
	g.gen++
	images := []string{img2022, img2019, img2025, "mcr.microsoft.com/windows/servercore:custom", "example.com/app:ltsc2022"}
	c := ctr(name, images[g.rnd.IntN(len(images))], func(s *spec.Spec) {
		s.Env = map[string]string{"GEN": fmt.Sprint(g.gen % 3)}
		for range g.rnd.IntN(3) {
			s.Ports = append(s.Ports, spec.Port{HostPort: 8080 + g.rnd.IntN(4), ContainerPort: 80, Protocol: []string{"tcp", "udp"}[g.rnd.IntN(2)]})
		}
		switch g.rnd.IntN(6) {
		case 0:
			s.Network.Mode = spec.NetworkContainerPrefix + genNames[g.rnd.IntN(len(genNames))]
		case 1:
			s.Isolation = spec.IsolationHyperV
		case 2:
			s.OnVersionMismatch = spec.MismatchHyperV
		case 3:
			s.Selector = map[string]string{"role": []string{"web", "db"}[g.rnd.IntN(2)]}
		}
		if g.rnd.IntN(4) == 0 {
			s.EnvFrom = []spec.EnvFrom{{Secret: []string{"db", "tls"}[g.rnd.IntN(2)]}}
		}
		if g.rnd.IntN(3) == 0 {
			s.Mounts = []spec.Mount{{HostPath: winpath.MustParse([]string{`D:\data`, `D:\logs`, `E:\x`}[g.rnd.IntN(3)]), ContainerPath: winpath.MustParse(`C:\data`)}}
		}
		// A start order, which may name a spec that is not there or close a
		// cycle (depends.go).
		if g.rnd.IntN(3) == 0 {
			for range 1 + g.rnd.IntN(2) {
				if dep := genNames[g.rnd.IntN(len(genNames))]; dep != name && !slices.ContainsFunc(s.DependsOn, func(d spec.Dependency) bool { return d.Name == dep }) {
					s.DependsOn = append(s.DependsOn, spec.Dependency{Name: dep, Condition: spec.DependsStarted})
				}
			}
		}
	})
	// Specs move between files and lines, which orders their claims.
	c.Source = spec.Source{File: fmt.Sprintf("f%d.yaml", g.rnd.IntN(4)), Line: 1 + g.rnd.IntN(40), Column: 1}
	g.specs[name] = c
	g.edits = append(g.edits, fmt.Sprintf("set %s (gen %d, %s:%d, %v, %s, depends on %v)", name, g.gen, c.Source.File, c.Source.Line, c.Spec.Ports, c.Spec.Network.Mode, c.Spec.DependsOn))
}

// snapshot lists the specs by name, as a Loader does, or shuffled.
func (g *specGen) snapshot(shuffled bool) *spec.Snapshot {
	snap := &spec.Snapshot{Dir: "specs"}
	for _, name := range slices.Sorted(maps.Keys(g.specs)) {
		snap.Specs = append(snap.Specs, g.specs[name])
	}
	if shuffled {
		g.rnd.Shuffle(len(snap.Specs), func(i, j int) { snap.Specs[i], snap.Specs[j] = snap.Specs[j], snap.Specs[i] })
	}
	return snap
}

// changingImages is a host whose images' builds change between looks.
type changingImages struct{ builds map[string]uint16 }

func (c *changingImages) change(rnd *rand.Rand) {
	refs := []string{img2022, img2019, img2025, "mcr.microsoft.com/windows/servercore:custom", "example.com/app:ltsc2022"}
	ref := imageref.MustParse(refs[rnd.IntN(len(refs))]).String()
	switch rnd.IntN(3) {
	case 0:
		delete(c.builds, ref)
	case 1:
		c.builds[ref] = 20348
	default:
		c.builds[ref] = 17763
	}
}

func (c *changingImages) Image(_ context.Context, ref imageref.Ref) (driver.Image, error) {
	b, ok := c.builds[ref.String()]
	if !ok {
		return driver.Image{}, driver.ErrNotFound
	}
	return driver.Image{Ref: ref, OSVersion: osv(b)}, nil
}

// changingResolver is a host whose folders' junctions change between
// looks.
type changingResolver struct{ real map[string]string }

func (c *changingResolver) change(rnd *rand.Rand) {
	p := []string{`D:\data`, `D:\logs`}[rnd.IntN(2)]
	if rnd.IntN(2) == 0 {
		delete(c.real, p)
	} else {
		c.real[p] = `F:\elsewhere`
	}
}

func (c *changingResolver) ResolvePath(p winpath.Path) (string, error) {
	if r, ok := c.real[p.String()]; ok {
		return r, nil
	}
	return p.String(), nil
}

// denyOutside refuses a mount whose folder leads out of D:.
type denyOutside struct{}

func (denyOutside) Check(_ *spec.Container, cfg driver.Config, _ policy.Leads) []policy.Violation {
	for i, m := range cfg.Mounts {
		p := m.HostPath
		if !m.ResolvedPath.IsZero() {
			p = m.ResolvedPath
		}
		if !strings.HasPrefix(strings.ToUpper(p.String()), `D:\`) {
			return []policy.Violation{{Field: fmt.Sprintf("spec.mounts[%d].hostPath", i), Message: p.String() + " is not allowed"}}
		}
	}
	return nil
}

// changingSecrets is a secrets folder whose secrets are rotated, created
// and removed between looks.
type changingSecrets struct{ digests map[string]string }

func (c *changingSecrets) change(rnd *rand.Rand) {
	name := []string{"db", "tls"}[rnd.IntN(2)]
	if rnd.IntN(3) == 0 {
		delete(c.digests, name)
		return
	}
	c.digests[name] = fmt.Sprint("d", rnd.IntN(1000))
}

func (c *changingSecrets) Secret(name string) (map[string][]byte, string, error) {
	d, ok := c.digests[name]
	if !ok {
		return nil, "", fs.ErrNotExist
	}
	return map[string][]byte{"k": []byte(d)}, d, nil
}

// A full pass hands its decisions over as they become final: every
// decision handed over is the one the pass ends with, each hand-over
// holds the ones before it, and together they are all of them.
func TestFullAdmissionPublishesFinalDecisions(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	g := &specGen{rnd: rnd, specs: map[string]*spec.Container{}}
	for range 40 {
		g.edit()
	}
	// Enough specs for several chunks, some claiming ports the random
	// ones hold and some sharing their networks.
	for i := range 3 * firstChunk {
		name := fmt.Sprintf("n%04d", i)
		g.specs[name] = ctr(name, img2022, func(s *spec.Spec) {
			if i%50 == 0 {
				s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
			}
			if i%70 == 0 {
				s.Network.Mode = spec.NetworkContainerPrefix + genNames[i%len(genNames)]
			}
		})
		g.specs[name].Source = spec.Source{File: fmt.Sprintf("n%04d.yaml", i), Line: 1, Column: 1}
	}
	snap := g.snapshot(false)
	var a admissions
	var chunks []map[string]*Decision
	seen := map[string]bool{}
	r := a.admit(admitPass{ctx: context.Background(), host: server(20348), snap: snap, opts: AdmitOptions{Owner: "isoagent"},
		publish: func(ds map[string]*Decision, names []string) {
			for _, n := range names {
				if seen[n] {
					t.Errorf("%s handed over twice", n)
				}
				seen[n] = true
			}
			chunks = append(chunks, ds)
		}})
	if len(chunks) < 2 {
		t.Fatalf("%d hand-overs for %d specs, want several", len(chunks), len(snap.Specs))
	}
	if len(seen) != len(r.decisions) {
		t.Fatalf("%d names handed over, %d decided", len(seen), len(r.decisions))
	}
	want := Admit(context.Background(), server(20348), nil, snap.Specs, AdmitOptions{Owner: "isoagent"})
	for i, ds := range chunks {
		if i > 0 && len(ds) <= len(chunks[i-1]) {
			t.Errorf("hand-over %d holds %d decisions, the one before %d", i, len(ds), len(chunks[i-1]))
		}
		for name, d := range ds {
			if d != r.decisions[name] {
				t.Errorf("hand-over %d: %s is not the decision the pass ends with", i, name)
			}
		}
	}
	for i := range want {
		if got := r.decisions[want[i].Name()]; got == nil || !reflect.DeepEqual(*got, want[i]) {
			t.Errorf("%s: decided %s, want %s", want[i].Name(), describeDecision(got), describeDecision(&want[i]))
		}
	}
}
