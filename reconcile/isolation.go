package reconcile

import (
	"fmt"
	"strings"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winbuild"
)

// isolation decides the effective isolation for a spec and image.
func (a *admitter) isolation(s *spec.Spec, img driver.OSVersion) (driver.Isolation, []string, *Rejection) {
	var warnings []string
	host := a.host.OSVersion
	hb := host.Build
	requested := s.Isolation
	if requested == "" || requested == spec.IsolationDefault {
		requested = spec.IsolationProcess
		if a.host.SKU == driver.SKUClient {
			requested = spec.IsolationHyperV
		}
	}
	fallback := s.OnVersionMismatch == spec.MismatchHyperV
	iso := driver.HyperV
	if requested == spec.IsolationProcess {
		switch {
		case a.host.SKU == driver.SKUClient && hb < winbuild.LTSC2019:
			return "", nil, reject(ReasonUnsupported, "spec.isolation", "process isolation on Windows client needs build %s or later; host build is %s; use isolation: hyperv", buildName(winbuild.LTSC2019), buildName(hb))
		case !img.Known():
			if !fallback {
				return "", nil, reject(ReasonVersionMismatch, "spec.image", "the OS build of image %s is unknown, so process isolation on host build %s cannot be checked; use a tag naming the release (for example %s) or isolation: hyperv", s.Image, buildName(hb), releaseOrBuild(hb))
			}
			warnings = append(warnings, fmt.Sprintf("the OS build of image %s is unknown; running it with Hyper-V isolation (onVersionMismatch: hyperv)", s.Image))
		case !winbuild.ProcessCompatible(host, img):
			if !fallback {
				return "", nil, reject(ReasonVersionMismatch, "spec.image", "image build %s cannot run with process isolation on host build %s; use isolation: hyperv or %s", buildName(img.Build), buildName(hb), fixImage(hb))
			}
			warnings = append(warnings, fmt.Sprintf("image build %s cannot run with process isolation on host build %s; running it with Hyper-V isolation (onVersionMismatch: hyperv)", buildName(img.Build), buildName(hb)))
		default:
			iso = driver.Process
			if a.host.SKU == driver.SKUClient {
				warnings = append(warnings, "process isolation on Windows client is for development and testing only")
			}
		}
	}
	if iso == driver.HyperV && a.host.HyperV == driver.Unavailable {
		return "", warnings, a.noHyperV(s, requested == spec.IsolationProcess)
	}
	if iso == driver.HyperV && img.Known() && !winbuild.HyperVCompatible(host, img) {
		return "", warnings, reject(ReasonVersionMismatch, "spec.image", "image build %s is newer than host build %s; Hyper-V isolation cannot run it; use %s or older", buildName(img.Build), buildName(hb), fixImage(hb))
	}
	return iso, warnings, nil
}

func releaseOrBuild(b uint16) string {
	if n := winbuild.ReleaseName(b); n != "" {
		return n
	}
	return fmt.Sprintf("10.0.%d", b)
}

// buildName formats a build for messages: "17763 (ltsc2019)".
func buildName(b uint16) string {
	if n := winbuild.ReleaseName(b); n != "" {
		return fmt.Sprintf("%d (%s)", b, n)
	}
	return fmt.Sprint(b)
}

// fixImage names the image to use instead: "an ltsc2022 image" or "an image
// for build 22621".
func fixImage(b uint16) string {
	if n := winbuild.ReleaseName(b); n != "" {
		art := "a"
		if strings.HasPrefix(n, "ltsc") || strings.HasPrefix(n, "18") {
			art = "an" // "an ltsc2022", "an 1809" (eighteen-oh-nine)
		}
		return fmt.Sprintf("%s %s image", art, n)
	}
	return fmt.Sprintf("an image for build %d", b)
}

// noHyperV is the rejection of a spec that would run with Hyper-V
// isolation on a host without Hyper-V; fellBack says it asked for process
// isolation and onVersionMismatch: hyperv chose Hyper-V.
func (a *admitter) noHyperV(s *spec.Spec, fellBack bool) *Rejection {
	install := "Install-WindowsFeature Hyper-V, then restart the host"
	if a.host.SKU == driver.SKUClient {
		install = "Enable-WindowsOptionalFeature -Online -FeatureName Microsoft-Hyper-V -All, then restart the computer"
	}
	why := "this host cannot run Hyper-V isolated containers"
	if a.host.HyperVDetail != "" {
		why += " (" + a.host.HyperVDetail + ")"
	}
	fix := fmt.Sprintf("install Hyper-V: %s (in a virtual machine, enable nested virtualisation first)", install)
	if fellBack {
		return reject(ReasonUnsupported, "spec.onVersionMismatch",
			"image %s cannot run with process isolation on this host, and the onVersionMismatch: hyperv fallback needs Hyper-V, but %s; %s, or use %s",
			s.Image, why, fix, fixImage(a.host.OSVersion.Build))
	}
	return reject(ReasonUnsupported, "spec.isolation", "Hyper-V isolation needs Hyper-V, but %s; %s, or use isolation: process with %s",
		why, fix, fixImage(a.host.OSVersion.Build))
}
