package winbuild

import "testing"

func TestChoosePrefersTheHostsBuildThenTheNewestCompatible(t *testing.T) {
	v := func(build uint16, rev uint32) Version { return Version{Major: 10, Build: build, Revision: rev} }
	list := []Version{v(LTSC2019, 6189), v(LTSC2022, 2655), v(LTSC2025, 3000)}
	tests := []struct {
		name   string
		host   Version
		builds []Version
		want   int
		ok     bool
	}{
		{"2019 host takes its own build", v(LTSC2019, 1), list, 0, true},
		{"2022 host takes its own build", v(LTSC2022, 1), list, 1, true},
		{"2025 host takes its own build", v(LTSC2025, 1), list, 2, true},
		{"2025 host without a 2025 variant takes 2022", v(LTSC2025, 1), list[:2], 1, true},
		{"Windows 11 22H2 takes 2022 over 2019", v(22621, 1), list[:2], 1, true},
		{"2022 host with only 2019 takes it, for Hyper-V", v(LTSC2022, 1), list[:1], 0, true},
		{"2019 host with only newer builds has none", v(LTSC2019, 1), list[1:], -1, false},
		{"newest revision of the host's build", v(LTSC2022, 1), []Version{v(LTSC2022, 100), v(LTSC2022, 2655), v(LTSC2022, 900)}, 1, true},
		{"an unknown build only when nothing else fits", v(LTSC2019, 1), []Version{{}, v(LTSC2022, 1)}, 0, true},
		{"a known build over an unknown one", v(LTSC2022, 1), []Version{{}, v(LTSC2019, 1)}, 1, true},
		{"no builds", v(LTSC2022, 1), nil, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := Choose(tt.host, tt.builds)
			if got != tt.want || ok != tt.ok {
				t.Errorf("Choose(%v, %v) = %d, %v; want %d, %v", tt.host, tt.builds, got, ok, tt.want, tt.ok)
			}
		})
	}
}
