package spec

import (
	"strings"
	"testing"
)

func TestParseImageRefSplitsParts(t *testing.T) {
	const digest = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	tests := []struct {
		in   string
		want ImageRef
	}{
		{"mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
			ImageRef{Registry: "mcr.microsoft.com", Repository: "windows/servercore/iis", Tag: "windowsservercore-ltsc2022"}},
		{"mcr.microsoft.com/windows/nanoserver:ltsc2019",
			ImageRef{Registry: "mcr.microsoft.com", Repository: "windows/nanoserver", Tag: "ltsc2019"}},
		{"nanoserver", ImageRef{Repository: "nanoserver"}},
		{"library/nanoserver:1809", ImageRef{Repository: "library/nanoserver", Tag: "1809"}},
		{"localhost/app:1", ImageRef{Registry: "localhost", Repository: "app", Tag: "1"}},
		{"registry.corp:5000/team/app:2.1-ltsc2022",
			ImageRef{Registry: "registry.corp:5000", Repository: "team/app", Tag: "2.1-ltsc2022"}},
		{"registry.corp:5000/team/app",
			ImageRef{Registry: "registry.corp:5000", Repository: "team/app"}},
		{"mcr.microsoft.com/windows/servercore@" + digest,
			ImageRef{Registry: "mcr.microsoft.com", Repository: "windows/servercore", Digest: digest}},
		{"mcr.microsoft.com/windows/servercore:ltsc2022@" + digest,
			ImageRef{Registry: "mcr.microsoft.com", Repository: "windows/servercore", Tag: "ltsc2022", Digest: digest}},
		{"my_org/my-app__x:v1", ImageRef{Repository: "my_org/my-app__x", Tag: "v1"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseImageRef(tt.in)
			if err != nil {
				t.Fatalf("ParseImageRef(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Errorf("ParseImageRef(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want the input back %q", s, tt.in)
			}
		})
	}
}

func TestParseImageRefRejectsMalformed(t *testing.T) {
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
			_, err := ParseImageRef(tt.in)
			if err == nil {
				t.Fatalf("ParseImageRef(%q) succeeded, want an error", tt.in)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("ParseImageRef(%q) error %q, want it to mention %q", tt.in, err, tt.wantMsg)
			}
		})
	}
}

func TestImageRefBuildFromTag(t *testing.T) {
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
			r, err := ParseImageRef(tt.ref)
			if err != nil {
				t.Fatalf("ParseImageRef(%q): %v", tt.ref, err)
			}
			if got := r.Build(); got != tt.want {
				t.Errorf("Build() of %q = %d, want %d", tt.ref, got, tt.want)
			}
		})
	}
}
