package registry

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const header = "apiVersion: isoagent/v1\nkind: Registries\n"

func TestParseConfig(t *testing.T) {
	c, err := ParseConfig("registries.yaml", []byte(header+`registries:
  - host: Registry.Corp.Example:5000
    username: isoagent
    password: s3cret
    mirrors: [mirror.corp.example]
  - host: index.docker.io
    mirrors: [mirror.gcr.io]
  - host: 10.1.2.3:5000
    insecure: true
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.registry("registry.corp.example:5000"); got.Username != "isoagent" || got.Mirrors[0] != "mirror.corp.example" {
		t.Errorf("registry(registry.corp.example:5000) = %+v", got)
	}
	if got := c.registry("registry-1.docker.io"); got.Host != "docker.io" || got.Mirrors[0] != "mirror.gcr.io" {
		t.Errorf("Docker Hub's entry = %+v", got)
	}
	if !c.registry("10.1.2.3:5000").Insecure || c.registry("registry.corp.example:5000").Insecure {
		t.Error("insecure is not the entry's own")
	}
	if s := c.registry("registry.corp.example:5000").String(); strings.Contains(s, "s3cret") {
		t.Errorf("String shows the password: %s", s)
	}
}

func TestParseConfigRejects(t *testing.T) {
	tests := []struct{ name, body, field, want string }{
		{"unknown key", "registries: [{host: a.example, pasword: x}]", "registries[0].pasword", "did you mean password?"},
		{"URL for a host", "registries: [{host: 'https://a.example'}]", "registries[0].host", "give the host as image references name it, such as a.example"},
		{"no host", "registries: [{username: a, password: b}]", "registries[0].host", "is required"},
		{"username without password", "registries: [{host: a.example, username: a}]", "registries[0].password", "give both or neither"},
		{"twice", "registries: [{host: a.example}, {host: A.example}]", "registries[1].host", "configured already"},
		{"mirror of itself", "registries: [{host: a.example, mirrors: [a.example]}]", "registries[0].mirrors[0]", "the registry itself"},
		{"relative CA", "registries: [{host: a.example, ca: [ca.pem]}]", "registries[0].ca[0]", "not an absolute path"},
		{"a policy", "", "kind", "belongs in the agent's --policy file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := header + tt.body
			if tt.name == "a policy" {
				body = "apiVersion: isoagent/v1\nkind: Policy\n"
			}
			_, err := ParseConfig("registries.yaml", []byte(body))
			if err == nil || !strings.Contains(err.Error(), tt.field+": ") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseConfig: %v; want an error at %s saying %q", err, tt.field, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "registries.yaml:") {
				t.Errorf("the error does not say where: %v", err)
			}
		})
	}
}

// The file's credentials are used only when administrators alone can
// change it.
func TestLoadConfigRefusesAFileOthersCanChange(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows ACL check is adminonly's and runs in its own tests")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "registries.yaml")
	if err := os.WriteFile(p, []byte(header+"registries: [{host: a.example, username: a, password: b}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadConfig(p); err != nil {
		t.Fatalf("LoadConfig of a protected file: %v", err)
	}
	if err := os.Chmod(p, 0o666); err != nil {
		t.Fatal(err)
	}
	_, err := LoadConfig(p)
	if !errors.Is(err, ErrNotProtected) || !strings.Contains(err.Error(), "everyone") {
		t.Errorf("LoadConfig of a file everyone can change: %v, want ErrNotProtected naming everyone", err)
	}
}

// A file with passwords is used only when administrators alone can read
// it; one without may be read by anyone.
func TestLoadConfigRefusesPasswordsOthersCanRead(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the Windows ACL check is adminonly's and runs in its own tests")
	}
	tests := []struct {
		name, body string
		wantErr    bool
	}{
		{"passwords", "registries: [{host: a.example, username: a, password: b}]\n", true},
		{"no passwords", "registries: [{host: a.example, insecure: true}]\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "registries.yaml")
			if err := os.WriteFile(p, []byte(header+tt.body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadConfig(p)
			if tt.wantErr != (err != nil) || (err != nil && (!errors.Is(err, ErrNotProtected) || !strings.Contains(err.Error(), "may read") && !strings.Contains(err.Error(), "can read"))) {
				t.Errorf("LoadConfig of a world-readable file with %s: %v, want an error: %v", tt.name, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "password: b") {
				t.Errorf("the error quotes the password: %v", err)
			}
		})
	}
}
