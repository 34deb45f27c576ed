//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/crypto/bcrypt"

	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/internal/testutil/winimage"
	"github.com/isoagent/isoagent/winbuild"
)

// realRegistry is Debian's docker-registry (the CNCF distribution
// registry) on a loopback port, with its storage in a temporary folder,
// behind a proxy of the test's that counts the requests the agent makes,
// can stop a blob download halfway and can corrupt blobs. The agent is
// told the proxy's address; the registry can be stopped and started again
// on the same storage.
type realRegistry struct {
	t        *testing.T
	bin, cfg string
	proc     *testutil.Process
	upstream string // the registry's address
	addr     string // the proxy's: what image references name
	user     string
	pass     string

	mu   sync.Mutex
	reqs []string
	// holdBlob, when set, has the next GET of that blob send half its
	// bytes and then wait until release is closed, and fail.
	holdBlob string
	held     chan struct{}
	release  chan struct{}
	corrupt  bool
}

// startRegistry starts a registry; with user, behind basic auth
// (htpasswd, as the registry's docs set it up).
func startRegistry(t *testing.T, user, pass string) *realRegistry {
	t.Helper()
	r := &realRegistry{t: t, bin: tool(t, "DOCKER_REGISTRY", "docker-registry"), upstream: testutil.FreeAddr(t), user: user, pass: pass}
	dir := t.TempDir()
	auth := ""
	if user != "" {
		h, err := bcrypt.GenerateFromPassword([]byte(pass), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(user+":"+string(h)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		auth = "auth:\n  htpasswd:\n    realm: isoagent-e2e\n    path: " + pw + "\n"
	}
	r.cfg = filepath.Join(dir, "config.yml")
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n%shttp:\n  addr: %s\n",
		filepath.Join(dir, "data"), auth, r.upstream)
	if err := os.WriteFile(r.cfg, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r.start()
	up, _ := url.Parse("http://" + r.upstream)
	proxy := httputil.NewSingleHostReverseProxy(up)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.reqs = append(r.reqs, req.Method+" "+req.URL.Path)
		hold := r.holdBlob != "" && req.Method == http.MethodGet && strings.HasSuffix(req.URL.Path, "/blobs/"+r.holdBlob)
		if hold {
			r.holdBlob = ""
		}
		corrupt := r.corrupt && req.Method == http.MethodGet && strings.Contains(req.URL.Path, "/blobs/")
		r.mu.Unlock()
		if !hold && !corrupt {
			proxy.ServeHTTP(w, req)
			return
		}
		rec := &recorder{header: http.Header{}}
		proxy.ServeHTTP(rec, req)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		body := rec.body.Bytes()
		if corrupt && len(body) > 0 {
			body[len(body)/2] ^= 0xff
		}
		w.WriteHeader(rec.code)
		if !hold {
			w.Write(body)
			return
		}
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		close(r.held)
		<-r.release
		panic(http.ErrAbortHandler) // the connection drops mid-blob
	})}
	ln := listen(t)
	r.addr = ln.Addr().String()
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return r
}

// recorder is an http.ResponseWriter that keeps the response.
type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(code int) { r.code = code }

func (r *realRegistry) start() {
	r.t.Helper()
	r.proc = testutil.Start(r.t, "docker-registry", exec.Command(r.bin, "serve", r.cfg))
	poll(r.t, startTimeout, "the registry to answer", func() (bool, error) {
		if r.proc.Exited() {
			r.t.Fatalf("docker-registry exited: %v\n%s", r.proc.Err(), r.proc.Output(4096))
		}
		code, _, err := httpGet(r.t.Context(), "http://"+r.upstream+"/v2/")
		return err == nil && (code == http.StatusOK || code == http.StatusUnauthorized), fmt.Errorf("HTTP %d, %v", code, err)
	})
}

func (r *realRegistry) stop() {
	r.t.Helper()
	if err := r.proc.Stop(); err != nil {
		r.t.Logf("docker-registry stopped: %v", err)
	}
}

