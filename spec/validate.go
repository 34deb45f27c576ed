package spec

import (
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strconv"
	"strings"

	"github.com/isoagent/isoagent/credspec"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/secrets"
	"github.com/isoagent/isoagent/winpath"
)

// validator checks one document after decoding, reporting to it.
type validator struct {
	doc *Document
}

func (v *validator) errorf(path, format string, args ...any) { v.doc.Errorf(path, format, args...) }

var dnsLabelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// validate checks c, decoded from doc, against the rules of DESIGN §3
// that types alone do not express, reporting to doc, and normalises paths,
// pipes and GUIDs in place where they are valid. It runs before
// ApplyDefaults, so it can tell a field that was written from one that was
// left out.
func validate(doc *Document, c *Container) {
	v := validator{doc}
	doc.CheckHeader(c.APIVersion, c.Kind, KindContainer)
	v.name("metadata.name", c.Metadata.Name, "add a name such as web")
	v.stringKeys("metadata.labels", c.Metadata.Labels, "label")
	v.annotations(c.Metadata.Annotations)
	v.spec(c.Metadata.Name, &c.Spec)
}

// name checks a container name (a DNS label).
func (v *validator) name(path, name, ifMissing string) bool {
	if name == "" {
		v.errorf(path, "is required; %s", ifMissing)
		return false
	}
	if !dnsLabelRE.MatchString(name) {
		v.errorf(path, "%q is not a valid name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit%s",
			name, suggestLabel(name))
		return false
	}
	return true
}

// suggestLabel turns name into a DNS label for a "such as" hint.
func suggestLabel(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '-' || r == '_' || r == '.' || r == ' ':
			b.WriteByte('-')
		}
	}
	s := strings.Trim(b.String(), "-")
	if len(s) > 63 {
		s = strings.TrimRight(s[:63], "-")
	}
	if !dnsLabelRE.MatchString(s) {
		return ""
	}
	return fmt.Sprintf(" (such as %q)", s)
}

func (v *validator) stringKeys(path string, m map[string]string, what string) {
	for k := range m {
		if strings.TrimSpace(k) == "" {
			v.errorf(joinPath(path, k), "a %s name must not be empty", what)
		}
	}
}

func (v *validator) enum(path, value string, allowed ...string) bool {
	return v.doc.CheckEnum(path, value, allowed...)
}

// pullPolicy checks spec.imagePullPolicy; the kubelet's spellings are the
// format's, and another case of one of them is told how it is spelled.
func (v *validator) pullPolicy(p PullPolicy) {
	for _, want := range []PullPolicy{PullIfNotPresent, PullAlways, PullNever} {
		if p != want && strings.EqualFold(string(p), string(want)) {
			v.errorf("spec.imagePullPolicy", "%q is spelled %s here; write imagePullPolicy: %s", p, want, want)
			return
		}
	}
	v.enum("spec.imagePullPolicy", string(p), string(PullIfNotPresent), string(PullAlways), string(PullNever))
}

