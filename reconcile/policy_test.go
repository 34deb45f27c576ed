package reconcile

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// broadPolicy is generous on purpose: a prefix over all of C:, a glob over
// every pipe. The escapes below must still be denied.
const broadPolicy = `apiVersion: isoagent/v1
kind: Policy
imageIsolation:
  - images: ['docker.io/*']
    isolation: [hyperv]
mounts:
  - {path: 'C:\'}
  - {path: 'D:\data', readOnly: true}
  - {path: 'D:\scratch'}
  - {path: '\\fs01\share'}
pipes: ['\\.\pipe\*']
ports: ['8000-8999/tcp', '53/udp']
devices: ['5B45201D-F2F2-4F3B-85BB-30FF1F953599']
`

const gpu = "5B45201D-F2F2-4F3B-85BB-30FF1F953599"

func checker(t *testing.T, src string) *policy.Checker {
	t.Helper()
	if src == "" {
		pc, err := policy.NewChecker(nil)
		if err != nil {
			t.Fatal(err)
		}
		return pc
	}
	p, err := policy.Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatalf("policy: %v", err)
	}
	pc, err := policy.NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func mount(hostPath string, readOnly bool) func(*spec.Spec) {
	return func(s *spec.Spec) {
		s.Mounts = append(s.Mounts, spec.Mount{HostPath: winpath.MustParse(hostPath), ContainerPath: winpath.MustParse(`C:\data`), ReadOnly: readOnly})
	}
}

func pipe(hostPipe string) func(*spec.Spec) {
	return func(s *spec.Spec) {
		s.Pipes = append(s.Pipes, spec.Pipe{HostPipe: winpath.MustParsePipe(hostPipe), ContainerPipe: winpath.MustParsePipe(`\\.\pipe\x`)})
	}
}

func port(n int, proto string) func(*spec.Spec) {
	return func(s *spec.Spec) {
		s.Ports = append(s.Ports, spec.Port{HostPort: n, ContainerPort: 80, Protocol: proto})
	}
}

func device(g string) func(*spec.Spec) {
	return func(s *spec.Spec) { s.Devices = append(s.Devices, spec.Device{ClassGUID: g}) }
}

func shareNetwork(s *spec.Spec) { s.Network.Mode = "container:db" }

func credSpec(name string) func(*spec.Spec) { return func(s *spec.Spec) { s.CredentialSpec = name } }

