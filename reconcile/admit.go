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
	// ReasonConflict: another spec already claims the name or a host port.
	ReasonConflict Reason = "conflict"
	// ReasonNotForThisHost: the spec's hosts or selector exclude this host.
	ReasonNotForThisHost Reason = "not-for-this-host"
	// ReasonSecret: a secret the spec names (envFrom, secretMounts) is
	// not in the agent's secrets folder, or cannot be read.
	ReasonSecret Reason = "secret"
)

// Reasons returns every Reason, for pre-initialising metric series.
func Reasons() []Reason {
	return []Reason{ReasonInvalid, ReasonUnsupported, ReasonVersionMismatch, ReasonPolicy, ReasonConflict, ReasonNotForThisHost, ReasonSecret}
}

// Rejection says why a spec does not run on this host.
type Rejection struct {
	Reason Reason `json:"reason"`
	// Field is the spec field at fault ("spec.isolation"), when there is one.
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
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
	a := admitter{ctx: ctx, host: host, images: images, opts: opts, imageOS: make(map[imageref.Ref]imageInfo)}
	if a.opts.HostName == "" {
		a.opts.HostName = host.Name
	}
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
	a.claimPorts(ds, order)
	a.shareNetworks(ds)
	// Targets are hashed before sharers: a sharer's config holds the
	// target's container ID, which comes from the target's hash.
	byName := make(map[string]*Decision, len(ds))
	for i := range ds {
		d := &ds[i]
		byName[d.Name()] = d
		if d.Admitted() && d.Config.NetworkSharedWith == "" {
			d.Config.Hash = Hash(d.Config)
			d.Config.ID = ContainerID(d.Config.Name, d.Config.Hash)
		}
	}
	for i := range ds {
		d := &ds[i]
		if d.Admitted() && d.Config.NetworkSharedWith != "" {
			d.Config.NetworkSharedWith = byName[d.Config.NetworkSharedWith].Config.ID
			d.Config.Hash = Hash(d.Config)
			d.Config.ID = ContainerID(d.Config.Name, d.Config.Hash)
		}
	}
	return ds
}

type imageInfo struct {
	os      driver.OSVersion
	warning string
}

