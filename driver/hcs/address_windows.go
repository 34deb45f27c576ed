//go:build windows

package hcs

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/isoagent/isoagent/driver"
)

var _ driver.Addresser = (*Driver)(nil)

// Address implements driver.Addresser: the IP address HNS gave the NAT
// endpoint of container id's current run (see createEndpoint), with port.
// The host reaches it directly, without a port mapping. A container that
// does not run has no endpoint, nor one of network mode none; one that
// shares another's network has that one's endpoint, which it does not
// name, and wraps ErrInvalidState too.
func (d *Driver) Address(ctx context.Context, id string, port int) (netip.AddrPort, error) {
	if err := ctx.Err(); err != nil {
		return netip.AddrPort{}, err
	}
	eps, err := listEndpoints()
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address of %s: %w", id, err)
	}
	for _, ep := range eps {
		if ep.Name != endpointName(id) {
			continue
		}
		a, ok := netip.AddrFromSlice(ep.IPAddress)
		if !ok || !a.Unmap().IsValid() || a.IsUnspecified() {
			return netip.AddrPort{}, fmt.Errorf("address of %s: HNS endpoint %s has no IP address yet: %w", id, ep.Id, driver.ErrInvalidState)
		}
		return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
	}
	return netip.AddrPort{}, fmt.Errorf("address of %s: no HNS endpoint %s (the container does not run, has no network, or shares another's): %w", id, endpointName(id), driver.ErrInvalidState)
}
