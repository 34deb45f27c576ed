package reconcile

import (
	"context"
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

func osv(build uint16) driver.OSVersion { return driver.OSVersion{Major: 10, Build: build} }

func server(build uint16) driver.Host {
	return driver.Host{OSVersion: osv(build), SKU: driver.SKUServer, Name: "WEB-01"}
}

func client(build uint16) driver.Host {
	return driver.Host{OSVersion: osv(build), SKU: driver.SKUClient, Name: "DEV-LAPTOP"}
}

// ctr returns a minimal valid spec; edit its Spec in the test. An image
// reference that does not parse leaves Spec.Image unset, as a spec built in
// code without validation would have it.
func ctr(name, image string, edit ...func(*spec.Spec)) *spec.Container {
	ref, _ := imageref.Parse(image)
	c := &spec.Container{
		APIVersion: spec.APIVersion, Kind: spec.KindContainer,
		Metadata: spec.Metadata{Name: name},
		Spec:     spec.Spec{Image: ref, RestartPolicy: spec.RestartAlways},
		Source:   spec.Source{File: name + ".yaml", Line: 1, Column: 1},
	}
	for _, e := range edit {
		e(&c.Spec)
	}
	return c
}

// catalog is an ImageSource with fixed answers.
type catalog map[string]driver.OSVersion

func (c catalog) Image(_ context.Context, ref imageref.Ref) (driver.Image, error) {
	v, ok := c[ref.String()]
	if !ok {
		return driver.Image{}, fmt.Errorf("image %s: %w", ref, driver.ErrNotFound)
	}
	return driver.Image{Ref: ref, OSVersion: v}, nil
}

const (
	img2019 = "mcr.microsoft.com/windows/servercore:ltsc2019"
	img2022 = "mcr.microsoft.com/windows/servercore:ltsc2022"
	img2025 = "mcr.microsoft.com/windows/servercore:ltsc2025"
	imgNone = "example.com/app:latest"
)

func isolation(i spec.Isolation) func(*spec.Spec) { return func(s *spec.Spec) { s.Isolation = i } }
func fallback(s *spec.Spec)                       { s.OnVersionMismatch = spec.MismatchHyperV }

func TestAdmitIsolation(t *testing.T) {
	tests := []struct {
		name    string
		host    driver.Host
		images  catalog
		spec    *spec.Container
		want    driver.Isolation
		reason  Reason
		msg     []string // substrings of the rejection message
		warning string   // substring of a warning
	}{
		{name: "server defaults to process", host: server(20348), spec: ctr("a", img2022), want: driver.Process},
		{name: "client defaults to hyperv", host: client(22621), spec: ctr("a", img2022), want: driver.HyperV},
		{name: "explicit default on client", host: client(22621), spec: ctr("a", img2022, isolation(spec.IsolationDefault)), want: driver.HyperV},
		{name: "process on 2022 refuses 2019 image", host: server(20348), spec: ctr("a", img2019),
			reason: ReasonVersionMismatch, msg: []string{"image build 17763 (ltsc2019)", "host build 20348 (ltsc2022)", "isolation: hyperv", "an ltsc2022 image"}},
		{name: "onVersionMismatch hyperv falls back", host: server(20348), spec: ctr("a", img2019, fallback),
			want: driver.HyperV, warning: "onVersionMismatch: hyperv"},
		{name: "hyperv refuses newer image", host: server(20348), spec: ctr("a", img2025, isolation(spec.IsolationHyperV)),
			reason: ReasonVersionMismatch, msg: []string{"26100 (ltsc2025)", "newer than host build 20348 (ltsc2022)"}},
		{name: "fallback to hyperv still refuses newer image", host: server(20348), spec: ctr("a", img2025, fallback),
			reason: ReasonVersionMismatch, msg: []string{"newer than host"}},
		{name: "hyperv runs older image", host: server(20348), spec: ctr("a", img2019, isolation(spec.IsolationHyperV)), want: driver.HyperV},
		{name: "unknown build with process is rejected with the fix", host: server(20348), spec: ctr("a", imgNone),
			reason: ReasonVersionMismatch, msg: []string{"unknown", "tag naming the release", "ltsc2022", "isolation: hyperv"}},
		{name: "unknown build with fallback runs hyperv", host: server(20348), spec: ctr("a", imgNone, fallback), want: driver.HyperV, warning: "unknown"},
		{name: "unknown build with hyperv runs", host: server(20348), spec: ctr("a", imgNone, isolation(spec.IsolationHyperV)), want: driver.HyperV},
		{name: "driver knows the build of an untagged image", host: server(20348), images: catalog{imgNone: osv(20348)}, spec: ctr("a", imgNone), want: driver.Process},
		{name: "driver's build wins over the tag", host: server(20348), images: catalog{img2022: osv(17763)}, spec: ctr("a", img2022),
			reason: ReasonVersionMismatch, msg: []string{"17763"}},
		{name: "full version tag", host: server(17763), spec: ctr("a", "example.com/app:10.0.17763.6189"), want: driver.Process},
		{name: "process on client from 17763 warns", host: client(22621), spec: ctr("a", img2022, isolation(spec.IsolationProcess)),
			want: driver.Process, warning: "development and testing"},
		{name: "process on old client is unsupported", host: client(17134), spec: ctr("a", "example.com/app:1803", isolation(spec.IsolationProcess)),
			reason: ReasonUnsupported, msg: []string{"17763 (ltsc2019)", "17134 (1803)", "isolation: hyperv"}},
		{name: "devices with hyperv are unsupported", host: server(20348), spec: ctr("a", img2022, isolation(spec.IsolationHyperV), func(s *spec.Spec) {
			s.Devices = []spec.Device{{ClassGUID: "5B45201D-F2F2-4F3B-85BB-30FF1F953599"}}
		}), reason: ReasonUnsupported, msg: []string{"devices need process isolation"}},
		{name: "devices after fallback to hyperv are unsupported", host: server(20348), spec: ctr("a", img2019, fallback, func(s *spec.Spec) {
			s.Devices = []spec.Device{{ClassGUID: "5B45201D-F2F2-4F3B-85BB-30FF1F953599"}}
		}), reason: ReasonUnsupported, msg: []string{"effective isolation is hyperv"}},
		{name: "devices need host 17763", host: server(14393), spec: ctr("a", "example.com/app:ltsc2016", func(s *spec.Spec) {
			s.Devices = []spec.Device{{ClassGUID: "5B45201D-F2F2-4F3B-85BB-30FF1F953599"}}
		}), reason: ReasonUnsupported, msg: []string{"14393 (ltsc2016)", "17763"}},
		{name: "devices with process", host: server(20348), spec: ctr("a", img2022, func(s *spec.Spec) {
			s.Devices = []spec.Device{{ClassGUID: "5b45201d-f2f2-4f3b-85bb-30ff1f953599"}}
		}), want: driver.Process},
		{name: "bad image reference is invalid", host: server(20348), spec: ctr("a", "UPPER/Case::x"), reason: ReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var images ImageSource
			if tt.images != nil {
				images = tt.images
			}
			ds := Admit(context.Background(), tt.host, images, []*spec.Container{tt.spec}, AdmitOptions{Owner: "isoagent"})
			d := ds[0]
			checkDecision(t, d, tt.want, tt.reason, tt.msg)
			if tt.warning != "" && !strings.Contains(strings.Join(d.Warnings, "\n"), tt.warning) {
				t.Errorf("warnings %q lack %q", d.Warnings, tt.warning)
			}
		})
	}
}