func (v *validator) spec(name string, s *Spec) {
	if text := v.doc.Text("spec.image"); text == "" {
		v.errorf("spec.image", "is required; give an image such as mcr.microsoft.com/windows/servercore:ltsc2022")
	} else if ref, err := imageref.Parse(text); err != nil {
		v.errorf("spec.image", "%v", err)
	} else {
		s.Image = ref
	}
	v.pullPolicy(s.ImagePullPolicy)
	if s.Command != nil && len(s.Command) == 0 {
		v.errorf("spec.command", "is empty; remove command to run the image's default command")
	}
	if s.WorkingDir != "" {
		if p, ok := v.containerPath("spec.workingDir", s.WorkingDir, false); ok {
			s.WorkingDir = p.String()
		}
	}
	for k := range s.Env {
		kp := joinPath("spec.env", k)
		switch {
		case k == "":
			v.errorf(kp, "an environment variable name must not be empty")
		case strings.Contains(k, "="):
			before, after, _ := strings.Cut(k, "=")
			v.errorf(kp, "an environment variable name must not contain '='; write %s: %s", before, after)
		case strings.ContainsRune(k, 0):
			v.errorf(kp, "an environment variable name must not contain a NUL character")
		}
	}
	if s.Isolation == "hyper-v" || s.Isolation == "HyperV" || s.Isolation == "Hyper-V" {
		v.errorf("spec.isolation", "%q is spelled hyperv here; write isolation: hyperv", s.Isolation)
	} else {
		v.enum("spec.isolation", string(s.Isolation), string(IsolationProcess), string(IsolationHyperV), string(IsolationDefault))
	}
	if v.enum("spec.onVersionMismatch", string(s.OnVersionMismatch), string(MismatchFail), string(MismatchHyperV)) &&
		s.OnVersionMismatch != "" && s.Isolation == IsolationHyperV {
		v.errorf("spec.onVersionMismatch", "applies only to process isolation (Hyper-V runs any image not newer than the host); remove it or use isolation: process")
	}
	if s.RestartPolicy == "unless-stopped" {
		v.errorf("spec.restartPolicy", `"unless-stopped" is not supported: isoagent never restarts what it was told to stop; use always`)
	} else {
		v.enum("spec.restartPolicy", string(s.RestartPolicy), string(RestartAlways), string(RestartOnFailure), string(RestartNever))
	}
	if s.StopTimeout < 0 {
		v.errorf("spec.stopTimeout", "%s is negative; give a duration such as 10s", s.StopTimeout)
	}
	for i, h := range s.Hosts {
		hp := fmt.Sprintf("spec.hosts[%d]", i)
		if strings.TrimSpace(h) == "" {
			v.errorf(hp, "a host-name pattern must not be empty; remove it or write one such as WEB-*")
		} else if _, err := path.Match(h, ""); err != nil {
			v.errorf(hp, "%q is not a valid pattern: use * and ? wildcards and [a-z] classes with a closing ]", h)
		}
	}
	v.stringKeys("spec.selector", s.Selector, "selector label")
	v.resources(&s.Resources, s.Isolation)
	v.mounts(s.Mounts)
	v.pipes(s.Pipes)
	v.network(name, &s.Network, len(s.Ports) > 0)
	v.ports(s.Ports)
	v.devices(s.Devices)
	if s.Hostname != "" {
		v.hostname("spec.hostname", s.Hostname)
	}
	if s.CredentialSpec != "" {
		if err := credspec.CheckName(s.CredentialSpec); err != nil {
			v.errorf("spec.credentialSpec", "%v", err)
		}
	}
	v.envFrom(s.EnvFrom)
	v.secretMounts(s.SecretMounts, s.Mounts)
	v.dependsOn(name, s.DependsOn)
	v.schedule(s)
	v.healthCheck(s)
	v.update(s)
}

// annotations checks the agent's own annotations; others are free-form.
func (v *validator) annotations(m map[string]string) {
	v.stringKeys("metadata.annotations", m, "annotation")
	for k, val := range m {
		if !strings.HasPrefix(k, AnnotationPrefix) {
			continue
		}
		ap := joinPath("metadata.annotations", k)
		switch k {
		case AnnotationPrune:
			if val != "true" && val != "false" {
				v.errorf(ap, "%q is not \"true\" or \"false\"; write \"false\" to keep the container when its spec is deleted", val)
			}
		default:
			v.errorf(ap, "isoagent has no annotation %s; the one it reads is %s", k, AnnotationPrune)
		}
	}
}

func (v *validator) envFrom(es []EnvFrom) {
	seen := map[string]int{}
	for i, e := range es {
		ep := fmt.Sprintf("spec.envFrom[%d].secret", i)
		if !v.secretName(ep, e.Secret) {
			continue
		}
		if j, dup := seen[e.Secret]; dup {
			v.errorf(ep, "secret %s is already listed as spec.envFrom[%d]; list a secret once", e.Secret, j)
		} else {
			seen[e.Secret] = i
		}
	}
}

func (v *validator) secretName(path, name string) bool {
	if name == "" {
		v.errorf(path, "is required; name a secret of the agent's secrets folder, such as db-credentials")
		return false
	}
	if err := secrets.CheckName(name); err != nil {
		v.errorf(path, "%v", err)
		return false
	}
	return true
}

