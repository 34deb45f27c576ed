package winbuild

import "testing"

func TestReleaseNameNamesKnownBuilds(t *testing.T) {
	tests := []struct {
		build uint16
		want  string
	}{
		{14393, "ltsc2016"},
		{16299, "1709"},
		{17134, "1803"},
		{17763, "ltsc2019"},
		{18362, "1903"},
		{18363, "1909"},
		{19041, "2004"},
		{19042, "20H2"},
		{20348, "ltsc2022"},
		{26100, "ltsc2025"},
		{0, ""},
		{22000, ""},
		{12345, ""},
	}
	for _, tt := range tests {
		if got := ReleaseName(tt.build); got != tt.want {
			t.Errorf("ReleaseName(%d) = %q, want %q", tt.build, got, tt.want)
		}
	}
}

// TestReleaseNameRoundTrips pins that every name ReleaseName gives is a tag
// FromTag understands, so messages never name a release the parser rejects.
func TestReleaseNameRoundTrips(t *testing.T) {
	for tok, build := range releaseBuilds {
		name := ReleaseName(build)
		if name == "" {
			t.Errorf("ReleaseName(%d) is empty, but tag %q maps to it", build, tok)
			continue
		}
		if got := FromTag(name); got != build {
			t.Errorf("FromTag(%q) = %d, want %d", name, got, build)
		}
	}
}
