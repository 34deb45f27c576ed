//go:build windows

package hcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/Microsoft/hcsshim"
	"golang.org/x/sys/windows"

	"github.com/isoagent/isoagent/driver"
)

// Endpoints are made with HNS's v1 API (hcsshim.HNSEndpoint and its NAT
// policy), as dockerd's nat driver and the CNI plugins for dockerd make
// theirs: a v1 compute system's EndpointList takes v1 endpoints in every
// production stack, while HCN v2 endpoints go with v2 compute systems and
// their network namespaces (hcsshim's hcsoci, containerd). The v1 API
// reports failures as text only, so the driver tells a port conflict by
// looking: at the ports the other endpoints map, and at the host.
//
// An endpoint lasts one run of a container: dockerd deletes every endpoint
// on a NAT network it adopts when it starts, Windows Server 2019 does not
// keep NAT networks across a reboot (moby#38358) and an HNS restart drops
// endpoints, so the driver makes one at each start and deletes it when the
// init process exits, as moby does per start (daemon/start.go).

// endpointName is the deterministic name of a container's endpoint, so an
// endpoint left by a crash is found again.
func endpointName(id string) string { return "isoagent-" + id }

// endpointKey is how endpoint IDs compare: HNS prints them in either case.
func endpointKey(id string) string { return strings.ToUpper(id) }

// listEndpoints returns HNS's endpoints by endpointKey.
func listEndpoints() (map[string]hcsshim.HNSEndpoint, error) {
	eps, err := hcsshim.HNSListEndpointRequest()
	if err != nil {
		return nil, fmt.Errorf("list HNS endpoints: %s", err.Error())
	}
	m := make(map[string]hcsshim.HNSEndpoint, len(eps))
	for _, ep := range eps {
		m[endpointKey(ep.Id)] = ep
	}
	return m, nil
}

// createEndpoint creates the NAT endpoint of cfg, with its port mappings,
// for one run of the container, and returns its ID.
func (d *Driver) createEndpoint(cfg driver.Config) (string, error) {
	network, err := hcsshim.GetHNSNetworkByName(d.network)
	if err != nil {
		var nf hcsshim.NetworkNotFoundError
		if errors.As(err, &nf) {
			return "", fmt.Errorf("endpoint for %s: HNS network %q not found (Docker creates it; without Docker create a NAT network named %q): %w", cfg.ID, d.network, d.network, driver.ErrUnavailable)
		}
		return "", fmt.Errorf("endpoint for %s: HNS network %q: %s", cfg.ID, d.network, err.Error())
	}
	eps, err := listEndpoints()
	if err != nil {
		return "", fmt.Errorf("endpoint for %s: %w", cfg.ID, err)
	}
	for _, ep := range eps {
		if ep.Name == endpointName(cfg.ID) {
			// Left by an earlier run the driver did not see end.
			if err := deleteEndpoint(ep.Id); err != nil {
				return "", fmt.Errorf("endpoint for %s: delete its stale endpoint: %w", cfg.ID, err)
			}
			continue
		}
		if p, ok := mapsPort(ep, cfg.Ports); ok {
			return "", fmt.Errorf("endpoint for %s: host port %d/%s is mapped by HNS endpoint %s (%s): %w", cfg.ID, p.HostPort, p.Protocol, ep.Name, ep.Id, driver.ErrPortInUse)
		}
	}
	ep := &hcsshim.HNSEndpoint{
		Name:           endpointName(cfg.ID),
		VirtualNetwork: network.Id,
		// dockerd's nat endpoints resolve container names through HNS.
		EnableInternalDNS: true,
	}
	if len(cfg.DNS) > 0 {
		// The adapter's DNS servers, as dockerd gives a container's --dns
		// to its endpoint (libnetwork's windows driver, CreateEndpoint).
		servers := make([]string, len(cfg.DNS))
		for i, a := range cfg.DNS {
			servers[i] = a.String()
		}
		ep.DNSServerList = strings.Join(servers, ",")
	}
	for _, p := range cfg.Ports {
		b, err := json.Marshal(hcsshim.NatPolicy{
			Type: hcsshim.Nat, Protocol: protocol(p), InternalPort: uint16(p.ContainerPort),
			ExternalPort: uint16(p.HostPort), ExternalPortReserved: true,
		})
		if err != nil {
			return "", err
		}
		ep.Policies = append(ep.Policies, b)
	}
	created, err := ep.Create()
	if err != nil {
		if p, ok := hostHolds(cfg.Ports); ok {
			return "", fmt.Errorf("endpoint for %s: host port %d/%s is taken by a process on the host (HNS: %s): %w", cfg.ID, p.HostPort, protocol(p), err.Error(), driver.ErrPortInUse)
		}
		return "", fmt.Errorf("endpoint for %s: create its HNS endpoint on network %q: %s", cfg.ID, d.network, err.Error())
	}
	return created.Id, nil
}

func protocol(p driver.Port) string {
	if strings.EqualFold(p.Protocol, "udp") {
		return "udp"
	}
	return "tcp"
}

// mapsPort returns the port of ports that endpoint ep maps on the host.
func mapsPort(ep hcsshim.HNSEndpoint, ports []driver.Port) (driver.Port, bool) {
	for _, raw := range ep.Policies {
		var nat hcsshim.NatPolicy
		if json.Unmarshal(raw, &nat) != nil || nat.Type != hcsshim.Nat {
			continue
		}
		for _, p := range ports {
			if int(nat.ExternalPort) == p.HostPort && strings.EqualFold(nat.Protocol, protocol(p)) {
				return p, true
			}
		}
	}
	return driver.Port{}, false
}

// hostHolds returns a port of ports that a process on the host holds: HNS
// cannot map a host port that a socket listens on (it fails with
// ERROR_SHARING_VIOLATION), and the v1 API says so only in text.
func hostHolds(ports []driver.Port) (driver.Port, bool) {
	for _, p := range ports {
		addr := fmt.Sprintf("0.0.0.0:%d", p.HostPort)
		var err error
		if protocol(p) == "udp" {
			var c net.PacketConn
			if c, err = net.ListenPacket("udp4", addr); err == nil {
				c.Close()
			}
		} else {
			var l net.Listener
			if l, err = net.Listen("tcp4", addr); err == nil {
				l.Close()
			}
		}
		if errors.Is(err, windows.WSAEADDRINUSE) || errors.Is(err, windows.WSAEACCES) {
			return p, true
		}
	}
	return driver.Port{}, false
}

// deleteEndpoint deletes an endpoint; one already gone is no error.
func deleteEndpoint(id string) error {
	_, err := hcsshim.HNSEndpointRequest("DELETE", id, "")
	if err == nil {
		return nil
	}
	// The v1 API gives no code: look whether it is gone.
	if eps, lerr := listEndpoints(); lerr == nil {
		if _, ok := eps[endpointKey(id)]; !ok {
			return nil
		}
	}
	return fmt.Errorf("delete HNS endpoint %s: %s", id, err.Error())
}