// requests returns the requests made through the proxy since the last
// call whose "METHOD path" contains part.
func (r *realRegistry) requests(part string) []string {
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

// hold has the next download of blob stop halfway; the returned channel
// is closed when it does, and release lets the connection drop.
func (r *realRegistry) hold(blob string) (held <-chan struct{}, release func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.holdBlob, r.held, r.release = blob, make(chan struct{}), make(chan struct{})
	return r.held, sync.OnceFunc(func() { close(r.release) })
}

func (r *realRegistry) setCorrupt(on bool) {
	r.mu.Lock()
	r.corrupt = on
	r.mu.Unlock()
}

func (r *realRegistry) remoteOpts() []remote.Option {
	if r.user == "" {
		return nil
	}
	return []remote.Option{remote.WithAuth(&authn.Basic{Username: r.user, Password: r.pass})}
}

// push pushes img, or an index, straight to the registry as repoTag.
func (r *realRegistry) push(repoTag string, img any) string {
	r.t.Helper()
	ref, err := name.ParseReference(r.upstream+"/"+repoTag, name.Insecure)
	if err != nil {
		r.t.Fatal(err)
	}
	var d v1.Hash
	switch x := img.(type) {
	case v1.Image:
		err = remote.Write(ref, x, r.remoteOpts()...)
		d, _ = x.Digest()
	case v1.ImageIndex:
		err = remote.WriteIndex(ref, x, r.remoteOpts()...)
		d, _ = x.Digest()
	}
	if err != nil {
		r.t.Fatal(err)
	}
	return d.String()
}

// registriesFile writes the agent's registries file for r: plain HTTP
// allowed (the test registry speaks no TLS), with credentials.
func (r *realRegistry) registriesFile(t *testing.T, user, pass string) string {
	t.Helper()
	s := "apiVersion: isoagent/v1\nkind: Registries\nregistries:\n  - host: " + r.addr + "\n    insecure: true\n"
	if user != "" {
		s += "    username: " + user + "\n    password: " + pass + "\n"
	}
	f := filepath.Join(t.TempDir(), "registries.yaml")
	if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// appImage is a small Windows image of build: a shared base layer and a
// top layer holding marker (so that markers give images of other
// digests), and the digest of that top layer.
func appImage(t *testing.T, build uint16, marker string) (v1.Image, string) {
	base := winimage.Layer(t, map[string]string{"Windows/System32/cmd.exe": "MZ"}, true)
	top := winimage.Layer(t, map[string]string{"app/" + marker + ".txt": strings.Repeat(marker+"\n", 50000)}, false)
	d, err := top.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return winimage.Image(t, build, winimage.Options{}, base, top), d.String()
}

// pullStatus is the part of /status the pull tests read.
type pullStatus struct {
	Containers []struct {
		Name           string `json:"name"`
		State          string `json:"state"`
		Image          string `json:"image"`
		ImageDigest    string `json:"imageDigest"`
		ContainerID    string `json:"containerID"`
		ContainerState string `json:"containerState"`
		Conditions     []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"conditions"`
		Rejection *struct {
			Reason  string `json:"reason"`
			Message string `json:"message"`
		} `json:"rejection"`
	} `json:"containers"`
}

func getPullStatus(t *testing.T, addr string) pullStatus {
	t.Helper()
	code, body, err := httpGet(t.Context(), "http://"+addr+"/status")
	if err != nil || code != 200 {
		t.Fatalf("GET /status: HTTP %d, %v", code, err)
	}
	var st pullStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/status: %v", err)
	}
	return st
}

// pulledOnlySim makes a simulated host of build in a new folder that has
// only the images pulled into it, as a fresh Windows host.
func pulledOnlySim(t *testing.T, bin string, build uint16) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "sim")
	if out, code := run(t, bin, "sim", "--sim-dir", dir, "host", "--set", fmt.Sprintf("10.0.%d", build)); code != 0 {
		t.Fatalf("sim host: %s", out)
	}
	if out, code := run(t, bin, "sim", "--sim-dir", dir, "images", "--pulled-only", "on"); code != 0 {
		t.Fatalf("sim images: %s", out)
	}
	return dir
}

// The variant pulled is the one the host runs best, chosen from the
// manifest list alone; a host no variant runs on is refused before any
// blob is fetched, by `isoagent pull` and by the agent's admission.
func TestPullChoosesTheVariantFromTheRegistry(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, "", "")
	i19, _ := appImage(t, winbuild.LTSC2019, "2019")
	i22, _ := appImage(t, winbuild.LTSC2022, "2022")
	d19, d22 := reg.push("win/app:19", i19), reg.push("win/app:22", i22)
	reg.push("win/app:ltsc", winimage.Index(t, false, i19, i22))
	reg.push("win/app:oci", winimage.Index(t, true, i19, i22))
	regs := reg.registriesFile(t, "", "")
	ref := reg.addr + "/win/app:ltsc"

	for _, tt := range []struct {
		host uint16
		ref  string
		want string
	}{
		{winbuild.LTSC2019, ref, d19},
		{winbuild.LTSC2022, ref, d22},
		{26100, ref, d22}, // the newest it runs (under Hyper-V)
		{winbuild.LTSC2022, reg.addr + "/win/app:oci", d22},
		{winbuild.LTSC2019, reg.addr + "/win/app@" + d19, d19},
	} {
		t.Run(fmt.Sprintf("host %d %s", tt.host, tt.ref), func(t *testing.T) {
			sim := pulledOnlySim(t, bin, tt.host)
			out, code := run(t, bin, "pull", "--sim-dir", sim, "--registries", regs, tt.ref)
			if code != 0 || !strings.Contains(out, tt.want) {
				t.Fatalf("isoagent pull on host %d = %d:\n%s\nwant digest %s", tt.host, code, out, tt.want)
			}
			images, _ := run(t, bin, "sim", "--sim-dir", sim, "images")
			if !strings.Contains(images, tt.want) {
				t.Errorf("the host's images after the pull:\n%s\nwant %s", images, tt.want)
			}
		})
	}

	t.Run("no variant: refused with no blob fetched", func(t *testing.T) {
		reg.requests("")
		sim := pulledOnlySim(t, bin, 14393)
		out, code := run(t, bin, "pull", "--sim-dir", sim, "--registries", regs, ref)
		if code == 0 || !strings.Contains(out, "no variant") || !strings.Contains(out, "14393") || !strings.Contains(out, "20348") {
			t.Errorf("isoagent pull on host 14393 = %d:\n%s\nwant a refusal naming both builds", code, out)
		}
		if blobs := reg.requests("/blobs/"); len(blobs) != 0 {
			t.Errorf("blobs fetched for an image the host cannot run: %q", blobs)
		}
	})

	t.Run("admission: refused before any layer is fetched", func(t *testing.T) {
		reg.requests("")
		cfg22, err := i22.ConfigName()
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		// A single manifest's build is in its config, the one blob
		// asked for; a manifest list's is in the list.
		testutil.WriteFile(t, filepath.Join(dir, "single.yaml"), specText("single", reg.addr+"/win/app:22", "isolation: process"))
		testutil.WriteFile(t, filepath.Join(dir, "list.yaml"), specText("list", ref, "isolation: process"))
		addr := testutil.FreeAddr(t)
		startAgent(t, addr, bin, "run", "--dir", dir, "--sim-dir", pulledOnlySim(t, bin, 14393), "--registries", regs, "--listen", addr, "--resync", "1s")
		poll(t, startTimeout, "both specs to be rejected", func() (bool, error) {
			st := getPullStatus(t, addr)
			n := 0
			for _, c := range st.Containers {
				if c.Rejection != nil && c.Rejection.Reason == "version-mismatch" {
					if !strings.Contains(c.Rejection.Message, "14393") || !strings.Contains(c.Rejection.Message, "20348") {
						t.Errorf("%s: rejection %q does not name both builds", c.Name, c.Rejection.Message)
					}
					n++
				}
			}
			return n == 2, fmt.Errorf("status %+v", st)
		})
		blobs := reg.requests("/blobs/")
		for _, b := range blobs {
			if !strings.HasSuffix(b, "/blobs/"+cfg22.String()) {
				t.Errorf("a blob other than the single image's config was fetched for rejected specs: %s", b)
			}
		}
	})

	t.Run("validate and plan with --registry", func(t *testing.T) {
		dir := t.TempDir()
		testutil.WriteFile(t, filepath.Join(dir, "web.yaml"), specText("web", ref, "isolation: process"))
		// Offline, nothing is asked, and the tag tells no build.
		reg.requests("")
		if out, code := run(t, bin, "validate", "--host-build", "14393", dir); code != 1 || !strings.Contains(out, "is unknown") {
			t.Errorf("validate offline = %d:\n%s\nwant the build reported unknown", code, out)
		}
		if got := reg.requests(""); len(got) != 0 {
			t.Errorf("validate without --registry asked the registry: %q", got)
		}
		out, code := run(t, bin, "validate", "--registry", "--registries", regs, "--host-build", "14393", dir)
		if code != 1 || !strings.Contains(out, "web.yaml:1:1") || !strings.Contains(out, "no variant") || !strings.Contains(out, "20348") {
			t.Errorf("validate --registry on 14393 = %d:\n%s\nwant the spec refused at its file, naming the builds", code, out)
		}
		if out, code := run(t, bin, "validate", "--registry", "--registries", regs, "--host-build", "17763", dir); code != 0 {
			t.Errorf("validate --registry on 17763 = %d:\n%s", code, out)
		}
		sim := pulledOnlySim(t, bin, 14393)
		out, _ = run(t, bin, "plan", "--dir", dir, "--sim-dir", sim, "--registry", "--registries", regs)
		if !strings.Contains(out, "rejected web") || !strings.Contains(out, "no variant") {
			t.Errorf("plan --registry on 14393:\n%s\nwant web rejected for having no variant", out)
		}
		if blobs := reg.requests("/blobs/"); len(blobs) != 0 {
			t.Errorf("validate and plan fetched blobs: %q", blobs)
		}
	})
}

// Credentials: wrong ones give a clear error, right ones pull; a blob that
// is not what its digest says is refused.
func TestPullCredentialsAndDigests(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, "puller", "s3cret-pw")
	img, _ := appImage(t, winbuild.LTSC2022, "auth")
	reg.push("win/auth:1", img)
	ref := reg.addr + "/win/auth:1"

	t.Run("wrong password", func(t *testing.T) {
		sim := pulledOnlySim(t, bin, winbuild.LTSC2022)
		out, code := run(t, bin, "pull", "--sim-dir", sim, "--registries", reg.registriesFile(t, "puller", "wrong-pw"), ref)
		if code == 0 || !strings.Contains(out, "refused access") {
			t.Errorf("pull with a wrong password = %d:\n%s\nwant the registry's refusal", code, out)
		}
		if strings.Contains(out, "wrong-pw") {
			t.Errorf("the password is in the output:\n%s", out)
		}
	})
	t.Run("no credentials", func(t *testing.T) {
		sim := pulledOnlySim(t, bin, winbuild.LTSC2022)
		out, code := run(t, bin, "pull", "--sim-dir", sim, "--registries", reg.registriesFile(t, "", ""), ref)
		if code == 0 || !strings.Contains(out, "refused access") {
			t.Errorf("pull without credentials = %d:\n%s\nwant the registry's refusal", code, out)
		}
	})
	regs := reg.registriesFile(t, "puller", "s3cret-pw")
	t.Run("digest mismatch", func(t *testing.T) {
		sim := pulledOnlySim(t, bin, winbuild.LTSC2022)
		reg.setCorrupt(true)
		defer reg.setCorrupt(false)
		out, code := run(t, bin, "pull", "--sim-dir", sim, "--registries", regs, ref)
		if code == 0 || !strings.Contains(out, "digest mismatch") {
			t.Errorf("pull of corrupt blobs = %d:\n%s\nwant a digest mismatch", code, out)
		}
		if images, _ := run(t, bin, "sim", "--sim-dir", sim, "images"); strings.Contains(images, "sha256:") {
			t.Errorf("the host stored a corrupt image:\n%s", images)
		}
	})
	t.Run("right password", func(t *testing.T) {
		sim := pulledOnlySim(t, bin, winbuild.LTSC2022)
		out, code := run(t, bin, "pull", "--sim-dir", sim, "--registries", regs, ref)
		if code != 0 {
			t.Errorf("pull with the right password = %d:\n%s", code, out)
		}
	})
}

// The staged switch against a real registry: a tag that moves rolls the
// container under imagePullPolicy Always and not under IfNotPresent; a
// registry stopped in the middle of a new image's pull leaves the old
// container running, and the pull finishes once the registry is back.
func TestPullStagedSwitch(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	reg := startRegistry(t, "", "")
	v1img, _ := appImage(t, winbuild.LTSC2022, "v1")
	d1 := reg.push("win/web:stable", v1img)
	regs := reg.registriesFile(t, "", "")
	sim := pulledOnlySim(t, bin, winbuild.LTSC2022)
	dir := t.TempDir()
	image := reg.addr + "/win/web:stable"
	testutil.WriteFile(t, filepath.Join(dir, "always.yaml"), specText("always", image, "isolation: process", "imagePullPolicy: Always"))
	testutil.WriteFile(t, filepath.Join(dir, "ifnp.yaml"), specText("ifnp", image, "isolation: process"))
	addr := testutil.FreeAddr(t)
	startAgent(t, addr, bin, "run", "--dir", dir, "--sim-dir", sim, "--registries", regs, "--listen", addr, "--resync", "1s", "--pull-stall-timeout", "3s")

	type seen struct{ state, id, digest, containerState, conds string }
	look := func(name string) seen {
		for _, c := range getPullStatus(t, addr).Containers {
			if c.Name == name {
				var conds []string
				for _, x := range c.Conditions {
					conds = append(conds, x.Type+": "+x.Message)
				}
				return seen{c.State, c.ContainerID, c.ImageDigest, c.ContainerState, strings.Join(conds, "; ")}
			}
		}
		return seen{}
	}
	waitFor := func(what string, ok func() (bool, any)) {
		t.Helper()
		poll(t, 90*time.Second, what, func() (bool, error) {
			done, last := ok()
			return done, fmt.Errorf("%+v", last)
		})
	}
	waitFor("both running image v1", func() (bool, any) {
		a, b := look("always"), look("ifnp")
		return a.state == "running" && b.state == "running" && a.digest == d1 && b.digest == d1, []seen{a, b}
	})
	alwaysID, ifnpID := look("always").id, look("ifnp").id

	v2img, _ := appImage(t, winbuild.LTSC2022, "v2")
	d2 := reg.push("win/web:stable", v2img)
	waitFor("Always to roll to the moved tag", func() (bool, any) {
		a := look("always")
		return a.state == "running" && a.digest == d2 && a.id != alwaysID, a
	})
	if b := look("ifnp"); b.id != ifnpID || b.digest != d1 {
		t.Errorf("IfNotPresent container after the tag moved: %+v, want %s still on %s", b, ifnpID, d1)
	}

	// A new image for ifnp, whose download stops halfway as the registry
	// goes away.
	v3img, top3 := appImage(t, winbuild.LTSC2022, "v3")
	d3 := reg.push("win/web:v3", v3img)
	held, release := reg.hold(top3)
	defer release()
	testutil.WriteFile(t, filepath.Join(dir, "ifnp.yaml"), specText("ifnp", reg.addr+"/win/web:v3", "isolation: process"))
	select {
	case <-held:
	case <-time.After(90 * time.Second):
		t.Fatal("the new image's top layer was not asked for within 90s")
	}
	reg.stop()
	release()
	waitFor("the pull to fail while the old container runs", func() (bool, any) {
		b := look("ifnp")
		return b.state == "pulling" && b.id == ifnpID && b.containerState == "running" && strings.Contains(b.conds, "ImagePullFailed"), b
	})
	reg.start()
	waitFor("the pull to finish and the container to roll", func() (bool, any) {
		b := look("ifnp")
		return b.state == "running" && b.digest == d3 && b.id != ifnpID, b
	})
	code, body, err := httpGet(t.Context(), "http://"+addr+"/metrics")
	if err != nil || code != 200 {
		t.Fatalf("GET /metrics: %d %v", code, err)
	}
	for _, series := range []string{`isoagent_image_pull_failures_total{reason="unavailable"}`, "isoagent_image_pull_bytes_total"} {
		if v := seriesValue(body, series); v == "" || v == "0" {
			t.Errorf("/metrics: %s = %q, want more than 0", series, v)
		}
	}
}

// seriesValue returns the value of series in a text exposition, "" when
// it is not there.
func seriesValue(exposition []byte, series string) string {
	for line := range strings.Lines(string(exposition)) {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