func checkDecision(t *testing.T, d Decision, want driver.Isolation, reason Reason, msg []string) {
	t.Helper()
	if reason != "" {
		if d.Admitted() {
			t.Fatalf("admitted with %s, want rejection %s", d.Config.Isolation, reason)
		}
		if d.Rejection.Reason != reason {
			t.Errorf("reason = %s (%s), want %s", d.Rejection.Reason, d.Rejection.Message, reason)
		}
		for _, m := range msg {
			if !strings.Contains(d.Rejection.Message, m) {
				t.Errorf("message %q lacks %q", d.Rejection.Message, m)
			}
		}
		return
	}
	if !d.Admitted() {
		t.Fatalf("rejected: %v", d.Rejection)
	}
	if d.Config.Isolation != want {
		t.Errorf("isolation = %s, want %s", d.Config.Isolation, want)
	}
	if d.Config.Hash == "" || d.Config.ID != ContainerID(d.Config.Owner, d.Name(), d.Config.Hash) || d.Config.Hash != Hash(d.Config) {
		t.Errorf("config hash/ID not filled in: %q %q", d.Config.Hash, d.Config.ID)
	}
}

// Every compatibility vector of hcsshim (reference/hcs.md §4) and our own,
// through Admit: process isolation requested explicitly, image build from
// the driver.
func TestAdmitProcessCompatVectors(t *testing.T) {
	tests := []struct {
		host, image uint16
		ok          bool
	}{
		{17763, 17763, true}, {17763, 20348, false}, {20348, 17763, false}, {20348, 20348, true},
		{22621, 17763, false}, {22621, 20348, true}, {26100, 20348, true}, {20348, 26100, false},
		{20348, 22621, false}, {26100, 22621, true},
		// Our own.
		{14393, 14393, true}, {17763, 17134, false}, {26200, 20348, false}, {26200, 26100, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("host %d image %d", tt.host, tt.image), func(t *testing.T) {
			const ref = "example.com/app:v1"
			c := ctr("a", ref, isolation(spec.IsolationProcess))
			d := Admit(context.Background(), server(tt.host), catalog{ref: osv(tt.image)}, []*spec.Container{c}, AdmitOptions{})[0]
			if tt.ok {
				checkDecision(t, d, driver.Process, "", nil)
				return
			}
			checkDecision(t, d, "", ReasonVersionMismatch, []string{fmt.Sprint(tt.image), fmt.Sprint(tt.host), "isolation: hyperv"})
		})
	}
}

