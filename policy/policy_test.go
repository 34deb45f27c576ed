package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

func TestParseNormalisesEveryEntry(t *testing.T) {
	src := `apiVersion: isoagent/v1
kind: Policy
isolation: [process, hyperv]
imageIsolation:
  - images: ['docker.io/*']
    isolation: [hyperv]
mounts:
  - {path: 'd:/data/', readOnly: true}
  - {path: '\\?\UNC\fs01\share\web'}
pipes: ['//./PIPE/metrics-*']
ports: ['8000-8999/tcp', '53/UDP', ' 9000 / tcp']
devices: ['{5b45201d-f2f2-4f3b-85bb-30ff1f953599}']
networkSharing: true
credentialSpecs: [webapp01.json, 'CORP_batch.json']
`
	p, err := Parse("policy.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	want := &Policy{
		APIVersion:      spec.APIVersion,
		Kind:            Kind,
		Isolation:       []spec.Isolation{spec.IsolationProcess, spec.IsolationHyperV},
		ImageIsolation:  []ImageIsolation{{Images: []string{"docker.io/*"}, Isolation: []spec.Isolation{spec.IsolationHyperV}}},
		Mounts:          []MountRule{{Path: winpath.MustParse(`D:\data`), ReadOnly: true}, {Path: winpath.MustParse(`\\fs01\share\web`)}},
		Pipes:           []winpath.Pipe{winpath.MustParsePipe(`\\.\pipe\metrics-*`)},
		Ports:           []string{"8000-8999/tcp", "53/udp", "9000/tcp"},
		Devices:         []string{"5B45201D-F2F2-4F3B-85BB-30FF1F953599"},
		NetworkSharing:  true,
		CredentialSpecs: []string{"webapp01.json", "CORP_batch.json"},
		File:            "policy.yaml",
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("got  %+v\nwant %+v", p, want)
	}
}

func TestParseMinimalAllowsNothing(t *testing.T) {
	p, err := Parse("p.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\n"))
	if err != nil {
		t.Fatal(err)
	}
	if p.Isolation != nil || p.Mounts != nil || p.Pipes != nil || p.Ports != nil || p.Devices != nil || p.NetworkSharing || p.CredentialSpecs != nil {
		t.Errorf("a policy that lists nothing has entries: %+v", p)
	}
}

