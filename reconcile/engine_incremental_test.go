package reconcile

import (
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

// imageLooks is a recorder that also counts the driver's image look-ups,
// one per spec admitted on its own (each spec here runs its own image).
type imageLooks struct {
	*recorder
	mu    sync.Mutex
	looks int
}

func (o *imageLooks) DriverOp(op driver.Op, _ error, _ time.Duration) {
	if op == driver.OpImage {
		o.mu.Lock()
		o.looks++
		o.mu.Unlock()
	}
}

func (o *imageLooks) take() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := o.looks
	o.looks = 0
	return n
}

// A change admits what it touches, and what depends on it, and no more:
// a changed spec is looked at again, a spec that takes a host port
// another holds is refused as the conflict it is, and when the holder
// goes the one refused before is admitted, all without admitting the
// other specs again.
func TestEngineAdmitsWhatChanged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const n = 30
		specs := make([]*spec.Container, n)
		for i := range specs {
			specs[i] = ctr(fmt.Sprintf("s%02d", i), fmt.Sprintf("example.com/app%02d:ltsc2022", i))
			specs[i].Source = spec.Source{File: fmt.Sprintf("s%02d.yaml", i), Line: 1, Column: 1}
		}
		specs[0].Spec.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
		obs := &imageLooks{recorder: newRecorder()}
		r := start(t, openSim(t, ""), snapshot(specs...), func(o *EngineOptions) { o.Observer = obs })
		r.waitConverged()
		if got := obs.take(); got < n {
			t.Fatalf("the first admission looked at %d images, want every one of %d", got, n)
		}
		before := r.containers()

		steps := []struct {
			name    string
			edit    func([]*spec.Container) []*spec.Container
			looks   int
			changed []string          // containers recreated
			reasons map[string]Reason // rejections after
		}{
			{"one spec's env", func(cs []*spec.Container) []*spec.Container {
				cs[5] = ctr(cs[5].Name(), cs[5].Spec.Image.String(), func(s *spec.Spec) { s.Env = map[string]string{"X": "1"} })
				cs[5].Source = specs[5].Source
				return cs
			}, 1, []string{"s05"}, nil},
			{"a later spec takes s00's port", func(cs []*spec.Container) []*spec.Container {
				cs[7] = ctr(cs[7].Name(), cs[7].Spec.Image.String(), func(s *spec.Spec) {
					s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}}
				})
				cs[7].Source = specs[7].Source
				return cs
			}, 1, nil, map[string]Reason{"s07": ReasonConflict}},
			{"the holder goes", func(cs []*spec.Container) []*spec.Container {
				return cs[1:]
			}, 0, []string{"s07"}, nil}, // s07's claim is made again; its own admission stands
		}
		cur := append([]*spec.Container(nil), specs...)
		for _, st := range steps {
			cur = st.edit(cur)
			r.apply(snapshot(cur...))
			r.waitConverged()
			if got := obs.take(); got != st.looks {
				t.Errorf("%s: admission looked at %d images, want %d", st.name, got, st.looks)
			}
			after := r.containers()
			for name, c := range before {
				if _, gone := after[name]; !gone {
					continue
				}
				recreated := after[name].ID != c.ID
				want := false
				for _, w := range st.changed {
					want = want || w == name
				}
				if recreated != want {
					t.Errorf("%s: %s recreated %v, want %v", st.name, name, recreated, want)
				}
			}
			for _, c := range cur {
				d := r.eng.desired.Load().decision(c.Name())
				want, rejected := st.reasons[c.Name()]
				switch {
				case rejected && (d.Admitted() || d.Rejection.Reason != want):
					t.Errorf("%s: %s decided %+v, want %s", st.name, c.Name(), d.Rejection, want)
				case !rejected && !d.Admitted():
					t.Errorf("%s: %s rejected: %v", st.name, c.Name(), d.Rejection)
				}
			}
			before = after
		}
	})
}
