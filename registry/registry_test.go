package registry

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/testutil/winimage"
	"github.com/isoagent/isoagent/winbuild"
)

// testRegistry is go-containerregistry's registry on a loopback TLS
// server, optionally behind basic auth, logging the requests it gets.
type testRegistry struct {
	t    *testing.T
	srv  *httptest.Server
	host string
	ca   string // PEM file of the server's certificate
	user string
	pass string

	mu   sync.Mutex
	reqs []string
	// corrupt flips a byte of every blob it serves.
	corrupt atomic.Bool
	// down answers every request with 503.
	down atomic.Bool
}

func newTestRegistry(t *testing.T, user, pass string) *testRegistry {
	t.Helper()
	r := &testRegistry{t: t, user: user, pass: pass}
	reg := ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))
	r.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
		r.mu.Unlock()
		if r.down.Load() {
			http.Error(w, `{"errors":[{"code":"UNAVAILABLE","message":"down for a test"}]}`, http.StatusServiceUnavailable)
			return
		}
		if r.user != "" {
			if u, p, ok := req.BasicAuth(); !ok || u != r.user || p != r.pass {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)
				return
			}
		}
		if r.corrupt.Load() && req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/") {
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, req)
			body := rec.Body.Bytes()
			if len(body) > 0 {
				body[len(body)/2] ^= 0xff
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(body)
			return
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

func (r *testRegistry) ref(repoTag string) imageref.Ref {
	return imageref.MustParse(r.host + "/" + repoTag)
}

func (r *testRegistry) pushOpts() []remote.Option {
	opts := []remote.Option{remote.WithTransport(r.srv.Client().Transport)}
	if r.user != "" {
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass}))
	}
	return opts
}

func (r *testRegistry) push(repoTag string, img v1.Image) string {
	r.t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.Write(ref, img, r.pushOpts()...); err != nil {
		r.t.Fatal(err)
	}
	d, _ := img.Digest()
	return d.String()
}

func (r *testRegistry) pushIndex(repoTag string, idx v1.ImageIndex) string {
	r.t.Helper()
	ref, err := name.ParseReference(r.host + "/" + repoTag)
	if err != nil {
		r.t.Fatal(err)
	}
	if err := remote.WriteIndex(ref, idx, r.pushOpts()...); err != nil {
		r.t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d.String()
}

// requests returns the requests since the last call whose "METHOD path"
// contains part.
func (r *testRegistry) requests(part string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, q := range r.reqs {
		if strings.Contains(q, part) {
			out = append(out, q)
		}
	}
	r.reqs = nil
	return out
}

// entry is the registries-file entry that reaches r: its CA and
// credentials.
func (r *testRegistry) entry() Registry {
	return Registry{Host: r.host, CA: []string{r.ca}, Username: r.user, Password: r.pass}
}

func newClient(t *testing.T, regs ...Registry) *Client {
	t.Helper()
	c, err := New(Options{Config: &Config{Registries: regs, DockerConfig: filepath.Join(t.TempDir(), "none.json")}})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func host(build uint16) winbuild.Version {
	return winbuild.Version{Major: 10, Build: build, Revision: 1}
}

// windowsList pushes a manifest list with an ltsc2019 and an ltsc2022
// variant, and returns the digests of the two.
func windowsList(t *testing.T, r *testRegistry, repoTag string, oci bool) (d2019, d2022 string) {
	base := winimage.Layer(t, map[string]string{"Windows/System32/cmd.exe": "MZ"}, true)
	i19 := winimage.Image(t, winbuild.LTSC2019, winimage.Options{OCI: oci}, base, winimage.Layer(t, map[string]string{"app/2019.txt": "2019"}, true))
	i22 := winimage.Image(t, winbuild.LTSC2022, winimage.Options{OCI: oci}, base, winimage.Layer(t, map[string]string{"app/2022.txt": "2022"}, true))
	r.pushIndex(repoTag, winimage.Index(t, oci, i19, i22))
	a, _ := i19.Digest()
	b, _ := i22.Digest()
	return a.String(), b.String()
}

// The variant a host gets is the one it runs best, chosen from the list
// alone: no blob is fetched to choose.
func TestResolveChoosesTheVariantForTheHost(t *testing.T) {
	for _, oci := range []bool{false, true} {
		t.Run(fmt.Sprintf("oci=%v", oci), func(t *testing.T) {
			r := newTestRegistry(t, "", "")
			d19, d22 := windowsList(t, r, "app:ltsc", oci)
			r.requests("")
			c := newClient(t, r.entry())
			for _, tt := range []struct {
				host  uint16
				want  string
				build uint16
			}{{winbuild.LTSC2019, d19, winbuild.LTSC2019}, {winbuild.LTSC2022, d22, winbuild.LTSC2022}, {winbuild.LTSC2025, d22, winbuild.LTSC2022}} {
				got, err := c.Resolve(context.Background(), r.ref("app:ltsc"), host(tt.host))
				if err != nil {
					t.Fatalf("host %d: %v", tt.host, err)
				}
				if got.Digest != tt.want || got.OSVersion.Build != tt.build || got.ListDigest == "" || len(got.Builds) != 2 {
					t.Errorf("host %d: resolved %+v, want digest %s of build %d from the list", tt.host, got, tt.want, tt.build)
				}
			}
			if blobs := r.requests("/blobs/"); len(blobs) != 0 {
				t.Errorf("resolving fetched blobs: %v", blobs)
			}
		})
	}
}

// A list without a variant the host can run is refused naming both builds,
// with no blob fetched.
func TestResolveRefusesAListWithoutAVariantForTheHost(t *testing.T) {
	r := newTestRegistry(t, "", "")
	only22 := winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true))
	r.pushIndex("app:2022", winimage.Index(t, false, only22))
	r.requests("")
	_, err := newClient(t, r.entry()).Resolve(context.Background(), r.ref("app:2022"), host(winbuild.LTSC2019))
	var nv *NoVariantError
	if !errors.As(err, &nv) || !errors.Is(err, ErrNoVariant) {
		t.Fatalf("Resolve: %v, want a NoVariantError", err)
	}
	for _, want := range []string{"17763 (ltsc2019)", "20348 (ltsc2022)"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name build %s", err, want)
		}
	}
	if blobs := r.requests("/blobs/"); len(blobs) != 0 {
		t.Errorf("refusing fetched blobs: %v", blobs)
	}
}