func (v *validator) secretMounts(sms []SecretMount, mounts []Mount) {
	targets := map[string]string{}
	for i, m := range mounts {
		if !m.ContainerPath.IsZero() {
			targets[strings.ToUpper(m.ContainerPath.String())] = fmt.Sprintf("spec.mounts[%d]", i)
		}
	}
	for i := range sms {
		m := &sms[i]
		mp := fmt.Sprintf("spec.secretMounts[%d]", i)
		v.secretName(mp+".secret", m.Secret)
		if text := v.doc.Text(mp + ".containerPath"); text == "" {
			v.errorf(mp+".containerPath", `is required; give the folder inside the container the secret's files go to, such as C:\secrets\db`)
		} else if p, ok := v.containerPath(mp+".containerPath", text, false); ok {
			m.ContainerPath = p
			key := strings.ToUpper(p.String())
			if other, dup := targets[key]; dup {
				v.errorf(mp+".containerPath", "%s is already the target of %s; give each its own folder", winpath.Quote(p.String()), other)
			} else {
				targets[key] = mp
			}
		}
	}
}

var hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$`)

// hostname checks a container host name: a DNS label, which Windows
// takes as the computer name (and cuts to 15 characters for NetBIOS:
// admission warns about that).
func (v *validator) hostname(path, h string) {
	switch {
	case !hostnameRE.MatchString(h):
		v.errorf(path, "%q is not a host name: use 1 to 63 letters, digits and '-', starting and ending with a letter or digit, without dots (such as web-01)%s", h, suggestLabel(h))
	case strings.Trim(h, "0123456789") == "":
		v.errorf(path, "%q is only digits, which Windows does not take as a computer name; add a letter (such as web-%s)", h, h)
	}
}

func (v *validator) resources(r *Resources, iso Isolation) {
	if r.CPUCount < 0 {
		v.errorf("spec.resources.cpuCount", "%d is negative; give a number of CPUs, or leave it out for no limit", r.CPUCount)
	}
	if r.CPUMaximumPercent < 0 || r.CPUMaximumPercent > 100 {
		v.errorf("spec.resources.cpuMaximumPercent", "%d is not from 1 to 100; give a percentage of the host's CPU, or leave it out for no limit", r.CPUMaximumPercent)
	}
	if r.MemoryMB < 0 {
		v.errorf("spec.resources.memoryMB", "%d is negative; give a memory limit in MB, or leave it out for no limit", r.MemoryMB)
	}
	if r.CPUCount > 0 && r.CPUMaximumPercent > 0 && iso != IsolationHyperV {
		// HCS refuses the pair for process isolation; moby keeps the
		// count and drops the percentage with a warning. A spec that
		// silently loses a limit on one host and keeps it on another
		// (isolation: default) is a trap, so the spec says which.
		how := "isolation: process"
		if iso != IsolationProcess {
			how = "isolation: default (process isolation on Windows Server)"
		}
		v.errorf("spec.resources.cpuMaximumPercent", "with %s a container gets one processor limit, and HCS takes cpuCount or cpuMaximumPercent, not both; remove one of them (Docker would keep cpuCount), or set isolation: hyperv, where cpuMaximumPercent is a share of the utility VM's cpuCount processors", how)
	}
}

// containerPath checks a path inside the container and returns it
// normalised. A container path is always a drive path; rootOK says whether
// C:\ itself may be used.
func (v *validator) containerPath(fpath, s string, rootOK bool) (winpath.Path, bool) {
	p, err := winpath.Parse(s)
	if err != nil {
		v.errorf(fpath, "%v", err)
		return winpath.Path{}, false
	}
	if p.IsUNC() {
		v.errorf(fpath, "%s is a UNC path; a path inside the container must be a drive path such as C:\\data", winpath.Quote(s))
		return winpath.Path{}, false
	}
	if !rootOK && strings.EqualFold(p.String(), `C:\`) {
		v.errorf(fpath, `C:\ is the container's system drive and cannot be a target; use a folder such as C:\data, or another drive such as D:\`)
		return winpath.Path{}, false
	}
	return p, true
}