type admitter struct {
	ctx     context.Context
	host    driver.Host
	images  ImageSource
	opts    AdmitOptions
	imageOS map[imageref.Ref]imageInfo
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

// buildName formats a build for messages: "17763 (ltsc2019)".
func buildName(b uint16) string {
	if n := winbuild.ReleaseName(b); n != "" {
		return fmt.Sprintf("%d (%s)", b, n)
	}
	return fmt.Sprint(b)
}

// fixImage names the image to use instead: "an ltsc2022 image" or "an image
// for build 22621".
func fixImage(b uint16) string {
	if n := winbuild.ReleaseName(b); n != "" {
		art := "a"
		if strings.HasPrefix(n, "ltsc") || strings.HasPrefix(n, "18") {
			art = "an" // "an ltsc2022", "an 1809" (eighteen-oh-nine)
		}
		return fmt.Sprintf("%s %s image", art, n)
	}
	return fmt.Sprintf("an image for build %d", b)
}

func (a *admitter) image(ref imageref.Ref) imageInfo {
	if info, ok := a.imageOS[ref]; ok {
		return info
	}
	var info imageInfo
	if a.images != nil {
		img, err := a.images.Image(a.ctx, ref)
		switch {
		case err == nil:
			info.os = img.OSVersion
		case !errors.Is(err, driver.ErrNotFound):
			info.warning = fmt.Sprintf("cannot ask the host about image %s (%v); using the build its tag names", ref, err)
		}
	}
	if b := ref.Build(); !info.os.Known() && b != 0 {
		info.os = driver.OSVersion{Major: 10, Build: b}
	}
	a.imageOS[ref] = info
	return info
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
	info := a.image(s.Image)
	if info.warning != "" {
		d.Warnings = append(d.Warnings, info.warning)
	}
	d.ImageOS = info.os
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
	if a.opts.Policy != nil {
		leads := policy.ResolveMounts(a.opts.Resolver, &d.Config)
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

// isolation decides the effective isolation for a spec and image.
func (a *admitter) isolation(s *spec.Spec, img driver.OSVersion) (driver.Isolation, []string, *Rejection) {
	var warnings []string
	host := a.host.OSVersion
	hb := host.Build
	requested := s.Isolation
	if requested == "" || requested == spec.IsolationDefault {
		requested = spec.IsolationProcess
		if a.host.SKU == driver.SKUClient {
			requested = spec.IsolationHyperV
		}
	}
	fallback := s.OnVersionMismatch == spec.MismatchHyperV
	iso := driver.HyperV
	if requested == spec.IsolationProcess {
		switch {
		case a.host.SKU == driver.SKUClient && hb < winbuild.LTSC2019:
			return "", nil, reject(ReasonUnsupported, "spec.isolation", "process isolation on Windows client needs build %s or later; host build is %s; use isolation: hyperv", buildName(winbuild.LTSC2019), buildName(hb))
		case !img.Known():
			if !fallback {
				return "", nil, reject(ReasonVersionMismatch, "spec.image", "the OS build of image %s is unknown, so process isolation on host build %s cannot be checked; use a tag naming the release (for example %s) or isolation: hyperv", s.Image, buildName(hb), releaseOrBuild(hb))
			}
			warnings = append(warnings, fmt.Sprintf("the OS build of image %s is unknown; running it with Hyper-V isolation (onVersionMismatch: hyperv)", s.Image))
		case !winbuild.ProcessCompatible(host, img):
			if !fallback {
				return "", nil, reject(ReasonVersionMismatch, "spec.image", "image build %s cannot run with process isolation on host build %s; use isolation: hyperv or %s", buildName(img.Build), buildName(hb), fixImage(hb))
			}
			warnings = append(warnings, fmt.Sprintf("image build %s cannot run with process isolation on host build %s; running it with Hyper-V isolation (onVersionMismatch: hyperv)", buildName(img.Build), buildName(hb)))
		default:
			iso = driver.Process
			if a.host.SKU == driver.SKUClient {
				warnings = append(warnings, "process isolation on Windows client is for development and testing only")
			}
		}
	}
	if iso == driver.HyperV && img.Known() && !winbuild.HyperVCompatible(host, img) {
		return "", warnings, reject(ReasonVersionMismatch, "spec.image", "image build %s is newer than host build %s; Hyper-V isolation cannot run it; use %s or older", buildName(img.Build), buildName(hb), fixImage(hb))
	}
	return iso, warnings, nil
}

func releaseOrBuild(b uint16) string {
	if n := winbuild.ReleaseName(b); n != "" {
		return n
	}
	return fmt.Sprintf("10.0.%d", b)
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
		DNSSearch:   s.Network.DNSSearch,
		KeepOnPrune: c.Metadata.KeepOnPrune(),
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

// claimPorts rejects, in source order, every admitted spec that wants a host
// port an earlier admitted spec holds.
func (a *admitter) claimPorts(ds []Decision, order []int) {
	type owner struct {
		name string
		src  spec.Source
	}
	claimed := make(map[string]owner)
	for _, i := range order {
		d := &ds[i]
		if !d.Admitted() {
			continue
		}
		var mine []string
		for j, p := range d.Config.Ports {
			key := fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)
			if w, ok := claimed[key]; ok {
				d.Rejection = reject(ReasonConflict, fmt.Sprintf("spec.ports[%d].hostPort", j), "host port %s is already used by %s (%s:%d)", key, w.name, w.src.File, w.src.Line)
				break
			}
			mine = append(mine, key)
		}
		if d.Admitted() {
			for _, k := range mine {
				claimed[k] = owner{d.Name(), d.Spec.Source}
			}
		}
	}
}

// shareNetworks checks every "container:<name>" target: it must be another
// admitted, process-isolated spec that does not share a network itself.
func (a *admitter) shareNetworks(ds []Decision) {
	byName := make(map[string]*Decision, len(ds))
	for i := range ds {
		byName[ds[i].Name()] = &ds[i]
	}
	for i := range ds {
		d := &ds[i]
		target := d.Config.NetworkSharedWith
		if !d.Admitted() || target == "" {
			continue
		}
		const field = "spec.network.mode"
		t, ok := byName[target]
		switch {
		case target == d.Name():
			d.Rejection = reject(ReasonInvalid, field, "a container cannot share its own network")
		case !ok:
			d.Rejection = reject(ReasonInvalid, field, "no spec named %q to share the network of", target)
		case !t.Admitted():
			d.Rejection = reject(ReasonUnsupported, field, "cannot share the network of %s: it does not run on this host (%s)", target, t.Rejection.Reason)
		case t.Config.Isolation != driver.Process:
			d.Rejection = reject(ReasonUnsupported, field, "cannot share the network of %s: it runs with %s isolation; network sharing needs process isolation on both sides", target, t.Config.Isolation)
		case t.Config.NetworkSharedWith != "":
			d.Rejection = reject(ReasonUnsupported, field, "cannot share the network of %s: it shares the network of %s itself; share with %s directly", target, t.Config.NetworkSharedWith, t.Config.NetworkSharedWith)
		}
	}
}