// A single manifest's build comes from its config; an image for Linux has
// no variant for a Windows host.
func TestResolveReadsASingleManifestsConfig(t *testing.T) {
	r := newTestRegistry(t, "", "")
	d := r.push("app:one", winimage.Image(t, winbuild.LTSC2022, winimage.Options{Revision: 2655}, winimage.Layer(t, nil, true)))
	r.push("linux:one", winimage.Image(t, 0, winimage.Options{OS: "linux"}, winimage.Layer(t, nil, false)))
	c := newClient(t, r.entry())
	got, err := c.Resolve(context.Background(), r.ref("app:one"), host(winbuild.LTSC2022))
	if err != nil || got.Digest != d || got.OSVersion.Build != winbuild.LTSC2022 || got.OSVersion.Revision != 2655 || got.ListDigest != "" {
		t.Errorf("Resolve = %+v, %v; want %s, 10.0.20348.2655", got, err, d)
	}
	if _, err := c.Resolve(context.Background(), r.ref("linux:one"), host(winbuild.LTSC2022)); !errors.Is(err, ErrNoVariant) || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("Resolve of a Linux image: %v, want no variant naming linux/amd64", err)
	}
}

// A tag is asked about with one HEAD request once its manifest is known;
// a moved tag is seen at once.
func TestResolveCachesManifestsByDigest(t *testing.T) {
	r := newTestRegistry(t, "", "")
	c := newClient(t, r.entry())
	ref := r.ref("app:ltsc2022")
	d1 := r.push("app:ltsc2022", winimage.Image(t, winbuild.LTSC2022, winimage.Options{Revision: 1}, winimage.Layer(t, nil, true)))
	if got, err := c.Resolve(context.Background(), ref, host(winbuild.LTSC2022)); err != nil || got.Digest != d1 {
		t.Fatalf("Resolve = %+v, %v", got, err)
	}
	r.requests("")
	if got, err := c.Resolve(context.Background(), ref, host(winbuild.LTSC2022)); err != nil || got.Digest != d1 {
		t.Fatalf("Resolve again = %+v, %v", got, err)
	}
	if reqs := r.requests("/v2/app/"); len(reqs) != 1 || !strings.HasPrefix(reqs[0], "HEAD ") {
		t.Errorf("a second look at a known tag made requests %v, want one HEAD", reqs)
	}
	d2 := r.push("app:ltsc2022", winimage.Image(t, winbuild.LTSC2022, winimage.Options{Revision: 2}, winimage.Layer(t, nil, true)))
	if got, err := c.Resolve(context.Background(), ref, host(winbuild.LTSC2022)); err != nil || got.Digest != d2 || got.OSVersion.Revision != 2 {
		t.Errorf("Resolve after the tag moved = %+v, %v; want %s", got, err, d2)
	}
}

