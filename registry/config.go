package registry

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/isoagent/isoagent/internal/adminonly"
	"github.com/isoagent/isoagent/internal/safefile"
	"github.com/isoagent/isoagent/spec"
)

// Kind is the kind of the registries file's document.
const Kind = "Registries"

// MaxConfigSize is the largest registries file LoadConfig reads.
const MaxConfigSize = 1 << 20

// ErrNotProtected: the registries file can be changed by others than
// administrators, so its credentials are not used.
var ErrNotProtected = errors.New("not protected")

// Config is the agent's registries file (--registries): how to reach each
// registry and with which credentials. It is the agent's, like the
// boundary policy, and never comes from the spec folder: the people who
// write specs must not learn or choose the credentials the host pulls
// with. Its secrets are never logged or shown.
//
//	apiVersion: isoagent/v1
//	kind: Registries
//	dockerConfig: 'C:\ProgramData\isoagent\docker\config.json'
//	registries:
//	  - host: registry.corp.example:5000
//	    username: isoagent
//	    password: '...'
//	    ca: ['C:\ProgramData\isoagent\corp-root.pem']
//	    mirrors: [mirror.corp.example]
//	  - host: 10.1.2.3:5000
//	    insecure: true
type Config struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	// DockerConfig is a Docker config.json whose auths, credsStore and
	// credHelpers (docker-credential-wincred, ...) apply to every registry
	// the file gives no credentials for; empty means Docker's own
	// (%USERPROFILE%\.docker\config.json, or DOCKER_CONFIG's).
	DockerConfig string `yaml:"dockerConfig,omitempty"`
	// Registries configure single registries, by host.
	Registries []Registry `yaml:"registries,omitempty"`

	// File is where the config was read from.
	File string `yaml:"-"`
}

// Registry is how to reach one registry.
type Registry struct {
	// Host is the registry as image references name it: host[:port]
	// (docker.io for Docker Hub).
	Host string `yaml:"host"`
	// Username and Password are the credentials to pull with; both or
	// neither. Password is a secret: it is never logged.
	Username string `yaml:"username,omitempty"`
	Password string `yaml:"password,omitempty"`
	// CA lists PEM files of certificate authorities trusted for this
	// registry besides the system's roots.
	CA []string `yaml:"ca,omitempty"`
	// Mirrors are registries (host[:port]) tried, in order, before Host
	// for its images; each may have an entry of its own.
	Mirrors []string `yaml:"mirrors,omitempty"`
	// Insecure allows plain HTTP to this registry. Without it every
	// registry is reached over TLS.
	Insecure bool `yaml:"insecure,omitempty"`
}

// String describes r without its password.
func (r Registry) String() string {
	s := r.Host
	if r.Username != "" {
		s += " (as " + r.Username + ")"
	}
	return s
}

// LoadConfig reads the registries file at path. It refuses a file that
// others than administrators can change (its credentials are secrets the
// host pulls with, and a registry it names is trusted), and reports every
// problem with its line, column and field, as spec files are. Its errors
// never quote a password.
func LoadConfig(path string) (*Config, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return nil, &spec.Error{File: path, Message: fmt.Sprintf("cannot read the registries file: %v", err)}
	}
	defer f.Close()
	for _, p := range []struct {
		path string
		dir  bool
	}{{filepath.Dir(path), true}, {path, false}} {
		others, err := adminonly.Writers(p.path)
		if err != nil {
			return nil, fmt.Errorf("registries file %s: %w: cannot tell who may change %s: %v", path, ErrNotProtected, p.path, err)
		}
		if len(others) > 0 {
			return nil, fmt.Errorf("registries file %s: %w: %s can be changed by %s, and registry credentials are read only where administrators alone can change them; %s",
				path, ErrNotProtected, p.path, strings.Join(others, ", "), adminonly.RestrictFix(p.path, p.dir))
		}
	}
	data, _, err := safefile.ReadAll(f, MaxConfigSize, spec.DefaultMaxReadTime)
	if tl := (*safefile.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, &spec.Error{File: path, Message: fmt.Sprintf("the registries file is larger than %d bytes", MaxConfigSize)}
	}
	if err != nil {
		return nil, &spec.Error{File: path, Message: fmt.Sprintf("cannot read the registries file: %v", err)}
	}
	cfg, err := ParseConfig(path, data)
	if err != nil {
		return nil, err
	}
	if cfg.hasPasswords() {
		// Passwords are secrets: only administrators may read them.
		others, err := adminonly.Readers(path)
		if err != nil {
			return nil, fmt.Errorf("registries file %s: %w: cannot tell who may read it: %v", path, ErrNotProtected, err)
		}
		if len(others) > 0 {
			return nil, fmt.Errorf("registries file %s: %w: it holds passwords and %s can read it; %s",
				path, ErrNotProtected, strings.Join(others, ", "), adminonly.PrivateFix(path, false))
		}
	}
	return cfg, nil
}