func TestAdmitHostSelection(t *testing.T) {
	tests := []struct {
		name   string
		hosts  []string
		sel    map[string]string
		labels map[string]string
		ok     bool
	}{
		{name: "no constraints", ok: true},
		{name: "glob matches", hosts: []string{"WEB-*"}, ok: true},
		{name: "glob is case-insensitive", hosts: []string{"web-0?"}, ok: true},
		{name: "one of several globs", hosts: []string{"DB-*", "WEB-01"}, ok: true},
		{name: "no glob matches", hosts: []string{"DB-*"}},
		{name: "selector matches", sel: map[string]string{"role": "web"}, labels: map[string]string{"role": "web", "dc": "x"}, ok: true},
		{name: "selector value differs", sel: map[string]string{"role": "web"}, labels: map[string]string{"role": "db"}},
		{name: "selector label missing", sel: map[string]string{"role": "web"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ctr("a", img2022, func(s *spec.Spec) { s.Hosts, s.Selector = tt.hosts, tt.sel })
			d := Admit(context.Background(), server(20348), nil, []*spec.Container{c}, AdmitOptions{Labels: tt.labels})[0]
			if tt.ok {
				checkDecision(t, d, driver.Process, "", nil)
			} else {
				checkDecision(t, d, "", ReasonNotForThisHost, nil)
			}
		})
	}
}

func TestAdmitHostPortsOncePerHost(t *testing.T) {
	port := func(p int, proto string) func(*spec.Spec) {
		return func(s *spec.Spec) {
			s.Ports = append(s.Ports, spec.Port{HostPort: p, ContainerPort: 80, Protocol: proto})
		}
	}
	a := ctr("zeta", img2022, port(8080, "tcp"))
	a.Source.File = "a/first.yaml"
	b := ctr("alpha", img2022, port(8080, ""))
	b.Source.File = "b/second.yaml"
	c := ctr("udp", img2022, port(8080, "udp"))
	rejectedFirst := ctr("rejected", img2019, port(9090, "tcp"))
	rejectedFirst.Source.File = "0.yaml"
	d := ctr("later", img2022, port(9090, "tcp"))
	ds := Admit(context.Background(), server(20348), nil, []*spec.Container{b, a, c, rejectedFirst, d}, AdmitOptions{})
	checkDecision(t, ds[1], driver.Process, "", nil)
	checkDecision(t, ds[0], "", ReasonConflict, []string{"8080/tcp", "zeta", "a/first.yaml"})
	checkDecision(t, ds[2], driver.Process, "", nil)
	if ds[3].Admitted() {
		t.Fatal("version mismatch admitted")
	}
	checkDecision(t, ds[4], driver.Process, "", nil) // a rejected spec claims no port
}

