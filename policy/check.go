package policy

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/isoagent/isoagent/credspec"
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// Violation is one thing a boundary policy does not allow.
type Violation struct {
	// Field is the spec field at fault, such as spec.mounts[0].hostPath.
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Checker applies a boundary policy (DESIGN §4) to the effective configs
// admission builds. It denies by default: whatever the policy does not
// list is refused, and a checker made from a nil policy refuses every
// mount, pipe, port, device, network sharing and credential spec. It is
// safe for
// concurrent use (it is not changed after NewChecker), and Check is pure:
// it reads its arguments and nothing else, the host's file system
// included (see ResolveMounts).
//
// Some things are allowed only when a policy entry names them exactly,
// never through a prefix or a glob: drive roots, the Windows folder, user
// profile folders, system volume folders, the container engines' data and
// program folders and the folders that hold them, administrative UNC
// shares (C$, ADMIN$), container-engine and orchestration pipes, and the
// host's system RPC pipes (see sensitiveMount and sensitivePipe). A mount
// path with a component that may be an 8.3 short name (PROGRA~1) is
// allowed only exactly too, since which folder it names cannot be told
// without the host's file system.
//
// Paths are compared as winpath normalises them (case, slashes, \\?\ and
// UNC forms) on whole components. What winpath refuses (.., trailing dots
// or spaces, device paths, ...) is no winpath.Path, so no config or policy
// entry can hold it.
type Checker struct {
	file           string // "" when no policy file is in force
	isolation      []driver.Isolation
	images         []imageRule
	mounts         []MountRule
	pipes          []pipeRule
	ports          []PortRange
	devices        []string
	networkSharing bool
	credSpecs      []string
	secrets        []SecretRule
}

type imageRule struct {
	patterns  []string
	isolation []driver.Isolation
}

type pipeRule struct {
	pattern string // the name after \\.\pipe\, a glob
	exact   bool   // no wildcards: names one pipe
}

// NewChecker compiles p. A nil p is the policy in force when no policy
// file is given: it allows nothing that pierces isolation. p is expected
// to come from Parse; an entry Parse would refuse is an error.
func NewChecker(p *Policy) (*Checker, error) {
	pc := &Checker{}
	if p == nil {
		return pc, nil
	}
	pc.file = p.File
	if pc.file == "" {
		pc.file = "(unnamed)"
	}
	pc.networkSharing = p.NetworkSharing
	pc.secrets = p.Secrets
	var err error
	if pc.isolation, err = isolationsOf(p.Isolation); err != nil {
		return nil, fmt.Errorf("policy isolation: %w", err)
	}
	for i, r := range p.ImageIsolation {
		isos, err := isolationsOf(r.Isolation)
		if err != nil || len(isos) == 0 {
			return nil, fmt.Errorf("policy imageIsolation[%d]: lists no valid isolation mode", i)
		}
		pc.images = append(pc.images, imageRule{patterns: r.Images, isolation: isos})
	}
	for i, m := range p.Mounts {
		if m.Path.IsZero() {
			return nil, fmt.Errorf("policy mounts[%d]: no path", i)
		}
		pc.mounts = append(pc.mounts, m)
	}
	for i, pipe := range p.Pipes {
		if pipe.IsZero() {
			return nil, fmt.Errorf("policy pipes[%d]: no pipe", i)
		}
		pc.pipes = append(pc.pipes, pipeRule{pattern: pipe.Name(), exact: !strings.ContainsAny(pipe.Name(), "*?")})
	}
	for i, s := range p.Ports {
		r, err := ParsePortRange(s)
		if err != nil {
			return nil, fmt.Errorf("policy ports[%d]: %w", i, err)
		}
		pc.ports = append(pc.ports, r)
	}
	for i, s := range p.Devices {
		g, err := spec.ParseGUID(s)
		if err != nil {
			return nil, fmt.Errorf("policy devices[%d]: %w", i, err)
		}
		pc.devices = append(pc.devices, g)
	}
	for i, name := range p.CredentialSpecs {
		if err := credspec.CheckName(name); err != nil {
			return nil, fmt.Errorf("policy credentialSpecs[%d]: %w", i, err)
		}
		pc.credSpecs = append(pc.credSpecs, name)
	}
	return pc, nil
}

func isolationsOf(in []spec.Isolation) ([]driver.Isolation, error) {
	var out []driver.Isolation
	for _, iso := range in {
		switch iso {
		case spec.IsolationProcess:
			out = append(out, driver.Process)
		case spec.IsolationHyperV:
			out = append(out, driver.HyperV)
		default:
			return nil, fmt.Errorf("%q is not process or hyperv", iso)
		}
	}
	return out, nil
}

// File returns the policy file the checker was made from, or "" when no
// policy file is in force.
func (pc *Checker) File() string { return pc.file }

// Check returns every way cfg, the effective config of spec c, goes beyond
// the policy, in field order. Each violation names the field, what was
// asked, and the policy entry that would allow it. leads are where cfg's
// mounts really lead, from ResolveMounts on the same cfg: a mount is
// allowed only when both its host folder and the folder it leads to are.
// With the zero Leads host folders are compared as written.
func (pc *Checker) Check(c *spec.Container, cfg driver.Config, leads Leads) []Violation {
	var vs []Violation
	explained := false
	add := func(field, format string, args ...any) {
		vs = append(vs, Violation{Field: field, Message: fmt.Sprintf(format, args...)})
	}
	if msg := pc.checkIsolation(c, cfg); msg != "" {
		add("spec.isolation", "%s", msg)
	}
	for i, m := range cfg.Mounts {
		if field, msg := pc.checkMount(m, leads.of(i), &explained); msg != "" {
			add(fmt.Sprintf("spec.mounts[%d].%s", i, field), "%s", msg)
		}
	}
	for i, p := range cfg.Pipes {
		if msg := pc.checkPipe(p.HostPipe, &explained); msg != "" {
			add(fmt.Sprintf("spec.pipes[%d].hostPipe", i), "%s", msg)
		}
	}
	for i, p := range cfg.Ports {
		if msg := pc.checkPort(p, &explained); msg != "" {
			add(fmt.Sprintf("spec.ports[%d].hostPort", i), "%s", msg)
		}
	}
	if cfg.NetworkSharedWith != "" && !pc.networkSharing {
		add("spec.network.mode", "sharing the network of another container (%s) is not allowed by the policy; %s",
			c.Spec.Network.Mode, pc.toAllow("networkSharing: true", &explained))
	}
	for i, d := range cfg.Devices {
		if msg := pc.checkDevice(d, &explained); msg != "" {
			add(fmt.Sprintf("spec.devices[%d].classGUID", i), "%s", msg)
		}
	}
	if name := cfg.CredentialSpec; name != "" && !slices.ContainsFunc(pc.credSpecs, func(s string) bool { return equalFold(s, name) }) {
		add("spec.credentialSpec", "credential spec %s (a gMSA the container acts as on the network) is not allowed by the policy; %s",
			quoteYAML(name), pc.toAllow("credentialSpecs: ["+quoteYAML(name)+"]", &explained))
	}
	for i, r := range cfg.SecretEnv {
		if msg := pc.checkSecret(cfg.Name, r.Name, &explained); msg != "" {
			add(fmt.Sprintf("spec.envFrom[%d].secret", i), "%s", msg)
		}
	}
	for i, m := range cfg.SecretMounts {
		if msg := pc.checkSecret(cfg.Name, m.Name, &explained); msg != "" {
			add(fmt.Sprintf("spec.secretMounts[%d].secret", i), "%s", msg)
		}
	}
	return vs
}

// checkSecret says why spec name may not use secret, or "" when a rule
// lets it.
func (pc *Checker) checkSecret(name, secret string, ex *bool) string {
	for _, r := range pc.secrets {
		if slices.ContainsFunc(r.Secrets, func(p string) bool { return globMatch(p, secret) }) &&
			slices.ContainsFunc(r.Specs, func(p string) bool { return globMatch(p, name) }) {
			return ""
		}
	}
	return fmt.Sprintf("secret %s is not allowed for spec %s by the policy; %s", secret, name,
		pc.toAllow(fmt.Sprintf("secrets: [{secrets: [%s], specs: [%s]}]", secret, name), ex))
}

// toAllow says how to allow something: the policy entry to add, and where.
// Without a policy file, the first violation of a spec explains why
// everything is denied and the others only name their entry.
func (pc *Checker) toAllow(entry string, explained *bool) string {
	// Not %q: the entry is YAML to copy, and its backslashes must stay single.
	switch {
	case pc.file != "":
		return `to allow it add "` + entry + `" to the policy file ` + pc.file
	case !*explained:
		*explained = true
		return `no --policy file is given, so nothing that pierces isolation is allowed; to allow it, run with --policy FILE holding "` + entry + `"`
	}
	return `to allow it, the --policy file needs "` + entry + `"`
}

func isoList(isos []driver.Isolation) string {
	s := make([]string, len(isos))
	for i, iso := range isos {
		s[i] = string(iso)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

func (pc *Checker) checkIsolation(c *spec.Container, cfg driver.Config) string {
	iso := cfg.Isolation
	img := cfg.Image.Canonical()
	for i, r := range pc.images {
		for _, pat := range r.patterns {
			if !globMatch(pat, img) {
				continue
			}
			if slices.Contains(r.isolation, iso) {
				return ""
			}
			return fmt.Sprintf("%s isolation is not allowed for image %s by the policy: its imageIsolation[%d] entry (images %s) allows only %s; use isolation: %s, or add %s to that entry's isolation in the policy file %s",
				iso, img, i, quoteYAML(pat), isoList(r.isolation), r.isolation[0], iso, pc.file)
		}
	}
	if len(pc.isolation) == 0 || slices.Contains(pc.isolation, iso) {
		return ""
	}
	how := fmt.Sprintf("use isolation: %s", pc.isolation[0])
	if c.Spec.OnVersionMismatch == spec.MismatchHyperV && iso == driver.HyperV {
		how = "use an image whose build process isolation can run on this host, or remove onVersionMismatch: hyperv"
	}
	return fmt.Sprintf("%s isolation is not allowed by the policy, which allows only %s; %s, or add %s to \"isolation: %s\" in the policy file %s",
		iso, isoList(pc.isolation), how, iso, isoList(pc.isolation), pc.file)
}

// checkMount returns the field at fault (hostPath or readOnly) and why the
// mount is not allowed, or "" when it is; l is where it leads, nil when
// that is not known.
func (pc *Checker) checkMount(m driver.Mount, l *lead, ex *bool) (field, msg string) {
	field, msg = pc.checkMountPath(m.HostPath, m.ReadOnly, ex)
	if msg != "" || l == nil {
		return field, msg
	}
	host := winpath.Quote(m.HostPath.String())
	switch {
	case l.err != nil:
		return "hostPath", fmt.Sprintf("host folder %s cannot be resolved to check it against the policy: %v", host, l.err)
	case l.parseErr != nil:
		return "hostPath", fmt.Sprintf("host folder %s is %s through a junction or symbolic link, and the policy does not allow that: host folder cannot be checked against the policy: %v",
			host, winpath.Quote(l.real), l.parseErr)
	case winpath.Equal(l.path, m.HostPath):
		return "", ""
	}
	if field, msg = pc.checkMountPath(l.path, m.ReadOnly, ex); msg != "" {
		return field, fmt.Sprintf("host folder %s is %s through a junction or symbolic link, and the policy does not allow that: %s",
			host, winpath.Quote(l.real), msg)
	}
	return "", ""
}

func (pc *Checker) checkMountPath(p winpath.Path, readOnly bool, ex *bool) (field, msg string) {
	q := winpath.Quote(p.String())
	want := MountRule{Path: p, ReadOnly: readOnly}.String()
	allow := pc.toAllow("mounts: ["+want+"]", ex)
	var roOnly *MountRule
	for i := range pc.mounts {
		r := &pc.mounts[i]
		if !winpath.Equal(r.Path, p) {
			continue
		}
		if !r.ReadOnly || readOnly {
			return "", ""
		}
		roOnly = r
	}
	if roOnly == nil {
		if c := shortNameComponent(p); c != "" {
			return "hostPath", fmt.Sprintf("host folder %s has a component, %s, that may be an 8.3 short name, so which folder it is cannot be compared with the policy safely; write the folder's long name, or allow exactly this path: %s",
				q, winpath.Quote(c), allow)
		}
		if what := sensitiveMount(p); what != "" {
			return "hostPath", fmt.Sprintf("host folder %s is %s, which a policy allows only by naming it exactly, never through a prefix; %s", q, what, allow)
		}
		for i := range pc.mounts {
			r := &pc.mounts[i]
			if !winpath.HasPrefix(p, r.Path) {
				continue
			}
			if !r.ReadOnly || readOnly {
				return "", ""
			}
			roOnly = r
		}
	}
	if roOnly != nil {
		return "readOnly", fmt.Sprintf("host folder %s may be mapped only read-only (policy entry %s); set readOnly: true on the mount, or to allow writing add \"mounts: [%s]\" to the policy file %s",
			q, MountRule{Path: roOnly.Path, ReadOnly: true}, want, pc.file)
	}
	if p.IsUNC() {
		return "hostPath", fmt.Sprintf("UNC path %s is not allowed by the policy (a share is allowed only when the policy lists it); %s", q, allow)
	}
	return "hostPath", fmt.Sprintf("host folder %s is not allowed by the policy; %s", q, allow)
}

// shortNameComponent returns the first component of p that may be an 8.3
// short name (a '~' followed by a digit, as in PROGRA~1), or "".
func shortNameComponent(p winpath.Path) string {
	for _, e := range p.Elems() {
		for i := 0; i+1 < len(e); i++ {
			if e[i] == '~' && e[i+1] >= '0' && e[i+1] <= '9' {
				return e
			}
		}
	}
	return ""
}

// sensitiveTrees are folders (below a drive root, upper case) that hold
// the container engines' state or programs: mapping one, or a folder
// above one, hands a container the host. The Windows folder and the
// system folders are matched by sensitiveMount itself.
var sensitiveTrees = []struct {
	elems []string
	what  string
}{
	{[]string{"PROGRAMDATA", "DOCKER"}, "Docker's data folder"},
	{[]string{"PROGRAMDATA", "CONTAINERD"}, "containerd's data folder"},
	{[]string{"PROGRAMDATA", "MICROSOFT"}, "Windows' machine-wide data folder (keys, container and Hyper-V storage)"},
	{[]string{"PROGRAM FILES", "DOCKER"}, "Docker's program folder"},
	{[]string{"PROGRAM FILES", "CONTAINERD"}, "containerd's program folder"},
}

// sensitiveMount says what p is when it is a host folder that a policy
// may allow only by naming it exactly, or "" when it is not one.
func sensitiveMount(p winpath.Path) string {
	e := upperElems(p)
	if p.IsUNC() {
		share := strings.ToUpper(p.Volume()[strings.LastIndexByte(p.Volume(), '\\')+1:])
		if strings.HasSuffix(share, "$") {
			return "on an administrative or hidden share (" + share + ")"
		}
		return ""
	}
	if len(e) == 0 {
		return "a drive root"
	}
	switch {
	case e[0] == "WINDOWS":
		return "the Windows folder or inside it"
	case e[0] == "USERS" && len(e) == 1:
		return "the folder of the user profiles"
	case e[0] == "USERS" && len(e) == 2:
		return "a user profile folder"
	case e[0] == "SYSTEM VOLUME INFORMATION", e[0] == "RECOVERY", e[0] == "BOOT", strings.HasPrefix(e[0], "$"):
		return "a system volume folder or inside one"
	}
	for _, t := range sensitiveTrees {
		n := min(len(e), len(t.elems))
		if !slices.Equal(e[:n], t.elems[:n]) {
			continue
		}
		if len(e) >= len(t.elems) {
			return t.what + " or inside it"
		}
		return fmt.Sprintf("a folder that holds %s (%s)", t.what, p.Volume()+`\`+strings.Join(t.elems, `\`))
	}
	return ""
}

func upperElems(p winpath.Path) []string {
	e := p.Elems()
	for i := range e {
		e[i] = strings.ToUpper(e[i])
	}
	return e
}

// sensitivePipePrefixes start the names of pipes that control a container
// engine or an orchestrator, upper case: docker_engine, dockerDesktop...,
// containerd-containerd, containerd-debug, buildkitd, csi-proxy-..., and
// their relatives. Whoever holds one controls the host.
var sensitivePipePrefixes = []string{"DOCKER", "CONTAINERD", "BUILDKIT", "MOBY", "PODMAN", "NERDCTL", "KUBE", "CSI-PROXY", "HCS", "VMCOMPUTE", "PSHOST."}

// sensitivePipeNames are the host's system RPC pipes and credential
// agents, upper case: each lets a client act on the host (services,
// registry, accounts, scheduled tasks, SSH keys).
var sensitivePipeNames = []string{
	"LSASS", "LSARPC", "SAMR", "NETLOGON", "SVCCTL", "NTSVCS", "WINREG", "ATSVC", "EVENTLOG",
	"SPOOLSS", "SRVSVC", "WKSSVC", "EPMAPPER", "INITSHUTDOWN", "PROTECTED_STORAGE", "SCERPC",
	"OPENSSH-SSH-AGENT",
}

// sensitivePipe says what pipe name is when a policy may allow it only by
// naming it exactly, or "" when it is not one.
func sensitivePipe(name string) string {
	u := strings.ToUpper(name)
	for _, p := range sensitivePipePrefixes {
		if strings.HasPrefix(u, p) {
			return "a container-engine or orchestration pipe, which controls the host"
		}
	}
	if slices.Contains(sensitivePipeNames, u) {
		return "a system pipe that lets its clients act on the host"
	}
	return ""
}

func (pc *Checker) checkPipe(pipe winpath.Pipe, ex *bool) string {
	q := winpath.Quote(pipe.String())
	allow := pc.toAllow("pipes: ["+quoteYAML(pipe.String())+"]", ex)
	what := sensitivePipe(pipe.Name())
	for _, r := range pc.pipes {
		switch {
		case r.exact && equalFold(r.pattern, pipe.Name()):
			return ""
		case what == "" && globMatch(r.pattern, pipe.Name()):
			return ""
		}
	}
	if what != "" {
		return fmt.Sprintf("host pipe %s is %s; a policy allows it only by naming it exactly, never through a glob; %s", q, what, allow)
	}
	return fmt.Sprintf("host pipe %s is not allowed by the policy; %s", q, allow)
}

func (pc *Checker) checkPort(p driver.Port, ex *bool) string {
	key := fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)
	if p.HostPort < 1 || p.HostPort > 65535 {
		return fmt.Sprintf("host port %s is not a port a policy can allow (1 to 65535)", key)
	}
	for _, r := range pc.ports {
		if r.Contains(p.HostPort, p.Protocol) {
			return ""
		}
	}
	return fmt.Sprintf("host port %s is not allowed by the policy; %s", key, pc.toAllow("ports: ["+quoteYAML(key)+"]", ex))
}

func (pc *Checker) checkDevice(guid string, ex *bool) string {
	g, err := spec.ParseGUID(guid)
	if err != nil {
		return fmt.Sprintf("device class cannot be checked against the policy: %v", err)
	}
	if slices.Contains(pc.devices, g) {
		return ""
	}
	return fmt.Sprintf("device class %s is not allowed by the policy; %s", g, pc.toAllow("devices: ["+quoteYAML(g)+"]", ex))
}

// globMatch reports whether name matches pattern, where '*' matches any
// run of characters and '?' one character, ignoring case as Windows does
// for pipe names.
func globMatch(pattern, name string) bool {
	// The classic linear wildcard match: remember the last '*' and retry
	// from one character further on a mismatch.
	var px, nx, starP, starN = 0, 0, -1, 0
	for nx < len(name) || px < len(pattern) {
		if px < len(pattern) {
			pr, pw := utf8.DecodeRuneInString(pattern[px:])
			switch pr {
			case '*':
				starP, starN = px, nx
				px += pw
				continue
			case '?':
				if nx < len(name) {
					_, nw := utf8.DecodeRuneInString(name[nx:])
					px, nx = px+pw, nx+nw
					continue
				}
			default:
				if nx < len(name) {
					nr, nw := utf8.DecodeRuneInString(name[nx:])
					if foldRune(pr) == foldRune(nr) {
						px, nx = px+pw, nx+nw
						continue
					}
				}
			}
		}
		if starP >= 0 && starN < len(name) {
			_, nw := utf8.DecodeRuneInString(name[starN:])
			starN += nw
			px, nx = starP+1, starN
			continue
		}
		return false
	}
	return true
}

func foldRune(r rune) rune { return unicode.ToUpper(r) }

// equalFold compares names as Windows does: each character upper-cased
// on its own, with no special folding.
func equalFold(a, b string) bool {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if foldRune(ra) != foldRune(rb) {
			return false
		}
		a, b = a[na:], b[nb:]
	}
	return a == b
}
