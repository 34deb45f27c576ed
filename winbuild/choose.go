package winbuild

// Choose picks, from the builds an image comes in (the entries of a
// manifest list), the one a host of build host runs best, and returns its
// index: the host's own build first (its newest revision), then the newest
// build process isolation can run on the host (ProcessCompatible), then
// the newest Hyper-V isolation can run (HyperVCompatible). An unknown
// build (zero) is taken only when no known one fits. ok is false when
// none fits: every build is newer than the host.
//
// It is the rule admission applies to an image's build, so that the entry
// chosen is the one admission admits when any is.
func Choose(host Version, builds []Version) (i int, ok bool) {
	best, rank := -1, 0
	for j, b := range builds {
		r := 0
		switch {
		case !b.Known():
			r = 1
		case b.Major == host.Major && b.Minor == host.Minor && b.Build == host.Build:
			r = 4
		case ProcessCompatible(host, b):
			r = 3
		case HyperVCompatible(host, b):
			r = 2
		default:
			continue
		}
		if r > rank || (r == rank && newer(b, builds[best])) {
			best, rank = j, r
		}
	}
	return best, best >= 0
}

func newer(a, b Version) bool {
	if a.Build != b.Build {
		return a.Build > b.Build
	}
	return a.Revision > b.Revision
}