// TestPolicyEscapes is the table of attempted escapes of DESIGN §4: every
// spelling that names something the policy does not allow is denied, with
// the field at fault and a message that says why; and the spellings of
// what it does allow are allowed. Paths come in spelled every way
// winpath.Parse accepts, not as validation normalises them: the policy
// must compare them safely on its own. The spellings it cannot accept
// never reach the policy (TestPolicyEscapesRefusedBeforeTheCheck).
func TestPolicyEscapes(t *testing.T) {
	const (
		windows   = "the Windows folder"
		root      = "a drive root"
		profile   = "user profile folder"
		system    = "a system volume folder"
		shortName = "may be an 8.3 short name"
		unchecked = "cannot be checked against the policy"
		notAllow  = "is not allowed by the policy"
		engine    = "container-engine or orchestration pipe"
		exactly   = "only by naming it exactly"
	)
	tests := []struct {
		name   string
		policy string // "" for the default broadPolicy, "none" for no policy file
		image  string
		edit   []func(*spec.Spec)
		reason Reason // "" when admitted
		field  string
		msg    []string
	}{
		// Mount sources: the Windows folder in every spelling.
		{name: "Windows folder", edit: fns(mount(`C:\Windows`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`'C:\Windows' is ` + windows, exactly}},
		{name: "Windows folder in lower case", edit: fns(mount(`c:\windows\system32`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`'C:\windows\system32' is ` + windows}},
		{name: "Windows folder with forward slashes", edit: fns(mount(`C:/Windows/System32/config`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{windows}},
		{name: "Windows folder with a trailing separator", edit: fns(mount(`C:\Windows\`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{windows}},
		{name: "Windows folder with doubled separators", edit: fns(mount(`C:\\\Windows`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{windows}},
		{name: "Windows folder in the long form", edit: fns(mount(`\\?\C:\Windows`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`'C:\Windows' is ` + windows}},
		{name: "Windows folder in the long form with slashes", edit: fns(mount(`//?/c:/windows`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{windows}},
		{name: "Windows folder as an 8.3 name", edit: fns(mount(`C:\WINDOW~1`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"'WINDOW~1'", shortName, "allow exactly this path"}},
		// Drive roots, profiles, system and engine folders under a C:\ prefix.
		{name: "the drive root itself", edit: fns(mount(`C:\`, false)), reason: "", field: ""}, // named exactly by the policy
		{name: "another drive root", edit: fns(mount(`d:/`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`'D:\' is ` + root}},
		{name: "the profiles folder", edit: fns(mount(`C:\Users`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"the folder of the user profiles", exactly}},
		{name: "a user profile", edit: fns(mount(`C:\USERS\Administrator`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{profile}},
		{name: "System Volume Information", edit: fns(mount(`C:\System Volume Information`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{system}},
		{name: "the recycle bin", edit: fns(mount(`C:\$Recycle.Bin\S-1-5-21`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{system}},
		{name: "Docker's data folder", edit: fns(mount(`C:\ProgramData\docker\volumes`, false)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"Docker's data folder or inside it"}},
		{name: "the folder holding Docker's data", edit: fns(mount(`C:\ProgramData`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`a folder that holds Docker's data folder (C:\PROGRAMDATA\DOCKER)`}},
		{name: "containerd's data folder", edit: fns(mount(`c:\programdata\containerd`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"containerd's data folder"}},
		{name: "Docker's data folder as an 8.3 name", edit: fns(mount(`C:\PROGRA~3\docker`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"'PROGRA~3'", shortName}},
		// UNC forms.
		{name: "an administrative share", edit: fns(mount(`\\?\UNC\localhost\C$\Windows`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`'\\localhost\C$\Windows' is on an administrative or hidden share (C$)`}},
		{name: "an administrative share by address", edit: fns(mount(`//127.0.0.1/c$`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"administrative or hidden share"}},
		{name: "the ADMIN$ share", edit: fns(mount(`\\fs01\ADMIN$`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"(ADMIN$)"}},
		{name: "an unlisted share", edit: fns(mount(`\\fs02\share`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`UNC path '\\fs02\share' ` + notAllow, "a share is allowed only when the policy lists it"}},
		{name: "a listed share under another server name", edit: fns(mount(`\\fs01.corp.example\share`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{notAllow}},
		{name: "a listed share's sibling", edit: fns(mount(`\\fs01\shared`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{notAllow}},
		// Prefixes compare whole components; read-only prefixes stay read-only.
		{name: "a prefix that is not a whole component", edit: fns(mount(`D:\database`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{`host folder 'D:\database' ` + notAllow, `add {path: 'D:\database', readOnly: true} to mounts: in the policy file`}},
		{name: "writing under a read-only prefix", edit: fns(mount(`d:\DATA\web`, false)), reason: ReasonPolicy, field: "spec.mounts[0].readOnly", msg: []string{`'D:\DATA\web' may be mapped only read-only (policy entry {path: 'D:\data', readOnly: true}); set readOnly: true`}},
		{name: "the second mount is the bad one", edit: fns(mount(`D:\scratch`, false), mount(`C:\Windows`, true)), reason: ReasonPolicy, field: "spec.mounts[1].hostPath", msg: []string{windows}},
		// Pipes: engine and system pipes are never matched by a glob.
		{name: "the Docker engine pipe", edit: fns(pipe(`\\.\pipe\docker_engine`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{`'\\.\pipe\docker_engine' is a ` + engine, "never through a glob", `add '\\.\pipe\docker_engine' to pipes: in the policy file`}},
		{name: "the Docker engine pipe in another case", edit: fns(pipe(`\\.\PIPE\Docker_Engine`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{engine}},
		{name: "the Docker engine pipe with forward slashes", edit: fns(pipe(`//./pipe/docker_engine`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{engine}},
		{name: "Docker Desktop's engine pipe", edit: fns(pipe(`\\.\pipe\dockerDesktopLinuxEngine`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{engine}},
		{name: "containerd's pipe", edit: fns(pipe(`\\.\pipe\containerd-containerd`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{engine}},
		{name: "the CSI proxy pipe", edit: fns(pipe(`\\.\pipe\csi-proxy-filesystem-v1`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{engine}},
		{name: "the service control manager's pipe", edit: fns(pipe(`\\.\pipe\SvcCtl`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{"a system pipe"}},
		{name: "the SSH agent's pipe", edit: fns(pipe(`\\.\pipe\openssh-ssh-agent`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{"a system pipe"}},
		// Ports.
		{name: "port 0", edit: fns(port(0, "tcp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"host port 0/tcp is not a port a policy can allow"}},
		{name: "a port past 65535", edit: fns(port(70000, "tcp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"70000/tcp is not a port"}},
		{name: "a port just past the range", edit: fns(port(9000, "tcp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"host port 9000/tcp " + notAllow, `add '9000/tcp' to ports: in the policy file`}},
		{name: "a port just before the range", edit: fns(port(7999, "tcp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"7999/tcp"}},
		{name: "a port of the range with the other protocol", edit: fns(port(8080, "udp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"8080/udp " + notAllow}},
		{name: "a udp-only port over tcp", edit: fns(port(53, "tcp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"53/tcp"}},
		// Devices, network sharing, isolation.
		{name: "an unlisted device class", edit: fns(device("{a5dcbf10-6530-11d2-901f-00c04fb951ed}")), reason: ReasonPolicy, field: "spec.devices[0].classGUID", msg: []string{"device class A5DCBF10-6530-11D2-901F-00C04FB951ED " + notAllow}},
		{name: "a device under Hyper-V", edit: fns(device(gpu), isolation(spec.IsolationHyperV)), reason: ReasonUnsupported, msg: []string{"devices need process isolation"}},
		{name: "network sharing without permission", edit: fns(shareNetwork), reason: ReasonPolicy, field: "spec.network.mode", msg: []string{"sharing the network of another container (container:db) " + notAllow, `set networkSharing: true in the policy file`}},
		{name: "process isolation for an image the policy keeps in Hyper-V", image: "acme/app:ltsc2022", edit: fns(isolation(spec.IsolationProcess)), reason: ReasonPolicy, field: "spec.isolation", msg: []string{"process isolation is not allowed for image docker.io/acme/app:ltsc2022", "imageIsolation[0]", "use isolation: hyperv"}},
		{name: "the same image spelled with index.docker.io", image: "index.docker.io/acme/app:ltsc2022", reason: ReasonPolicy, field: "spec.isolation", msg: []string{"docker.io/acme/app:ltsc2022"}},
		{name: "isolation the policy does not permit", policy: "apiVersion: isoagent/v1\nkind: Policy\nisolation: [hyperv]\n", reason: ReasonPolicy, field: "spec.isolation", msg: []string{"process isolation is not allowed by the policy, which allows only [hyperv]; use isolation: hyperv"}},
		// No policy file: nothing that pierces isolation, and the message says how to allow it.
		{name: "a mount without a policy file", policy: "none", edit: fns(mount(`D:\sites\web`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{"no --policy file is given", `a policy file with the line mounts: [{path: 'D:\sites\web', readOnly: true}]`}},
		{name: "a port without a policy file", policy: "none", edit: fns(port(8080, "tcp")), reason: ReasonPolicy, field: "spec.ports[0].hostPort", msg: []string{"no --policy file is given"}},
		{name: "a pipe without a policy file", policy: "none", edit: fns(pipe(`\\.\pipe\metrics`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{"no --policy file"}},
		{name: "a device without a policy file", policy: "none", edit: fns(device(gpu)), reason: ReasonPolicy, field: "spec.devices[0].classGUID", msg: []string{"no --policy file"}},
		{name: "network sharing without a policy file", policy: "none", edit: fns(shareNetwork), reason: ReasonPolicy, field: "spec.network.mode", msg: []string{"no --policy file"}},
		{name: "nothing to allow without a policy file", policy: "none"},

		// Allowed.
		{name: "a folder under a prefix", edit: fns(mount(`C:\app\data`, false))},
		{name: "a folder under a prefix spelled otherwise", edit: fns(mount(`\\?\c:/APP//data/`, false))},
		{name: "read-only under a read-only prefix", edit: fns(mount(`D:\data\web`, true))},
		{name: "writing under a writable prefix", edit: fns(mount(`D:\scratch\tmp`, false))},
		{name: "a listed share", edit: fns(mount(`\\FS01\Share\web`, false))},
		{name: "a listed share in the long form", edit: fns(mount(`\\?\UNC\fs01\share`, false))},
		{name: "a pipe under a glob", edit: fns(pipe(`\\.\pipe\metrics-web`))},
		{name: "ports at both ends of the range", edit: fns(port(8000, "tcp"), port(8999, "tcp"), port(53, "udp"))},
		{name: "a listed device", edit: fns(device("{5b45201d-f2f2-4f3b-85bb-30ff1f953599}"))},
		{name: "a Hyper-V-only image under Hyper-V", image: "acme/app:ltsc2022", edit: fns(isolation(spec.IsolationHyperV))},
		{name: "the Windows folder named exactly", policy: "apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'c:/windows/', readOnly: true}]\n", edit: fns(mount(`C:\WINDOWS`, true))},
		{name: "an exact entry is not a prefix for sensitive folders", policy: "apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'C:\\Windows'}]\n", edit: fns(mount(`C:\Windows\System32`, true)), reason: ReasonPolicy, field: "spec.mounts[0].hostPath", msg: []string{windows}},
		{name: "an exact read-only entry stays read-only", policy: "apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'C:\\Users\\svc', readOnly: true}]\n", edit: fns(mount(`C:\Users\svc`, false)), reason: ReasonPolicy, field: "spec.mounts[0].readOnly", msg: []string{"may be mapped only read-only"}},
		{name: "an 8.3 name named exactly", policy: "apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'C:\\PROGRA~1\\app'}]\n", edit: fns(mount(`c:\progra~1\app`, false))},
		{name: "the Docker engine pipe named exactly", policy: "apiVersion: isoagent/v1\nkind: Policy\npipes: ['\\\\.\\pipe\\docker_engine']\n", edit: fns(pipe(`//./PIPE/Docker_Engine`))},
		{name: "an exact engine pipe allows no other", policy: "apiVersion: isoagent/v1\nkind: Policy\npipes: ['\\\\.\\pipe\\docker_engine']\n", edit: fns(pipe(`\\.\pipe\docker_engine_windows`)), reason: ReasonPolicy, field: "spec.pipes[0].hostPipe", msg: []string{engine}},
		{name: "network sharing when allowed", policy: "apiVersion: isoagent/v1\nkind: Policy\nnetworkSharing: true\n", edit: fns(shareNetwork)},
		// Credential specs: by name only, deny by default.
		{name: "a credential spec the policy does not list", edit: fns(credSpec("webapp01.json")), reason: ReasonPolicy, field: "spec.credentialSpec",
			msg: []string{"credential spec 'webapp01.json' (a gMSA the container acts as on the network) " + notAllow, `add the line credentialSpecs: ['webapp01.json'] to the policy file`}},
		{name: "a credential spec without a policy file", policy: "none", edit: fns(credSpec("webapp01.json")), reason: ReasonPolicy, field: "spec.credentialSpec", msg: []string{"no --policy file"}},
		{name: "another credential spec than the listed one", policy: "apiVersion: isoagent/v1\nkind: Policy\ncredentialSpecs: [webapp01.json]\n", edit: fns(credSpec("webapp02.json")), reason: ReasonPolicy, field: "spec.credentialSpec", msg: []string{"'webapp02.json'"}},
		{name: "a listed credential spec in another case", policy: "apiVersion: isoagent/v1\nkind: Policy\ncredentialSpecs: [WebApp01.json]\n", edit: fns(credSpec("webapp01.JSON"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := broadPolicy
			switch tt.policy {
			case "":
			case "none":
				src = ""
			default:
				src = tt.policy
			}
			pc := checker(t, src)
			image := tt.image
			if image == "" {
				image = img2022
			}
			db := ctr("db", img2022, isolation(spec.IsolationProcess))
			web := ctr("web", image, tt.edit...)
			// A host that maps shares, so that the policy alone decides
			// them; on one that does not (HCS), see TestAdmitUNCMounts.
			host := server(20348)
			host.UNCMounts = true
			ds := Admit(context.Background(), host, nil, []*spec.Container{db, web}, AdmitOptions{Owner: "isoagent", Policy: pc})
			d := ds[1]
			if tt.reason == "" {
				if !d.Admitted() {
					t.Fatalf("rejected: %v", d.Rejection)
				}
				return
			}
			if d.Admitted() {
				t.Fatalf("admitted; want %s rejection", tt.reason)
			}
			if d.Rejection.Reason != tt.reason {
				t.Errorf("reason = %s (%s), want %s", d.Rejection.Reason, d.Rejection.Message, tt.reason)
			}
			if tt.field != "" && d.Rejection.Field != tt.field {
				t.Errorf("field = %s, want %s (%s)", d.Rejection.Field, tt.field, d.Rejection.Message)
			}
			for _, m := range tt.msg {
				if !strings.Contains(d.Rejection.Message, m) {
					t.Errorf("message\n  %s\nlacks\n  %s", d.Rejection.Message, m)
				}
			}
		})
	}
}

func fns(f ...func(*spec.Spec)) []func(*spec.Spec) { return f }

// TestPolicyEscapesRefusedBeforeTheCheck holds the escapes of DESIGN §4
// that Windows would reinterpret (device and object paths, "." and "..",
// trailing dots and spaces, streams, drive-relative paths, long-form and
// remote pipes). They once came to the policy as strings and it refused
// them itself ("cannot be checked against the policy"). A path is now
// parsed once, into a winpath.Path or Pipe, and these spellings do not
// parse, so no spec, config or policy check can carry them: each is
// refused where it enters, by spec validation, at the field at fault and
// with the message that said why.
func TestPolicyEscapesRefusedBeforeTheCheck(t *testing.T) {
	tests := []struct {
		name  string
		field string // hostPath or hostPipe
		value string
		msg   string
	}{
		{"Windows folder as a device path", "hostPath", `\\.\C:\Windows`, "device path"},
		{"Windows folder as an NT object path", "hostPath", `\??\C:\Windows`, "NT object path"},
		{"Windows folder through GLOBALROOT", "hostPath", `\\?\GLOBALROOT\Device\HarddiskVolume2\Windows`, "GLOBALROOT"},
		{"a volume GUID path", "hostPath", `\\?\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\Windows`, "volume by GUID"},
		{"Windows folder through ..", "hostPath", `C:\app\..\Windows`, `".." component`},
		{"Windows folder through .", "hostPath", `C:\.\Windows`, `"." component`},
		{"Windows folder with a trailing dot", "hostPath", `C:\Windows.`, "ends in a dot or space"},
		{"Windows folder with a trailing space", "hostPath", `C:\Windows \System32`, "ends in a dot or space"},
		{"an alternate data stream", "hostPath", `C:\Windows::$INDEX_ALLOCATION`, "which Windows does not allow in names"},
		{"drive-relative path", "hostPath", `C:Windows`, "relative to the current folder"},
		{"the Docker engine pipe in the long form", "hostPipe", `\\?\pipe\docker_engine`, `uses the \\?\ prefix`},
		{"a pipe on another machine", "hostPipe", `\\fs01\pipe\metrics`, "another machine"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			entry, field := "mounts: [{hostPath: "+"'"+tt.value+"'"+", containerPath: 'C:\\data', readOnly: true}]", "spec.mounts[0].hostPath"
			_, perr := winpath.Parse(tt.value)
			if tt.field == "hostPipe" {
				entry, field = "pipes: [{hostPipe: "+"'"+tt.value+"'"+", containerPipe: '\\\\.\\pipe\\x'}]", "spec.pipes[0].hostPipe"
				_, perr = winpath.ParsePipe(tt.value)
			}
			if perr == nil {
				t.Fatalf("winpath parses %s: a spec could carry it to the policy", tt.value)
			}
			src := "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: " + img2022 + "\n  " + entry + "\n"
			_, err := spec.Parse("web.yaml", []byte(src))
			errs := spec.Errors(err)
			if len(errs) != 1 || errs[0].Field != field || !strings.Contains(errs[0].Message, tt.msg) {
				t.Errorf("spec.Parse of a spec with %s %s = %v; want one error at %s saying %q", tt.field, tt.value, err, field, tt.msg)
			}
		})
	}
}

// TestPolicyMessageNamesEveryViolation pins the whole text a user reads
// for a spec with two violations and no policy file.
func TestPolicyMessageNamesEveryViolation(t *testing.T) {
	web := ctr("web", img2022, mount(`D:\sites\web`, true), port(8080, "tcp"))
	d := Admit(context.Background(), server(20348), nil, []*spec.Container{web}, AdmitOptions{Policy: checker(t, "")})[0]
	want := `policy: spec.mounts[0].hostPath: host folder 'D:\sites\web' is not allowed by the policy; ` +
		`no --policy file is given, so nothing that pierces isolation is allowed; ` +
		`to allow it, run with --policy FILE, a policy file with the line mounts: [{path: 'D:\sites\web', readOnly: true}]; ` +
		`spec.ports[0].hostPort: host port 8080/tcp is not allowed by the policy; ` +
		`to allow it, the --policy file needs the line ports: ['8080/tcp']`
	if d.Admitted() || d.Rejection.Error() != want {
		t.Errorf("got\n  %v\nwant\n  %s", d.Rejection, want)
	}
}

// resolver maps host paths to where their junctions lead.
type resolver map[string]string

func (r resolver) ResolvePath(p winpath.Path) (string, error) {
	if real, ok := r[p.String()]; ok {
		if real == "" {
			return "", errors.New("access denied")
		}
		return real, nil
	}
	return p.String(), nil
}

// TestPolicyChecksTheResolvedMountSource: admission asks the resolver
// where each mount leads, records it for the driver, and the policy
// checks both the folder as written and the folder it leads to.
func TestPolicyChecksTheResolvedMountSource(t *testing.T) {
	pc := checker(t, broadPolicy)
	r := resolver{
		`D:\scratch\link`:   `C:\Windows\System32`,
		`D:\scratch\other`:  `D:\scratch\real`,
		`D:\scratch\up`:     `D:\data\web`,
		`D:\scratch\locked`: "",
		`D:\scratch\case`:   `D:\SCRATCH\Case`,
	}
	tests := []struct {
		path     string
		readOnly bool
		field    string
		msg      string
		resolved string // recorded for the driver; "" when the path leads to itself
	}{
		{`D:\scratch\link`, true, "hostPath", `host folder 'D:\scratch\link' is 'C:\Windows\System32' through a junction or symbolic link, and the policy does not allow that: host folder 'C:\Windows\System32' is the Windows folder`, ""},
		{`D:\scratch\up`, false, "readOnly", `is 'D:\data\web' through a junction or symbolic link, and the policy does not allow that: host folder 'D:\data\web' may be mapped only read-only`, ""},
		{`D:\scratch\locked`, true, "hostPath", `host folder 'D:\scratch\locked' cannot be resolved to check it against the policy: access denied`, ""},
		{`D:\scratch\other`, false, "", "", `D:\scratch\real`},
		{`D:\scratch\plain`, false, "", "", ""},
		{`D:\scratch\case`, false, "", "", ""},                                // only the spelling differs
		{`D:\up`, true, "hostPath", `host folder 'D:\up' is not allowed`, ""}, // refused before resolving
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			web := ctr("web", img2022, mount(tt.path, tt.readOnly))
			d := Admit(context.Background(), server(20348), nil, []*spec.Container{web}, AdmitOptions{Owner: "isoagent", Policy: pc, Resolver: r})[0]
			var field, msg string
			if !d.Admitted() {
				field, msg = strings.TrimPrefix(d.Rejection.Field, "spec.mounts[0]."), d.Rejection.Message
			}
			if field != tt.field || !strings.Contains(msg, tt.msg) || (tt.msg == "") != (msg == "") {
				t.Errorf("got %s: %s\nwant %s: %s", field, msg, tt.field, tt.msg)
			}
			if msg == "" && d.Config.Mounts[0].ResolvedPath.String() != tt.resolved {
				t.Errorf("ResolvedPath = %q, want %q", d.Config.Mounts[0].ResolvedPath, tt.resolved)
			}
		})
	}
}
