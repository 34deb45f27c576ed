//go:build windows && cgo

package main

import "C"

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/isoagent/isoagent/internal/hresult"
)

// Drills: what happens to a real host behind the agent's back, acted out
// on the state folder. A test calls the exported FakeHcsDrill with one of
//
//	reboot                 the host restarts: every compute system and its
//	                       processes are gone, the storage filter has let go
//	                       of every layer, HNS has no endpoints and the nat
//	                       network comes back with a new ID
//	dockerd-start          dockerd started: it deletes every endpoint on the
//	                       nat network it adopts (moby's windows network
//	                       driver, CreateNetwork)
//	hns-restart            the hns service restarted: every endpoint is gone
//	hyperv on|off          the host can (on) or cannot (off) run Hyper-V
//	                       isolated containers
//	hns-version M.N        HNS reports version M.N (HCN v2 needs 9.2)
//	fail CALL CODE [N]     the next N (default 1) calls of CALL fail with
//	                       HRESULT CODE (0x...); CALL is one of create,
//	                       start, createprocess, activate, prepare, import
//
// It returns S_OK, or E_INVALIDARG for a command it does not know.
//
//export FakeHcsDrill
func FakeHcsDrill(command *uint16) uintptr {
	h, err := currentHost()
	if err != nil {
		return result(err, nil)
	}
	words := strings.Fields(str(command))
	if len(words) == 0 {
		return result(fail(eInvalidArg, "empty drill"), nil)
	}
	switch words[0] {
	case "reboot":
		return result(h.reboot(), nil)
	case "dockerd-start", "hns-restart":
		return result(h.update(func(st *fstate) error {
			for id, e := range st.Endpoints {
				if words[0] == "hns-restart" || strings.EqualFold(e.Network, st.Network) {
					delete(st.Endpoints, id)
				}
			}
			return nil
		}), nil)
	case "hyperv":
		if len(words) != 2 || (words[1] != "on" && words[1] != "off") {
			return result(fail(eInvalidArg, "drill hyperv: want on or off"), nil)
		}
		return result(h.update(func(st *fstate) error {
			st.NoHyperV = words[1] == "off"
			return nil
		}), nil)
	case "hns-version":
		var v fversion
		if len(words) != 2 {
			return result(fail(eInvalidArg, "drill hns-version: want MAJOR.MINOR"), nil)
		}
		if _, err := fmt.Sscanf(words[1], "%d.%d", &v.Major, &v.Minor); err != nil {
			return result(fail(eInvalidArg, "drill hns-version %q: %v", words[1], err), nil)
		}
		return result(h.update(func(st *fstate) error {
			st.HNSVersion = &v
			return nil
		}), nil)
	case "fail":
		f, err := parseFault(words[1:])
		if err != nil {
			return result(err, nil)
		}
		return result(h.update(func(st *fstate) error {
			st.Faults = append(st.Faults, f)
			return nil
		}), nil)
	}
	return result(fail(eInvalidArg, "unknown drill %q", words[0]), nil)
}

func parseFault(args []string) (ffault, error) {
	if len(args) < 2 || len(args) > 3 {
		return ffault{}, fail(eInvalidArg, "drill fail: want CALL CODE [COUNT]")
	}
	switch args[0] {
	case "create", "start", "createprocess", "activate", "prepare", "import":
	default:
		return ffault{}, fail(eInvalidArg, "drill fail: unknown call %q", args[0])
	}
	code, err := strconv.ParseUint(strings.TrimPrefix(strings.ToLower(args[1]), "0x"), 16, 32)
	if err != nil {
		return ffault{}, fail(eInvalidArg, "drill fail: code %q: %v", args[1], err)
	}
	f := ffault{Call: args[0], Code: uint32(code), Count: 1}
	if len(args) == 3 {
		if f.Count, err = strconv.Atoi(args[2]); err != nil || f.Count < 1 {
			return ffault{}, fail(eInvalidArg, "drill fail: count %q", args[2])
		}
	}
	return f, nil
}

// faultMessage is the text HCS gives with code.
func faultMessage(code uint32) string {
	if text := hresult.Code(code).Text(); text != "" {
		return text
	}
	return fmt.Sprintf("HRESULT 0x%08x", code)
}

// reboot acts out a restart of the host.
func (h *host) reboot() error {
	cs, err := h.model.Containers("")
	if err != nil {
		return err
	}
	for _, c := range cs {
		if err := h.model.ForceRemove(c.ID); err != nil {
			return err
		}
	}
	return h.update(func(st *fstate) error {
		st.Systems = map[string]*fsys{}
		st.Endpoints = map[string]*fendpoint{}
		for _, l := range st.Layers {
			l.Activated, l.Prepared = false, false
		}
		st.Boot++
		st.Network = nameGUID(fmt.Sprintf("nat network, boot %d", st.Boot))
		st.Faults = nil
		return nil
	})
}
