package winbuild

import "testing"

func v(build uint16) Version { return Version{Major: 10, Minor: 0, Build: build} }

// The vectors are hcsshim's platform_compat_windows_test.go, plus our own.
func TestProcessCompatible(t *testing.T) {
	tests := []struct {
		name        string
		host, image Version
		want        bool
	}{
		{"2019 runs 2019", v(17763), v(17763), true},
		{"2019 refuses 2022", v(17763), v(20348), false},
		{"2022 refuses 2019", v(20348), v(17763), false},
		{"2022 runs 2022", v(20348), v(20348), true},
		{"win11 22H2 refuses 2019", v(22621), v(17763), false},
		{"win11 22H2 runs 2022", v(22621), v(20348), true},
		{"2025 runs 2022", v(26100), v(20348), true},
		{"2022 refuses 2025", v(20348), v(26100), false},
		{"2022 refuses 22621", v(20348), v(22621), false},
		{"2025 runs 22621", v(26100), v(22621), true},
		// Our own.
		{"2016 runs only 2016", v(14393), v(14393), true},
		{"1809 refuses 1803", v(17763), v(17134), false},
		{"revision does not matter", Version{10, 0, 20348, 2700}, Version{10, 0, 20348, 1}, true},
		{"newer than 2025 host floors at 2025", v(26200), v(20348), false},
		{"newer than 2025 host runs 2025", v(26200), v(26100), true},
		{"major differs", Version{Major: 6, Minor: 3, Build: 20348}, v(20348), false},
		{"image newer than win11 host", v(22000), v(22621), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ProcessCompatible(tt.host, tt.image); got != tt.want {
				t.Errorf("ProcessCompatible(host %s, image %s) = %v, want %v", tt.host, tt.image, got, tt.want)
			}
		})
	}
}

func TestHyperVCompatible(t *testing.T) {
	tests := []struct {
		name        string
		host, image Version
		want        bool
	}{
		{"older image", v(20348), v(17763), true},
		{"same build", v(20348), v(20348), true},
		{"newer image", v(17763), v(20348), false},
		{"2022 refuses 2025", v(20348), v(26100), false},
		{"older major", Version{Major: 10, Build: 100}, Version{Major: 6, Minor: 3, Build: 9600}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := HyperVCompatible(tt.host, tt.image); got != tt.want {
				t.Errorf("HyperVCompatible(host %s, image %s) = %v, want %v", tt.host, tt.image, got, tt.want)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	tests := []struct {
		in      string
		want    Version
		wantErr bool
	}{
		{"10.0.20348", v(20348), false},
		{"10.0.17763.6189", Version{10, 0, 17763, 6189}, false},
		{"10.0", Version{}, true},
		{"10.0.x", Version{}, true},
		{"10.0.0", Version{}, true},
		{"10.0.70000", Version{}, true},
		{"", Version{}, true},
	}
	for _, tt := range tests {
		got, err := ParseVersion(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %v, err %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
	if s := (Version{10, 0, 17763, 6189}).String(); s != "10.0.17763.6189" {
		t.Errorf("String = %q", s)
	}
}