func (v *validator) mounts(ms []Mount) {
	targets := map[string]int{}
	for i := range ms {
		m := &ms[i]
		mp := fmt.Sprintf("spec.mounts[%d]", i)
		if text := v.doc.Text(mp + ".hostPath"); text == "" {
			v.errorf(mp+".hostPath", `is required; give the host folder to map, such as D:\data`)
		} else if p, err := winpath.Parse(text); err != nil {
			v.errorf(mp+".hostPath", "%v", err)
		} else {
			m.HostPath = p
		}
		if text := v.doc.Text(mp + ".containerPath"); text == "" {
			v.errorf(mp+".containerPath", `is required; give the folder inside the container, such as C:\data`)
		} else if p, ok := v.containerPath(mp+".containerPath", text, false); ok {
			m.ContainerPath = p
			key := strings.ToUpper(p.String())
			if j, dup := targets[key]; dup {
				v.errorf(mp+".containerPath", "%s is already the target of spec.mounts[%d]; map one folder per container path", winpath.Quote(p.String()), j)
			} else {
				targets[key] = i
			}
		}
	}
}

func (v *validator) pipes(ps []Pipe) {
	targets := map[string]int{}
	for i := range ps {
		p := &ps[i]
		pp := fmt.Sprintf("spec.pipes[%d]", i)
		if text := v.doc.Text(pp + ".hostPipe"); text == "" {
			v.errorf(pp+".hostPipe", `is required; give the host's pipe, such as \\.\pipe\metrics`)
		} else if hp, err := winpath.ParsePipe(text); err != nil {
			v.errorf(pp+".hostPipe", "%v", err)
		} else {
			p.HostPipe = hp
		}
		if text := v.doc.Text(pp + ".containerPipe"); text == "" {
			v.errorf(pp+".containerPipe", `is required; give the pipe's name inside the container, such as \\.\pipe\metrics`)
		} else if cp, err := winpath.ParsePipe(text); err != nil {
			v.errorf(pp+".containerPipe", "%v", err)
		} else {
			p.ContainerPipe = cp
			key := strings.ToUpper(cp.Name())
			if j, dup := targets[key]; dup {
				v.errorf(pp+".containerPipe", "%s is already the target of spec.pipes[%d]; map one host pipe per container pipe", winpath.Quote(cp.String()), j)
			} else {
				targets[key] = i
			}
		}
	}
}

func (v *validator) network(self string, n *Network, hasPorts bool) {
	const mp = "spec.network.mode"
	switch mode := n.Mode; {
	case mode == "" || mode == NetworkNAT:
	case mode == NetworkNone:
		if hasPorts {
			v.errorf(mp, "none gives the container no network, so its ports cannot be published; remove ports or use mode: nat")
		}
	case strings.HasPrefix(mode, NetworkContainerPrefix):
		other := n.SharedWith()
		if other == "" {
			v.errorf(mp, "%q names no container; write container:<name> with the name of the container whose network to share", mode)
		} else if v.name(mp, other, "") {
			if other == self {
				v.errorf(mp, "a container cannot share its own network; name another container")
			}
		}
		if hasPorts {
			v.errorf(mp, "a container that shares %q's network has no ports of its own; publish them in %q's spec", other, other)
		}
	case mode == "host":
		v.errorf(mp, "Windows containers cannot use the host's network; use mode: nat and publish ports")
	case mode == "bridge" || mode == "default":
		v.errorf(mp, "%q is called nat here; write mode: nat", mode)
	default:
		v.errorf(mp, "%q is not one of nat, none, container:<name>", mode)
	}
	for i, d := range n.DNSSearch {
		if !validDomain(d) {
			v.errorf(fmt.Sprintf("spec.network.dnsSearch[%d]", i), "%q is not a DNS domain such as corp.example", d)
		}
	}
	v.dnsServers(n)
}