func TestAdmitNetworkSharing(t *testing.T) {
	share := func(target string) func(*spec.Spec) {
		return func(s *spec.Spec) { s.Network.Mode = spec.NetworkContainerPrefix + target }
	}
	specs := []*spec.Container{
		ctr("db", img2022),
		ctr("sidecar", img2022, share("db")),
		ctr("vm", img2022, isolation(spec.IsolationHyperV)),
		ctr("to-vm", img2022, share("vm")),
		ctr("hv-sharer", img2022, isolation(spec.IsolationHyperV), share("db")),
		ctr("to-missing", img2022, share("ghost")),
		ctr("self", img2022, share("self")),
		ctr("chain", img2022, share("sidecar")),
	}
	ds := Admit(context.Background(), server(20348), nil, specs, AdmitOptions{})
	checkDecision(t, ds[0], driver.Process, "", nil)
	checkDecision(t, ds[1], driver.Process, "", nil)
	if ds[1].Config.NetworkSharedWith != ds[0].Config.ID {
		t.Errorf("sidecar shares %q, want db's container ID %q", ds[1].Config.NetworkSharedWith, ds[0].Config.ID)
	}
	checkDecision(t, ds[3], "", ReasonUnsupported, []string{"hyperv isolation"})
	checkDecision(t, ds[4], "", ReasonUnsupported, []string{"needs process isolation"})
	checkDecision(t, ds[5], "", ReasonInvalid, []string{"ghost"})
	checkDecision(t, ds[6], "", ReasonInvalid, []string{"own network"})
	checkDecision(t, ds[7], "", ReasonUnsupported, []string{"share with db directly"})

	// The sharer follows its target: a change of db recreates sidecar too.
	specs[0].Spec.Env = map[string]string{"X": "1"}
	ds2 := Admit(context.Background(), server(20348), nil, specs, AdmitOptions{})
	if ds2[1].Config.Hash == ds[1].Config.Hash {
		t.Error("sidecar's hash did not follow db's new container ID")
	}
}

type denyPorts struct{}

func (denyPorts) Check(c *spec.Container, cfg driver.Config, _ policy.Leads) []policy.Violation {
	if len(cfg.Ports) > 0 {
		return []policy.Violation{{Field: "spec.ports[0]", Message: "host port 8080/tcp is not allowed; add '8080/tcp' to the policy's ports"}}
	}
	return nil
}

func TestAdmitPolicyHook(t *testing.T) {
	specs := []*spec.Container{
		ctr("open", img2022, func(s *spec.Spec) { s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80}} }),
		ctr("closed", img2022),
	}
	ds := Admit(context.Background(), server(20348), nil, specs, AdmitOptions{Policy: denyPorts{}})
	checkDecision(t, ds[0], "", ReasonPolicy, []string{"8080/tcp"})
	if ds[0].Rejection.Field != "spec.ports[0]" {
		t.Errorf("field = %q", ds[0].Rejection.Field)
	}
	checkDecision(t, ds[1], driver.Process, "", nil)
}

func TestAdmitConfig(t *testing.T) {
	c := ctr("web", img2022, func(s *spec.Spec) {
		s.Ports = []spec.Port{{HostPort: 8080, ContainerPort: 80}}
		s.Devices = []spec.Device{{ClassGUID: "5b45201d-f2f2-4f3b-85bb-30ff1f953599"}}
	})
	c.Metadata.Labels = map[string]string{"team": "x"}
	d := Admit(context.Background(), server(20348), nil, []*spec.Container{c}, AdmitOptions{Owner: "me"})[0]
	checkDecision(t, d, driver.Process, "", nil)
	cfg := d.Config
	if cfg.Owner != "me" || cfg.Name != "web" || cfg.Labels["team"] != "x" || cfg.Network != "nat" ||
		cfg.Ports[0].Protocol != "tcp" || cfg.Devices[0] != "5B45201D-F2F2-4F3B-85BB-30FF1F953599" {
		t.Errorf("config = %+v", cfg)
	}
	// Restart policy and labels do not shape the container.
	c.Spec.RestartPolicy = spec.RestartNever
	c.Metadata.Labels = nil
	if d2 := Admit(context.Background(), server(20348), nil, []*spec.Container{c}, AdmitOptions{Owner: "other"})[0]; d2.Config.Hash != cfg.Hash {
		t.Error("restart policy, labels or owner changed the hash")
	}
}