// Fetch downloads the config and every layer, checked, reporting the bytes;
// a second fetch finds the blobs there; the layers open as their tars.
func TestFetchDownloadsEveryLayer(t *testing.T) {
	r := newTestRegistry(t, "", "")
	_, d22 := windowsList(t, r, "app:ltsc", false)
	c := newClient(t, r.entry())
	res, err := c.Resolve(context.Background(), r.ref("app:ltsc"), host(winbuild.LTSC2022))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var total, done atomic.Int64
	dl, err := c.Fetch(context.Background(), res, FetchOptions{Dir: dir, Total: func(n int64) { total.Store(n) }, Progress: func(n int64) { done.Add(n) }})
	if err != nil {
		t.Fatal(err)
	}
	if dl.Resolved.Digest != d22 || len(dl.Layers) != 2 || dl.Config.OSVersion.Build != winbuild.LTSC2022 || len(dl.Config.Cmd) == 0 {
		t.Fatalf("Fetch = %+v", dl)
	}
	if total.Load() == 0 || done.Load() != total.Load() {
		t.Errorf("progress %d of %d bytes, want all of a non-zero total", done.Load(), total.Load())
	}
	img := dl.Image()
	for i, l := range img.Layers {
		rc, err := l.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		if err := rc.Close(); err != nil {
			t.Errorf("layer %d: Close: %v", i, err)
		}
		if !strings.Contains(string(b), "Files/") {
			t.Errorf("layer %d is not its tar", i)
		}
	}
	r.requests("")
	if _, err := c.Fetch(context.Background(), res, FetchOptions{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if blobs := r.requests("/blobs/"); len(blobs) != 1 { // the config, which is not kept
		t.Errorf("a second fetch fetched %v, want the config only", blobs)
	}
}

// A blob that is not what its digest says is refused and not kept.
func TestFetchRefusesADigestMismatch(t *testing.T) {
	r := newTestRegistry(t, "", "")
	r.push("app:1", winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, map[string]string{"a": strings.Repeat("x", 4096)}, true)))
	c := newClient(t, r.entry())
	res, err := c.Resolve(context.Background(), r.ref("app:1"), host(winbuild.LTSC2022))
	if err != nil {
		t.Fatal(err)
	}
	r.corrupt.Store(true)
	dir := t.TempDir()
	_, err = c.Fetch(context.Background(), res, FetchOptions{Dir: dir})
	if !errors.Is(err, ErrDigestMismatch) {
		t.Fatalf("Fetch of corrupted blobs: %v, want a digest mismatch", err)
	}
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	if len(entries) != 0 {
		t.Errorf("a refused blob was kept: %v", entries)
	}
	// A config that is not what its digest says is refused as one when
	// the image is looked up, too.
	_, err = newClient(t, r.entry()).Resolve(context.Background(), r.ref("app:1"), host(winbuild.LTSC2022))
	if !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Resolve of a corrupted config: %v, want a digest mismatch", err)
	}
}

// A layer's tar that is not what the config's diff ID says is refused
// when the importer closes it.
func TestOpenedLayerRefusesAWrongDiffID(t *testing.T) {
	r := newTestRegistry(t, "", "")
	r.push("app:1", winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true)))
	c := newClient(t, r.entry())
	res, err := c.Resolve(context.Background(), r.ref("app:1"), host(winbuild.LTSC2022))
	if err != nil {
		t.Fatal(err)
	}
	dl, err := c.Fetch(context.Background(), res, FetchOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	dl.Layers[0].DiffID = "sha256:" + strings.Repeat("0", 64)
	rc, err := dl.Image().Layers[0].Open()
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); !errors.Is(err, ErrDigestMismatch) {
		t.Errorf("Close of a layer with a wrong diff ID: %v, want ErrDigestMismatch", err)
	}
}

