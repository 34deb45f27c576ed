package policy

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/isoagent/isoagent/credspec"
	"github.com/isoagent/isoagent/internal/safefile"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// Kind is the kind of the boundary policy document.
const Kind = "Policy"

// MaxSize is the largest policy file Load reads.
const MaxSize = 1 << 20

// Policy is the agent's boundary policy as its file says it: what a spec
// may map through its container's isolation boundary. It lives in a file
// of its own (--policy), outside the spec folder, because the people who
// write specs must not decide what the host exposes.
//
// Everything a field leaves out is denied: the zero Policy allows no
// mount, pipe, port, device, network sharing or credential spec, and both
// isolation modes.
// A Policy from Parse is decoded and validated, with paths, pipes, ports
// and GUIDs normalised; NewChecker compiles it into the rules that apply
// it.
type Policy struct {
	APIVersion string `yaml:"apiVersion" json:"apiVersion"`
	Kind       string `yaml:"kind" json:"kind"`
	// Isolation lists the effective isolation modes allowed; empty means
	// both.
	Isolation []spec.Isolation `yaml:"isolation,omitempty" json:"isolation,omitempty"`
	// ImageIsolation narrows or widens Isolation for some images: the
	// first rule with a pattern matching an image's canonical reference
	// decides its modes.
	ImageIsolation []ImageIsolation `yaml:"imageIsolation,omitempty" json:"imageIsolation,omitempty"`
	// Mounts are the host folders (prefixes) that may be mapped.
	Mounts []MountRule `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	// Pipes are globs over whole local pipe names: the name after
	// \\.\pipe\ may hold '*' and '?'.
	Pipes []winpath.Pipe `yaml:"pipes,omitempty" json:"pipes,omitempty"`
	// Ports are host port ranges with their protocol, normalised to
	// "8000-8999/tcp" or "53/udp"; see ParsePortRange.
	Ports []string `yaml:"ports,omitempty" json:"ports,omitempty"`
	// Devices are device interface class GUIDs, upper case without braces.
	Devices []string `yaml:"devices,omitempty" json:"devices,omitempty"`
	// NetworkSharing allows network: {mode: container:<name>}.
	NetworkSharing bool `yaml:"networkSharing,omitempty" json:"networkSharing,omitempty"`
	// CredentialSpecs are the gMSA credential specs (file names in the
	// agent's credential-spec folder) that specs may run with.
	CredentialSpecs []string `yaml:"credentialSpecs,omitempty" json:"credentialSpecs,omitempty"`
	// Secrets say which specs may use which secrets of the agent's
	// secrets folder (envFrom, secretMounts); a secret no rule names for
	// a spec is denied to it.
	Secrets []SecretRule `yaml:"secrets,omitempty" json:"secrets,omitempty"`

	// File is where the policy was read from; it is not part of the YAML
	// format.
	File string `yaml:"-" json:"file,omitempty"`
}

// ImageIsolation restricts (or widens) the isolation modes of the images
// its patterns match.
type ImageIsolation struct {
	// Images are patterns over canonical image references (see
	// imageref.Ref.Canonical): '*' matches any run of characters, '/'
	// included, and '?' one character; case is ignored.
	Images    []string         `yaml:"images" json:"images"`
	Isolation []spec.Isolation `yaml:"isolation" json:"isolation"`
}

// SecretRule lets the specs its Specs patterns match use the secrets its
// Secrets patterns match. Patterns are globs ('*' any run of characters,
// '?' one) over whole names.
type SecretRule struct {
	Secrets []string `yaml:"secrets" json:"secrets"`
	Specs   []string `yaml:"specs" json:"specs"`
}

// MountRule allows mapping the host folder Path and everything under it.
type MountRule struct {
	// Path is a host folder (C:\data or \\server\share\data).
	Path winpath.Path `yaml:"path" json:"path"`
	// ReadOnly allows only read-only mounts under Path.
	ReadOnly bool `yaml:"readOnly,omitempty" json:"readOnly,omitempty"`
}

// String formats r as the YAML flow mapping a policy file holds.
func (r MountRule) String() string {
	if r.ReadOnly {
		return fmt.Sprintf("{path: %s, readOnly: true}", quoteYAML(r.Path.String()))
	}
	return fmt.Sprintf("{path: %s}", quoteYAML(r.Path.String()))
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

// quoteYAML quotes s as a YAML single-quoted scalar, the way a Windows
// path is best written in YAML (backslashes stay as they are), so that a
// message's "add this entry" can be copied into the file as it is.
func quoteYAML(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// Load reads and parses the policy file at path; see Parse. Only a regular
// file is read (links are followed), never blocking on one that is not;
// files larger than MaxSize are refused.
func Load(path string) (*Policy, error) { return LoadLocated(path, nil) }

// LoadLocated is Load with a YAML syntax error located by locate (see
// spec.LocateSyntax); nil locates nothing.
func LoadLocated(path string, locate spec.SyntaxLocator) (*Policy, error) {
	f, err := safefile.Open(path)
	if err != nil {
		return nil, &spec.Error{File: path, Message: fmt.Sprintf("cannot read the policy file: %v", err)}
	}
	defer f.Close()
	data, _, err := safefile.ReadAll(f, MaxSize, spec.DefaultMaxReadTime)
	if tl := (*safefile.TooLargeError)(nil); errors.As(err, &tl) {
		return nil, &spec.Error{File: path, Message: fmt.Sprintf("the policy file is larger than %d bytes", MaxSize)}
	}
	if err != nil {
		return nil, &spec.Error{File: path, Message: fmt.Sprintf("cannot read the policy file: %v", err)}
	}
	p, err := Parse(path, data)
	return p, spec.LocateSyntax(err, data, locate)
}

// Parse decodes and validates the policy in data, the content of the file
// named file (used in errors; it is not read). The file holds exactly one
// document of kind Policy. It is read by spec.DecodeFile, as strictly as
// spec files: unknown fields, wrong types and bad values are errors with
// their line, column and field path, all reported together as a
// *multierror.Error of *spec.Error (see spec.Errors). A policy with any
// error is not returned: an agent must never run with half a policy.
func Parse(file string, data []byte) (*Policy, error) {
	var policies []*Policy
	docs := 0
	err := spec.DecodeFile(file, data, func(doc *spec.Document) {
		if docs++; docs == 2 {
			doc.Errorf("", "a policy file holds one Policy document; merge this document into the first")
		}
		p := &Policy{File: file}
		if doc.Decode(p, documentKind) {
			validate(doc, p)
			policies = append(policies, p)
		}
	})
	if docs == 0 && err == nil {
		err = spec.JoinErrors([]*spec.Error{{File: file, Message: fmt.Sprintf("the policy file is empty; write apiVersion: %s and kind: %s (a policy that lists nothing allows nothing)", spec.APIVersion, Kind)}})
	}
	if err != nil {
		return nil, err
	}
	return policies[0], nil
}

// documentKind is how the policy file holds its document.
var documentKind = spec.Kind{
	Name:       Kind,
	NotMapping: "a policy must be a mapping with apiVersion, kind and the allowed mappings, not %s",
	Elsewhere: map[string]string{
		spec.KindContainer: "a Container belongs in the spec folder, not in the policy file; write kind: " + Kind + " here",
	},
	Unsupported: "%q is not supported; the policy file holds one kind: " + Kind + " document",
	ShortForms: map[reflect.Type]func(string) string{
		reflect.TypeFor[MountRule](): func(v string) string { return fmt.Sprintf(" such as {path: %s, readOnly: true}", quoteYAML(v)) },
	},
}

// validate checks p, decoded from doc, beyond types, reporting to doc, and
// normalises its entries in place.
func validate(doc *spec.Document, p *Policy) {
	doc.CheckHeader(p.APIVersion, p.Kind, Kind)
	isolations(doc, "isolation", p.Isolation, p.Isolation != nil)
	for i := range p.ImageIsolation {
		r := &p.ImageIsolation[i]
		rp := fmt.Sprintf("imageIsolation[%d]", i)
		if len(r.Images) == 0 {
			doc.Errorf(rp+".images", "is required; list image patterns such as 'mcr.microsoft.com/windows/*'")
		}
		for j, pat := range r.Images {
			imagePattern(doc, fmt.Sprintf("%s.images[%d]", rp, j), pat)
		}
		if len(r.Isolation) == 0 {
			doc.Errorf(rp+".isolation", "is required; list the isolation modes these images may use, such as [hyperv]")
		}
		isolations(doc, rp+".isolation", r.Isolation, false)
	}
	for i := range p.Mounts {
		mp := fmt.Sprintf("mounts[%d].path", i)
		switch text := doc.Text(mp); {
		case text == "":
			doc.Errorf(mp, `is required; give a host folder such as D:\data (it allows that folder and everything under it)`)
		case isGlob(text):
			doc.Errorf(mp, "%s: mount entries are folder prefixes, not globs; write the folder, such as D:\\data, to allow everything under it", winpath.Quote(text))
		default:
			if hp, err := winpath.Parse(text); err != nil {
				doc.Errorf(mp, "%v", err)
			} else {
				p.Mounts[i].Path = hp
			}
		}
	}
	for i := range p.Pipes {
		pp := fmt.Sprintf("pipes[%d]", i)
		pipe, err := winpath.ParsePipe(doc.Text(pp))
		if err != nil {
			doc.Errorf(pp, "%v", err)
			continue
		}
		p.Pipes[i] = pipe
	}
	for i, s := range p.Ports {
		r, err := ParsePortRange(s)
		if err != nil {
			doc.Errorf(fmt.Sprintf("ports[%d]", i), "%v", err)
			continue
		}
		p.Ports[i] = r.String()
	}
	for i, r := range p.Secrets {
		rp := fmt.Sprintf("secrets[%d]", i)
		if len(r.Secrets) == 0 {
			doc.Errorf(rp+".secrets", "is required; list secret names or globs such as db-*")
		}
		if len(r.Specs) == 0 {
			doc.Errorf(rp+".specs", "is required; list the spec names (or globs such as web-*) that may use these secrets")
		}
		for j, pat := range r.Secrets {
			namePattern(doc, fmt.Sprintf("%s.secrets[%d]", rp, j), pat, "secret")
		}
		for j, pat := range r.Specs {
			namePattern(doc, fmt.Sprintf("%s.specs[%d]", rp, j), pat, "spec")
		}
	}
	for i, s := range p.Devices {
		g, err := spec.ParseGUID(s)
		if err != nil {
			doc.Errorf(fmt.Sprintf("devices[%d]", i), "%v", err)
			continue
		}
		p.Devices[i] = g
	}
	for i, name := range p.CredentialSpecs {
		cp := fmt.Sprintf("credentialSpecs[%d]", i)
		if isGlob(name) {
			doc.Errorf(cp, "%q: credential specs are listed by name, not by pattern; list each one a spec may use", name)
		} else if err := credspec.CheckName(name); err != nil {
			doc.Errorf(cp, "%v", err)
		}
	}
}

// isGlob reports wildcards in a path, past a \\?\ prefix.
func isGlob(p string) bool {
	t := strings.ReplaceAll(p, "/", `\`)
	t = strings.TrimPrefix(t, `\\?\`)
	return strings.ContainsAny(t, "*?")
}

// isolations checks a list of isolation modes; written reports that the
// list was given, so an empty one is a mistake rather than "both".
func isolations(doc *spec.Document, path string, isos []spec.Isolation, written bool) {
	if written && len(isos) == 0 {
		doc.Errorf(path, "lists no isolation mode, which would allow no container at all; leave it out to allow both, or write [hyperv]")
	}
	for i, iso := range isos {
		ip := fmt.Sprintf("%s[%d]", path, i)
		switch iso {
		case spec.IsolationProcess, spec.IsolationHyperV:
		case spec.IsolationDefault:
			doc.Errorf(ip, "the policy restricts the effective isolation, which is process or hyperv (default is resolved to one of them first)")
		case "hyper-v", "Hyper-V", "HyperV":
			doc.Errorf(ip, "%q is spelled hyperv here", iso)
		default:
			doc.CheckEnum(ip, string(iso), string(spec.IsolationProcess), string(spec.IsolationHyperV))
		}
	}
}

// namePattern checks a glob over secret or spec names.
func namePattern(doc *spec.Document, path, pat, what string) {
	switch {
	case strings.TrimSpace(pat) == "":
		doc.Errorf(path, "a %s name pattern must not be empty", what)
	case strings.Trim(pat, "*?") == "" && pat != "*":
		doc.Errorf(path, "%q matches by length only; write * to mean every %s, or name them", pat, what)
	case strings.ContainsAny(pat, " \t\r\n/\\[]{}"):
		doc.Errorf(path, "%s name pattern %q may hold letters, digits, '.', '_', '-' and the wildcards * and ?", what, pat)
	}
}

// imagePattern checks a pattern over canonical image references.
func imagePattern(doc *spec.Document, path, pat string) {
	switch {
	case strings.TrimSpace(pat) == "":
		doc.Errorf(path, "an image pattern must not be empty; write one such as 'mcr.microsoft.com/windows/*'")
	case strings.ContainsAny(pat, " \t\r\n"):
		doc.Errorf(path, "image pattern %q contains white space", pat)
	case strings.ContainsAny(pat, "[]{}"):
		doc.Errorf(path, "image pattern %q: only * and ? are wildcards here", pat)
	}
}
