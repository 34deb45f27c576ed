//go:build windows && cgo

package main

import "C"

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/sys/windows"
)

// HNS's v1 API, HNSCall in vmcompute.dll: what dockerd's nat driver (and
// hcsshim's HNSEndpoint) speaks. Its endpoints are the same HNS objects the
// Hcn* calls of computenetwork.dll see. A failed request answers S_OK
// with {"Success":false,"Error":"<text>"}: the v1 API gives no code.

// hnsV1Endpoint is hcsshim's HNSEndpoint, every field HNS knows.
type hnsV1Endpoint struct {
	ID                 string `json:"ID,omitempty"`
	Name               string
	VirtualNetwork     string
	VirtualNetworkName string
	Policies           []json.RawMessage
	MacAddress         string
	IPAddress          net.IP
	IPv6Address        net.IP
	DNSSuffix          string
	DNSServerList      string
	DNSDomain          string
	GatewayAddress     string
	GatewayAddressV6   string
	EnableInternalDNS  bool
	DisableICC         bool
	PrefixLength       uint8
	IPv6PrefixLength   uint8
	IsRemoteEndpoint   bool
	EnableLowMetric    bool
	Namespace          json.RawMessage
	EncapOverhead      uint16
	SharedContainers   []string
	State              uint16
}

// hnsNATPolicy is HNS v1's NAT policy (hcsshim's NatPolicy).
type hnsNATPolicy struct {
	Type                 string
	Protocol             string
	InternalPort         uint16
	ExternalPort         uint16
	ExternalPortReserved bool
}

// Texts HNS v1 fails with.
const (
	textPortExists   = "The specified port already exists."
	textPortHeld     = "The process cannot access the file because it is being used by another process."
	textNotFound     = "Element not found."
	textBadRequest   = "The parameter is incorrect."
	textNetworkGone  = "Network not found."
	protocolTCP      = 6
	protocolUDP      = 17
	natNetworkName   = "nat"
	natGatewayPrefix = "172.20.0."
)

//export HNSCall
func HNSCall(method, path, request *uint16, response **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	m, p, req := strings.ToUpper(str(method)), str(path), str(request)
	if m == "POST" {
		h.record("HNSCall", m+" "+p, req)
	}
	out, msg := h.hnsCall(m, p, req)
	reply := map[string]any{"Success": msg == ""}
	if msg != "" {
		reply["Error"] = msg
	} else if out != nil {
		reply["Output"] = out
	}
	b, _ := json.Marshal(reply)
	*response = coTaskString(string(b))
	return sOK
}

// hnsCall answers one v1 request with its output, or with the text of its
// failure.
func (h *host) hnsCall(method, path, request string) (any, string) {
	kind, id, _ := strings.Cut(strings.Trim(path, "/"), "/")
	var out any
	var msg string
	err := h.update(func(st *fstate) error {
		switch {
		case kind == "globals" && method == "GET" && id == "version":
			// hcn.GetGlobals: HCN v2 begins at 9.2 (hcn.V2ApiSupport).
			out = st.hnsVersion()
		case kind == "networks" && method == "GET" && id == "":
			out = []map[string]any{networkV1(st)}
		case kind == "networks" && method == "GET":
			if !strings.EqualFold(id, st.Network) {
				msg = textNetworkGone
				return nil
			}
			out = networkV1(st)
		case kind == "endpoints" && method == "GET" && id == "":
			list := []hnsV1Endpoint{}
			for _, e := range st.Endpoints {
				list = append(list, endpointV1(st, e))
			}
			out = list
		case kind == "endpoints" && method == "GET":
			e := st.Endpoints[strings.ToUpper(id)]
			if e == nil {
				msg = textNotFound
				return nil
			}
			out = endpointV1(st, e)
		case kind == "endpointstats" && method == "GET":
			e := st.Endpoints[strings.ToUpper(id)]
			if e == nil {
				msg = textNotFound
				return nil
			}
			out = endpointStatsV1(h, st, e)
		case kind == "endpoints" && method == "DELETE":
			e := st.Endpoints[strings.ToUpper(id)]
			if e == nil {
				msg = textNotFound
				return nil
			}
			delete(st.Endpoints, e.ID)
			out = endpointV1(st, e)
		case kind == "endpoints" && method == "POST" && id == "":
			e, text := newEndpointV1(st, request)
			if text != "" {
				msg = text
				return nil
			}
			st.Endpoints[e.ID] = e
			out = endpointV1(st, e)
		default:
			msg = fmt.Sprintf("%s %s: %s", method, path, textBadRequest)
		}
		return nil
	})
	if err != nil {
		return nil, err.Error()
	}
	return out, msg
}

