package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winbuild"
)

// Options configure a Client.
type Options struct {
	// Config is the agent's registries file; nil means none (Docker's
	// config.json for credentials, TLS with the system's roots, no
	// mirrors).
	Config *Config
	// Transport is the HTTP transport under the client's own (default
	// http.DefaultTransport); tests put a proxy here.
	Transport http.RoundTripper
	// UserAgent is sent with every request.
	UserAgent string
	// RequestTimeout bounds each request for a manifest (default 30s);
	// downloads are bounded by their progress instead (Fetch).
	RequestTimeout time.Duration
	// Logger receives a debug record per registry asked; nil discards.
	Logger *slog.Logger
}

// Client asks registries about images and downloads them. It is safe for
// concurrent use.
type Client struct {
	cfg      *Config
	keychain authn.Keychain
	base     http.RoundTripper
	ua       string
	timeout  time.Duration
	log      *slog.Logger

	mu         sync.Mutex
	transports map[string]http.RoundTripper // by registry host
	manifests  map[string]*manifest         // by digest; what a digest names never changes
}

// maxCachedManifests bounds the manifest cache; a host names a few dozen
// images, so this is never reached but by a registry that misbehaves.
const maxCachedManifests = 4096

// New returns a client; it reads the CA files the registries file names
// and fails when one is not PEM.
func New(opts Options) (*Client, error) {
	c := &Client{
		cfg:        opts.Config,
		keychain:   keychain(opts.Config),
		base:       opts.Transport,
		ua:         opts.UserAgent,
		timeout:    opts.RequestTimeout,
		log:        opts.Logger,
		transports: make(map[string]http.RoundTripper),
		manifests:  make(map[string]*manifest),
	}
	if c.base == nil {
		c.base = http.DefaultTransport
	}
	if c.timeout <= 0 {
		c.timeout = 30 * time.Second
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cfg != nil {
		for _, r := range c.cfg.Registries {
			if _, err := c.transport(r.Host); err != nil {
				return nil, err
			}
		}
	}
	return c, nil
}

// transport returns the HTTP transport for registry host: its CAs on top
// of the system's roots, and plain HTTP refused unless it is listed as
// insecure.
func (c *Client) transport(host string) (http.RoundTripper, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.transports[host]; ok {
		return t, nil
	}
	r := c.cfg.registry(host)
	base := c.base
	if len(r.CA) > 0 {
		ht, ok := c.base.(*http.Transport)
		if !ok {
			return nil, fmt.Errorf("registry %s: CA files need an *http.Transport underneath", host)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		for _, f := range r.CA {
			pem, err := os.ReadFile(f)
			if err != nil {
				return nil, fmt.Errorf("registry %s: CA file: %w", host, err)
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("registry %s: CA file %s holds no PEM certificate", host, f)
			}
		}
		t := ht.Clone()
		if t.TLSClientConfig == nil {
			t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		} else {
			t.TLSClientConfig = t.TLSClientConfig.Clone()
		}
		t.TLSClientConfig.RootCAs = pool
		base = t
	}
	t := &guard{next: base, insecure: c.insecureHosts()}
	c.transports[host] = t
	return t, nil
}

// insecureHosts are the registries plain HTTP may reach.
func (c *Client) insecureHosts() map[string]bool {
	m := map[string]bool{}
	if c.cfg != nil {
		for _, r := range c.cfg.Registries {
			if r.Insecure {
				m[r.Host] = true
			}
		}
	}
	return m
}

// guard refuses plain HTTP to registries not listed as insecure:
// go-containerregistry falls back to HTTP for loopback and private
// addresses of its own accord, and isoagent does not.
type guard struct {
	next     http.RoundTripper
	insecure map[string]bool
}

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !g.insecure[strings.ToLower(req.URL.Host)] {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%w to %s: list the registry with insecure: true in the registries file to allow it", ErrPlainHTTP, req.URL.Host)
	}
	return g.next.RoundTrip(req)
}

// endpoint is one place an image reference can be asked for: a mirror of
// its registry, or the registry.
type endpoint struct {
	ref name.Reference
}

// endpoints returns where to ask for ref: each mirror of its registry in
// order, then the registry itself.
func (c *Client) endpoints(ref imageref.Ref) ([]endpoint, error) {
	host := ref.Registry
	if host == "" {
		host = "docker.io"
	}
	r := c.cfg.registry(host)
	var eps []endpoint
	for _, m := range append(append([]string(nil), r.Mirrors...), host) {
		var opts []name.Option
		if c.cfg.registry(m).Insecure {
			opts = append(opts, name.Insecure)
		}
		repo := ref.Repository
		if ref.Registry == "" && !strings.Contains(repo, "/") {
			repo = "library/" + repo // Docker Hub's official images
		}
		s := m + "/" + repo
		switch {
		case ref.Digest != "":
			s += "@" + ref.Digest
		case ref.Tag != "":
			s += ":" + ref.Tag
		default:
			s += ":latest"
		}
		nr, err := name.ParseReference(s, opts...)
		if err != nil {
			return nil, fmt.Errorf("%w: image reference %s: %w", ErrInvalid, ref, err)
		}
		eps = append(eps, endpoint{ref: nr})
	}
	return eps, nil
}

// options returns the remote options for a request to ep.
func (c *Client) options(ctx context.Context, ep endpoint) ([]remote.Option, error) {
	t, err := c.transport(ep.ref.Context().RegistryStr())
	if err != nil {
		return nil, err
	}
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithTransport(t),
		remote.WithAuthFromKeychain(c.keychain),
		// The puller retries with its own backoff; one quick retry here
		// rides out a dropped connection.
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 2}),
	}
	if c.ua != "" {
		opts = append(opts, remote.WithUserAgent(c.ua))
	}
	return opts, nil
}