type countingImages struct {
	catalog
	calls map[string]int
}

func (c *countingImages) Image(ctx context.Context, ref imageref.Ref) (driver.Image, error) {
	c.calls[ref.String()]++
	return c.catalog.Image(ctx, ref)
}

func TestAdmitLooksUpEachImageOnce(t *testing.T) {
	images := &countingImages{catalog: catalog{}, calls: map[string]int{}}
	var specs []*spec.Container
	for i := range 5 {
		specs = append(specs, ctr(fmt.Sprintf("c%d", i), img2022))
	}
	Admit(context.Background(), server(20348), images, specs, AdmitOptions{})
	if images.calls[img2022] != 1 {
		t.Errorf("image looked up %d times, want 1", images.calls[img2022])
	}
}

func noHyperV(h driver.Host) driver.Host {
	h.HyperV, h.HyperVDetail = driver.Unavailable, "the vmms service is not installed"
	return h
}

// TestAdmitWithoutHyperV: on a host that says it cannot run Hyper-V,
// every spec whose effective isolation would be Hyper-V is refused with
// the fix, whichever way it came to Hyper-V; a host that cannot tell
// admits them as before (the host refuses them at start).
func TestAdmitWithoutHyperV(t *testing.T) {
	tests := []struct {
		name   string
		host   driver.Host
		spec   *spec.Container
		want   driver.Isolation
		field  string
		msg    []string
		reason Reason
	}{
		{name: "hyperv asked for", host: noHyperV(server(20348)), spec: ctr("a", img2022, isolation(spec.IsolationHyperV)),
			reason: ReasonUnsupported, field: "spec.isolation", msg: []string{"needs Hyper-V", "the vmms service is not installed", "Install-WindowsFeature Hyper-V", "restart", "isolation: process"}},
		{name: "the client default", host: noHyperV(client(22621)), spec: ctr("a", img2022),
			reason: ReasonUnsupported, field: "spec.isolation", msg: []string{"Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V"}},
		{name: "the onVersionMismatch fallback", host: noHyperV(server(20348)), spec: ctr("a", img2019, fallback),
			reason: ReasonUnsupported, field: "spec.onVersionMismatch", msg: []string{"onVersionMismatch: hyperv fallback needs Hyper-V", "Install-WindowsFeature Hyper-V", "an ltsc2022 image"}},
		{name: "process isolation is not concerned", host: noHyperV(server(20348)), spec: ctr("a", img2022), want: driver.Process},
		{name: "a host that cannot tell", host: server(20348), spec: ctr("a", img2022, isolation(spec.IsolationHyperV)), want: driver.HyperV},
		{name: "a host that has it", host: func() driver.Host { h := server(20348); h.HyperV = driver.Available; return h }(),
			spec: ctr("a", img2019, fallback), want: driver.HyperV},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Admit(context.Background(), tt.host, nil, []*spec.Container{tt.spec}, AdmitOptions{Owner: "isoagent"})[0]
			checkDecision(t, d, tt.want, tt.reason, tt.msg)
			if tt.field != "" && d.Rejection.Field != tt.field {
				t.Errorf("field = %s, want %s", d.Rejection.Field, tt.field)
			}
		})
	}
}