// Credentials come from the registries file, from Docker's config.json and
// from the credential helper it names; wrong ones are a clear refusal that
// never shows the password.
func TestCredentials(t *testing.T) {
	r := newTestRegistry(t, "puller", "s3cret-pass")
	r.push("app:1", winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true)))
	ref := r.ref("app:1")
	resolve := func(t *testing.T, cfg *Config) error {
		c, err := New(Options{Config: cfg})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Resolve(context.Background(), ref, host(winbuild.LTSC2022))
		return err
	}
	dockerConfig := func(t *testing.T, body string) string {
		p := filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("registries file", func(t *testing.T) {
		if err := resolve(t, &Config{Registries: []Registry{r.entry()}}); err != nil {
			t.Error(err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		e := r.entry()
		e.Password = "wrong-pass"
		err := resolve(t, &Config{Registries: []Registry{e}})
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Resolve with a wrong password: %v, want ErrUnauthorized", err)
		}
		if strings.Contains(err.Error(), "wrong-pass") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("the error shows a password: %v", err)
		}
		if Reason(err) != "unauthorized" {
			t.Errorf("Reason = %s", Reason(err))
		}
	})
	t.Run("docker config auths", func(t *testing.T) {
		e := Registry{Host: r.host, CA: []string{r.ca}}
		cfg := dockerConfig(t, fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.host, basic("puller", "s3cret-pass")))
		if err := resolve(t, &Config{Registries: []Registry{e}, DockerConfig: cfg}); err != nil {
			t.Error(err)
		}
	})
	t.Run("docker credential helper", func(t *testing.T) {
		bin := t.TempDir()
		helper := "#!/bin/sh\nread server\necho '{\"ServerURL\":\"'$server'\",\"Username\":\"puller\",\"Secret\":\"s3cret-pass\"}'\n"
		if err := os.WriteFile(filepath.Join(bin, "docker-credential-isoagenttest"), []byte(helper), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
		e := Registry{Host: r.host, CA: []string{r.ca}}
		cfg := dockerConfig(t, fmt.Sprintf(`{"credHelpers":{%q:"isoagenttest"}}`, r.host))
		if err := resolve(t, &Config{Registries: []Registry{e}, DockerConfig: cfg}); err != nil {
			t.Error(err)
		}
	})
	t.Run("none", func(t *testing.T) {
		e := Registry{Host: r.host, CA: []string{r.ca}}
		if err := resolve(t, &Config{Registries: []Registry{e}, DockerConfig: dockerConfig(t, "{}")}); !errors.Is(err, ErrUnauthorized) {
			t.Errorf("Resolve without credentials: %v, want ErrUnauthorized", err)
		}
	})
}

func basic(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}

// Mirrors are asked first; the registry answers when they cannot.
func TestMirrorsAreAskedFirst(t *testing.T) {
	origin, mirror := newTestRegistry(t, "", ""), newTestRegistry(t, "", "")
	img := winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true))
	d := origin.push("team/app:1", img)
	mirror.push("team/app:1", img)
	o := origin.entry()
	o.Mirrors = []string{mirror.host}
	c := newClient(t, o, mirror.entry())
	origin.requests("")
	got, err := c.Resolve(context.Background(), origin.ref("team/app:1"), host(winbuild.LTSC2022))
	if err != nil || got.Digest != d || got.From != mirror.host {
		t.Fatalf("Resolve = %+v, %v; want %s from the mirror %s", got, err, d, mirror.host)
	}
	if _, err := c.Fetch(context.Background(), got, FetchOptions{Dir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	if n := len(origin.requests("/v2/team/")); n != 0 {
		t.Errorf("the registry got %d requests while its mirror answered", n)
	}
	mirror.down.Store(true)
	got, err = c.Resolve(context.Background(), origin.ref("team/app:1"), host(winbuild.LTSC2022))
	if err != nil || got.From != origin.host {
		t.Errorf("Resolve with the mirror down = %+v, %v; want the registry's answer", got, err)
	}
}

// Plain HTTP reaches only registries listed as insecure, loopback ones
// included (go-containerregistry would fall back to it by itself).
func TestPlainHTTPOnlyToInsecureRegistries(t *testing.T) {
	reg := httptest.NewServer(ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))))
	defer reg.Close()
	h := strings.TrimPrefix(reg.URL, "http://")
	ref, _ := name.ParseReference(h + "/app:1")
	if err := remote.Write(ref, winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true))); err != nil {
		t.Fatal(err)
	}
	_, err := newClient(t).Resolve(context.Background(), imageref.MustParse(h+"/app:1"), host(winbuild.LTSC2022))
	if !errors.Is(err, ErrPlainHTTP) {
		t.Errorf("Resolve over plain HTTP of a registry not listed insecure: %v, want ErrPlainHTTP", err)
	}
	if _, err := newClient(t, Registry{Host: h, Insecure: true}).Resolve(context.Background(), imageref.MustParse(h+"/app:1"), host(winbuild.LTSC2022)); err != nil {
		t.Errorf("Resolve over plain HTTP of an insecure registry: %v", err)
	}
}