func networkV1(st *fstate) map[string]any {
	return map[string]any{
		"ID": strings.ToLower(st.Network), "Name": natNetworkName, "Type": "nat",
		"Subnets": []map[string]any{{"AddressPrefix": natGatewayPrefix + "0/20", "GatewayAddress": natGatewayPrefix + "1"}},
	}
}

// newEndpointV1 makes the endpoint a v1 POST asks for, or says why HNS
// refuses it.
func newEndpointV1(st *fstate, request string) (*fendpoint, string) {
	var req hnsV1Endpoint
	if err := decodeStrict(request, &req); err != nil {
		return nil, textBadRequest + " " + err.Error()
	}
	if !strings.EqualFold(req.VirtualNetwork, st.Network) {
		return nil, textNetworkGone
	}
	e := &fendpoint{Name: req.Name, Network: st.Network, V1: true, InternalDNS: req.EnableInternalDNS}
	if req.DNSServerList != "" {
		// The adapter's DNS servers, comma-separated addresses.
		for _, a := range strings.Split(req.DNSServerList, ",") {
			if net.ParseIP(a) == nil {
				return nil, fmt.Sprintf("%s (DNS server %q)", textBadRequest, a)
			}
		}
		e.DNSServers = req.DNSServerList
	}
	e.Policies, _ = json.Marshal(req.Policies)
	for _, raw := range req.Policies {
		var nat hnsNATPolicy
		if json.Unmarshal(raw, &nat) != nil || nat.Type != "NAT" {
			continue
		}
		proto := uint32(protocolTCP)
		switch strings.ToLower(nat.Protocol) {
		case "tcp":
		case "udp":
			proto = protocolUDP
		default:
			return nil, fmt.Sprintf("%s (NAT protocol %q)", textBadRequest, nat.Protocol)
		}
		e.Ports = append(e.Ports, fport{Protocol: proto, External: nat.ExternalPort})
	}
	e.ID = st.newEndpointID()
	if other, _ := st.portTaken(e.Ports); other != nil {
		return nil, fmt.Sprintf("%s (endpoint %s)", textPortExists, other.Name)
	}
	if _, held := hostHolds(e.Ports); held {
		return nil, textPortHeld
	}
	return e, ""
}

func endpointV1(st *fstate, e *fendpoint) hnsV1Endpoint {
	out := hnsV1Endpoint{
		ID: strings.ToLower(e.ID), Name: e.Name, VirtualNetwork: strings.ToLower(e.Network), VirtualNetworkName: natNetworkName,
		EnableInternalDNS: e.InternalDNS, GatewayAddress: natGatewayPrefix + "1", DNSServerList: e.DNSServers,
	}
	json.Unmarshal(e.Policies, &out.Policies)
	return out
}

// portTaken returns the endpoint that already maps one of ports.
func (st *fstate) portTaken(ports []fport) (*fendpoint, fport) {
	for _, other := range st.Endpoints {
		for _, p := range other.Ports {
			for _, q := range ports {
				if p == q {
					return other, q
				}
			}
		}
	}
	return nil, fport{}
}

// hostHolds reports whether a process on the host holds one of ports, by
// trying to take it: WinNAT cannot map a host port that a listening socket
// has, and HNS fails with ERROR_SHARING_VIOLATION.
func hostHolds(ports []fport) (fport, bool) {
	for _, p := range ports {
		addr := fmt.Sprintf("0.0.0.0:%d", p.External)
		var err error
		if p.Protocol == protocolUDP {
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
	return fport{}, false
}
