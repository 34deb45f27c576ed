package pull_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil/winimage"
	"github.com/isoagent/isoagent/pull"
	"github.com/isoagent/isoagent/reconcile"
	"github.com/isoagent/isoagent/registry"
	"github.com/isoagent/isoagent/winbuild"
)

// testRegistry is go-containerregistry's registry on a loopback TLS
// server that counts the blob downloads it serves and lets a test hold,
// stall or corrupt them.
type testRegistry struct {
	t    *testing.T
	srv  *httptest.Server
	host string
	ca   string

	mu    sync.Mutex
	blobs map[string]int // GET /v2/.../blobs/<digest>, by digest
	// hook, when set, serves a blob GET instead of the registry; it
	// returns false to let the registry serve it.
	hook func(w http.ResponseWriter, req *http.Request, digest string, serve func(http.ResponseWriter)) bool
}

func newTestRegistry(t *testing.T) *testRegistry {
	t.Helper()
	r := &testRegistry{t: t, blobs: map[string]int{}}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if i := strings.Index(req.URL.Path, "/blobs/sha256:"); i >= 0 && req.Method == http.MethodGet {
			d := req.URL.Path[i+len("/blobs/"):]
			r.mu.Lock()
			r.blobs[d]++
			hook := r.hook
			r.mu.Unlock()
			if hook != nil && hook(w, req, d, func(w http.ResponseWriter) { reg.ServeHTTP(w, req) }) {
				return
			}
		}
		reg.ServeHTTP(w, req)
	}))
	t.Cleanup(r.srv.Close)
	r.host = strings.TrimPrefix(r.srv.URL, "https://")
	r.ca = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(r.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *testRegistry) setHook(h func(w http.ResponseWriter, req *http.Request, digest string, serve func(http.ResponseWriter)) bool) {
	r.mu.Lock()
	r.hook = h
	r.mu.Unlock()
}

func (r *testRegistry) blobGets(d string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.blobs[d]
}

// push pushes img as repoTag and returns its reference and digest.
func (r *testRegistry) push(repoTag string, img v1.Image) (imageref.Ref, string) {
	r.t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithTransport(r.srv.Client().Transport)); err != nil {
		r.t.Fatal(err)
	}
	d, _ := img.Digest()
	return imageref.MustParse(r.host + "/" + repoTag), d.String()
}

// pushIndex pushes idx as repoTag and returns its reference.
func (r *testRegistry) pushIndex(repoTag string, idx v1.ImageIndex) imageref.Ref {
	r.t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, remote.WithTransport(r.srv.Client().Transport)); err != nil {
		r.t.Fatal(err)
	}
	return imageref.MustParse(r.host + "/" + repoTag)
}