// dnsServers parses network.dns: IP addresses of DNS servers, each once,
// on a network of the container's own.
func (v *validator) dnsServers(n *Network) {
	seen := map[netip.Addr]int{}
	for i := range n.DNS {
		dp := fmt.Sprintf("spec.network.dns[%d]", i)
		text := v.doc.Text(dp)
		a, err := netip.ParseAddr(text)
		switch {
		case text == "":
			v.errorf(dp, "is empty; give the IP address of a DNS server, such as 10.0.0.53")
			continue
		case err != nil && validDomain(text) && strings.Trim(text[strings.LastIndexByte(text, '.')+1:], "0123456789") != "":
			v.errorf(dp, "%q is a name; give the DNS server's IP address, such as 10.0.0.53", text)
			continue
		case err != nil:
			v.errorf(dp, "%q is not an IP address; give the DNS server's address, such as 10.0.0.53 or fd00::53", text)
			continue
		case a.Zone() != "":
			v.errorf(dp, "%q has a zone (%%%s); give the address without it", text, a.Zone())
			continue
		case a.IsUnspecified() || a.IsMulticast():
			v.errorf(dp, "%s cannot be a DNS server; give the address of one, such as 10.0.0.53", a)
			continue
		}
		a = a.Unmap()
		if j, dup := seen[a]; dup {
			v.errorf(dp, "%s is already spec.network.dns[%d]; list a DNS server once", a, j)
			continue
		}
		seen[a] = i
		n.DNS[i] = a
	}
	if len(n.DNS) == 0 {
		return
	}
	switch {
	case n.Mode == NetworkNone:
		v.errorf("spec.network.dns", "a container without a network (mode: none) has no DNS servers; remove dns or use mode: nat")
	case n.SharedWith() != "":
		v.errorf("spec.network.dns", "a container that shares %q's network uses its network adapter and DNS servers; set dns in %q's spec", n.SharedWith(), n.SharedWith())
	}
}

func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 {
		return false
	}
	for _, l := range strings.Split(d, ".") {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func (v *validator) ports(ps []Port) {
	seen := map[string]int{}
	for i := range ps {
		p := &ps[i]
		pp := fmt.Sprintf("spec.ports[%d]", i)
		hostOK := v.port(pp+".hostPort", p.HostPort, "host port")
		v.port(pp+".containerPort", p.ContainerPort, "container port")
		proto := p.Protocol
		if proto != "" && proto != "tcp" && proto != "udp" {
			if l := strings.ToLower(proto); l == "tcp" || l == "udp" {
				v.errorf(pp+".protocol", "%q must be written in lower case: %s", proto, l)
			} else {
				v.errorf(pp+".protocol", "%q is not one of tcp, udp", proto)
			}
			continue
		}
		if proto == "" {
			proto = DefaultProtocol
		}
		if !hostOK {
			continue
		}
		key := strconv.Itoa(p.HostPort) + "/" + proto
		if j, dup := seen[key]; dup {
			v.errorf(pp+".hostPort", "host port %s is already mapped by spec.ports[%d]; a host port can be mapped once", key, j)
		} else {
			seen[key] = i
		}
	}
}

func (v *validator) port(path string, n int, what string) bool {
	if n == 0 {
		v.errorf(path, "is missing or 0; give a %s from 1 to 65535", what)
		return false
	}
	if n < 1 || n > 65535 {
		v.errorf(path, "%d is not a %s; give a number from 1 to 65535", n, what)
		return false
	}
	return true
}

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// ParseGUID checks a device interface class GUID, with or without braces,
// and returns it upper case without braces.
func ParseGUID(s string) (string, error) {
	g := s
	if strings.HasPrefix(g, "{") && strings.HasSuffix(g, "}") {
		g = g[1 : len(g)-1]
	}
	if !guidRE.MatchString(g) {
		return "", fmt.Errorf("%q is not a GUID; write one such as 5B45201D-F2F2-4F3B-85BB-30FF1F953599 (braces optional)", s)
	}
	return strings.ToUpper(g), nil
}

func (v *validator) devices(ds []Device) {
	seen := map[string]int{}
	for i := range ds {
		d := &ds[i]
		dp := fmt.Sprintf("spec.devices[%d].classGUID", i)
		if d.ClassGUID == "" {
			v.errorf(dp, "is required; give the device interface class GUID, such as 5B45201D-F2F2-4F3B-85BB-30FF1F953599 for GPUs (DirectX)")
			continue
		}
		g, err := ParseGUID(d.ClassGUID)
		if err != nil {
			v.errorf(dp, "%v", err)
			continue
		}
		d.ClassGUID = g
		if j, dup := seen[g]; dup {
			v.errorf(dp, "%s is already listed as spec.devices[%d]; list a device class once", g, j)
		} else {
			seen[g] = i
		}
	}
}
