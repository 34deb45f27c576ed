package metrics

import (
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/prometheus/exporter-toolkit/web"
	"go.yaml.in/yaml/v2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/time/rate"
)

// Access says who may reach the agent's endpoints.
//
// The web configuration file is the one node_exporter and windows_exporter
// take as --web.config.file, in the format of the Prometheus
// exporter-toolkit: tls_server_config (certificate, key, client
// certificates), basic_auth_users (bcrypt hashes), http_server_config and
// rate_limit. Prometheus scrapes such an endpoint with its usual tls_config
// and basic_auth. The file is checked with the toolkit's own validation and
// its TLS settings are turned into a tls.Config by the toolkit; the
// toolkit's server guards every path alike, so the per-path rule (Public)
// is applied here, with the same bcrypt check and the same timing
// protection for unknown users.
type Access struct {
	// WebConfigFile is the web configuration file; empty serves plain HTTP
	// without authentication. Certificates are read again for each new
	// connection and users for each request, so a rotation takes effect
	// without a restart.
	WebConfigFile string
	// Public are the paths served without credentials when the file lists
	// basic_auth_users: any of /metrics, /healthz and /readyz, whose
	// answers name no spec and carry no secret. Every other path (/status,
	// /prune/confirm, and any path added later) asks for credentials.
	Public []string
}

// publicable reports whether path may be served without credentials.
func publicable(path string) bool {
	switch path {
	case "/metrics", "/healthz", "/readyz":
		return true
	}
	return false
}

// Check reports whether a can be served: the web configuration file reads,
// its users' hashes are bcrypt hashes, its certificate and key load, and
// every public path is one that may be public.
func (a Access) Check() error {
	for _, p := range a.Public {
		if !publicable(p) {
			return fmt.Errorf("public path %q: only /metrics, /healthz and /readyz may be served without credentials", p)
		}
	}
	if a.WebConfigFile == "" {
		return nil
	}
	if err := web.Validate(a.WebConfigFile); err != nil {
		return fmt.Errorf("web config %s: %w", a.WebConfigFile, err)
	}
	return nil
}

// readWebConfig reads a web configuration file as the exporter-toolkit
// does: strict YAML, its defaults, relative paths from the file's folder.
func readWebConfig(path string) (*web.Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("web config: %w", err)
	}
	c := &web.Config{
		TLSConfig:  web.TLSConfig{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13},
		HTTPConfig: web.HTTPConfig{HTTP2: true},
	}
	if err := yaml.UnmarshalStrict(b, c); err != nil {
		return nil, fmt.Errorf("web config %s: %w", path, err)
	}
	c.TLSConfig.SetDirectory(filepath.Dir(path))
	return c, nil
}

// guard is the handler that enforces an Access in front of the endpoints.
type guard struct {
	file    string
	public  []string
	next    http.Handler
	logger  *slog.Logger
	limiter *rate.Limiter // nil without rate_limit

	// bcrypt is slow on purpose: one comparison at a time, and results
	// remembered so that a scrape every few seconds costs one.
	bcryptMu sync.Mutex
	mu       sync.Mutex
	verified map[[sha256.Size]byte]bool
}

// maxVerified bounds the remembered bcrypt results; past it they are
// forgotten and computed again.
const maxVerified = 256

// unknownUserHash is compared with when the user is unknown, so that the
// answer takes as long as for a known one (the toolkit does the same).
const unknownUserHash = "$2y$10$QOauhQNbBCuQDKes6eFzPeMqBSjb7Mr5DUmpZ/VcEd00UAV/LDeSi"

// newGuard reads a's file once for what is fixed at start (the rate limit
// and the TLS set-up) and returns the guard and the TLS configuration, nil
// when the file configures no TLS.
func newGuard(a Access, next http.Handler, logger *slog.Logger) (*guard, *tls.Config, error) {
	if err := a.Check(); err != nil {
		return nil, nil, err
	}
	c, err := readWebConfig(a.WebConfigFile)
	if err != nil {
		return nil, nil, err
	}
	g := &guard{file: a.WebConfigFile, public: a.Public, next: next, logger: logger, verified: make(map[[sha256.Size]byte]bool)}
	if c.RateLimiterConfig.Interval != 0 {
		g.limiter = rate.NewLimiter(rate.Every(c.RateLimiterConfig.Interval), c.RateLimiterConfig.Burst)
	}
	if !c.TLSConfig.IsEnabled() {
		if len(c.Users) > 0 {
			logger.Warn("basic auth without TLS sends the passwords in clear; add tls_server_config to the web config", "file", a.WebConfigFile)
		}
		return g, nil, nil
	}
	tc, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("web config %s: %w", a.WebConfigFile, err)
	}
	http2 := c.HTTPConfig.HTTP2
	tc.NextProtos = []string{"http/1.1"}
	if http2 {
		tc.NextProtos = []string{"h2", "http/1.1"}
	}
	// Read the file again for each connection: a renewed certificate is
	// served without a restart.
	tc.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := readWebConfig(a.WebConfigFile)
		if err != nil {
			logger.Error("cannot read the web config for a new connection", "err", err)
			return nil, err
		}
		nc, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			logger.Error("cannot load the TLS set-up for a new connection", "file", a.WebConfigFile, "err", err)
			return nil, err
		}
		nc.NextProtos = []string{"http/1.1"}
		if http2 {
			nc.NextProtos = []string{"h2", "http/1.1"}
		}
		return nc, nil
	}
	return g, tc, nil
}

func (g *guard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c, err := readWebConfig(g.file)
	if err != nil {
		g.logger.Error("cannot read the web config; refusing the request", "err", err)
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	if g.limiter != nil && !g.limiter.Allow() {
		http.Error(w, http.StatusText(http.StatusTooManyRequests), http.StatusTooManyRequests)
		return
	}
	for k, v := range c.HTTPConfig.Header {
		w.Header().Set(k, v)
	}
	// Exact paths only: the mux serves a public path's handler for
	// exactly that path, so nothing else slips through.
	if len(c.Users) == 0 || slices.Contains(g.public, r.URL.Path) {
		g.next.ServeHTTP(w, r)
		return
	}
	if user, pass, ok := r.BasicAuth(); ok {
		hash, known := c.Users[user]
		if !known {
			hash = unknownUserHash
		}
		if g.verify(user, string(hash), pass) && known {
			g.next.ServeHTTP(w, r)
			return
		}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="isoagent"`)
	http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
}

// verify reports whether pass matches hash, remembering the answer.
func (g *guard) verify(user, hash, pass string) bool {
	h := sha256.New()
	for _, s := range []string{user, hash, pass} {
		fmt.Fprintf(h, "%d:%s", len(s), s)
	}
	var key [sha256.Size]byte
	h.Sum(key[:0])
	g.mu.Lock()
	ok, seen := g.verified[key]
	g.mu.Unlock()
	if seen {
		return ok
	}
	g.bcryptMu.Lock()
	err := bcrypt.CompareHashAndPassword([]byte(hash), []byte(pass))
	g.bcryptMu.Unlock()
	ok = err == nil
	if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		g.logger.Warn("cannot check a password", "user", user, "err", err)
	}
	g.mu.Lock()
	if len(g.verified) >= maxVerified {
		clear(g.verified)
	}
	g.verified[key] = ok
	g.mu.Unlock()
	return ok
}