// TestAdmitUNCMounts: a host that maps local folders only (HCS, and the
// sim modelling it) refuses a mount of a share, named or led to through a
// link, before the policy is asked, and says how to map a share there.
func TestAdmitUNCMounts(t *testing.T) {
	pc := checker(t, broadPolicy)
	tests := []struct {
		name     string
		hostPath string
		leads    string // where the resolver says hostPath leads
		unc      bool   // the host maps shares
		reason   Reason
		msg      []string
	}{
		{name: "a share", hostPath: `\\fs01\share\web`, reason: ReasonUnsupported,
			msg: []string{`host folder '\\fs01\share\web' is on a network share (\\fs01\share)`, "local drives only", `New-SmbGlobalMapping -RemotePath '\\fs01\share' -LocalPath G:`, `hostPath: 'G:\web'`}},
		{name: "a share in the long form", hostPath: `\\?\UNC\fs01\share`, reason: ReasonUnsupported, msg: []string{`'\\fs01\share'`, `hostPath: 'G:\'`}},
		{name: "a local folder that leads to a share", hostPath: `D:\scratch\link`, leads: `\\fs01\share\x`, reason: ReasonUnsupported,
			msg: []string{`'\\fs01\share\x' is on a network share (\\fs01\share) through a junction or symbolic link (host folder 'D:\scratch\link')`}},
		{name: "a share the policy does not list is still the host's refusal", hostPath: `\\fs02\other`, reason: ReasonUnsupported, msg: []string{"New-SmbGlobalMapping"}},
		{name: "a share on a host that maps them", hostPath: `\\fs01\share\web`, unc: true},
		{name: "a local folder", hostPath: `D:\scratch\web`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := server(20348)
			host.UNCMounts = tt.unc
			r := resolver{}
			if tt.leads != "" {
				r[tt.hostPath] = tt.leads
			}
			c := ctr("web", img2022, mount(tt.hostPath, false))
			d := Admit(context.Background(), host, nil, []*spec.Container{c}, AdmitOptions{Owner: "isoagent", Policy: pc, Resolver: r})[0]
			checkDecision(t, d, driver.Process, tt.reason, tt.msg)
			if tt.reason != "" && d.Rejection.Field != "spec.mounts[0].hostPath" {
				t.Errorf("field = %s, want spec.mounts[0].hostPath", d.Rejection.Field)
			}
		})
	}
}

// TestAdmitCarriesIdentityAndDNS: the host name, DNS servers and credential
// spec of a spec reach its config as written (zero when left out, so that
// existing configs hash as before), and a host name NetBIOS would cut,
// given or taken from the name, is admitted with a warning.
func TestAdmitCarriesIdentityAndDNS(t *testing.T) {
	pc := checker(t, "apiVersion: isoagent/v1\nkind: Policy\ncredentialSpecs: [webapp01.json]\n")
	dns := []netip.Addr{netip.MustParseAddr("10.0.0.53")}
	tests := []struct {
		name    string
		spec    *spec.Container
		want    driver.Config
		warning string
	}{
		{name: "none of them", spec: ctr("web", img2022)},
		{name: "all of them", spec: ctr("web", img2022, func(s *spec.Spec) {
			s.Hostname, s.CredentialSpec, s.Network.DNS = "web-01", "webapp01.json", dns
		}), want: driver.Config{HostName: "web-01", CredentialSpec: "webapp01.json", DNS: dns}},
		{name: "a long host name", spec: ctr("web", img2022, func(s *spec.Spec) { s.Hostname = "payments-gateway-01" }),
			want: driver.Config{HostName: "payments-gateway-01"}, warning: `spec.hostname "payments-gateway-01" is longer than the 15 characters NetBIOS keeps: programs that use NetBIOS names see "payments-gatewa"`},
		{name: "a long name", spec: ctr("payments-gateway", img2022), warning: `its host name, metadata.name, "payments-gateway" is longer than the 15 characters`},
		{name: "fifteen characters", spec: ctr("payments-gatewa", img2022)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Admit(context.Background(), server(20348), nil, []*spec.Container{tt.spec}, AdmitOptions{Owner: "isoagent", Policy: pc})[0]
			if !d.Admitted() {
				t.Fatalf("rejected: %v", d.Rejection)
			}
			got := driver.Config{HostName: d.Config.HostName, CredentialSpec: d.Config.CredentialSpec, DNS: d.Config.DNS}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("config %+v, want %+v", got, tt.want)
			}
			warned := strings.Join(d.Warnings, "\n")
			if tt.warning == "" && strings.Contains(warned, "NetBIOS") || !strings.Contains(warned, tt.warning) {
				t.Errorf("warnings %q, want %q", d.Warnings, tt.warning)
			}
		})
	}
}
