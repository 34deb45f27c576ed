package winbuild

import (
	"strconv"
	"strings"

	"github.com/Microsoft/hcsshim/osversion"
)

// releaseBuilds maps the release tokens Microsoft uses in Windows image tags
// to OS builds. Only tokens that name exactly one build are listed.
var releaseBuilds = map[string]uint16{
	"ltsc2016": osversion.LTSC2016,
	"1709":     osversion.V1709,
	"1803":     osversion.V1803,
	"ltsc2019": osversion.LTSC2019,
	"1809":     osversion.V1809,
	"1903":     osversion.V1903,
	"1909":     osversion.V1909,
	"2004":     osversion.V2004,
	"20h2":     osversion.V20H2,
	"ltsc2022": osversion.LTSC2022,
	"ltsc2025": osversion.LTSC2025,
}

// releaseNames is the name used in messages for each build of releaseBuilds.
var releaseNames = map[uint16]string{
	osversion.LTSC2016: "ltsc2016",
	osversion.V1709:    "1709",
	osversion.V1803:    "1803",
	osversion.LTSC2019: "ltsc2019",
	osversion.V1903:    "1903",
	osversion.V1909:    "1909",
	osversion.V2004:    "2004",
	osversion.V20H2:    "20H2",
	osversion.LTSC2022: "ltsc2022",
	osversion.LTSC2025: "ltsc2025",
}

// FromTag returns the Windows OS build an image tag says the image is for,
// or 0 when the tag does not say. The tag is split into tokens at '-' and
// '_' and each token is matched whole, case-insensitively, against the
// release names (ltsc2016, 1709, 1803, ltsc2019, 1809, 1903, 1909, 2004,
// 20H2, ltsc2022, ltsc2025) and against full versions 10.0.<build>[.<rev>];
// so windowsservercore-ltsc2022, 6.0-nanoserver-1809 and ltsc2019-amd64 are
// known, while latest, v1809 or ltsc2022x are not. A tag whose tokens name
// two different builds is unknown too: FromTag never guesses.
func FromTag(tag string) uint16 {
	var build uint16
	for _, tok := range strings.FieldsFunc(tag, func(c rune) bool { return c == '-' || c == '_' }) {
		b, ok := releaseBuilds[strings.ToLower(tok)]
		if !ok {
			b, ok = fullVersionBuild(tok)
		}
		if !ok {
			continue
		}
		if build != 0 && build != b {
			return 0
		}
		build = b
	}
	return build
}

// fullVersionBuild returns the build of a token 10.0.<build>[.<rev>].
func fullVersionBuild(tok string) (uint16, bool) {
	rest, ok := strings.CutPrefix(tok, "10.0.")
	if !ok {
		return 0, false
	}
	parts := strings.Split(rest, ".")
	if len(parts) > 2 {
		return 0, false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return 0, false
		}
	}
	b, err := strconv.ParseUint(parts[0], 10, 16)
	if err != nil || b == 0 {
		return 0, false
	}
	return uint16(b), true
}

// ReleaseName returns the name of the Windows release with the given build,
// as image tags spell it ("ltsc2019", "ltsc2022", "20H2", ...), or "" when
// the build is not one of the releases FromTag knows. It is meant for
// messages: "image build 17763 (ltsc2019)".
func ReleaseName(build uint16) string {
	return releaseNames[build]
}