// Resolved is what a registry says a reference names for a host.
type Resolved struct {
	// Ref is the reference asked about.
	Ref imageref.Ref
	// Digest is the digest of the manifest to pull: the chosen entry's,
	// for a manifest list. ListDigest is the list's, when there is one.
	Digest     string
	ListDigest string
	// OSVersion is the image's Windows version as the registry tells it
	// (the list entry's os.version, or the config's).
	OSVersion winbuild.Version
	// Builds are the windows/amd64 builds a list has (for messages).
	Builds []winbuild.Version
	// From is the registry (or mirror) that answered.
	From string

	source endpoint
}

// manifest is what the client keeps of a manifest it fetched.
type manifest struct {
	mediaType types.MediaType
	// entries of a manifest list; config of an image manifest.
	entries []v1.Descriptor
	config  *v1.ConfigFile
}

// Resolve asks the registry (its mirrors first) which image ref names for
// a host of version host. It fetches manifests only, and for a single
// image its small config: never a layer. A tag is looked up with one HEAD
// request; what its digest names comes from the cache after the first
// time. An image without a variant the host can run is a
// *NoVariantError.
func (c *Client) Resolve(ctx context.Context, ref imageref.Ref, host winbuild.Version) (Resolved, error) {
	eps, err := c.endpoints(ref)
	if err != nil {
		return Resolved{}, err
	}
	var errs []error
	for _, ep := range eps {
		r, err := c.resolveAt(ctx, ep, ref, host)
		if err == nil || errors.Is(err, ErrNoVariant) || errors.Is(err, ErrInvalid) || ctx.Err() != nil {
			// An answer about the image, not a failure of the endpoint.
			return r, err
		}
		c.log.DebugContext(ctx, "registry did not answer", "image", ref, "registry", ep.ref.Context().RegistryStr(), "err", err)
		errs = append(errs, err)
	}
	// The registry's own error counts; a mirror's comes with it.
	last := errs[len(errs)-1]
	if len(errs) > 1 {
		return Resolved{}, fmt.Errorf("%w (mirrors: %w)", last, errors.Join(errs[:len(errs)-1]...))
	}
	return Resolved{}, last
}