func (r *testRegistry) client(t *testing.T) *registry.Client {
	t.Helper()
	c, err := registry.New(registry.Options{Config: &registry.Config{
		DockerConfig: filepath.Join(t.TempDir(), "none.json"),
		Registries:   []registry.Registry{{Host: r.host, CA: []string{r.ca}}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// image is a small Windows image of build 20348 whose top layer holds
// marker, so that each marker gives other blobs.
func image(t *testing.T, marker string) v1.Image {
	base := winimage.Layer(t, map[string]string{"Windows/System32/cmd.exe": "MZ"}, true)
	top := winimage.Layer(t, map[string]string{"app/" + marker + ".txt": strings.Repeat(marker, 4096)}, false)
	return winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, base, top)
}

func topLayer(t *testing.T, img v1.Image) string {
	ls, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	d, err := ls[len(ls)-1].Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// observer records what the puller reports.
type observer struct {
	mu       sync.Mutex
	failed   []string
	maxPulls int
	bytes    int64
	removed  int
	freed    int64
	// collected receives each garbage collection that removed something.
	collected chan int
}

func (o *observer) PullBytes(n int64)            { o.mu.Lock(); o.bytes += n; o.mu.Unlock() }
func (o *observer) PullDone(bool, time.Duration) {}
func (o *observer) PullFailed(reason string) {
	o.mu.Lock()
	o.failed = append(o.failed, reason)
	o.mu.Unlock()
}
func (o *observer) PullsInProgress(n int) {
	o.mu.Lock()
	o.maxPulls = max(o.maxPulls, n)
	o.mu.Unlock()
}
func (o *observer) ImagesCollected(removed int, freed int64) {
	o.mu.Lock()
	o.removed, o.freed = o.removed+removed, o.freed+freed
	o.mu.Unlock()
	if o.collected != nil {
		o.collected <- removed
	}
}

func (o *observer) failures() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.failed...)
}

type fixture struct {
	p       *pull.Puller
	drv     *sim.Driver
	obs     *observer
	changed chan imageref.Ref
}

func start(t *testing.T, r *testRegistry, opts pull.Options) *fixture {
	t.Helper()
	drv, err := sim.Open("", sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := drv.Model().SetPulledOnly(true); err != nil {
		t.Fatal(err)
	}
	f := &fixture{drv: drv, obs: &observer{collected: make(chan int, 8)}, changed: make(chan imageref.Ref, 64)}
	opts.Client, opts.Store, opts.Host, opts.Dir = r.client(t), drv, drv, t.TempDir()
	opts.Observer = f.obs
	opts.OnChange = func(ref imageref.Ref) { f.changed <- ref }
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if f.p, err = pull.New(opts); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return f
}

// waitFor calls ensure each time the puller reports a change until ok
// holds for what it returns, or fails the test after a deadline.
func (f *fixture) waitFor(t *testing.T, what string, ensure func() reconcile.PullState, ok func(reconcile.PullState) bool) reconcile.PullState {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		st := ensure()
		if ok(st) {
			return st
		}
		select {
		case <-f.changed:
		case <-deadline:
			t.Fatalf("%s: not within 20s; last state %+v", what, st)
		}
	}
}

func ready(st reconcile.PullState) bool { return st.Ready }

// Many specs naming one image cause one download of each of its blobs.
func TestOnePullPerImage(t *testing.T) {
	r := newTestRegistry(t)
	img := image(t, "one")
	ref, digest := r.push("app:1", img)
	f := start(t, r, pull.Options{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { f.p.Ensure(context.Background(), ref, digest) })
	}
	wg.Wait()
	f.waitFor(t, "the image is pulled", func() reconcile.PullState { return f.p.Ensure(context.Background(), ref, digest) }, ready)
	if n := r.blobGets(topLayer(t, img)); n != 1 {
		t.Errorf("the top layer was downloaded %d times, want once", n)
	}
	got, err := f.drv.Image(context.Background(), imageref.Ref{Registry: ref.Registry, Repository: ref.Repository, Digest: digest})
	if err != nil || got.OSVersion.Build != winbuild.LTSC2022 {
		t.Errorf("host image = %+v, %v; want the pulled image of build 20348", got, err)
	}
	if len(f.p.Pulls()) != 0 {
		t.Errorf("Pulls() = %+v after the pull ended, want none", f.p.Pulls())
	}
}

// MaxPulls pulls run at once; the others wait their turn.
func TestMaxPullsAtOnce(t *testing.T) {
	r := newTestRegistry(t)
	var refs []imageref.Ref
	var digests []string
	holds := map[string]bool{}
	for _, m := range []string{"a", "b", "c"} {
		img := image(t, m)
		ref, d := r.push("app:"+m, img)
		refs, digests = append(refs, ref), append(digests, d)
		holds[topLayer(t, img)] = true
	}
	release := make(chan struct{})
	held := make(chan string, 3)
	r.setHook(func(w http.ResponseWriter, req *http.Request, d string, serve func(http.ResponseWriter)) bool {
		if !holds[d] {
			return false
		}
		held <- d
		select {
		case <-release:
		case <-req.Context().Done():
			return true
		}
		serve(w)
		return true
	})
	f := start(t, r, pull.Options{MaxPulls: 2})
	for i := range refs {
		f.p.Ensure(context.Background(), refs[i], digests[i])
	}
	for range 2 {
		select {
		case <-held:
		case <-time.After(20 * time.Second):
			t.Fatal("two pulls did not reach their top layer")
		}
	}
	running, queued := 0, 0
	for _, st := range f.p.Pulls() {
		switch {
		case st.Queued:
			queued++
		case st.Pulling:
			running++
		}
	}
	if running != 2 || queued != 1 {
		t.Errorf("with MaxPulls 2 and three images: %d running and %d queued, want 2 and 1: %+v", running, queued, f.p.Pulls())
	}
	close(release)
	for i := range refs {
		f.waitFor(t, "image "+refs[i].String(), func() reconcile.PullState { return f.p.Ensure(context.Background(), refs[i], digests[i]) }, ready)
	}
	// The puller still reports to the observer while it runs.
	f.obs.mu.Lock()
	most := f.obs.maxPulls
	f.obs.mu.Unlock()
	if most > 2 {
		t.Errorf("%d pulls ran at once, want at most 2", most)
	}
}

// A download that stops sending bytes is cancelled after StallTimeout
// and tried again; the second attempt finishes the image.
func TestStalledPullIsCancelledAndRetried(t *testing.T) {
	r := newTestRegistry(t)
	img := image(t, "stall")
	ref, digest := r.push("app:stall", img)
	top := topLayer(t, img)
	var once sync.Once
	r.setHook(func(w http.ResponseWriter, req *http.Request, d string, serve func(http.ResponseWriter)) bool {
		stalled := false
		if d == top {
			once.Do(func() { stalled = true })
		}
		if !stalled {
			return false
		}
		rec := httptest.NewRecorder()
		serve(rec)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		<-req.Context().Done() // and then nothing more
		return true
	})
	f := start(t, r, pull.Options{StallTimeout: 300 * time.Millisecond, BackoffBase: 10 * time.Millisecond})
	f.waitFor(t, "the image is pulled", func() reconcile.PullState { return f.p.Ensure(context.Background(), ref, digest) }, ready)
	if got := f.obs.failures(); len(got) != 1 || got[0] != "stalled" {
		t.Errorf("failures = %q, want one stalled", got)
	}
	if n := r.blobGets(top); n != 2 {
		t.Errorf("the stalled layer was asked for %d times, want 2 (the stall, the retry)", n)
	}
}

// A blob that is not what its digest says is refused and nothing is
// stored; the pull is tried again with backoff and succeeds once the
// registry sends the right bytes.
func TestDigestMismatchIsRefusedAndRetried(t *testing.T) {
	r := newTestRegistry(t)
	img := image(t, "bad")
	ref, digest := r.push("app:bad", img)
	top := topLayer(t, img)
	var mu sync.Mutex
	corrupt := true
	r.setHook(func(w http.ResponseWriter, req *http.Request, d string, serve func(http.ResponseWriter)) bool {
		mu.Lock()
		c := corrupt
		mu.Unlock()
		if d != top || !c {
			return false
		}
		rec := httptest.NewRecorder()
		serve(rec)
		body := rec.Body.Bytes()
		body[len(body)/2] ^= 0xff
		w.WriteHeader(rec.Code)
		w.Write(body)
		return true
	})
	f := start(t, r, pull.Options{BackoffBase: 50 * time.Millisecond})
	st := f.waitFor(t, "the pull fails", func() reconcile.PullState { return f.p.Ensure(context.Background(), ref, digest) },
		func(st reconcile.PullState) bool { return st.Error != "" })
	if !strings.Contains(st.Error, "digest mismatch") || st.Attempts != 1 || st.RetryAt.IsZero() {
		t.Errorf("state after a corrupt blob = %+v, want a digest mismatch, one attempt and a retry time", st)
	}
	if got := f.obs.failures(); len(got) == 0 || got[0] != "digest-mismatch" {
		t.Errorf("failures = %q, want digest-mismatch first", got)
	}
	if imgs, _ := f.drv.PulledImages(context.Background()); len(imgs) != 0 {
		t.Errorf("the store has %+v after a refused blob, want nothing", imgs)
	}
	mu.Lock()
	corrupt = false
	mu.Unlock()
	f.waitFor(t, "the retry pulls the image", func() reconcile.PullState { return f.p.Ensure(context.Background(), ref, digest) }, ready)
}

// Lookup never blocks: pending first, then the registry's answer, and an
// image without a variant for the host is ErrNoVariant.
func TestLookup(t *testing.T) {
	r := newTestRegistry(t)
	img := image(t, "l")
	ref, digest := r.push("app:22", img)
	list := r.pushIndex("app:list", winimage.Index(t, false, img))
	f := start(t, r, pull.Options{})
	tests := []struct {
		name    string
		ref     imageref.Ref
		host    driver.OSVersion
		wantErr error
	}{
		{"single manifest, host of its build", ref, driver.OSVersion{Major: 10, Build: winbuild.LTSC2022}, nil},
		{"manifest list, host of its build", list, driver.OSVersion{Major: 10, Build: winbuild.LTSC2022}, nil},
		// A single manifest's build goes to admission, which refuses it;
		// a list without a variant for the host is refused here.
		{"manifest list, older host", list, driver.OSVersion{Major: 10, Build: winbuild.LTSC2019}, reconcile.ErrNoVariant},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := driver.Host{OSVersion: tt.host}
			_, err := f.p.Lookup(context.Background(), tt.ref, false, h)
			if !errors.Is(err, reconcile.ErrLookupPending) {
				t.Fatalf("first Lookup = %v, want ErrLookupPending", err)
			}
			deadline := time.After(20 * time.Second)
			for {
				ans, err := f.p.Lookup(context.Background(), tt.ref, false, h)
				if !errors.Is(err, reconcile.ErrLookupPending) {
					if !errors.Is(err, tt.wantErr) || (err == nil && ans.Digest != digest) {
						t.Errorf("Lookup = %+v, %v; want digest %s, error %v", ans, err, digest, tt.wantErr)
					}
					return
				}
				select {
				case <-f.changed:
				case <-deadline:
					t.Fatal("no answer within 20s")
				}
			}
		})
	}
}

// clock is a settable time for the puller.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return time.Now().Add(c.off) }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Images no container was created from are removed once unused for
// GCAge; one a container was created from stays, whoever owns it.
func TestUnusedImagesAreCollected(t *testing.T) {
	r := newTestRegistry(t)
	usedImg, unusedImg := image(t, "used"), image(t, "unused")
	usedRef, usedDigest := r.push("app:used", usedImg)
	unusedRef, unusedDigest := r.push("app:unused", unusedImg)
	clk := &clock{}
	f := start(t, r, pull.Options{Clock: clk.now, GCAge: time.Hour, GCInterval: time.Millisecond})
	for _, im := range []struct {
		ref    imageref.Ref
		digest string
	}{{usedRef, usedDigest}, {unusedRef, unusedDigest}} {
		f.waitFor(t, "image "+im.ref.String(), func() reconcile.PullState { return f.p.Ensure(context.Background(), im.ref, im.digest) }, ready)
	}
	// Another owner's container keeps its image.
	other := sim.NewDriver(f.drv.Model(), "someone-else", nil)
	if err := other.Create(context.Background(), driver.Config{ID: "c1", Name: "c1", Isolation: driver.Process, Image: usedRef, ImageDigest: usedDigest}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-f.obs.collected:
		t.Fatalf("%d images collected before they were unused for GCAge", n)
	default:
	}
	clk.advance(2 * time.Hour)
	select {
	case n := <-f.obs.collected:
		if n != 1 {
			t.Errorf("%d images collected, want 1", n)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("nothing collected within 20s of the images turning two hours unused")
	}
	imgs, err := f.drv.PulledImages(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].Digest != usedDigest {
		t.Errorf("images left = %+v, want only the one in use, %s", imgs, usedDigest)
	}
	f.obs.mu.Lock()
	freed := f.obs.freed
	f.obs.mu.Unlock()
	if freed <= 0 {
		t.Errorf("bytes freed = %d, want the unused image's size", freed)
	}
}

// logRecords is a slog handler that sends the records it gets to a
// channel.
type logRecords chan slog.Record

func (h logRecords) Enabled(context.Context, slog.Level) bool { return true }
func (h logRecords) Handle(_ context.Context, r slog.Record) error {
	select {
	case h <- r:
	default:
	}
	return nil
}
func (h logRecords) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h logRecords) WithGroup(string) slog.Handler      { return h }

// A pull that runs logs how far it is every ProgressInterval.
func TestPullLogsItsProgress(t *testing.T) {
	r := newTestRegistry(t)
	img := image(t, "progress")
	ref, digest := r.push("app:progress", img)
	top := topLayer(t, img)
	release := make(chan struct{})
	r.setHook(func(w http.ResponseWriter, req *http.Request, d string, serve func(http.ResponseWriter)) bool {
		if d != top {
			return false
		}
		rec := httptest.NewRecorder()
		serve(rec)
		body := rec.Body.Bytes()
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		select {
		case <-release:
			w.Write(body[len(body)/2:])
		case <-req.Context().Done():
		}
		return true
	})
	logs := make(logRecords, 256)
	drv, err := sim.Open("", sim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pull.New(pull.Options{Client: r.client(t), Store: drv, Host: drv, Dir: t.TempDir(), ProgressInterval: 20 * time.Millisecond, Logger: slog.New(logs)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() { cancel(); <-done }()
	p.Ensure(context.Background(), ref, digest)
	deadline := time.After(20 * time.Second)
	for {
		select {
		case rec := <-logs:
			var bytes, total int64
			rec.Attrs(func(a slog.Attr) bool {
				switch a.Key {
				case "bytes":
					bytes = a.Value.Int64()
				case "total":
					total = a.Value.Int64()
				}
				return true
			})
			if rec.Message == "pulling image" && bytes > 0 && total > bytes {
				close(release)
				return
			}
		case <-deadline:
			close(release)
			t.Fatal("no progress record with bytes done of a larger total within 20s")
		}
	}
}

// A new client (the registries file changed) serves the look-ups from then
// on, and a look-up that failed is tried again at once, not after its
// backoff: what failed may be what the change fixed.
func TestSetClientRetriesFailuresAtOnce(t *testing.T) {
	r := newTestRegistry(t)
	ref, digest := r.push("app:1", image(t, "c"))
	f := start(t, r, pull.Options{BackoffBase: time.Hour, BackoffMax: time.Hour})
	// Without the registry's CA, TLS refuses it.
	untrusted, err := registry.New(registry.Options{Config: &registry.Config{DockerConfig: filepath.Join(t.TempDir(), "none.json")}})
	if err != nil {
		t.Fatal(err)
	}
	f.p.SetClient(untrusted)
	h := driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: winbuild.LTSC2022}}
	lookup := func(want func(reconcile.RegistryAnswer, error) bool) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			ans, err := f.p.Lookup(context.Background(), ref, false, h)
			if want(ans, err) {
				return
			}
			select {
			case <-f.changed:
			case <-deadline:
				t.Fatalf("Lookup = %+v, %v after 20s", ans, err)
			}
		}
	}
	lookup(func(_ reconcile.RegistryAnswer, err error) bool {
		return err != nil && !errors.Is(err, reconcile.ErrLookupPending)
	})
	f.p.SetClient(r.client(t))
	lookup(func(ans reconcile.RegistryAnswer, err error) bool { return err == nil && ans.Digest == digest })
}

