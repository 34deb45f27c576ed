package winbuild

import (
	"fmt"
	"strconv"
	"strings"
)

// Version is a Windows version, major.minor.build.revision, as a host or an
// image's config reports it. The zero value means unknown.
type Version struct {
	Major    uint8  `json:"major"`
	Minor    uint8  `json:"minor"`
	Build    uint16 `json:"build"`
	Revision uint32 `json:"revision,omitempty"`
}

// Known reports whether v is set.
func (v Version) Known() bool { return v.Build != 0 }

// String formats v as 10.0.20348 or 10.0.20348.587, and "unknown" for the
// zero value.
func (v Version) String() string {
	if !v.Known() {
		return "unknown"
	}
	s := fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build)
	if v.Revision != 0 {
		s += "." + strconv.FormatUint(uint64(v.Revision), 10)
	}
	return s
}

// ParseVersion parses "10.0.20348" or "10.0.20348.587".
func ParseVersion(s string) (Version, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 && len(parts) != 4 {
		return Version{}, fmt.Errorf("OS version %q: want major.minor.build[.revision]", s)
	}
	var n [4]uint64
	bits := [4]int{8, 8, 16, 32}
	for i, p := range parts {
		v, err := strconv.ParseUint(p, 10, bits[i])
		if err != nil {
			return Version{}, fmt.Errorf("OS version %q: %w", s, err)
		}
		n[i] = v
	}
	v := Version{Major: uint8(n[0]), Minor: uint8(n[1]), Build: uint16(n[2]), Revision: uint32(n[3])}
	if !v.Known() {
		return Version{}, fmt.Errorf("OS version %q: build must not be 0", s)
	}
	return v, nil
}
