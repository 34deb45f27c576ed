package spec

import (
	"encoding/json"
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-multierror"
	"gopkg.in/yaml.v3"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// doc builds a valid document with extra lines appended to its spec
// mapping (indented by two spaces).
func doc(specLines ...string) string {
	s := "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: mcr.microsoft.com/windows/servercore:ltsc2022\n"
	for _, l := range specLines {
		s += "  " + l + "\n"
	}
	return s
}

func parseOne(t *testing.T, src string) *Container {
	t.Helper()
	cs, err := Parse("web.yaml", []byte(src))
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, src)
	}
	if len(cs) != 1 {
		t.Fatalf("Parse returned %d containers, want 1", len(cs))
	}
	return cs[0]
}

func TestParseFullExample(t *testing.T) {
	src := `apiVersion: isoagent/v1
kind: Container
metadata:
  name: web
  labels: {team: payments}
spec:
  image: mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022
  imagePullPolicy: Always
  command: ["C:\\ServiceMonitor.exe", "w3svc"]
  workingDir: c:/inetpub
  env: {ASPNETCORE_ENVIRONMENT: Production}
  user: ContainerUser
  isolation: process
  onVersionMismatch: hyperv
  restartPolicy: on-failure
  stopTimeout: 30s
  hosts: ["WEB-*"]
  selector: {role: web}
  resources: {cpuCount: 2, memoryMB: 2048}
  mounts:
    - {hostPath: 'd:/sites/web/', containerPath: '\\?\C:\inetpub\wwwroot', readOnly: true}
  pipes:
    - {hostPipe: '//./pipe/metrics', containerPipe: '\\.\PIPE\metrics'}
  ports:
    - {hostPort: 8080, containerPort: 80, protocol: udp}
  network: {mode: nat, dnsSearch: [corp.example], dns: [10.0.0.53, '::ffff:10.0.0.54', 'FD00::53']}
  devices:
    - {classGUID: '{5b45201d-f2f2-4f3b-85bb-30ff1f953599}'}
  hostname: WEB-01
  credentialSpec: webapp01.json
  update: {order: stop-first, timeout: 2m, monitor: 10s}
`
	got := parseOne(t, src)
	want := &Container{
		APIVersion: APIVersion,
		Kind:       KindContainer,
		Metadata:   Metadata{Name: "web", Labels: map[string]string{"team": "payments"}},
		Spec: Spec{
			Image:             imageref.MustParse("mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"),
			ImagePullPolicy:   PullAlways,
			Command:           []string{`C:\ServiceMonitor.exe`, "w3svc"},
			WorkingDir:        `C:\inetpub`,
			Env:               map[string]string{"ASPNETCORE_ENVIRONMENT": "Production"},
			User:              "ContainerUser",
			Isolation:         IsolationProcess,
			OnVersionMismatch: MismatchHyperV,
			RestartPolicy:     RestartOnFailure,
			StopTimeout:       Duration(30 * time.Second),
			Hosts:             []string{"WEB-*"},
			Selector:          map[string]string{"role": "web"},
			Resources:         Resources{CPUCount: 2, MemoryMB: 2048},
			Mounts:            []Mount{{HostPath: winpath.MustParse(`D:\sites\web`), ContainerPath: winpath.MustParse(`C:\inetpub\wwwroot`), ReadOnly: true}},
			Pipes:             []Pipe{{HostPipe: winpath.MustParsePipe(`\\.\pipe\metrics`), ContainerPipe: winpath.MustParsePipe(`\\.\pipe\metrics`)}},
			Ports:             []Port{{HostPort: 8080, ContainerPort: 80, Protocol: "udp"}},
			Network: Network{Mode: NetworkNAT, DNSSearch: []string{"corp.example"},
				DNS: []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("10.0.0.54"), netip.MustParseAddr("fd00::53")}},
			Devices:        []Device{{ClassGUID: "5B45201D-F2F2-4F3B-85BB-30FF1F953599"}},
			Hostname:       "WEB-01",
			CredentialSpec: "webapp01.json",
			OnUnhealthy:    UnhealthyRestart,
			Update:         UpdatePolicy{Order: UpdateStopFirst, Timeout: Duration(2 * time.Minute), Monitor: new(Duration(10 * time.Second))},
		},
		Source: Source{File: "web.yaml", Line: 1, Column: 1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", got, want)
	}
}

