package imageref

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseSplitsParts(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in   string
		want Ref
	}{
		{"mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
			Ref{Registry: "mcr.microsoft.com", Repository: "windows/servercore/iis", Tag: "windowsservercore-ltsc2022"}},
		{"mcr.microsoft.com/windows/nanoserver:ltsc2019",
			Ref{Registry: "mcr.microsoft.com", Repository: "windows/nanoserver", Tag: "ltsc2019"}},
		{"nanoserver", Ref{Repository: "nanoserver"}},
		{"library/nanoserver:1809", Ref{Repository: "library/nanoserver", Tag: "1809"}},
		{"localhost/app:1", Ref{Registry: "localhost", Repository: "app", Tag: "1"}},
		{"registry.corp:5000/team/app:2.1-ltsc2022",
			Ref{Registry: "registry.corp:5000", Repository: "team/app", Tag: "2.1-ltsc2022"}},
		{"registry.corp:5000/team/app",
			Ref{Registry: "registry.corp:5000", Repository: "team/app"}},
		{"mcr.microsoft.com/windows/servercore@" + digest,
			Ref{Registry: "mcr.microsoft.com", Repository: "windows/servercore", Digest: digest}},
		{"mcr.microsoft.com/windows/servercore:ltsc2022@" + digest,
			Ref{Registry: "mcr.microsoft.com", Repository: "windows/servercore", Tag: "ltsc2022", Digest: digest}},
		{"my_org/my-app__x:v1", Ref{Repository: "my_org/my-app__x", Tag: "v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want the input back %q", s, tt.in)
			}
		})
	}
}

func TestParseRejectsMalformed(t *testing.T) {
	tests := []struct {
		in      string
		wantMsg string
	}{
		{"", "empty"},
		{" nanoserver", "white space"},
		{"Windows/ServerCore:ltsc2022", "lower case"},
		{"mcr.microsoft.com/windows/servercore:", "tag after ':' is empty"},
		{"mcr.microsoft.com/:ltsc2022", "missing"},
		{"mcr.microsoft.com//servercore", "empty path component"},
		{"repo:-bad", "tag"},
		{"repo:bad/tag", "port"}, // a '/' after ':' makes "repo:bad" a registry
		{"repo@sha256:abc", "64"},
		{"repo@sha256", "algorithm:hex"},
		{"repo@sha256:XYZ0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab", "hex"},
		{"registry.corp:99999/app", "port"},
		{"-registry.corp/app", "host name"},
		{"app-", "may hold only"},
		{"a..b", "may hold only"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error", tt.in)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Parse(%q) error %q, want it to mention %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestRefBuildFromTag(t *testing.T) {
	tests := []struct {
		ref  string
		want uint16
	}{
		{"mcr.microsoft.com/windows/servercore:ltsc2016", 14393},
		{"mcr.microsoft.com/windows/servercore:1709", 16299},
		{"mcr.microsoft.com/windows/servercore:1803", 17134},
		{"mcr.microsoft.com/windows/servercore:ltsc2019", 17763},
		{"mcr.microsoft.com/windows/nanoserver:1809", 17763},
		{"mcr.microsoft.com/windows/servercore:1903", 18362},
		{"mcr.microsoft.com/windows/servercore:1909", 18363},
		{"mcr.microsoft.com/windows/servercore:2004", 19041},
		{"mcr.microsoft.com/windows/servercore:20H2", 19042},
		{"mcr.microsoft.com/windows/servercore:20h2", 19042},
		{"mcr.microsoft.com/windows/servercore:ltsc2022", 20348},
		{"mcr.microsoft.com/windows/servercore:LTSC2022", 20348},
		{"mcr.microsoft.com/windows/server:ltsc2025", 26100},
		{"mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022", 20348},
		{"mcr.microsoft.com/dotnet/runtime:6.0-nanoserver-1809", 17763},
		{"mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2019", 17763},
		{"corp/app:ltsc2019-amd64", 17763},
		{"corp/app:ltsc2022_amd64", 20348},
		{"mcr.microsoft.com/windows/servercore:10.0.17763.5933", 17763},
		{"mcr.microsoft.com/windows/servercore:10.0.20348", 20348},
		{"corp/app:1.2-10.0.20348.2527-amd64", 20348},
		{"corp/app:ltsc2022-10.0.20348.1", 20348}, // two tokens, same build
		// Unknown: the tag does not say, or says it ambiguously.
		{"mcr.microsoft.com/windows/servercore", 0},
		{"mcr.microsoft.com/windows/servercore:latest", 0},
		{"corp/app:v1809", 0},
		{"corp/app:ltsc2022x", 0},
		{"corp/app:xltsc2022", 0},
		{"corp/app:ltsc2019-ltsc2022", 0},
		{"corp/app:10.0.99999", 0},
		{"corp/app:10.0.0", 0},
		{"corp/app:10.0.20348.1.2", 0},
		{"corp/app:10.0.", 0},
		{"corp/app:110.0.20348", 0},
		{"corp/app:1.18090", 0},
		{"corp/app:2019", 0},
		{"corp/app@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 0},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			r, err := Parse(tt.ref)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.ref, err)
			}
			if got := r.Build(); got != tt.want {
				t.Errorf("Build() of %q = %d, want %d", tt.ref, got, tt.want)
			}
		})
	}
}