// A pull of a tag that fails asks the registry about the tag again: an
// operator who pushes a fixed image under the same tag gets it pulled,
// although the spec (IfNotPresent) never asks for a fresh look-up.
func TestFailedPullLooksTheTagUpAgain(t *testing.T) {
	r := newTestRegistry(t)
	bad := image(t, "broken")
	ref, badDigest := r.push("app:1", bad)
	top := topLayer(t, bad)
	r.setHook(func(w http.ResponseWriter, req *http.Request, d string, serve func(http.ResponseWriter)) bool {
		if d != top {
			return false
		}
		http.Error(w, "blob unknown", http.StatusNotFound)
		return true
	})
	f := start(t, r, pull.Options{BackoffBase: 50 * time.Millisecond})
	host := driver.Host{OSVersion: driver.OSVersion{Major: 10, Build: winbuild.LTSC2022}}
	digestOf := func() string {
		ans, err := f.p.Lookup(context.Background(), ref, false, host)
		if err != nil {
			return ""
		}
		return ans.Digest
	}
	f.waitFor(t, "the tag resolves", func() reconcile.PullState { return reconcile.PullState{Digest: digestOf()} },
		func(st reconcile.PullState) bool { return st.Digest == badDigest })
	f.waitFor(t, "the pull fails", func() reconcile.PullState { return f.p.Ensure(context.Background(), ref, badDigest) },
		func(st reconcile.PullState) bool { return st.Error != "" })

	_, goodDigest := r.push("app:1", image(t, "fixed"))
	f.waitFor(t, "the tag is looked up again", func() reconcile.PullState {
		st := f.p.Ensure(context.Background(), ref, badDigest) // the failed pull's retries
		return reconcile.PullState{Digest: digestOf(), Error: st.Error}
	}, func(st reconcile.PullState) bool { return st.Digest == goodDigest })
	f.waitFor(t, "the moved tag is pulled", func() reconcile.PullState { return f.p.Ensure(context.Background(), ref, goodDigest) }, ready)
}
