// Package hresult is the one table of the Windows result codes isoagent
// deals in: those HCS and HNS return, which the hcs driver tells apart,
// the simulated host reports and the fake HCS answers with. Each code
// carries its name in winerror.h (or hcsshim) and, for those a caller
// shows, the text Windows gives with it.
//
// It promises only the values, which are Windows': a code is never
// renumbered here. It imports nothing of the platform, so the simulated
// host, the hcs driver and the fake vmcompute.dll all use it.
package hresult

import "syscall"

// Code is an HRESULT. The constants of the table are untyped, so that
// each serves as a Code, and as the uint32 or uintptr a Windows call
// returns, alike.
type Code uint32

// HCS's own codes (facility 0x37), and what they mean to the agent.
const (
	OK = 0 // S_OK

	// OSMismatch is HCS_E_CONTAINER_OS_MISMATCH: the image's Windows
	// build cannot run with process isolation on this host.
	// CreateComputeSystem returns it, and so does Start.
	OSMismatch = 0xC0370101
	// FeatureMissing is HCS_E_FEATURE_MISSING: a feature the system
	// needs is not installed (Hyper-V, for Hyper-V isolation).
	FeatureMissing = 0xC0370102
	// Pending is HCS_E_OPERATION_PENDING: the call completes later, with
	// a notification.
	Pending = 0xC0370103
	// InvalidState is HCS_E_INVALID_STATE (hcsshim's
	// ErrVmcomputeOperationInvalidState): the system is not in a state
	// that allows the call.
	InvalidState = 0xC0370105
	// UnexpectedExit is HCS_E_UNEXPECTED_EXIT: the system exited while
	// the call waited on it.
	UnexpectedExit = 0xC0370106
	// InvalidJSON is HCS_E_INVALID_JSON: a document HCS cannot decode.
	InvalidJSON = 0xC037010D
	// SystemNotFound is HCS_E_SYSTEM_NOT_FOUND (hcsshim's
	// ErrComputeSystemDoesNotExist).
	SystemNotFound = 0xC037010E
	// SystemAlreadyExists is HCS_E_SYSTEM_ALREADY_EXISTS.
	SystemAlreadyExists = 0xC037010F
	// SystemAlreadyStopped is HCS_E_SYSTEM_ALREADY_STOPPED.
	SystemAlreadyStopped = 0xC0370110
	// ProcessAlreadyStopped is HCS_E_PROCESS_ALREADY_STOPPED.
	ProcessAlreadyStopped = 0x8037011F
)

// HNS's codes (facility 0x3B).
const (
	// PortAlreadyExists is HCN_E_PORT_ALREADY_EXISTS: another endpoint
	// maps the host port.
	PortAlreadyExists = 0x803B0013
)

// Generic codes, and Win32 errors as HRESULTs (facility 7, see Errno).
const (
	Fail               = 0x80004005 // E_FAIL
	FileNotFound       = 0x80070002 // ERROR_FILE_NOT_FOUND: a missing mapped folder at create, a missing program at CreateProcess, absent image layers
	PathNotFound       = 0x80070003 // ERROR_PATH_NOT_FOUND
	InvalidHandle      = 0x80070006 // ERROR_INVALID_HANDLE
	NotReady           = 0x80070015 // ERROR_NOT_READY: Windows Server 2019's storage filter, transiently
	SharingViolation   = 0x80070020 // ERROR_SHARING_VIOLATION
	NotSupported       = 0x80070032 // ERROR_NOT_SUPPORTED
	BadNetPath         = 0x80070035 // ERROR_BAD_NETPATH: an unreachable UNC path
	InvalidArg         = 0x80070057 // E_INVALIDARG (ERROR_INVALID_PARAMETER)
	InsufficientBuf    = 0x8007007A // ERROR_INSUFFICIENT_BUFFER
	AlreadyExists      = 0x800700B7 // ERROR_ALREADY_EXISTS
	Directory          = 0x8007010B // ERROR_DIRECTORY: the directory name is invalid
	ServiceDisabled    = 0x80070422 // ERROR_SERVICE_DISABLED: vmcompute is not running
	DeviceNotConnected = 0x8007048F // ERROR_DEVICE_NOT_CONNECTED: Windows Server 2019's storage filter, transiently
	ElementNotFound    = 0x80070490 // ERROR_NOT_FOUND
)

// facilityWin32 is the facility of HRESULTs that wrap a Win32 error.
const facilityWin32 = 7

// Errno returns c as hcsshim hands it back from a call into vmcompute.dll
// or computenetwork.dll: an HRESULT of facility Win32 as the plain Win32
// error code (ERROR_FILE_NOT_FOUND is 2, not 0x80070002), any other as
// itself.
func (c Code) Errno() syscall.Errno {
	if c>>16&0x1fff == facilityWin32 {
		return syscall.Errno(c & 0xffff)
	}
	return syscall.Errno(c)
}

// Text returns the message Windows gives with c, or "" for a code whose
// message callers always word themselves.
func (c Code) Text() string {
	switch c {
	case OSMismatch:
		return "The container operating system does not match the host operating system."
	case FeatureMissing:
		return "The virtual machine could not be started because a required feature is not installed."
	case UnexpectedExit:
		return "The compute system exited unexpectedly."
	case ProcessAlreadyStopped:
		return "The process has already exited."
	case NotReady:
		return "The device is not ready."
	case DeviceNotConnected:
		return "The device is not connected."
	case InvalidArg:
		return "The parameter is incorrect."
	case SharingViolation:
		return "The process cannot access the file because it is being used by another process."
	case InsufficientBuf:
		return "The data area passed to a system call is too small."
	case AlreadyExists:
		return "Cannot create a file when that file already exists."
	}
	return ""
}
