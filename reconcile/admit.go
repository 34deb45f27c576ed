package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winbuild"
	"github.com/isoagent/isoagent/winpath"
)

// Reason is why admission rejected a spec. The set is fixed: the values are
// metric label values and operators alert on them.
type Reason string

// Rejection reasons.
const (
	// ReasonInvalid: the spec cannot be read as a container at all (for
	// example an image reference that does not parse).
	ReasonInvalid Reason = "invalid"
	// ReasonUnsupported: the host or the effective isolation cannot do what
	// the spec asks (devices or network sharing with Hyper-V, ...).
	ReasonUnsupported Reason = "unsupported"
	// ReasonVersionMismatch: the image's OS build cannot run on this host
	// with the isolation asked for.
	ReasonVersionMismatch Reason = "version-mismatch"
	// ReasonPolicy: the agent's boundary policy does not allow the spec.
	ReasonPolicy Reason = "policy"
	// ReasonConflict: a host port the spec maps is taken by another spec,
	// the one first in source order.
	ReasonConflict Reason = "conflict"
	// ReasonNotForThisHost: the spec's hosts or selector exclude this host.
	ReasonNotForThisHost Reason = "not-for-this-host"
	// ReasonImagePull: the spec's image cannot be had now: its registry
	// has not answered yet, or refused (Rejection.Retry: asked again with
	// backoff), or the host lacks it and imagePullPolicy is Never.
	ReasonImagePull Reason = "image-pull"
	// ReasonSecret: a secret the spec names (envFrom, secretMounts) is
	// not in the agent's secrets folder, or cannot be read.
	ReasonSecret Reason = "secret"
)

// Reasons returns every Reason, for pre-initialising metric series.
func Reasons() []Reason {
	return []Reason{ReasonInvalid, ReasonUnsupported, ReasonVersionMismatch, ReasonPolicy, ReasonConflict, ReasonNotForThisHost, ReasonSecret, ReasonImagePull}
}

// Rejection says why a spec does not run on this host.
type Rejection struct {
	Reason Reason `json:"reason"`
	// Field is the spec field at fault ("spec.isolation"), when there is one.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	// At is where the field at fault is written, when admission knows it
	// (a dependency's name); zero otherwise.
	At spec.Source `json:"at,omitzero"`
	// Retry says that the rejection lasts only until a registry answers:
	// the spec's image is looked up again, with backoff, and the spec
	// admitted then.
	Retry bool `json:"retry,omitempty"`
}

func (r *Rejection) Error() string {
	if r.Field != "" {
		return fmt.Sprintf("%s: %s: %s", r.Reason, r.Field, r.Message)
	}
	return fmt.Sprintf("%s: %s", r.Reason, r.Message)
}

// Decision is the outcome of admitting one spec.
type Decision struct {
	Spec *spec.Container
	// Config is the effective config; meaningful only when Rejection is nil.
	Config driver.Config
	// Rejection is set when the spec does not run on this host.
	Rejection *Rejection
	// ImageOS is the image's OS version as admission determined it (from
	// the driver or the tag); zero when unknown.
	ImageOS driver.OSVersion
	// Warnings are things the operator should know about an admitted spec.
	Warnings []string
	// LookupPending says that the rejection (ReasonImagePull) is a wait for
	// the registry's first answer, which is not a refusal to report.
	LookupPending bool
}

// Admitted reports whether the spec runs on this host.
func (d *Decision) Admitted() bool { return d.Rejection == nil }

// Name returns the spec's name.
func (d *Decision) Name() string { return d.Spec.Name() }

// ImageSource tells what the host knows of an image. driver.Driver satisfies
// it.
type ImageSource interface {
	Image(ctx context.Context, ref imageref.Ref) (driver.Image, error)
}

// Policy checks an admitted spec's effective config against the agent's
// boundary policy; *policy.Checker is one.
type Policy interface {
	// Check returns how cfg, the effective config of c, goes beyond the
	// policy, given where cfg's mounts really lead (policy.ResolveMounts).
	// It reads nothing but its arguments.
	Check(c *spec.Container, cfg driver.Config, leads policy.Leads) []policy.Violation
}