// A registry that is down is unavailable, and a tag it lacks not found.
func TestResolveClassifiesFailures(t *testing.T) {
	r := newTestRegistry(t, "", "")
	r.push("app:1", winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, winimage.Layer(t, nil, true)))
	c := newClient(t, r.entry())
	if _, err := c.Resolve(context.Background(), r.ref("app:nope"), host(winbuild.LTSC2022)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown tag: %v, want ErrNotFound", err)
	}
	r.down.Store(true)
	if _, err := c.Resolve(context.Background(), r.ref("app:1"), host(winbuild.LTSC2022)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("registry down: %v, want ErrUnavailable", err)
	}
	r.srv.Close()
	if _, err := c.Resolve(context.Background(), r.ref("app:1"), host(winbuild.LTSC2022)); !errors.Is(err, ErrUnavailable) {
		t.Errorf("registry gone: %v, want ErrUnavailable", err)
	}
}

// A foreign (non-distributable) layer is fetched from the URL its
// descriptor carries when the registry does not have it, as Windows base
// layers were before 2023.
func TestFetchFetchesForeignLayersFromTheirURLs(t *testing.T) {
	r := newTestRegistry(t, "", "")
	foreign := winimage.LayerOf(t, winimage.LayerTar(map[string]string{"Windows/System32/cmd.exe": "MZ"}, true), types.DockerForeignLayer)
	blob, err := foreign.Compressed()
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(blob)
	var served atomic.Int32
	cdn := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		served.Add(1)
		w.Write(body)
	}))
	t.Cleanup(cdn.Close)
	// The layer's URL names a public host (go-containerregistry refuses
	// loopback ones); the dialer takes it to the test's server, whose
	// certificate is for example.com.
	const url = "https://example.com/layers/base.tar.gz"
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: foreign, MediaType: types.DockerForeignLayer, URLs: []string{url}})
	if err != nil {
		t.Fatal(err)
	}
	cf, _ := winimage.Image(t, winbuild.LTSC2022, winimage.Options{}, foreign).ConfigFile()
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	r.push("foreign:1", img) // go-containerregistry does not upload a foreign layer
	if got := r.requests("PUT"); len(got) == 0 {
		t.Fatal("nothing pushed")
	}
	cdnAddr := strings.TrimPrefix(cdn.URL, "https://")
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == "example.com:443" {
			addr = cdnAddr
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	c, err := New(Options{Transport: tr, Config: &Config{Registries: []Registry{r.entry()}, DockerConfig: filepath.Join(t.TempDir(), "none.json")}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Resolve(context.Background(), r.ref("foreign:1"), host(winbuild.LTSC2022))
	if err != nil {
		t.Fatal(err)
	}
	dl, err := c.Fetch(context.Background(), res, FetchOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("Fetch of an image with a foreign layer: %v", err)
	}
	if served.Load() != 1 || len(dl.Layers) != 1 || dl.Layers[0].MediaType != types.DockerForeignLayer {
		t.Errorf("foreign layer served %d times, download %+v; want it fetched once from its URL", served.Load(), dl.Layers)
	}
}