func TestParseAppliesDefaults(t *testing.T) {
	got := parseOne(t, doc("ports: [{hostPort: 8080, containerPort: 80}]"))
	s := got.Spec
	if s.Isolation != IsolationDefault || s.OnVersionMismatch != MismatchFail || s.RestartPolicy != RestartAlways ||
		s.StopTimeout != Duration(10*time.Second) || s.Ports[0].Protocol != "tcp" || s.Network.Mode != NetworkNAT ||
		s.ImagePullPolicy != PullIfNotPresent {
		t.Errorf("defaults not applied: %+v", s)
	}
	before := *got
	ApplyDefaults(got)
	if !reflect.DeepEqual(before, *got) {
		t.Error("ApplyDefaults is not idempotent")
	}
}

func TestParseMultipleDocuments(t *testing.T) {
	src := "---\n# only a comment\n---\n" + doc() + "---\n---\n" + strings.Replace(doc(), "name: web", "name: api", 1) + "...\n"
	cs, err := Parse("multi.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cs {
		names = append(names, c.Name())
	}
	if strings.Join(names, ",") != "web,api" {
		t.Errorf("names = %v, want [web api]", names)
	}
	if cs[0].Source.Line != 4 || cs[1].Source.Line != 12 {
		t.Errorf("Source lines = %d, %d, want 4, 12", cs[0].Source.Line, cs[1].Source.Line)
	}
	for _, empty := range []string{"", "\n", "# nothing\n", "---\n", "---\n...\n---\n~\n"} {
		cs, err := Parse("empty.yaml", []byte(empty))
		if err != nil || len(cs) != 0 {
			t.Errorf("Parse(%q) = %v, %v; want no specs and no error", empty, cs, err)
		}
	}
}

