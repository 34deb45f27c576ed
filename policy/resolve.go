package policy

import (
	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/winpath"
)

// A Resolver tells which folder a host path really is. It is the optional
// ability of a driver that sees the host's file system (the hcs driver on
// Windows).
//
// ResolvePath returns p with every junction, symbolic link and mount point
// in it resolved; when the tail of p does not exist yet, it resolves the
// part that exists and keeps the rest as written. It names the folder as
// Windows does: normalised as winpath normalises it when winpath can parse
// it, else as Windows gave it (a volume without a drive letter,
// \\?\Volume{GUID}\...), which no policy allows. An error makes the policy
// refuse the mount: a folder that cannot be resolved cannot be checked.
type Resolver interface {
	ResolvePath(p winpath.Path) (string, error)
}

// ResolverOf returns drv's ability to tell where a mount really leads, or
// nil when it has none (the sim).
func ResolverOf(drv driver.Driver) Resolver {
	if r, ok := drv.(Resolver); ok {
		return r
	}
	return nil
}

// Leads holds where the host folders of one config's mounts really lead,
// as ResolveMounts found out, for Check. The zero Leads knows nothing:
// Check then compares host folders as written, as it must where nothing
// resolves paths (the sim, validate).
type Leads struct {
	mounts []lead // by mount index
}

// lead is where one mount's host folder leads.
type lead struct {
	real     string       // the resolver's answer
	path     winpath.Path // real, parsed; zero when err or parseErr is set
	err      error        // why the resolver could not tell
	parseErr error        // why real is no path winpath parses
}

// of returns the lead of mount i, or nil when it is not known.
func (l Leads) of(i int) *lead {
	if i >= len(l.mounts) {
		return nil
	}
	return &l.mounts[i]
}

// ResolveMounts asks r where the host folder of each mount of cfg really
// leads and records it in the mount's ResolvedPath, zero when the folder
// is its host path itself or cannot be told, so that the driver maps
// exactly what Check checks. The Leads it returns are for Check on the
// same cfg. A nil r resolves nothing and returns the zero Leads (and
// every ResolvedPath zero).
//
// Resolving reads the host's file system, through r; it is kept apart
// from Check so that the check itself is pure.
func ResolveMounts(r Resolver, cfg *driver.Config) Leads {
	for i := range cfg.Mounts {
		cfg.Mounts[i].ResolvedPath = winpath.Path{}
	}
	if r == nil {
		return Leads{}
	}
	leads := Leads{mounts: make([]lead, len(cfg.Mounts))}
	for i := range cfg.Mounts {
		m := &cfg.Mounts[i]
		l := &leads.mounts[i]
		if l.real, l.err = r.ResolvePath(m.HostPath); l.err != nil {
			continue
		}
		if l.path, l.parseErr = winpath.Parse(l.real); l.parseErr != nil {
			continue
		}
		if !winpath.Equal(l.path, m.HostPath) {
			m.ResolvedPath = l.path
		}
	}
	return leads
}