func TestCanonical(t *testing.T) {
	tests := map[string]string{
		"nginx":                         "docker.io/library/nginx",
		"nginx:1.25":                    "docker.io/library/nginx:1.25",
		"docker.io/nginx":               "docker.io/library/nginx",
		"index.docker.io/library/nginx": "docker.io/library/nginx",
		"Docker.IO/acme/app:v1":         "docker.io/acme/app:v1",
		"acme/app":                      "docker.io/acme/app",
		"mcr.microsoft.com/windows/nanoserver:ltsc2022": "mcr.microsoft.com/windows/nanoserver:ltsc2022",
		"MCR.microsoft.com/windows/servercore":          "mcr.microsoft.com/windows/servercore",
		"localhost:5000/app":                            "localhost:5000/app",
	}
	for in, want := range tests {
		r, err := Parse(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := r.Canonical(); got != want {
			t.Errorf("Canonical() of %s = %s, want %s", in, got, want)
		}
	}
}

// TestDockerKeys pins the keys Docker's repositories.json files a
// reference under (moby's reference store: familiar names, latest by
// default, a digest over a tag).
func TestDockerKeys(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct{ ref, name, key string }{
		{"nanoserver", "nanoserver", "nanoserver:latest"},
		{"library/nginx:1.25", "nginx", "nginx:1.25"},
		{"docker.io/library/nginx", "nginx", "nginx:latest"},
		{"index.docker.io/acme/app:v1", "acme/app", "acme/app:v1"},
		{"registry-1.docker.io/library/app:2", "app", "app:2"},
		{"mcr.microsoft.com/windows/servercore:ltsc2022", "mcr.microsoft.com/windows/servercore", "mcr.microsoft.com/windows/servercore:ltsc2022"},
		{"localhost:5000/app", "localhost:5000/app", "localhost:5000/app:latest"},
		{"mcr.microsoft.com/windows/servercore:ltsc2022@" + digest, "mcr.microsoft.com/windows/servercore", "mcr.microsoft.com/windows/servercore@" + digest},
	}
	for _, tt := range tests {
		name, key := MustParse(tt.ref).DockerKeys()
		if name != tt.name || key != tt.key {
			t.Errorf("DockerKeys() of %s = %q, %q; want %q, %q", tt.ref, name, key, tt.name, tt.key)
		}
	}
}

// TestRefText pins that a Ref travels as the text it was parsed from, in
// JSON (configs, state files) as in any encoding.TextMarshaler user, and
// that the zero Ref is empty text both ways.
func TestRefText(t *testing.T) {
	const in = "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"
	b, err := json.Marshal(struct{ Image Ref }{MustParse(in)})
	if err != nil || string(b) != `{"Image":"`+in+`"}` {
		t.Fatalf("json.Marshal = %s, %v", b, err)
	}
	var back struct{ Image Ref }
	if err := json.Unmarshal(b, &back); err != nil || back.Image != MustParse(in) {
		t.Errorf("json.Unmarshal = %+v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`{"Image":""}`), &back); err != nil || !back.Image.IsZero() {
		t.Errorf("empty text read back as %+v, %v; want the zero Ref", back.Image, err)
	}
	if err := json.Unmarshal([]byte(`{"Image":"UPPER/case"}`), &back); err == nil {
		t.Error("a reference that does not parse was read back")
	}
	if b, _ := (Ref{}).MarshalText(); len(b) != 0 {
		t.Errorf("the zero Ref marshals to %q", b)
	}
}
