package spec

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/isoagent/isoagent/internal/safefile"
	"github.com/isoagent/isoagent/spec/winpath"
)

// KindPolicy is the kind of the boundary policy document.
const KindPolicy = "Policy"

// MaxPolicySize is the largest policy file LoadPolicy reads.
const MaxPolicySize = 1 << 20

// Policy is the agent's boundary policy: what a spec may map through its
// container's isolation boundary. It lives in a file of its own (--policy),
// outside the spec folder, because the people who write specs must not
// decide what the host exposes.
//
// Everything a field leaves out is denied: the zero Policy allows no
// mount, pipe, port, device or network sharing, and both isolation modes.
// The rules that apply it live in package reconcile; this type only holds
// a decoded and validated policy, with paths, pipes, ports and GUIDs
// normalised.
type Policy struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
	// Isolation lists the effective isolation modes allowed; empty means
	// both.
	Isolation []Isolation `yaml:"isolation,omitempty" json:"isolation,omitempty"`
	// ImageIsolation narrows or widens Isolation for some images: the
	// first rule with a pattern matching an image's canonical reference
	// decides its modes.
	ImageIsolation []ImageIsolation `yaml:"imageIsolation,omitempty" json:"imageIsolation,omitempty"`
	// Mounts are the host folders (prefixes) that may be mapped.
	Mounts []MountRule `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	// Pipes are globs over whole local pipe names, normalised to
	// \\.\pipe\<glob>.
	Pipes []string `yaml:"pipes,omitempty" json:"pipes,omitempty"`
	// Ports are host port ranges with their protocol, normalised to
	// "8000-8999/tcp" or "53/udp"; see ParsePortRange.
	Ports []string `yaml:"ports,omitempty" json:"ports,omitempty"`
	// Devices are device interface class GUIDs, upper case without braces.
	Devices []string `yaml:"devices,omitempty" json:"devices,omitempty"`
	// NetworkSharing allows network: {mode: container:<name>}.
	NetworkSharing bool `yaml:"networkSharing,omitempty" json:"networkSharing,omitempty"`

	// File is where the policy was read from; it is not part of the YAML
	// format.
	File string `yaml:"-" json:"file,omitempty"`
}

// ImageIsolation restricts (or widens) the isolation modes of the images
// its patterns match.
type ImageIsolation struct {
	// Images are patterns over canonical image references (see
	// CanonicalImage): '*' matches any run of characters, '/' included,
	// and '?' one character; case is ignored.
	Images    []string    `yaml:"images" json:"images"`
	Isolation []Isolation `yaml:"isolation" json:"isolation"`
}

// MountRule allows mapping the host folder Path and everything under it.
type MountRule struct {
	// Path is a host folder, normalised (C:\data or \\server\share\data).
	Path string `yaml:"path" json:"path"`
	// ReadOnly allows only read-only mounts under Path.
	ReadOnly bool `yaml:"readOnly,omitempty" json:"readOnly,omitempty"`
}

// String formats r as the YAML flow mapping a policy file holds.
func (r MountRule) String() string {
	if r.ReadOnly {
		return fmt.Sprintf("{path: %s, readOnly: true}", QuoteYAML(r.Path))
	}
	return fmt.Sprintf("{path: %s}", QuoteYAML(r.Path))
}

// PortRange is a range of host ports of one protocol.
type PortRange struct {
	First, Last int
	Protocol    string // tcp or udp
}

// ParsePortRange parses "8080/tcp", "8000-8999/tcp" or "53/udp". The
// protocol is required: a policy says exactly what it opens.
func ParsePortRange(s string) (PortRange, error) {
	ports, proto, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return PortRange{}, fmt.Errorf("%q needs its protocol: write %s/tcp or %s/udp", s, ports, ports)
	}
	proto = strings.ToLower(strings.TrimSpace(proto))
	if proto != "tcp" && proto != "udp" {
		return PortRange{}, fmt.Errorf("%q: protocol %q is not tcp or udp", s, proto)
	}
	first, last, isRange := strings.Cut(ports, "-")
	a, err := parsePort(first)
	if err != nil {
		return PortRange{}, fmt.Errorf("%q: %w", s, err)
	}
	b := a
	if isRange {
		if b, err = parsePort(last); err != nil {
			return PortRange{}, fmt.Errorf("%q: %w", s, err)
		}
		if b < a {
			return PortRange{}, fmt.Errorf("%q: the range ends before it starts; write %d-%d/%s", s, b, a, proto)
		}
	}
	return PortRange{First: a, Last: b, Protocol: proto}, nil
}

func parsePort(s string) (int, error) {
	s = strings.TrimSpace(s)
	n, err := strconv.Atoi(s)
	if err != nil || strings.Trim(s, "0123456789") != "" {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is not from 1 to 65535", n)
	}
	return n, nil
}

// Contains reports whether port/protocol lies in r.
func (r PortRange) Contains(port int, protocol string) bool {
	return port >= r.First && port <= r.Last && strings.EqualFold(protocol, r.Protocol)
}

// String formats r as ParsePortRange reads it.
func (r PortRange) String() string {
	if r.First == r.Last {
		return fmt.Sprintf("%d/%s", r.First, r.Protocol)
	}
	return fmt.Sprintf("%d-%d/%s", r.First, r.Last, r.Protocol)
}

// CanonicalImage returns the reference r names, spelled one way only, so
// that a pattern cannot be dodged by spelling the same image differently:
// the registry is always present (docker.io for Docker Hub, also when
// written index.docker.io), Docker Hub's official images carry library/,
// and the registry is lower case. Tag and digest are kept as written.
func CanonicalImage(r ImageRef) string {
	reg := strings.ToLower(r.Registry)
	if reg == "" || reg == "index.docker.io" || reg == "registry-1.docker.io" {
		reg = "docker.io"
	}
	repo := r.Repository
	if reg == "docker.io" && !strings.Contains(repo, "/") {
		repo = "library/" + repo
	}
	return ImageRef{Registry: reg, Repository: repo, Tag: r.Tag, Digest: r.Digest}.String()
}

// QuoteYAML quotes s as a YAML single-quoted scalar, the way a Windows
// path is best written in YAML (backslashes stay as they are).
func QuoteYAML(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// LoadPolicy reads and parses the policy file at path; see ParsePolicy.
// Only a regular file is read (links are followed), never blocking on one
// that is not; files larger than MaxPolicySize are refused.
func LoadPolicy(path string) (*Policy, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return nil, &Error{File: path, Message: fmt.Sprintf("cannot read the policy file: %v", err)}
	}
	defer f.Close()
	data, _, err := safefile.ReadAll(f, MaxPolicySize, DefaultMaxReadTime)
	if tl := (*safefile.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, &Error{File: path, Message: fmt.Sprintf("the policy file is larger than %d bytes", MaxPolicySize)}
	}
	if err != nil {
		return nil, &Error{File: path, Message: fmt.Sprintf("cannot read the policy file: %v", err)}
	}
	return ParsePolicy(path, data)
}

// ParsePolicy decodes and validates the policy in data, the content of the
// file named file (used in errors; it is not read). The file holds exactly
// one document of kind Policy. Decoding is as strict as for spec files:
// unknown fields, wrong types and bad values are errors with their line,
// column and field path, all reported together as a *multierror.Error of
// *Error (see Errors). A policy with any error is not returned: an agent
// must never run with half a policy.
func ParsePolicy(file string, data []byte) (*Policy, error) {
	var policies []*Policy
	var docs []document
	var bodies []*yaml.Node
	errs := eachDocument(file, data, func(body *yaml.Node, d *decoder) {
		bodies = append(bodies, body)
		p := &Policy{File: file}
		if d.decodePolicy(body, p) {
			policies = append(policies, p)
			docs = append(docs, document{nodes: d.nodes, root: body, suggested: d.suggested, decoded: true})
		}
	})
	switch {
	case len(bodies) == 0 && len(errs) == 0:
		errs = append(errs, &Error{File: file, Message: fmt.Sprintf("the policy file is empty; write apiVersion: %s and kind: %s (a policy that lists nothing allows nothing)", APIVersion, KindPolicy)})
	case len(bodies) > 1:
		n := bodies[1]
		errs = append(errs, &Error{File: file, Line: n.Line, Column: n.Column, Message: "a policy file holds one Policy document; merge this document into the first"})
	}
	for i, p := range policies {
		errs = append(errs, docs[i].positioned(file, validatePolicy(p), errs)...)
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return policies[0], nil
}

// decodePolicy decodes the top level of a policy document; like
// decodeDocument, it stops at a kind other than Policy.
func (d *decoder) decodePolicy(n *yaml.Node, p *Policy) bool {
	n = d.resolve(n)
	if n == nil {
		return false
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "", "a policy must be a mapping with apiVersion, kind and the allowed mappings, not %s", kindName(n))
		return false
	}
	d.nodes[""] = n
	if k := d.lookup(n, "kind"); k != nil && k.Kind == yaml.ScalarNode && k.Value != KindPolicy {
		d.nodes["kind"] = k
		switch k.Value {
		case KindContainer:
			d.errorf(k, "kind", "a Container belongs in the spec folder, not in the policy file; write kind: %s here", KindPolicy)
		default:
			d.errorf(k, "kind", "%q is not supported; the policy file holds one kind: %s document", k.Value, KindPolicy)
		}
		return false
	}
	d.decodeValue(n, reflect.ValueOf(p).Elem(), "")
	return true
}

// validatePolicy checks p beyond types and normalises its entries in place.
func validatePolicy(p *Policy) []fieldError {
	var v validator
	v.header(p.APIVersion, p.Kind, KindPolicy)
	v.isolations("isolation", p.Isolation, p.Isolation != nil)
	for i := range p.ImageIsolation {
		r := &p.ImageIsolation[i]
		rp := fmt.Sprintf("imageIsolation[%d]", i)
		if len(r.Images) == 0 {
			v.errorf(rp+".images", "is required; list image patterns such as 'mcr.microsoft.com/windows/*'")
		}
		for j, pat := range r.Images {
			v.imagePattern(fmt.Sprintf("%s.images[%d]", rp, j), pat)
		}
		if len(r.Isolation) == 0 {
			v.errorf(rp+".isolation", "is required; list the isolation modes these images may use, such as [hyperv]")
		}
		v.isolations(rp+".isolation", r.Isolation, false)
	}
	for i := range p.Mounts {
		m := &p.Mounts[i]
		mp := fmt.Sprintf("mounts[%d].path", i)
		switch {
		case m.Path == "":
			v.errorf(mp, `is required; give a host folder such as D:\data (it allows that folder and everything under it)`)
		case isGlob(m.Path):
			v.errorf(mp, "%s: mount entries are folder prefixes, not globs; write the folder, such as D:\\data, to allow everything under it", winpath.Quote(m.Path))
		default:
			if hp, err := winpath.Parse(m.Path); err != nil {
				v.errorf(mp, "%v", err)
			} else {
				m.Path = hp.String()
			}
		}
	}
	for i, s := range p.Pipes {
		pp := fmt.Sprintf("pipes[%d]", i)
		pipe, err := winpath.ParsePipe(s)
		if err != nil {
			v.errorf(pp, "%v", err)
			continue
		}
		p.Pipes[i] = pipe.String()
	}
	for i, s := range p.Ports {
		r, err := ParsePortRange(s)
		if err != nil {
			v.errorf(fmt.Sprintf("ports[%d]", i), "%v", err)
			continue
		}
		p.Ports[i] = r.String()
	}
	for i, s := range p.Devices {
		g, err := ParseGUID(s)
		if err != nil {
			v.errorf(fmt.Sprintf("devices[%d]", i), "%v", err)
			continue
		}
		p.Devices[i] = g
	}
	return v.errs
}

// isGlob reports wildcards in a path, past a \\?\ prefix.
func isGlob(p string) bool {
	t := strings.ReplaceAll(p, "/", `\`)
	t = strings.TrimPrefix(t, `\\?\`)
	return strings.ContainsAny(t, "*?")
}

// isolations checks a list of isolation modes; written reports that the
// list was given, so an empty one is a mistake rather than "both".
func (v *validator) isolations(path string, isos []Isolation, written bool) {
	if written && len(isos) == 0 {
		v.errorf(path, "lists no isolation mode, which would allow no container at all; leave it out to allow both, or write [hyperv]")
	}
	for i, iso := range isos {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch iso {
		case IsolationProcess, IsolationHyperV:
		case IsolationDefault:
			v.errorf(ip, "the policy restricts the effective isolation, which is process or hyperv (default is resolved to one of them first)")
		case "hyper-v", "Hyper-V", "HyperV":
			v.errorf(ip, "%q is spelled hyperv here", iso)
		default:
			v.enum(ip, string(iso), string(IsolationProcess), string(IsolationHyperV))
		}
	}
}

// imagePattern checks a pattern over canonical image references.
func (v *validator) imagePattern(path, pat string) {
	switch {
	case strings.TrimSpace(pat) == "":
		v.errorf(path, "an image pattern must not be empty; write one such as 'mcr.microsoft.com/windows/*'")
	case strings.ContainsAny(pat, " \t\r\n"):
		v.errorf(path, "image pattern %q contains white space", pat)
	case strings.ContainsAny(pat, "[]{}"):
		v.errorf(path, "image pattern %q: only * and ? are wildcards here", pat)
	}
}
