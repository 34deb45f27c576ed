package driver

// Op names a method of Driver. Calls are reported under these names in
// metrics (one series each) and faults are injected by them (driver/sim).
type Op string

// Driver operations, one per method of Driver.
const (
	OpHost   Op = "host"
	OpImage  Op = "image"
	OpList   Op = "list"
	OpCreate Op = "create"
	OpStart  Op = "start"
	OpStop   Op = "stop"
	OpRemove Op = "remove"
)

// Ops returns every Op, in the order of the Driver methods.
func Ops() []Op { return []Op{OpHost, OpImage, OpList, OpCreate, OpStart, OpStop, OpRemove} }

// Isolations returns every effective Isolation.
func Isolations() []Isolation { return []Isolation{Process, HyperV} }

// SKUs returns every SKU.
func SKUs() []SKU { return []SKU{SKUServer, SKUClient} }

// Names returns the names of the drivers (NameSim, NameHCS).
func Names() []string { return []string{NameSim, NameHCS} }