func (c *Client) resolveAt(ctx context.Context, ep endpoint, ref imageref.Ref, host winbuild.Version) (Resolved, error) {
	opts, err := c.options(ctx, ep)
	if err != nil {
		return Resolved{}, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	opts = append(opts, remote.WithContext(rctx))
	r := Resolved{Ref: ref, From: ep.ref.Context().RegistryStr(), source: ep}
	digest, err := c.head(ep, opts)
	if err != nil {
		return Resolved{}, err
	}
	m, err := c.manifest(ep, digest, opts)
	if err != nil {
		return Resolved{}, err
	}
	if !m.mediaType.IsIndex() {
		r.Digest = digest
		r.OSVersion, err = configBuild(ref, host, m.config)
		return r, err
	}
	r.ListDigest = digest
	var cands []v1.Descriptor
	var others []string
	for _, d := range m.entries {
		p := d.Platform
		switch {
		case p == nil:
		case strings.EqualFold(p.OS, "windows") && p.Architecture == "amd64":
			cands = append(cands, d)
		case p.OS != "unknown": // attestations say unknown/unknown
			others = append(others, p.OS+"/"+p.Architecture)
		}
	}
	builds := make([]winbuild.Version, len(cands))
	for i, d := range cands {
		builds[i], _ = winbuild.ParseVersion(d.Platform.OSVersion)
		if builds[i].Known() {
			r.Builds = append(r.Builds, builds[i])
		}
	}
	i, ok := winbuild.Choose(host, builds)
	if !ok {
		return Resolved{}, &NoVariantError{Image: ref.String(), Host: host, Builds: r.Builds, Others: others}
	}
	r.Digest = cands[i].Digest.String()
	r.OSVersion = builds[i]
	if !r.OSVersion.Known() {
		// The entry does not say: its config does.
		em, err := c.manifest(ep, r.Digest, opts)
		if err != nil {
			return Resolved{}, err
		}
		if em.mediaType.IsIndex() {
			return Resolved{}, fmt.Errorf("%w: image %s: a manifest list inside a manifest list", ErrInvalid, ref)
		}
		if r.OSVersion, err = configBuild(ref, host, em.config); err != nil {
			return Resolved{}, err
		}
	}
	return r, nil
}

// head returns the digest ep's reference names now: its own digest, or
// what the registry says its tag names.
func (c *Client) head(ep endpoint, opts []remote.Option) (string, error) {
	if d, ok := ep.ref.(name.Digest); ok {
		return d.DigestStr(), nil
	}
	desc, err := remote.Head(ep.ref, opts...)
	if err == nil {
		return desc.Digest.String(), nil
	}
	// Some registries answer HEAD badly; GET says the same, and more.
	full, gerr := remote.Get(ep.ref, opts...)
	if gerr != nil {
		return "", classify(gerr)
	}
	c.remember(ep, full.Digest.String(), full, opts)
	return full.Digest.String(), nil
}

// manifest returns what the manifest of digest says, from the cache or
// the registry (go-containerregistry checks it against its digest).
func (c *Client) manifest(ep endpoint, digest string, opts []remote.Option) (*manifest, error) {
	c.mu.Lock()
	m, ok := c.manifests[digest]
	c.mu.Unlock()
	if ok {
		return m, nil
	}
	desc, err := remote.Get(ep.ref.Context().Digest(digest), opts...)
	if err != nil {
		return nil, classify(err)
	}
	return c.remember(ep, digest, desc, opts)
}

// remember parses a fetched manifest and caches it.
func (c *Client) remember(ep endpoint, digest string, desc *remote.Descriptor, opts []remote.Option) (*manifest, error) {
	m := &manifest{mediaType: desc.MediaType}
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, classify(err)
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, fmt.Errorf("%w: manifest list %s: %w", ErrInvalid, digest, err)
		}
		m.entries = im.Manifests
	case desc.MediaType.IsImage():
		img, err := desc.Image()
		if err != nil {
			return nil, classify(err)
		}
		im, err := img.Manifest()
		if err != nil {
			return nil, classify(err)
		}
		if m.config, err = configFile(ep, im.Config, opts); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: manifest %s is a %s, not an image or a manifest list", ErrInvalid, digest, desc.MediaType)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.manifests) >= maxCachedManifests {
		clear(c.manifests)
	}
	c.manifests[digest] = m
	return m, nil
}

// configBuild checks that an image's config is for Windows on amd64 and
// returns its os.version.
func configBuild(ref imageref.Ref, host winbuild.Version, cf *v1.ConfigFile) (winbuild.Version, error) {
	if cf == nil {
		return winbuild.Version{}, fmt.Errorf("%w: image %s has no config", ErrInvalid, ref)
	}
	if !strings.EqualFold(cf.OS, "windows") || cf.Architecture != "amd64" {
		return winbuild.Version{}, &NoVariantError{Image: ref.String(), Host: host, Others: []string{cf.OS + "/" + cf.Architecture}}
	}
	if cf.OSVersion == "" {
		return winbuild.Version{}, nil
	}
	v, err := winbuild.ParseVersion(cf.OSVersion)
	if err != nil {
		return winbuild.Version{}, fmt.Errorf("%w: image %s: config os.version: %w", ErrInvalid, ref, err)
	}
	return v, nil
}

// maxConfigSize bounds an image config read into memory; Windows images'
// are a few kilobytes.
const maxConfigSize = 4 << 20

// configFile downloads and parses the image config desc names. A config
// that is not what its digest says is ErrDigestMismatch.
func configFile(ep endpoint, desc v1.Descriptor, opts []remote.Option) (*v1.ConfigFile, error) {
	if desc.Size > maxConfigSize {
		return nil, fmt.Errorf("%w: image config of %d bytes, more than %d", ErrInvalid, desc.Size, maxConfigSize)
	}
	l, err := remote.Layer(ep.ref.Context().Digest(desc.Digest.String()), opts...)
	if err != nil {
		return nil, classify(err)
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, classify(err)
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxConfigSize+1))
	// go-containerregistry checks the digest too, at the end of the
	// stream; say so with the class.
	got := v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", sha256.Sum256(data))}
	if desc.Digest.Algorithm == "sha256" && got != desc.Digest && (err == nil || int64(len(data)) == desc.Size) {
		return nil, fmt.Errorf("%w: the registry sent an image config of %d bytes whose digest is %s, not %s", ErrDigestMismatch, len(data), got, desc.Digest)
	}
	if err != nil {
		return nil, classify(err)
	}
	cf, err := v1.ParseConfigFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: image config %s: %w", ErrInvalid, desc.Digest, err)
	}
	return cf, nil
}
