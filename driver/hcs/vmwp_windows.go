//go:build windows

package hcs

import (
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// workerPID finds the host process of a utility VM: HCS's schema-v1
// properties name the VM (RuntimeId) but not its worker process, which is
// the vmwp.exe whose command line carries the VM's ID. It returns 0 when
// there is none (or it cannot be read).
func workerPID(vmID string) int {
	snap, err := windows.CreateToolhelp32Snapshot(windows.TH32CS_SNAPPROCESS, 0)
	if err != nil {
		return 0
	}
	defer windows.CloseHandle(snap)
	var pe windows.ProcessEntry32
	pe.Size = uint32(unsafe.Sizeof(pe))
	for err = windows.Process32First(snap, &pe); err == nil; err = windows.Process32Next(snap, &pe) {
		if !strings.EqualFold(windows.UTF16ToString(pe.ExeFile[:]), "vmwp.exe") {
			continue
		}
		if cmd := commandLineOf(pe.ProcessID); strings.Contains(strings.ToUpper(cmd), strings.ToUpper(vmID)) {
			return int(pe.ProcessID)
		}
	}
	return 0
}

func commandLineOf(pid uint32) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h)
	buf := make([]byte, 64*1024)
	var n uint32
	if err := windows.NtQueryInformationProcess(h, windows.ProcessCommandLineInformation, unsafe.Pointer(&buf[0]), uint32(len(buf)), &n); err != nil {
		return ""
	}
	return (*windows.NTUnicodeString)(unsafe.Pointer(&buf[0])).String()
}
