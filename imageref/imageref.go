// Package imageref parses container image references
// ([registry/]repository[:tag][@digest]) into Ref, the typed value that
// admission, planning and the drivers carry once a spec is validated, and
// holds the ways isoagent names an image: as written (String), in one
// canonical spelling for the boundary policy (Canonical), under the keys of
// Docker's local image store (DockerKeys), and by the Windows build its tag
// names (Build).
//
// It keeps the reference exactly as written: String gives back the text
// Parse read, so configs, hashes and state files see the same text they
// saw before it was typed. Everything here is pure and cross-platform.
package imageref

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/isoagent/isoagent/winbuild"
)

// Ref is a container image reference, [registry/]repository[:tag][@digest],
// as Parse split it. The zero Ref is no reference at all.
type Ref struct {
	// Registry is the host[:port] the image comes from, or "" when the
	// reference names none (Docker Hub).
	Registry string
	// Repository is the path within the registry, e.g. windows/servercore.
	Repository string
	// Tag is the tag, without the colon; "" when absent.
	Tag string
	// Digest is algorithm:hex, e.g. sha256:..., without the @; "" when absent.
	Digest string
}

// Parse parses s as [registry/]repository[:tag][@digest]. As in Docker, the
// first path component is a registry when it contains a '.' or a ':' or is
// "localhost". Nothing is defaulted: a reference without a registry has
// Registry "", one without a tag has Tag "". Its errors say what is wrong
// and how to write it instead; they are the messages spec validation
// reports for spec.image.
func Parse(s string) (Ref, error) {
	var r Ref
	if s == "" {
		return r, fmt.Errorf("image reference is empty; give one such as mcr.microsoft.com/windows/servercore:ltsc2022")
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\r\n") {
		return r, fmt.Errorf("image reference %q contains white space; remove it", s)
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		r.Digest = rest[i+1:]
		rest = rest[:i]
		if err := checkDigest(r.Digest); err != nil {
			return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
		}
	}
	// The tag follows the last ':' that comes after the last '/'; a ':'
	// before it belongs to the registry's port.
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && i > strings.LastIndexByte(rest, '/') {
		r.Tag = rest[i+1:]
		rest = rest[:i]
		if err := checkTag(r.Tag); err != nil {
			return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
		}
	}
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		first := rest[:i]
		if strings.ContainsAny(first, ".:") || first == "localhost" {
			r.Registry = first
			rest = rest[i+1:]
			if err := checkRegistry(r.Registry); err != nil {
				return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
			}
		}
	}
	r.Repository = rest
	if err := checkRepository(r.Repository); err != nil {
		return Ref{}, fmt.Errorf("image reference %q: %w", s, err)
	}
	return r, nil
}

// MustParse is like Parse but panics on error; for tests and constants.
func MustParse(s string) Ref {
	r, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return r
}

// String formats r as [registry/]repository[:tag][@digest]; for a parsed
// reference it gives back the text it was parsed from.
func (r Ref) String() string {
	b, _ := r.AppendText(make([]byte, 0, len(r.Registry)+len(r.Repository)+len(r.Tag)+len(r.Digest)+3))
	return string(b)
}

// IsZero reports whether r is the zero Ref, no reference.
func (r Ref) IsZero() bool { return r == Ref{} }

// MarshalText returns the reference as String writes it; the zero Ref is
// empty text.
func (r Ref) MarshalText() ([]byte, error) { return r.AppendText(nil) }

// AppendText appends the reference to b as String writes it.
func (r Ref) AppendText(b []byte) ([]byte, error) {
	if r.Registry != "" {
		b = append(append(b, r.Registry...), '/')
	}
	b = append(b, r.Repository...)
	if r.Tag != "" {
		b = append(append(b, ':'), r.Tag...)
	}
	if r.Digest != "" {
		b = append(append(b, '@'), r.Digest...)
	}
	return b, nil
}

// UnmarshalText parses text with Parse. Empty text is the zero Ref, so that
// a zero Ref written by MarshalText reads back.
func (r *Ref) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*r = Ref{}
		return nil
	}
	v, err := Parse(string(text))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// Build returns the Windows OS build the image's tag says it is for, or 0
// when the tag does not say (see winbuild.FromTag).
func (r Ref) Build() uint16 { return winbuild.FromTag(r.Tag) }

