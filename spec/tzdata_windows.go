package spec

// Windows has no IANA zone database of its own, and a host running the
// agent has no Go installation to take one from: timeZone of a scheduled
// spec is read with the copy embedded here (about 450 kB).
import _ "time/tzdata"