func (c *Config) hasPasswords() bool {
	for _, r := range c.Registries {
		if r.Password != "" {
			return true
		}
	}
	return false
}

// ParseConfig decodes and validates the registries file's content, data,
// read from file (named in errors). It holds one document of kind
// Registries, decoded as strictly as spec files.
func ParseConfig(file string, data []byte) (*Config, error) {
	var cfgs []*Config
	docs := 0
	err := spec.DecodeFile(file, data, func(doc *spec.Document) {
		if docs++; docs == 2 {
			doc.Errorf("", "a registries file holds one Registries document; merge this document into the first")
		}
		c := &Config{File: file}
		if doc.Decode(c, configKind) {
			validateConfig(doc, c)
			cfgs = append(cfgs, c)
		}
	})
	if docs == 0 && err == nil {
		err = spec.JoinErrors([]*spec.Error{{File: file, Message: fmt.Sprintf("the registries file is empty; write apiVersion: %s and kind: %s", spec.APIVersion, Kind)}})
	}
	if err != nil {
		return nil, err
	}
	return cfgs[0], nil
}

var configKind = spec.Kind{
	Name:       Kind,
	NotMapping: "a registries file must be a mapping with apiVersion, kind and registries, not %s",
	Elsewhere: map[string]string{
		spec.KindContainer: "a Container belongs in the spec folder, not in the registries file; write kind: " + Kind + " here",
		"Policy":           "a Policy belongs in the agent's --policy file; write kind: " + Kind + " here",
	},
	Unsupported: "%q is not supported; the registries file holds one kind: " + Kind + " document",
}

func validateConfig(doc *spec.Document, c *Config) {
	doc.CheckHeader(c.APIVersion, c.Kind, Kind)
	seen := map[string]int{}
	for i := range c.Registries {
		r := &c.Registries[i]
		rp := fmt.Sprintf("registries[%d]", i)
		host, err := normalHost(r.Host)
		if err != nil {
			doc.Errorf(rp+".host", "%v", err)
		} else {
			r.Host = host
			if j, ok := seen[host]; ok {
				doc.Errorf(rp+".host", "registry %s is configured already at registries[%d]; merge the two entries", host, j)
			}
			seen[host] = i
		}
		switch {
		case r.Username != "" && r.Password == "":
			doc.Errorf(rp+".password", "is required with username %s; give both or neither", r.Username)
		case r.Username == "" && r.Password != "":
			doc.Errorf(rp+".username", "is required with a password; give both or neither")
		}
		for j, ca := range r.CA {
			if !filepath.IsAbs(ca) {
				doc.Errorf(fmt.Sprintf("%s.ca[%d]", rp, j), "%q is not an absolute path; give the PEM file's full path", ca)
			} else if _, err := os.Stat(ca); err != nil {
				doc.Errorf(fmt.Sprintf("%s.ca[%d]", rp, j), "cannot read %s: %v", ca, errors.Unwrap(err))
			}
		}
		for j, m := range r.Mirrors {
			mh, err := normalHost(m)
			if err != nil {
				doc.Errorf(fmt.Sprintf("%s.mirrors[%d]", rp, j), "%v", err)
				continue
			}
			if mh == r.Host {
				doc.Errorf(fmt.Sprintf("%s.mirrors[%d]", rp, j), "%s is the registry itself; a mirror is another registry", mh)
			}
			r.Mirrors[j] = mh
		}
	}
	if c.DockerConfig != "" && !filepath.IsAbs(c.DockerConfig) {
		doc.Errorf("dockerConfig", "%q is not an absolute path; give the config.json's full path", c.DockerConfig)
	}
}

// normalHost checks a registry host as image references name it and
// returns it in lower case, with Docker Hub's names as docker.io.
func normalHost(h string) (string, error) {
	if h == "" {
		return "", errors.New("is required; give the registry as image references name it, such as registry.corp.example:5000")
	}
	if strings.Contains(h, "://") {
		return "", fmt.Errorf("%q is a URL; give the host as image references name it, such as %s (insecure: true allows plain HTTP)", h, h[strings.Index(h, "://")+3:])
	}
	if strings.ContainsAny(h, "/ \t") {
		return "", fmt.Errorf("%q is not a host[:port]; give the registry as image references name it, such as registry.corp.example:5000", h)
	}
	host := h
	if hh, port, err := net.SplitHostPort(h); err == nil {
		if port == "" {
			return "", fmt.Errorf("%q has an empty port", h)
		}
		host = hh
	}
	if host == "" {
		return "", fmt.Errorf("%q has no host name", h)
	}
	h = strings.ToLower(h)
	switch h {
	case "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		h = "docker.io"
	}
	return h, nil
}

// registry returns the entry for host (as image references name it), or
// a zero one.
func (c *Config) registry(host string) Registry {
	if c != nil {
		if h, err := normalHost(host); err == nil {
			for _, r := range c.Registries {
				if r.Host == h {
					return r
				}
			}
		}
	}
	return Registry{Host: host}
}
