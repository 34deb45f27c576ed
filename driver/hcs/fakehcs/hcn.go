//go:build windows && cgo

package main

import "C"

import (
	"encoding/json"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/windows"
)

// HNS, as computenetwork.dll exports it. The fake has one network, "nat",
// and the endpoints made on it; a host port (with its protocol) can be
// mapped by one endpoint only.

var (
	hcnMu      sync.Mutex
	hcnHandles = map[uintptr]string{} // network or endpoint handle -> ID
)

func guidString(p unsafe.Pointer) string {
	g := (*windows.GUID)(p)
	return strings.Trim(strings.ToUpper(g.String()), "{}")
}

func newHCNHandle(id string) uintptr {
	handlesMu.Lock()
	h := newHandle()
	handlesMu.Unlock()
	hcnMu.Lock()
	hcnHandles[h] = id
	hcnMu.Unlock()
	return h
}

func hcnHandle(h uintptr) (string, bool) {
	hcnMu.Lock()
	defer hcnMu.Unlock()
	id, ok := hcnHandles[h]
	return id, ok
}

func closeHCNHandle(h uintptr) uintptr {
	hcnMu.Lock()
	defer hcnMu.Unlock()
	if _, ok := hcnHandles[h]; !ok {
		return result(fail(eInvalidHandle, "invalid handle"), nil)
	}
	delete(hcnHandles, h)
	return sOK
}

// filterOf reads the Filter of an HCN query ({"Name":...}, {"ID":...}).
func filterOf(query string) map[string]string {
	var q struct{ Filter string }
	json.Unmarshal([]byte(query), &q)
	f := map[string]string{}
	if q.Filter != "" {
		json.Unmarshal([]byte(q.Filter), &f)
	}
	return f
}

func networkJSON(id string) map[string]any {
	return map[string]any{
		"ID": id, "Name": natNetworkName, "Type": "NAT",
		"SchemaVersion": map[string]int{"Major": 2, "Minor": 0},
	}
}

// natNetwork returns the ID the nat network has now.
func natNetwork() (string, error) {
	h, err := currentHost()
	if err != nil {
		return "", err
	}
	var id string
	err = h.view(func(st *fstate) error {
		id = st.Network
		return nil
	})
	return id, err
}

//export HcnEnumerateNetworks
func HcnEnumerateNetworks(query *uint16, networks **uint16, res **uint16) uintptr {
	nat, err := natNetwork()
	if err != nil {
		return result(err, res)
	}
	f := filterOf(str(query))
	ids := []string{}
	if (f["Name"] == "" || strings.EqualFold(f["Name"], natNetworkName)) && (f["ID"] == "" || strings.EqualFold(f["ID"], nat)) {
		ids = append(ids, nat)
	}
	b, _ := json.Marshal(ids)
	*networks = coTaskString(string(b))
	return sOK
}

//export HcnOpenNetwork
func HcnOpenNetwork(idPtr unsafe.Pointer, network *uintptr, res **uint16) uintptr {
	nat, err := natNetwork()
	if err != nil {
		return result(err, res)
	}
	if guidString(idPtr) != nat {
		return result(fail(eElementNotFound, "Element not found. (network %s)", guidString(idPtr)), res)
	}
	*network = newHCNHandle(nat)
	return sOK
}

//export HcnQueryNetworkProperties
func HcnQueryNetworkProperties(network uintptr, query *uint16, props **uint16, res **uint16) uintptr {
	id, ok := hcnHandle(network)
	if !ok {
		return result(fail(eInvalidHandle, "invalid handle"), res)
	}
	b, _ := json.Marshal(networkJSON(id))
	*props = coTaskString(string(b))
	return sOK
}

//export HcnCloseNetwork
func HcnCloseNetwork(network uintptr) uintptr { return closeHCNHandle(network) }