// AdmitOptions configure Admit.
type AdmitOptions struct {
	// Owner is the owner tag put into every config.
	Owner string
	// HostName is matched against spec.hosts; when empty the host's own
	// name is used.
	HostName string
	// Labels are the agent's labels, matched against spec.selector.
	Labels map[string]string
	// Policy, when not nil, is checked on every effective config.
	Policy Policy
	// Registry, when set, is asked which image a spec's reference names
	// in its registry, as imagePullPolicy says (see admitter.image): its
	// answer's digest goes into the config (driver.Config.ImageDigest),
	// and its build is the image's. Without it only the host's images and
	// the tags' builds count, as before the agent pulled images itself.
	Registry RegistrySource
	// Resolver, when set, is asked where each mount of an effective config
	// really leads before Policy checks it (the hcs driver on Windows),
	// and what it says is recorded in the config (driver.Mount.
	// ResolvedPath), so that the driver maps what was checked. Without it
	// (the sim, validate) host folders are checked as written.
	Resolver policy.Resolver
	// Secrets, when set, is where the secrets specs name are read from,
	// once the policy allows them, for the digest that goes into the
	// config (and its hash, so a rotated secret recreates the
	// container). Without it a spec that names a secret is rejected.
	Secrets driver.SecretSource
}

// Admit decides, for each spec, whether and how it runs on host. specs need
// not be sorted; the decisions come back in the order of specs. images may be
// nil, in which case image builds come from the tags alone; otherwise each
// image reference is looked up once.
//
// Host ports are claimed in the order of the specs' source paths (then
// lines); a later spec that wants a claimed port is rejected as a conflict
// naming the winner. A spec sharing another's network ("container:<name>")
// gets the target's container ID in its config.
func Admit(ctx context.Context, host driver.Host, images ImageSource, specs []*spec.Container, opts AdmitOptions) []Decision {
	a := newAdmitter(admitPass{ctx: ctx, host: host, images: images, opts: opts})
	ds := make([]Decision, len(specs))
	for i, c := range specs {
		ds[i] = a.admitOne(c)
	}

	order := make([]int, len(specs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool {
		si, sj := specs[order[i]].Source, specs[order[j]].Source
		if si.File != sj.File {
			return si.File < sj.File
		}
		return si.Line < sj.Line
	})
	claimPorts(ds, order)
	shareNetworks(ds)
	identify(ds)
	byName := make(map[string]*Decision, len(ds))
	for i := range ds {
		byName[ds[i].Name()] = &ds[i]
	}
	for name, r := range orderRejections(specs, byName) {
		byName[name].Rejection = r
	}
	return ds
}

type imageInfo struct {
	os      driver.OSVersion
	warning string
	// digest is the manifest digest to run, when the host or the registry
	// tells it.
	digest string
	// rejection refuses every spec of the image under its pull policy;
	// pending says it waits for the registry's first answer.
	rejection *Rejection
	pending   bool
}

// equal reports whether i and j describe an image alike (a rejection by
// its content, not its address).
func (i imageInfo) equal(j imageInfo) bool {
	if (i.rejection == nil) != (j.rejection == nil) || i.rejection != nil && *i.rejection != *j.rejection {
		return false
	}
	i.rejection, j.rejection = nil, nil
	return i == j
}

// imageKey is what admission asks about an image once per Admit.
type imageKey struct {
	ref    imageref.Ref
	policy spec.PullPolicy
}

// newAdmitter returns the admitter of one pass: it looks each image up
// once.
func newAdmitter(p admitPass) *admitter {
	a := &admitter{ctx: p.ctx, host: p.host, images: p.images, opts: p.opts, imageOS: make(map[imageKey]imageInfo)}
	if a.opts.HostName == "" {
		a.opts.HostName = p.host.Name
	}
	return a
}

type admitter struct {
	ctx     context.Context
	host    driver.Host
	images  ImageSource
	opts    AdmitOptions
	imageOS map[imageKey]imageInfo
}

func reject(reason Reason, field, format string, args ...any) *Rejection {
	return &Rejection{Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

func policyRejection(vs []policy.Violation) *Rejection {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.Message
		if i > 0 && v.Field != "" {
			// The first field is the Rejection's own; the others go with
			// their messages, so each says where to look.
			msgs[i] = v.Field + ": " + v.Message
		}
	}
	return &Rejection{Reason: ReasonPolicy, Field: vs[0].Field, Message: strings.Join(msgs, "; ")}
}

// image tells what admission knows of the image ref under pull policy
// policy: its build and the digest to run.
//
// The host's image counts when it has one, except under Always, where the
// registry says which image the tag names now (and the host's answers
// while the registry cannot). IfNotPresent asks the registry only about
// an image the host lacks; Never never, and refuses an image the host
// lacks. Without a Registry the host and the tag alone tell.
func (a *admitter) image(ref imageref.Ref, policy spec.PullPolicy) imageInfo {
	key := imageKey{ref, policy}
	if info, ok := a.imageOS[key]; ok {
		return info
	}
	info, found := a.local(ref)
	switch {
	case a.opts.Registry == nil:
	case policy == spec.PullNever:
		if !found && a.images != nil {
			info.rejection = &Rejection{Reason: ReasonImagePull, Field: "spec.image", Message: fmt.Sprintf(
				"image %s is not on this host and imagePullPolicy is Never; pull it (isoagent pull %s) or use imagePullPolicy: IfNotPresent", ref, ref)}
		}
	case policy == spec.PullAlways || !found:
		info = a.fromRegistry(ref, policy == spec.PullAlways, info, found)
	}
	if b := ref.Build(); !info.os.Known() && b != 0 {
		info.os = driver.OSVersion{Major: 10, Build: b}
	}
	a.imageOS[key] = info
	return info
}

// local asks the host about ref; found reports that it has the image.
func (a *admitter) local(ref imageref.Ref) (info imageInfo, found bool) {
	if a.images == nil {
		return info, false
	}
	img, err := a.images.Image(a.ctx, ref)
	switch {
	case err == nil:
		info.os, info.digest = img.OSVersion, img.Digest
		return info, true
	case !errors.Is(err, driver.ErrNotFound):
		info.warning = fmt.Sprintf("cannot ask the host about image %s (%v); using the build its tag names", ref, err)
	}
	return info, false
}

// fromRegistry asks the registry about ref; local is what the host has
// (found) or what asking it said.
func (a *admitter) fromRegistry(ref imageref.Ref, fresh bool, local imageInfo, found bool) imageInfo {
	ans, err := a.opts.Registry.Lookup(a.ctx, ref, fresh, a.host)
	switch {
	case err == nil:
		info := imageInfo{os: ans.OSVersion, digest: ans.Digest}
		if ans.Stale != nil {
			info.warning = fmt.Sprintf("cannot ask the registry about image %s now (%v); running what it named last, %s", ref, ans.Stale, ans.Digest)
		}
		return info
	case errors.Is(err, ErrNoVariant):
		return imageInfo{rejection: reject(ReasonVersionMismatch, "spec.image", "%v; use an image with a variant for host build %s", err, buildName(a.host.OSVersion.Build))}
	case found:
		// Always, and the registry cannot say now: the host's image runs.
		if !errors.Is(err, ErrLookupPending) {
			local.warning = fmt.Sprintf("cannot ask the registry about image %s now (%v); running the host's", ref, err)
		}
		return local
	case errors.Is(err, ErrLookupPending):
		return imageInfo{pending: true, rejection: &Rejection{Reason: ReasonImagePull, Field: "spec.image", Retry: true,
			Message: fmt.Sprintf("waiting for the registry's answer about image %s, which this host does not have", ref)}}
	}
	return imageInfo{rejection: &Rejection{Reason: ReasonImagePull, Field: "spec.image", Retry: true,
		Message: fmt.Sprintf("image %s: %v; asking again with backoff", ref, err)}}
}

func (a *admitter) admitOne(c *spec.Container) Decision {
	d := Decision{Spec: c}
	s := &c.Spec
	if r := a.forThisHost(s); r != nil {
		d.Rejection = r
		return d
	}
	if s.Image.IsZero() {
		// Validation requires an image; only a spec built without it
		// (in code) comes here without one.
		d.Rejection = reject(ReasonInvalid, "spec.image", "the spec names no image; give one such as mcr.microsoft.com/windows/servercore:ltsc2022")
		return d
	}
	info := a.image(s.Image, s.ImagePullPolicy)
	if info.warning != "" {
		d.Warnings = append(d.Warnings, info.warning)
	}
	d.ImageOS = info.os
	if info.rejection != nil {
		d.Rejection, d.LookupPending = info.rejection, info.pending
		return d
	}
	iso, warnings, rej := a.isolation(s, info.os)
	d.Warnings = append(d.Warnings, warnings...)
	if rej != nil {
		d.Rejection = rej
		return d
	}
	hb := a.host.OSVersion.Build
	if len(s.Devices) > 0 {
		if iso != driver.Process {
			d.Rejection = reject(ReasonUnsupported, "spec.devices", "devices need process isolation, but the effective isolation is %s; use isolation: process with an image for host build %s", iso, buildName(hb))
			return d
		}
		if hb < winbuild.LTSC2019 {
			d.Rejection = reject(ReasonUnsupported, "spec.devices", "devices need host build %s or later; host build is %s", buildName(winbuild.LTSC2019), buildName(hb))
			return d
		}
	}
	if target := s.Network.SharedWith(); target != "" && iso != driver.Process {
		d.Rejection = reject(ReasonUnsupported, "spec.network.mode", "network sharing (container:%s) needs process isolation, but the effective isolation is %s", target, iso)
		return d
	}
	d.Config = config(c, iso, a.opts.Owner)
	d.Config.ImageDigest = info.digest
	if w := hostNameWarning(c); w != "" {
		d.Warnings = append(d.Warnings, w)
	}
	var leads policy.Leads
	if a.opts.Policy != nil {
		leads = policy.ResolveMounts(a.opts.Resolver, &d.Config)
	}
	if r := a.localMounts(d.Config); r != nil {
		d.Rejection = r
		return d
	}
	if a.opts.Policy != nil {
		if vs := a.opts.Policy.Check(c, d.Config, leads); len(vs) > 0 {
			d.Rejection = policyRejection(vs)
			return d
		}
	}
	// Secrets are read only once the policy lets the spec have them, so
	// a spec learns nothing of a secret it may not use.
	d.Rejection = a.secrets(&d.Config)
	return d
}

// maxNetBIOSName is the longest computer name NetBIOS keeps.
const maxNetBIOSName = 15

// hostNameWarning warns about a container host name, given or its name,
// that NetBIOS cuts: Windows takes the first 15 characters for the
// container's NetBIOS name, and programs that use it see that one.
func hostNameWarning(c *spec.Container) string {
	name, from := c.Spec.Hostname, "spec.hostname"
	if name == "" {
		name, from = c.Name(), "its host name, metadata.name,"
	}
	if len(name) <= maxNetBIOSName {
		return ""
	}
	return fmt.Sprintf("%s %q is longer than the %d characters NetBIOS keeps: programs that use NetBIOS names see %q; set hostname: to %d characters or fewer if that matters",
		from, name, maxNetBIOSName, name[:maxNetBIOSName], maxNetBIOSName)
}

// localMounts refuses a mount of a folder on a network share, named as
// such or led to through a junction or link, on a host that maps local
// folders only (HCS: moby#27100), and says how such a host maps a share.
func (a *admitter) localMounts(cfg driver.Config) *Rejection {
	if a.host.UNCMounts {
		return nil
	}
	for i, m := range cfg.Mounts {
		share, how := m.HostPath, ""
		if !share.IsUNC() {
			if share = m.ResolvedPath; !share.IsUNC() {
				continue
			}
			how = fmt.Sprintf(" through a junction or symbolic link (host folder %s)", winpath.Quote(m.HostPath.String()))
		}
		onDrive := `G:\`
		if elems := share.Elems(); len(elems) > 0 {
			onDrive += strings.Join(elems, `\`)
		}
		return reject(ReasonUnsupported, fmt.Sprintf("spec.mounts[%d].hostPath", i),
			"host folder %s is on a network share (%s)%s, and this host maps folders on local drives only (HCS cannot map a UNC path into a container); "+
				"map the share to a drive letter for the whole host with an SMB global mapping, such as New-SmbGlobalMapping -RemotePath '%s' -LocalPath G: -Persistent $true -Credential (Get-Credential), "+
				"then mount the folder on that drive (hostPath: '%s') and allow it in the policy",
			winpath.Quote(share.String()), share.Volume(), how, share.Volume(), onDrive)
	}
	return nil
}

// secrets fills in the digest of every secret cfg names.
func (a *admitter) secrets(cfg *driver.Config) *Rejection {
	digest := func(field, name string) (string, *Rejection) {
		if a.opts.Secrets == nil {
			return "", reject(ReasonSecret, field, "secret %s cannot be read: the agent has no secrets folder (run it with --secrets FOLDER)", name)
		}
		_, d, err := a.opts.Secrets.Secret(name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return "", reject(ReasonSecret, field, "secret %s does not exist in the agent's secrets folder; create it (a folder named %s with one file per key) or remove it from the spec", name, name)
		case err != nil:
			return "", reject(ReasonSecret, field, "secret %s cannot be read: %v", name, err)
		}
		return d, nil
	}
	var rej *Rejection
	for i := range cfg.SecretEnv {
		r := &cfg.SecretEnv[i]
		if r.Digest, rej = digest(fmt.Sprintf("spec.envFrom[%d].secret", i), r.Name); rej != nil {
			return rej
		}
	}
	for i := range cfg.SecretMounts {
		m := &cfg.SecretMounts[i]
		if m.Digest, rej = digest(fmt.Sprintf("spec.secretMounts[%d].secret", i), m.Name); rej != nil {
			return rej
		}
	}
	return nil
}

// forThisHost checks spec.hosts and spec.selector.
func (a *admitter) forThisHost(s *spec.Spec) *Rejection {
	if len(s.Hosts) > 0 {
		name := strings.ToLower(a.opts.HostName)
		match := false
		for _, g := range s.Hosts {
			if ok, _ := path.Match(strings.ToLower(g), name); ok {
				match = true
				break
			}
		}
		if !match {
			return reject(ReasonNotForThisHost, "spec.hosts", "host %q matches none of %q", a.opts.HostName, s.Hosts)
		}
	}
	keys := make([]string, 0, len(s.Selector))
	for k := range s.Selector {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if got, ok := a.opts.Labels[k]; !ok || got != s.Selector[k] {
			if !ok {
				return reject(ReasonNotForThisHost, "spec.selector", "agent has no label %s (selector wants %s=%s)", k, k, s.Selector[k])
			}
			return reject(ReasonNotForThisHost, "spec.selector", "agent label %s=%s, selector wants %s=%s", k, got, k, s.Selector[k])
		}
	}
	return nil
}

// config builds the effective driver config of an admitted spec. Hash and ID
// are filled in later, once network sharing is resolved.
func config(c *spec.Container, iso driver.Isolation, owner string) driver.Config {
	s := &c.Spec
	cfg := driver.Config{
		Name:       c.Name(),
		Owner:      owner,
		Isolation:  iso,
		Image:      s.Image,
		Command:    s.Command,
		WorkingDir: s.WorkingDir,
		Env:        s.Env,
		User:       s.User,
		Labels:     c.Metadata.Labels,
		Resources: driver.Resources{
			CPUCount:          s.Resources.CPUCount,
			CPUMaximumPercent: s.Resources.CPUMaximumPercent,
			MemoryMB:          s.Resources.MemoryMB,
		},
		DNSSearch:      s.Network.DNSSearch,
		DNS:            s.Network.DNS,
		HostName:       s.Hostname,
		CredentialSpec: s.CredentialSpec,
		KeepOnPrune:    c.Metadata.KeepOnPrune(),
	}
	for _, e := range s.EnvFrom {
		cfg.SecretEnv = append(cfg.SecretEnv, driver.SecretRef{Name: e.Secret})
	}
	for _, m := range s.SecretMounts {
		cfg.SecretMounts = append(cfg.SecretMounts, driver.SecretMount{Name: m.Secret, ContainerPath: m.ContainerPath})
	}
	for _, m := range s.Mounts {
		cfg.Mounts = append(cfg.Mounts, driver.Mount{HostPath: m.HostPath, ContainerPath: m.ContainerPath, ReadOnly: m.ReadOnly})
	}
	for _, p := range s.Pipes {
		cfg.Pipes = append(cfg.Pipes, driver.Pipe{HostPipe: p.HostPipe, ContainerPipe: p.ContainerPipe})
	}
	for _, p := range s.Ports {
		cfg.Ports = append(cfg.Ports, driver.Port{HostPort: p.HostPort, ContainerPort: p.ContainerPort, Protocol: protocol(p.Protocol)})
	}
	for _, dev := range s.Devices {
		cfg.Devices = append(cfg.Devices, strings.ToUpper(dev.ClassGUID))
	}
	switch mode := s.Network.Mode; {
	case s.Network.SharedWith() != "":
		// Resolved to the target's container ID by Admit.
		cfg.NetworkSharedWith = s.Network.SharedWith()
	case mode == "":
		cfg.Network = spec.NetworkNAT
	default:
		cfg.Network = mode
	}
	return cfg
}

func protocol(p string) string {
	if p == "" {
		return "tcp"
	}
	return strings.ToLower(p)
}