// TestParseErrors pins every located error a policy file can give.
// Each case's want is the whole error text: file:line:col: field: message.
func TestParseErrors(t *testing.T) {
	const head = "apiVersion: isoagent/v1\nkind: Policy\n"
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"empty file", "", []string{"p.yaml: the policy file is empty; write apiVersion: isoagent/v1 and kind: Policy (a policy that lists nothing allows nothing)"}},
		{"comments only", "# nothing\n", []string{"p.yaml: the policy file is empty"}},
		{"missing apiVersion and kind", "mounts: []\n", []string{
			"p.yaml:1:1: apiVersion: is missing; add apiVersion: isoagent/v1",
			"p.yaml:1:1: kind: is missing; add kind: Policy",
		}},
		{"a container spec", "apiVersion: isoagent/v1\nkind: Container\n", []string{
			"p.yaml:2:7: kind: a Container belongs in the spec folder, not in the policy file; write kind: Policy here",
		}},
		{"two documents", head + "---\n" + head, []string{
			"p.yaml:4:1: a policy file holds one Policy document; merge this document into the first",
		}},
		{"unknown field with suggestion", head + "mount: []\n", []string{`p.yaml:3:1: mount: unknown field "mount"; did you mean mounts?`}},
		{"unknown field in a mount", head + "mounts:\n  - {path: 'D:\\data', readonly: true}\n", []string{
			`p.yaml:4:23: mounts[0].readonly: unknown field "readonly"; did you mean readOnly?`,
		}},
		{"invalid YAML", head + "mounts: [\n", []string{"p.yaml:3: invalid YAML"}},
		{"mount written as a string", head + "mounts: ['D:\\data']\n", []string{
			"p.yaml:3:10: mounts[0]: must be a mapping such as {path: 'D:\\data', readOnly: true}",
		}},
		{"mount glob", head + "mounts: [{path: 'D:\\data\\*'}]\n", []string{
			`p.yaml:3:17: mounts[0].path: 'D:\data\*': mount entries are folder prefixes, not globs`,
		}},
		{"mount with ..", head + "mounts: [{path: 'D:\\data\\..\\Windows'}]\n", []string{
			`p.yaml:3:17: mounts[0].path: path 'D:\data\..\Windows' contains a ".." component`,
		}},
		{"relative mount", head + "mounts: [{path: 'data'}]\n", []string{`mounts[0].path: path 'data' is relative`}},
		{"mount without path", head + "mounts: [{readOnly: true}]\n", []string{`p.yaml:3:10: mounts[0].path: is required`}},
		{"device path mount", head + "mounts: [{path: '\\\\.\\C:\\'}]\n", []string{`mounts[0].path: path '\\.\C:\' is a device path`}},
		{"readOnly not a bool", head + "mounts: [{path: 'D:\\x', readOnly: yes}]\n", []string{`p.yaml:3:35: mounts[0].readOnly: must be true or false, not the string "yes"`}},
		{"port without protocol", head + "ports: ['8080']\n", []string{`p.yaml:3:9: ports[0]: "8080" needs its protocol: write 8080/tcp or 8080/udp`}},
		{"port as a number", head + "ports: [8080]\n", []string{`ports[0]: "8080" needs its protocol`}},
		{"port 0", head + "ports: ['0/tcp']\n", []string{`ports[0]: "0/tcp": port 0 is not from 1 to 65535`}},
		{"port too large", head + "ports: ['1-70000/tcp']\n", []string{`port 70000 is not from 1 to 65535`}},
		{"reversed range", head + "ports: ['9000-8000/tcp']\n", []string{`"9000-8000/tcp": the range ends before it starts; write 8000-9000/tcp`}},
		{"bad protocol", head + "ports: ['80/sctp']\n", []string{`protocol "sctp" is not tcp or udp`}},
		{"not a port", head + "ports: ['http/tcp']\n", []string{`"http" is not a port number`}},
		{"remote pipe", head + "pipes: ['\\\\host\\pipe\\x']\n", []string{`pipes[0]: pipe '\\host\pipe\x' is on another machine`}},
		{"pipe without prefix", head + "pipes: ['metrics']\n", []string{`pipes[0]: pipe 'metrics' must be a local named pipe such as \\.\pipe\metrics`}},
		{"bad GUID", head + "devices: ['gpu']\n", []string{`p.yaml:3:11: devices[0]: "gpu" is not a GUID`}},
		{"default isolation", head + "isolation: [default]\n", []string{`isolation[0]: the policy restricts the effective isolation`}},
		{"hyper-v spelling", head + "isolation: [Hyper-V]\n", []string{`isolation[0]: "Hyper-V" is spelled hyperv here`}},
		{"unknown isolation", head + "isolation: [proces]\n", []string{`isolation[0]: "proces" is not one of process, hyperv; did you mean process?`}},
		{"empty isolation list", head + "isolation: []\n", []string{`p.yaml:3:12: isolation: lists no isolation mode`}},
		{"isolation as a string", head + "isolation: hyperv\n", []string{`p.yaml:3:12: isolation: must be a list, not the string "hyperv"; write ["hyperv"]`}},
		{"image rule without images", head + "imageIsolation: [{isolation: [hyperv]}]\n", []string{`imageIsolation[0].images: is required`}},
		{"image rule without isolation", head + "imageIsolation: [{images: ['x/*']}]\n", []string{`imageIsolation[0].isolation: is required`}},
		{"image pattern with a class", head + "imageIsolation: [{images: ['x/[ab]'], isolation: [hyperv]}]\n", []string{`only * and ? are wildcards here`}},
		{"networkSharing not a bool", head + "networkSharing: 1\n", []string{`networkSharing: must be true or false, not the number 1`}},
		{"credential spec by path", head + "credentialSpecs: ['..\\x.json']\n", []string{`p.yaml:3:19: credentialSpecs[0]: '..\x.json' is a path`}},
		{"credential spec glob", head + "credentialSpecs: ['*.json']\n", []string{`credentialSpecs[0]: "*.json": credential specs are listed by name, not by pattern`}},
		{"credential specs as a string", head + "credentialSpecs: webapp01.json\n", []string{`credentialSpecs: must be a list`}},
		{"wrong apiVersion", "apiVersion: v1\nkind: Policy\n", []string{`p.yaml:1:13: apiVersion: "v1" is not supported; write apiVersion: isoagent/v1`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Parse("p.yaml", []byte(tt.src))
			if err == nil {
				t.Fatalf("no error; got %+v", p)
			}
			if p != nil {
				t.Errorf("an invalid policy was returned: %+v", p)
			}
			got := spec.Errors(err)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%v", len(got), len(tt.want), err)
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(got[i].Error(), w) && !strings.Contains(got[i].Error(), w) {
					t.Errorf("error %d is\n  %s\nwant it to contain\n  %s", i, got[i], w)
				}
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("a valid file", func(t *testing.T) {
		p, err := Load(write("ok.yaml", "apiVersion: isoagent/v1\nkind: Policy\nports: ['80/tcp']\n"))
		if err != nil {
			t.Fatal(err)
		}
		if p.File != filepath.Join(dir, "ok.yaml") || len(p.Ports) != 1 {
			t.Errorf("got %+v", p)
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.yaml"))
		if err == nil || !strings.Contains(err.Error(), "cannot read the policy file") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("a file too large", func(t *testing.T) {
		_, err := Load(write("big.yaml", "apiVersion: isoagent/v1\nkind: Policy\n#"+strings.Repeat("x", MaxSize)+"\n"))
		if err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("got %v", err)
		}
	})
	t.Run("errors name the file", func(t *testing.T) {
		path := write("bad.yaml", "apiVersion: isoagent/v1\nkind: Policy\nports: ['x']\n")
		_, err := Load(path)
		if err == nil || !strings.HasPrefix(err.Error(), path+":3:9: ports[0]: ") {
			t.Errorf("got %v", err)
		}
	})
}

func TestParsePortRange(t *testing.T) {
	r, err := ParsePortRange("8000-8999/tcp")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		port  int
		proto string
		want  bool
	}{
		{8000, "tcp", true}, {8999, "tcp", true}, {8500, "TCP", true},
		{7999, "tcp", false}, {9000, "tcp", false}, {8080, "udp", false}, {0, "tcp", false},
	} {
		if got := r.Contains(tt.port, tt.proto); got != tt.want {
			t.Errorf("%s contains %d/%s = %v, want %v", r, tt.port, tt.proto, got, tt.want)
		}
	}
}

func TestMountRuleStringIsValidPolicyYAML(t *testing.T) {
	for _, r := range []MountRule{{Path: winpath.MustParse(`D:\sites\web`), ReadOnly: true}, {Path: winpath.MustParse(`\\fs01\share`)}, {Path: winpath.MustParse(`D:\it's`)}} {
		src := "apiVersion: isoagent/v1\nkind: Policy\nmounts: [" + r.String() + "]\n"
		p, err := Parse("p.yaml", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if len(p.Mounts) != 1 || p.Mounts[0] != r {
			t.Errorf("%s read back as %+v", r, p.Mounts)
		}
	}
}

func TestOpen(t *testing.T) {
	t.Run("no file allows nothing", func(t *testing.T) {
		p, pc, err := Open("")
		if err != nil || p != nil || pc == nil {
			t.Fatalf("Open(\"\") = %v, %v, %v; want no policy and a deny-all checker", p, pc, err)
		}
		if pc.File() != "" {
			t.Errorf("checker of no file names %q", pc.File())
		}
	})
	t.Run("a file that does not load", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "policy.yaml")
		if err := os.WriteFile(path, []byte("apiVersion: isoagent/v1\nkind: Policy\nmount: []\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := Open(path)
		if err == nil || !strings.HasPrefix(err.Error(), "policy file "+path+" is not usable:\n") || len(spec.Errors(err)) != 1 {
			t.Errorf("Open = %v, want an error naming the file with its one problem", err)
		}
	})
}