//export HcnCreateEndpoint
func HcnCreateEndpoint(network uintptr, idPtr unsafe.Pointer, settings *uint16, endpoint *uintptr, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	netID, ok := hcnHandle(network)
	if !ok {
		return result(fail(eInvalidHandle, "invalid network handle"), res)
	}
	doc := str(settings)
	h.record("HcnCreateEndpoint", "", doc)
	var ep struct {
		Name     string
		Policies []struct {
			Type     string
			Settings json.RawMessage
		}
	}
	if err := json.Unmarshal([]byte(doc), &ep); err != nil {
		return result(fail(eInvalidJSON, "The JSON document is invalid: %v", err), res)
	}
	e := &fendpoint{Name: ep.Name, Network: netID}
	e.Policies, _ = json.Marshal(ep.Policies)
	for _, p := range ep.Policies {
		if p.Type != "PortMapping" {
			continue
		}
		var pm struct {
			Protocol     uint32
			ExternalPort uint16
		}
		json.Unmarshal(p.Settings, &pm)
		e.Ports = append(e.Ports, fport{Protocol: pm.Protocol, External: pm.ExternalPort})
	}
	e.ID = guidString(idPtr)
	err = h.update(func(st *fstate) error {
		if !strings.EqualFold(netID, st.Network) {
			return fail(eElementNotFound, "Element not found. (network %s)", netID)
		}
		if e.ID == "00000000-0000-0000-0000-000000000000" {
			e.ID = st.newEndpointID()
		}
		if st.Endpoints[e.ID] != nil {
			return fail(0x803B0001, "An endpoint with this ID exists.")
		}
		if other, q := st.portTaken(e.Ports); other != nil {
			return fail(ePortExists, "The specified port already exists. (host port %d, protocol %d, endpoint %s)", q.External, q.Protocol, other.Name)
		}
		if q, held := hostHolds(e.Ports); held {
			return fail(eSharingViolation, "%s (host port %d, protocol %d)", textPortHeld, q.External, q.Protocol)
		}
		st.Endpoints[e.ID] = e
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	*endpoint = newHCNHandle(e.ID)
	return sOK
}

func endpointJSON(e *fendpoint) map[string]any {
	return map[string]any{
		"ID": e.ID, "Name": e.Name, "HostComputeNetwork": e.Network,
		"Policies":      json.RawMessage(e.Policies),
		"SchemaVersion": map[string]int{"Major": 2, "Minor": 0},
	}
}

//export HcnOpenEndpoint
func HcnOpenEndpoint(idPtr unsafe.Pointer, endpoint *uintptr, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	eid := guidString(idPtr)
	err = h.view(func(st *fstate) error {
		if st.Endpoints[eid] == nil {
			return fail(eElementNotFound, "Element not found. (endpoint %s)", eid)
		}
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	*endpoint = newHCNHandle(eid)
	return sOK
}

//export HcnQueryEndpointProperties
func HcnQueryEndpointProperties(endpoint uintptr, query *uint16, props **uint16, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	eid, ok := hcnHandle(endpoint)
	if !ok {
		return result(fail(eInvalidHandle, "invalid endpoint handle"), res)
	}
	var out map[string]any
	err = h.view(func(st *fstate) error {
		e := st.Endpoints[eid]
		if e == nil {
			return fail(eElementNotFound, "Element not found. (endpoint %s)", eid)
		}
		out = endpointJSON(e)
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	b, _ := json.Marshal(out)
	*props = coTaskString(string(b))
	return sOK
}

//export HcnEnumerateEndpoints
func HcnEnumerateEndpoints(query *uint16, endpoints **uint16, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	f := filterOf(str(query))
	ids := []string{}
	err = h.view(func(st *fstate) error {
		for _, e := range st.Endpoints {
			if f["Name"] != "" && f["Name"] != e.Name ||
				f["ID"] != "" && !strings.EqualFold(f["ID"], e.ID) ||
				f["VirtualNetwork"] != "" && !strings.EqualFold(f["VirtualNetwork"], e.Network) {
				continue
			}
			ids = append(ids, e.ID)
		}
		return nil
	})
	if err != nil {
		return result(err, res)
	}
	b, _ := json.Marshal(ids)
	*endpoints = coTaskString(string(b))
	return sOK
}

//export HcnModifyEndpoint
func HcnModifyEndpoint(endpoint uintptr, settings *uint16, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	h.record("HcnModifyEndpoint", "", str(settings))
	return result(fail(eInvalidArg, "the fake HNS does not modify endpoints"), res)
}

//export HcnDeleteEndpoint
func HcnDeleteEndpoint(idPtr unsafe.Pointer, res **uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, res)
	}
	eid := guidString(idPtr)
	err = h.update(func(st *fstate) error {
		if st.Endpoints[eid] == nil {
			return fail(eElementNotFound, "Element not found. (endpoint %s)", eid)
		}
		delete(st.Endpoints, eid)
		return nil
	})
	return result(err, res)
}

//export HcnCloseEndpoint
func HcnCloseEndpoint(endpoint uintptr) uintptr { return closeHCNHandle(endpoint) }
