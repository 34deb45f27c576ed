package reconcile

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
)

// lateRegistry is an Images whose registry has not answered about any
// image until answer is called; its pulls never end.
type lateRegistry struct {
	mu  sync.Mutex
	by  map[imageref.Ref]RegistryAnswer
	eng *Engine
}

func (l *lateRegistry) Lookup(_ context.Context, ref imageref.Ref, _ bool, _ driver.Host) (RegistryAnswer, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ans, ok := l.by[ref]; ok {
		return ans, nil
	}
	return RegistryAnswer{}, fmt.Errorf("image %s: %w", ref, ErrLookupPending)
}

func (l *lateRegistry) Ensure(_ context.Context, ref imageref.Ref, digest string) PullState {
	return PullState{Ref: ref, Digest: digest, Pulling: true}
}

func (l *lateRegistry) Pulls() []PullState { return nil }

// answer is the registry's answer coming in, told to the engine as the
// agent's puller tells it.
func (l *lateRegistry) answer(ref imageref.Ref, ans RegistryAnswer) {
	l.mu.Lock()
	l.by[ref] = ans
	l.mu.Unlock()
	l.eng.ImagesChanged(ref)
}

// A spec whose image the registry has not described yet waits; when the
// answer comes, the engine admits the spec again at once, not at the next
// resync: sparing unchanged specs their admission must not spare a spec
// whose image was described anew.
func TestEngineActsOnTheRegistrysAnswerAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		drv := openSim(t, t.TempDir())
		if err := drv.Model().SetPulledOnly(true); err != nil {
			t.Fatal(err)
		}
		c := ctr("app", appImage, withPolicy(spec.PullIfNotPresent))
		reg := &lateRegistry{by: map[imageref.Ref]RegistryAnswer{}}
		r := start(t, drv, snapshot(c), func(o *EngineOptions) {
			o.Images = reg
			o.Resync = time.Hour
		})
		reg.eng = r.eng
		r.settle(5 * time.Second)
		if st := r.status("app"); st.ContainerID != "" || st.Rejection == nil {
			t.Fatalf("before the registry answered: %+v, want a spec waiting for it", st)
		}
		reg.answer(c.Spec.Image, RegistryAnswer{OSVersion: driver.OSVersion{Major: 10, Build: 20348}, Digest: digestA})
		r.settle(5 * time.Second)
		if st := r.status("app"); st.Rejection != nil || st.ImageDigest != digestA {
			t.Fatalf("5s after the registry answered: %+v, want it admitted with digest %s", st, digestA)
		}
	})
}