// TestParseRejects pins one rule per case: the field path and a part of
// the message that says what to do.
func TestParseRejects(t *testing.T) {
	tests := []struct {
		name      string
		src       string
		wantField string
		wantMsg   string
	}{
		// Document shape.
		{"apiVersion missing", strings.Replace(doc(), "apiVersion: isoagent/v1\n", "", 1), "apiVersion", "add apiVersion: isoagent/v1"},
		{"apiVersion wrong", strings.Replace(doc(), "isoagent/v1", "v1", 1), "apiVersion", "write apiVersion: isoagent/v1"},
		{"kind missing", strings.Replace(doc(), "kind: Container\n", "", 1), "kind", "add kind: Container"},
		{"kind other", strings.Replace(doc(), "kind: Container", "kind: Deployment", 1), "kind", `"Deployment" is not supported`},
		{"kind policy", strings.Replace(doc(), "kind: Container", "kind: Policy", 1), "kind", "--policy file"},
		{"document not a mapping", "- a\n- b\n", "", "must be a mapping with apiVersion"},
		{"syntax error", doc() + "  env: {a: b\n", "", "invalid YAML"},
		{"tab indentation", "apiVersion: isoagent/v1\n\tkind: Container\n", "", "invalid YAML"},
		// Strict keys.
		{"unknown top-level key", doc() + "metdata: {}\n", "metdata", "did you mean metadata?"},
		{"unknown spec key", doc("frobnicate: {}"), "spec.frobnicate", `known fields here are command, concurrencyPolicy, credentialSpec, dependsOn, devices`},
		{"misspelt spec key", doc("restartPolicyy: always"), "spec.restartPolicyy", "did you mean restartPolicy?"},
		{"wrong case key", doc("workingdir: C:\\app"), "spec.workingdir", "did you mean workingDir?"},
		{"misspelt mount key", doc(`mounts: [{hostPath: 'D:\x', containerpath: 'C:\x'}]`), "spec.mounts[0].containerpath", "did you mean containerPath?"},
		{"misspelt metadata key", strings.Replace(doc(), "name: web", "nmae: web", 1), "metadata.nmae", "did you mean name?"},
		{"compose volumes", doc(`volumes: ['D:\x:C:\x']`), "spec.volumes", "did you mean mounts?"},
		{"compose environment", doc("environment: {A: b}"), "spec.environment", "did you mean env?"},
		{"compose port target", doc("ports: [{hostPort: 80, target: 80}]"), "spec.ports[0].target", "did you mean containerPort?"},
		{"compose mount target", doc(`mounts: [{hostPath: 'D:\x', target: 'C:\x'}]`), "spec.mounts[0].target", "did you mean containerPath?"},
		{"duplicate key", doc("user: a", "user: b"), "spec.user", "written twice (first on line 7)"},
		{"duplicate env key", doc("env: {A: x, A: y}"), "spec.env.A", "written twice"},
		// What Windows containers cannot do.
		{"ipc", doc("ipc: host"), "spec.ipc", "do not support sharing an IPC namespace"},
		{"shm_size", doc("shm_size: 1g"), "spec.shm_size", "Windows containers do not support shared memory"},
		{"shmSize", doc("shmSize: 64Mi"), "spec.shmSize", "Windows containers do not support shared memory"},
		{"pid", doc("pid: host"), "spec.pid", "do not support sharing a process namespace"},
		{"shareProcessNamespace", doc("shareProcessNamespace: true"), "spec.shareProcessNamespace", "do not support sharing a process namespace"},
		{"privileged", doc("privileged: true"), "spec.privileged", "no privileged mode"},
		{"readOnlyRootFilesystem", doc("readOnlyRootFilesystem: true"), "spec.readOnlyRootFilesystem", "read-only root filesystem"},
		{"tmpfs", doc("tmpfs: [C:\\tmp]"), "spec.tmpfs", "do not support tmpfs"},
		{"semaphores", doc("semaphores: [Global\\lock]"), "spec.semaphores", "synchronization objects"},
		{"securityContext", doc("securityContext: {privileged: true}"), "spec.securityContext", "user: ContainerUser"},
		{"host IP", doc("ports: [{hostIP: 127.0.0.1, hostPort: 80, containerPort: 80}]"), "spec.ports[0].hostIP", "a host IP cannot be given"},
		{"pipe readOnly", doc(`pipes: [{hostPipe: '\\.\pipe\a', containerPipe: '\\.\pipe\a', readOnly: true}]`), "spec.pipes[0].readOnly", "cannot be mapped read-only"},
		// Types.
		{"image not a string", doc()[:len(doc())-len("  image: mcr.microsoft.com/windows/servercore:ltsc2022\n")] + "  image: [a]\n", "spec.image", "must be a string, not a list"},
		{"command not a list", doc("command: cmd.exe"), "spec.command", `write ["cmd.exe"]`},
		{"mounts not a list", doc("mounts: {hostPath: x}"), "spec.mounts", "must be a list, not a mapping"},
		{"readOnly not a bool", doc(`mounts: [{hostPath: 'D:\x', containerPath: 'C:\x', readOnly: "yes please"}]`), "spec.mounts[0].readOnly", "must be true or false"},
		{"port quoted", doc(`ports: [{hostPort: "8080", containerPort: 80}]`), "spec.ports[0].hostPort", "remove the quotes"},
		{"port float", doc("ports: [{hostPort: 80.5, containerPort: 80}]"), "spec.ports[0].hostPort", "must be a whole number, not the number 80.5"},
		{"port range", doc("ports: [{hostPort: 8080-8081, containerPort: 80}]"), "spec.ports[0].hostPort", "port ranges are not supported"},
		{"port short form", doc(`ports: ["8080:80"]`), "spec.ports[0]", "{hostPort: 8080, containerPort: 80}"},
		{"mount short form", doc(`mounts: ['D:\data:C:\data']`), "spec.mounts[0]", "hostPath:"},
		{"stopTimeout number", doc("stopTimeout: 10"), "spec.stopTimeout", "such as 10s"},
		{"env value a list", doc("env: {A: [1]}"), "spec.env.A", "must be a string"},
		{"env value empty", doc("env: {A: }"), "spec.env.A", `write "" for an empty value`},
		{"cpuCount huge", doc("resources: {cpuCount: 99999999999}"), "spec.resources.cpuCount", "out of range"},
		// Names and image.
		{"name missing", strings.Replace(doc(), "  name: web\n", "  labels: {a: b}\n", 1), "metadata.name", "add a name such as web"},
		{"name upper case", strings.Replace(doc(), "name: web", "name: Web_01", 1), "metadata.name", `(such as "web-01")`},
		{"name too long", strings.Replace(doc(), "name: web", "name: "+strings.Repeat("a", 64), 1), "metadata.name", "at most 63"},
		{"name trailing dash", strings.Replace(doc(), "name: web", "name: web-", 1), "metadata.name", "not a valid name"},
		{"image missing", "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec: {user: x}\n", "spec.image", "is required"},
		{"spec missing", "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\n", "spec.image", "is required"},
		{"image malformed", strings.Replace(doc(), "mcr.microsoft.com/windows/servercore:ltsc2022", "MCR/Windows:ltsc2022", 1), "spec.image", "lower case"},
		{"command empty", doc("command: []"), "spec.command", "remove command"},
		{"workingDir relative", doc(`workingDir: app`), "spec.workingDir", "relative"},
		{"workingDir UNC", doc(`workingDir: '\\s\share'`), "spec.workingDir", "UNC"},
		// Enums.
		{"isolation", doc("isolation: Process"), "spec.isolation", "did you mean process?"},
		{"isolation hyper-v", doc("isolation: hyper-v"), "spec.isolation", "write isolation: hyperv"},
		{"restartPolicy", doc("restartPolicy: on_failure"), "spec.restartPolicy", "did you mean on-failure?"},
		{"restartPolicy unless-stopped", doc("restartPolicy: unless-stopped"), "spec.restartPolicy", "use always"},
		{"imagePullPolicy", doc("imagePullPolicy: IfMissing"), "spec.imagePullPolicy", "not one of IfNotPresent, Always, Never"},
		{"imagePullPolicy lower case", doc("imagePullPolicy: always"), "spec.imagePullPolicy", "write imagePullPolicy: Always"},
		{"onVersionMismatch", doc("onVersionMismatch: ignore"), "spec.onVersionMismatch", "not one of fail, hyperv"},
		{"onVersionMismatch with hyperv", doc("isolation: hyperv", "onVersionMismatch: fail"), "spec.onVersionMismatch", "applies only to process isolation"},
		{"stopTimeout negative", doc("stopTimeout: -5s"), "spec.stopTimeout", "negative"},
		// Hosts, env, labels.
		{"hosts bad glob", doc(`hosts: ["WEB-[0-9"]`), "spec.hosts[0]", "not a valid pattern"},
		{"hosts empty", doc(`hosts: [""]`), "spec.hosts[0]", "must not be empty"},
		{"env key with =", doc(`env: {"A=B": c}`), `spec.env["A=B"]`, "write A: B"},
		{"env key empty", doc(`env: {"": c}`), `spec.env[""]`, "must not be empty"},
		{"label key empty", strings.Replace(doc(), "name: web", "name: web\n  labels: {'': x}", 1), `metadata.labels[""]`, "must not be empty"},
		// Resources.
		{"cpuCount negative", doc("resources: {cpuCount: -1}"), "spec.resources.cpuCount", "negative"},
		{"cpuMaximumPercent over", doc("resources: {cpuMaximumPercent: 101}"), "spec.resources.cpuMaximumPercent", "from 1 to 100"},
		{"memoryMB negative", doc("resources: {memoryMB: -2}"), "spec.resources.memoryMB", "negative"},
		{"both CPU limits with process isolation", doc("isolation: process", "resources: {cpuCount: 2, cpuMaximumPercent: 50}"), "spec.resources.cpuMaximumPercent", "with isolation: process a container gets one processor limit"},
		{"both CPU limits with the default isolation", doc("resources: {cpuCount: 2, cpuMaximumPercent: 50}"), "spec.resources.cpuMaximumPercent", "set isolation: hyperv"},
		{"both CPU limits with the version fallback", doc("isolation: process", "onVersionMismatch: hyperv", "resources: {cpuCount: 1, cpuMaximumPercent: 10}"), "spec.resources.cpuMaximumPercent", "remove one of them"},
		// Host name.
		{"hostname with a dot", doc("hostname: web.corp.example"), "spec.hostname", "without dots"},
		{"hostname with an underscore", doc("hostname: web_01"), "spec.hostname", `(such as "web-01")`},
		{"hostname too long", doc("hostname: " + strings.Repeat("w", 64)), "spec.hostname", "1 to 63"},
		{"hostname only digits", doc("hostname: '1234'"), "spec.hostname", "only digits"},
		{"hostname not a string", doc("hostname: [web]"), "spec.hostname", "must be a string"},
		{"compose hostname spelling", doc("host_name: web"), "spec.host_name", "did you mean hostname?"},
		// Credential spec.
		{"credentialSpec a path", doc(`credentialSpec: '..\..\secrets\x.json'`), "spec.credentialSpec", "is a path"},
		{"credentialSpec an absolute path", doc(`credentialSpec: 'C:\ProgramData\docker\CredentialSpecs\x.json'`), "spec.credentialSpec", `such as 'x.json'`},
		{"credentialSpec a device", doc(`credentialSpec: con.json`), "spec.credentialSpec", "reserved device name"},
		{"credentialSpec Docker's form", doc(`credentialSpec: 'file://x.json'`), "spec.credentialSpec", "is a path"},
		{"compose credential_spec", doc(`credential_spec: {file: x.json}`), "spec.credential_spec", "did you mean credentialSpec?"},
		{"docker security_opt", doc(`security_opt: ['credentialspec=file://x.json']`), "spec.security_opt", "did you mean credentialSpec?"},
		// Mounts.
		{"hostPath missing", doc(`mounts: [{containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", "is required"},
		{"containerPath missing", doc(`mounts: [{hostPath: 'D:\x'}]`), "spec.mounts[0].containerPath", "is required"},
		{"hostPath relative", doc(`mounts: [{hostPath: 'data', containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", "is relative"},
		{"hostPath drive-relative", doc(`mounts: [{hostPath: 'D:data', containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", `such as D:\data`},
		{"hostPath dotdot", doc(`mounts: [{hostPath: 'D:\data\..\Windows', containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", `".."`},
		{"hostPath reserved", doc(`mounts: [{hostPath: 'D:\data\nul.txt', containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", "reserved device name"},
		{"hostPath device", doc(`mounts: [{hostPath: '\\.\C:', containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", "device path"},
		{"hostPath trailing dot", doc(`mounts: [{hostPath: 'D:\data.', containerPath: 'C:\x'}]`), "spec.mounts[0].hostPath", "dot or space"},
		{"containerPath system drive", doc(`mounts: [{hostPath: 'D:\x', containerPath: 'c:/'}]`), "spec.mounts[0].containerPath", "system drive"},
		{"containerPath UNC", doc(`mounts: [{hostPath: 'D:\x', containerPath: '\\s\share\x'}]`), "spec.mounts[0].containerPath", "UNC"},
		{"containerPath twice", doc(`mounts: [{hostPath: 'D:\x', containerPath: 'C:\x'}, {hostPath: 'D:\y', containerPath: 'c:\X\'}]`), "spec.mounts[1].containerPath", "already the target of spec.mounts[0]"},
		// Pipes.
		{"hostPipe remote", doc(`pipes: [{hostPipe: '\\build\pipe\x', containerPipe: '\\.\pipe\x'}]`), "spec.pipes[0].hostPipe", "another machine"},
		{"containerPipe not a pipe", doc(`pipes: [{hostPipe: '\\.\pipe\x', containerPipe: 'C:\x'}]`), "spec.pipes[0].containerPipe", `such as \\.\pipe\metrics`},
		{"pipe empty name", doc(`pipes: [{hostPipe: '\\.\pipe\', containerPipe: '\\.\pipe\x'}]`), "spec.pipes[0].hostPipe", "empty name"},
		{"containerPipe missing", doc(`pipes: [{hostPipe: '\\.\pipe\x'}]`), "spec.pipes[0].containerPipe", "is required"},
		{"containerPipe twice", doc(`pipes: [{hostPipe: '\\.\pipe\a', containerPipe: '\\.\pipe\x'}, {hostPipe: '\\.\pipe\b', containerPipe: '//./pipe/X'}]`), "spec.pipes[1].containerPipe", "already the target"},
		// Ports.
		{"hostPort zero", doc("ports: [{hostPort: 0, containerPort: 80}]"), "spec.ports[0].hostPort", "from 1 to 65535"},
		{"hostPort missing", doc("ports: [{containerPort: 80}]"), "spec.ports[0].hostPort", "from 1 to 65535"},
		{"hostPort too big", doc("ports: [{hostPort: 65536, containerPort: 80}]"), "spec.ports[0].hostPort", "65536 is not a host port"},
		{"containerPort negative", doc("ports: [{hostPort: 80, containerPort: -1}]"), "spec.ports[0].containerPort", "-1 is not a container port"},
		{"protocol sctp", doc("ports: [{hostPort: 80, containerPort: 80, protocol: sctp}]"), "spec.ports[0].protocol", "not one of tcp, udp"},
		{"protocol upper case", doc("ports: [{hostPort: 80, containerPort: 80, protocol: UDP}]"), "spec.ports[0].protocol", "lower case: udp"},
		{"hostPort twice", doc("ports: [{hostPort: 8080, containerPort: 80}, {hostPort: 8080, containerPort: 81, protocol: tcp}]"), "spec.ports[1].hostPort", "8080/tcp is already mapped by spec.ports[0]"},
		// Network.
		{"network host", doc("network: {mode: host}"), "spec.network.mode", "cannot use the host's network"},
		{"network bridge", doc("network: {mode: bridge}"), "spec.network.mode", "write mode: nat"},
		{"network unknown", doc("network: {mode: overlay}"), "spec.network.mode", "not one of nat, none, container:<name>"},
		{"network container no name", doc("network: {mode: 'container:'}"), "spec.network.mode", "names no container"},
		{"network container bad name", doc("network: {mode: 'container:Web'}"), "spec.network.mode", "not a valid name"},
		{"network container self", doc("network: {mode: 'container:web'}"), "spec.network.mode", "its own network"},
		{"network container with ports", doc("network: {mode: 'container:db'}", "ports: [{hostPort: 80, containerPort: 80}]"), "spec.network.mode", `publish them in "db"'s spec`},
		{"network none with ports", doc("network: {mode: none}", "ports: [{hostPort: 80, containerPort: 80}]"), "spec.network.mode", "remove ports or use mode: nat"},
		{"dnsSearch invalid", doc("network: {dnsSearch: ['corp..example']}"), "spec.network.dnsSearch[0]", "not a DNS domain"},
		{"dns a name", doc("network: {dns: [dns01.corp.example]}"), "spec.network.dns[0]", "is a name; give the DNS server's IP address"},
		{"dns not an address", doc("network: {dns: ['10.0.0.300']}"), "spec.network.dns[0]", "not an IP address"},
		{"dns with a port", doc("network: {dns: ['10.0.0.53:53']}"), "spec.network.dns[0]", "not an IP address"},
		{"dns with a zone", doc("network: {dns: ['fe80::1%eth0']}"), "spec.network.dns[0]", "has a zone"},
		{"dns unspecified", doc("network: {dns: [0.0.0.0]}"), "spec.network.dns[0]", "cannot be a DNS server"},
		{"dns empty", doc("network: {dns: ['']}"), "spec.network.dns[0]", "is empty"},
		{"dns twice", doc("network: {dns: [10.0.0.53, '::ffff:10.0.0.53']}"), "spec.network.dns[1]", "already spec.network.dns[0]"},
		{"dns not a list", doc("network: {dns: 10.0.0.53}"), "spec.network.dns", "must be a list"},
		{"dns without a network", doc("network: {mode: none, dns: [10.0.0.53]}"), "spec.network.dns", "mode: none"},
		{"dns of a shared network", doc("network: {mode: 'container:db', dns: [10.0.0.53]}"), "spec.network.dns", `set dns in "db"'s spec`},
		{"compose dns at the spec level", doc("dns: [10.0.0.53]"), "spec.dns", "did you mean network.dns?"},
		// Devices.
		{"device GUID invalid", doc("devices: [{classGUID: 5B45201D-F2F2-4F3B-85BB}]"), "spec.devices[0].classGUID", "is not a GUID"},
		{"device GUID missing", doc("devices: [{}]"), "spec.devices[0].classGUID", "is required"},
		{"device twice", doc("devices: [{classGUID: 5B45201D-F2F2-4F3B-85BB-30FF1F953599}, {classGUID: '{5b45201d-f2f2-4f3b-85bb-30ff1f953599}'}]"), "spec.devices[1].classGUID", "already listed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := Parse("web.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("Parse succeeded with %d specs, want an error\n%s", len(cs), tt.src)
			}
			if cs != nil {
				t.Errorf("Parse returned specs %v with an error, want none", cs)
			}
			for _, e := range Errors(err) {
				if e.Field == tt.wantField && strings.Contains(e.Message, tt.wantMsg) {
					if e.File != "web.yaml" || e.Line == 0 {
						t.Errorf("error %q is not located", e)
					}
					return
				}
			}
			t.Errorf("no error on field %q mentioning %q; got:\n%v", tt.wantField, tt.wantMsg, err)
		})
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		check func(*Container) bool
	}{
		{"another drive root as target", doc(`mounts: [{hostPath: 'D:\x', containerPath: 'D:\'}]`),
			func(c *Container) bool { return c.Spec.Mounts[0].ContainerPath.String() == `D:\` }},
		{"UNC host path", doc(`mounts: [{hostPath: '//fs01/share/data', containerPath: 'C:\data'}]`),
			func(c *Container) bool { return c.Spec.Mounts[0].HostPath.String() == `\\fs01\share\data` }},
		{"long host path", doc(`mounts: [{hostPath: '\\?\D:\data', containerPath: 'C:\data'}]`),
			func(c *Container) bool { return c.Spec.Mounts[0].HostPath.String() == `D:\data` }},
		{"same port on tcp and udp", doc("ports: [{hostPort: 53, containerPort: 53}, {hostPort: 53, containerPort: 53, protocol: udp}]"),
			func(c *Container) bool { return len(c.Spec.Ports) == 2 }},
		{"network none", doc("network: {mode: none}"),
			func(c *Container) bool { return c.Spec.Network.Mode == NetworkNone }},
		{"network shared", doc("network: {mode: 'container:db'}"),
			func(c *Container) bool { return c.Spec.Network.SharedWith() == "db" }},
		{"onVersionMismatch with process", doc("isolation: process", "onVersionMismatch: hyperv"),
			func(c *Container) bool { return c.Spec.OnVersionMismatch == MismatchHyperV }},
		{"empty values leave defaults", doc("isolation:", "mounts:", "env:"),
			func(c *Container) bool { return c.Spec.Isolation == IsolationDefault && c.Spec.Mounts == nil }},
		{"env values of any scalar type", doc("env: {DEBUG: true, N: 3, E: ''}"),
			func(c *Container) bool {
				return c.Spec.Env["DEBUG"] == "true" && c.Spec.Env["N"] == "3" && c.Spec.Env["E"] == ""
			}},
		{"anchors and merge keys", "x-common: &common\n  image: nanoserver:1809\n  env: {A: b}\n" +
			"apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  <<: *common\n  user: u\n",
			nil},
		{"merge keys with own value winning", "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\n" +
			"spec:\n  <<: [{image: 'nanoserver:1809', user: a}]\n  user: b\n",
			func(c *Container) bool { return c.Spec.User == "b" && c.Spec.Image.String() == "nanoserver:1809" }},
		{"both CPU limits with Hyper-V isolation", doc("isolation: hyperv", "resources: {cpuCount: 2, cpuMaximumPercent: 50}"),
			func(c *Container) bool {
				return c.Spec.Resources.CPUCount == 2 && c.Spec.Resources.CPUMaximumPercent == 50
			}},
		{"a host name longer than NetBIOS keeps", doc("hostname: payments-gateway-01"),
			func(c *Container) bool { return c.Spec.Hostname == "payments-gateway-01" }},
		{"a credential spec by name", doc("credentialSpec: webapp01.json"),
			func(c *Container) bool { return c.Spec.CredentialSpec == "webapp01.json" }},
		{"an IPv6 DNS server", doc("network: {dns: ['FD00::0053', 10.1.1.1]}"),
			func(c *Container) bool {
				return len(c.Spec.Network.DNS) == 2 && c.Spec.Network.DNS[0].String() == "fd00::53" && c.Spec.Network.DNS[1].String() == "10.1.1.1"
			}},
		{"cpuMaximumPercent 100", doc("resources: {cpuMaximumPercent: 100}"),
			func(c *Container) bool { return c.Spec.Resources.CPUMaximumPercent == 100 }},
		{"hex int", doc("ports: [{hostPort: 0x1F90, containerPort: 80}]"),
			func(c *Container) bool { return c.Spec.Ports[0].HostPort == 8080 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cs, err := Parse("web.yaml", []byte(tt.src))
			if tt.name == "anchors and merge keys" {
				// x-common is not a field: anchors live inside known fields only.
				if err == nil || !strings.Contains(err.Error(), `unknown field "x-common"`) {
					t.Fatalf("Parse error = %v, want unknown field x-common", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !tt.check(cs[0]) {
				t.Errorf("unexpected result: %+v", cs[0].Spec)
			}
		})
	}
}

func TestParseReportsEveryErrorSortedAndLocated(t *testing.T) {
	src := `apiVersion: isoagent/v1
kind: Container
metadata:
  name: Web
spec:
  image: mcr.microsoft.com/windows/servercore:ltsc2022
  shm_size: 1g
  mounts:
    - {hostPath: 'D:\data\..\x', containerPath: 'C:\'}
  ports:
    - {hostPort: 99999, containerPort: 80}
`
	_, err := Parse("web.yaml", []byte(src))
	var me *multierror.Error
	if !errors.As(err, &me) {
		t.Fatalf("error %T is not a *multierror.Error", err)
	}
	want := `web.yaml:4:9: metadata.name: "Web" is not a valid name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (such as "web")
web.yaml:7:3: spec.shm_size: Windows containers do not support shared memory; remove shm_size
web.yaml:9:18: spec.mounts[0].hostPath: path 'D:\data\..\x' contains a ".." component; write the path without it (it is rejected, not resolved)
web.yaml:9:49: spec.mounts[0].containerPath: C:\ is the container's system drive and cannot be a target; use a folder such as C:\data, or another drive such as D:\
web.yaml:11:18: spec.ports[0].hostPort: 99999 is not a host port; give a number from 1 to 65535`
	if err.Error() != want {
		t.Errorf("error text:\n%s\nwant:\n%s", err, want)
	}
	if n := len(Errors(err)); n != 5 {
		t.Errorf("Errors() has %d entries, want 5", n)
	}
}

// TestParseDoesNotRepeatDecodeErrors pins that a field with a type error
// is not reported again by validation with a confusing second message.
func TestParseDoesNotRepeatDecodeErrors(t *testing.T) {
	tests := []struct{ name, src string }{
		{"bad port type", doc(`ports: [{hostPort: "x", containerPort: 80}]`)},
		{"misspelt required key", doc(`mounts: [{hostpath: 'D:\x', containerPath: 'C:\x'}]`)},
		{"short-form entry", doc(`ports: ["80:80"]`)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("web.yaml", []byte(tt.src))
			if n := len(Errors(err)); n != 1 {
				t.Errorf("got %d errors, want 1:\n%v", n, err)
			}
		})
	}
}

func TestParseSurvivesAliasBombs(t *testing.T) {
	src := "apiVersion: isoagent/v1\nkind: Container\nmetadata: {name: web}\nspec:\n  image: a\n  hosts: &a [x, x, x, x, x, x, x, x, x, x]\n"
	// Build a chain of lists that each repeat the previous one ten times.
	bomb := "a: &l0 [x, x, x, x, x, x, x, x, x, x]\n"
	prev := "l0"
	for i := 1; i < 9; i++ {
		name := "l" + string(rune('0'+i))
		bomb += name + ": &" + name + " [*" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + ", *" + prev + "]\n"
		prev = name
	}
	src = "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\n  labels:\n" + indent(bomb, "    ") + "spec: {image: a, hosts: *" + prev + "}\n"
	_, err := Parse("bomb.yaml", []byte(src))
	if err == nil {
		t.Fatal("Parse of an alias bomb succeeded, want an error")
	}
}

func indent(s, prefix string) string {
	lines := strings.SplitAfter(s, "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "")
}

func TestErrorFormats(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Line: 3, Column: 5, Field: "spec.image", Message: "is required"}, "a.yaml:3:5: spec.image: is required"},
		{Error{File: "a.yaml", Line: 3, Message: "invalid YAML: x"}, "a.yaml:3: invalid YAML: x"},
		{Error{File: "a.yaml", Message: "too big"}, "a.yaml: too big"},
		{Error{Field: "spec.image", Message: "is required"}, "spec.image: is required"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
	if Errors(nil) != nil {
		t.Error("Errors(nil) != nil")
	}
	if es := Errors(errors.New("plain")); len(es) != 1 || es[0].Message != "plain" {
		t.Errorf("Errors(plain) = %v", es)
	}
}

func TestDurationEncodings(t *testing.T) {
	var c struct {
		D Duration `yaml:"d" json:"d"`
	}
	if err := yaml.Unmarshal([]byte("d: 1m30s\n"), &c); err != nil || c.D != Duration(90*time.Second) {
		t.Fatalf("yaml: %v, %v", c.D, err)
	}
	out, _ := yaml.Marshal(c)
	if string(out) != "d: 1m30s\n" {
		t.Errorf("yaml.Marshal = %q", out)
	}
	if err := yaml.Unmarshal([]byte("d: 10\n"), &c); err == nil {
		t.Error("yaml: bare number accepted")
	}
	j, _ := json.Marshal(c)
	if string(j) != `{"d":"1m30s"}` {
		t.Errorf("json.Marshal = %s", j)
	}
	c.D = 0
	if err := json.Unmarshal([]byte(`{"d":"250ms"}`), &c); err != nil || c.D != Duration(250*time.Millisecond) {
		t.Errorf("json: %v, %v", c.D, err)
	}
	if err := json.Unmarshal([]byte(`{"d":5}`), &c); err == nil {
		t.Error("json: number accepted")
	}
}

func TestUnknownKeySuggestions(t *testing.T) {
	known := []string{"image", "command", "mounts", "ports", "restartPolicy", "workingDir"}
	tests := []struct{ key, want string }{
		{"imgae", "image"},
		{"Image", "image"},
		{"mount", "mounts"},
		{"restart_policy", "restartPolicy"},
		{"volumes", "mounts"},
		{"entrypoint", "command"},
		{"xyz", ""},
		{"labels", ""},
	}
	for _, tt := range tests {
		_, got, _ := unknownKeyMessage(tt.key, known)
		if got != tt.want {
			t.Errorf("suggestion for %q = %q, want %q", tt.key, got, tt.want)
		}
	}
}
