package winbuild

import "github.com/Microsoft/hcsshim/osversion"

// Windows builds that matter for isolation rules, from hcsshim's osversion
// constants (which compile on every OS).
const (
	LTSC2019 = osversion.LTSC2019 // 17763, the oldest build isoagent supports
	LTSC2022 = osversion.LTSC2022 // 20348, from which process isolation tolerates older images
	LTSC2025 = osversion.LTSC2025 // 26100
)

// ProcessCompatible reports whether an image built for image can run with
// process isolation on host. It is hcsshim's
// osversion.CheckHostAndContainerCompat, which only compiles on Windows:
// major and minor must match; before Windows Server 2022 the builds must be
// equal; from 2022 on the image may range from the newest LTSC build below
// the host's up to the host's own build.
func ProcessCompatible(host, image Version) bool {
	if host.Major != image.Major || host.Minor != image.Minor {
		return false
	}
	if host.Build < LTSC2022 {
		return host.Build == image.Build
	}
	supported := uint16(LTSC2022)
	for _, b := range []uint16{LTSC2022, LTSC2025} {
		if b < host.Build {
			supported = b
		}
	}
	return supported <= image.Build && image.Build <= host.Build
}

// HyperVCompatible reports whether an image built for image can run with
// Hyper-V isolation on host: the image must not be newer than the host.
func HyperVCompatible(host, image Version) bool {
	if image.Major != host.Major {
		return image.Major < host.Major
	}
	if image.Minor != host.Minor {
		return image.Minor < host.Minor
	}
	return image.Build <= host.Build
}
