package driver

import "github.com/isoagent/isoagent/winbuild"

// OSVersion is the Windows version a host or an image reports. It is
// winbuild.Version, where the rules about builds live; the driver's types
// speak it under this name.
type OSVersion = winbuild.Version
