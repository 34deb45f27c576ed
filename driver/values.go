package driver

import (
	"fmt"
	"slices"
	"strings"
)

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

// ParseSKU returns the SKU named s, one of SKUs, or an error that lists
// them.
func ParseSKU(s string) (SKU, error) {
	if k := SKU(s); slices.Contains(SKUs(), k) {
		return k, nil
	}
	names := make([]string, len(SKUs()))
	for i, k := range SKUs() {
		names[i] = string(k)
	}
	return "", fmt.Errorf("SKU %q: want %s or %s", s, strings.Join(names[:len(names)-1], ", "), names[len(names)-1])
}

// Names returns the names of the drivers (NameSim, NameHCS).
func Names() []string { return []string{NameSim, NameHCS} }