// Canonical returns the reference r names, spelled one way only, so that a
// pattern cannot be dodged by spelling the same image differently: the
// registry is always present (docker.io for Docker Hub, also when written
// index.docker.io), Docker Hub's official images carry library/, and the
// registry is lower case. Tag and digest are kept as written.
func (r Ref) Canonical() string {
	reg := strings.ToLower(r.Registry)
	if reg == "" || reg == "index.docker.io" || reg == "registry-1.docker.io" {
		reg = "docker.io"
	}
	repo := r.Repository
	if reg == "docker.io" && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	return Ref{Registry: reg, Repository: repo, Tag: r.Tag, Digest: r.Digest}.String()
}

// DockerKeys returns the keys Docker's reference store
// (image/windowsfilter/repositories.json) files r under: Docker's familiar
// name (docker.io/library/ dropped) and the familiar reference with its
// digest, else its tag, else latest.
func (r Ref) DockerKeys() (name, key string) {
	switch r.Registry {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io":
		name = strings.TrimPrefix(r.Repository, "library/")
	default:
		name = r.Registry + "/" + r.Repository
	}
	switch {
	case r.Digest != "":
		key = name + "@" + r.Digest
	case r.Tag != "":
		key = name + ":" + r.Tag
	default:
		key = name + ":latest"
	}
	return name, key
}

func checkDigest(d string) error {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || alg == "" || hex == "" {
		return fmt.Errorf("digest %q must be algorithm:hex, such as sha256:<64 hex digits>", d)
	}
	for _, c := range alg {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("digest algorithm %q is not valid; use sha256", alg)
		}
	}
	for _, c := range hex {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return fmt.Errorf("digest %q must be lower-case hex after the algorithm", d)
		}
	}
	if alg == "sha256" && len(hex) != 64 {
		return fmt.Errorf("sha256 digest has %d hex digits, want 64", len(hex))
	}
	if len(hex) < 32 {
		return fmt.Errorf("digest %q is too short, want at least 32 hex digits", d)
	}
	return nil
}

func checkTag(t string) error {
	if t == "" {
		return fmt.Errorf("tag after ':' is empty; remove the ':' or give a tag such as ltsc2022")
	}
	if len(t) > 128 {
		return fmt.Errorf("tag is %d characters long, at most 128 are allowed", len(t))
	}
	for i, c := range t {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			(i > 0 && (c == '.' || c == '-'))
		if !ok {
			return fmt.Errorf("tag %q may hold only letters, digits, '_', and after the first character '.' and '-'", t)
		}
	}
	return nil
}

func checkRegistry(reg string) error {
	host, port, hasPort := strings.Cut(reg, ":")
	if host == "" {
		return fmt.Errorf("registry %q has no host name", reg)
	}
	for _, label := range strings.Split(host, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return fmt.Errorf("registry host %q is not a valid host name", host)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("registry host %q is not a valid host name", host)
			}
		}
	}
	if hasPort {
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 || strings.Trim(port, "0123456789") != "" {
			return fmt.Errorf("registry port %q must be a number from 1 to 65535", port)
		}
	}
	return nil
}

// checkRepository applies the distribution rules: slash-separated
// components of lower-case letters and digits, joined by '.', '_', "__" or
// runs of '-'.
func checkRepository(repo string) error {
	if repo == "" {
		return fmt.Errorf("repository name is missing; give one such as windows/servercore")
	}
	if len(repo) > 255 {
		return fmt.Errorf("repository name is %d characters long, at most 255 are allowed", len(repo))
	}
	for _, comp := range strings.Split(repo, "/") {
		if comp == "" {
			return fmt.Errorf("repository %q has an empty path component", repo)
		}
		if !validRepoComponent(comp) {
			if strings.ToLower(comp) != comp {
				return fmt.Errorf("repository %q must be lower case", repo)
			}
			return fmt.Errorf("repository component %q may hold only lower-case letters and digits separated by '.', '_', '__' or '-'", comp)
		}
	}
	return nil
}

func validRepoComponent(comp string) bool {
	isAlnum := func(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
	if !isAlnum(comp[0]) || !isAlnum(comp[len(comp)-1]) {
		return false
	}
	for i := 0; i < len(comp); {
		if isAlnum(comp[i]) {
			i++
			continue
		}
		// A separator: '.', '_', "__" or a run of '-'.
		j := i
		switch comp[i] {
		case '.':
			j++
		case '_':
			j++
			if j < len(comp) && comp[j] == '_' {
				j++
			}
		case '-':
			for j < len(comp) && comp[j] == '-' {
				j++
			}
		default:
			return false
		}
		if !isAlnum(comp[j]) {
			return false
		}
		i = j
	}
	return true
}
