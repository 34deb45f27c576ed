//go:build windows

package hcs

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/driver"
)

// HCS result codes the driver tells apart; hcsshim names only some of them.
// HRESULTs of facility Win32 come back from hcsshim as the plain Win32 code.
const (
	// hcsOSMismatch is HCS_E_CONTAINER_OS_MISMATCH (0xc0370101): "The
	// container operating system does not match the host operating
	// system." CreateComputeSystem returns it, and so does Start.
	hcsOSMismatch = syscall.Errno(0xc0370101)
	// hcsFeatureMissing (0xc0370102): "The virtual machine could not be
	// started because a required feature is not installed": no Hyper-V.
	hcsFeatureMissing = syscall.Errno(0xc0370102)

	errFileNotFound = syscall.Errno(2)    // ERROR_FILE_NOT_FOUND
	errPathNotFound = syscall.Errno(3)    // ERROR_PATH_NOT_FOUND
	errNotReady     = syscall.Errno(21)   // ERROR_NOT_READY
	errBadNetPath   = syscall.Errno(53)   // ERROR_BAD_NETPATH
	errInvalidArg   = syscall.Errno(87)   // ERROR_INVALID_PARAMETER, E_INVALIDARG
	errDirectory    = syscall.Errno(267)  // ERROR_DIRECTORY: the directory name is invalid
	errNotConnected = syscall.Errno(1167) // ERROR_DEVICE_NOT_CONNECTED
)

// op is the HCS call an error came from: some codes mean one thing from
// one call and another from the next (ERROR_FILE_NOT_FOUND is a missing
// mapped folder at create and a missing program at CreateProcess).
type op int

const (
	opOther op = iota
	opCreate
	opProcess
)

// inner returns the error hcsshim's error types carry. *hcsshim.
// ContainerError and *hcsshim.ProcessError (from Start, Shutdown,
// Terminate, CreateProcess and the process calls) and the layer calls'
// *hcsshim.HcsError have no Unwrap, so errors.As never sees through them;
// hcsshim's own predicates unwrap them by hand the same way (errors.go,
// getInnerError).
func inner(err error) error {
	for {
		var (
			ce *hcsshim.ContainerError
			pe *hcsshim.ProcessError
			he *hcsshim.HcsError
		)
		switch {
		case errors.As(err, &ce) && ce.Err != nil:
			err = ce.Err
		case errors.As(err, &pe) && pe.Err != nil:
			err = pe.Err
		case errors.As(err, &he) && he.Err != nil:
			err = he.Err
		default:
			return err
		}
	}
}

// errnoOf returns the Windows error code inside err.
func errnoOf(err error) (syscall.Errno, bool) {
	var errno syscall.Errno
	ok := errors.As(inner(err), &errno)
	return errno, ok
}

// hasCode reports whether err carries one of codes.
func hasCode(err error, codes ...syscall.Errno) bool {
	errno, ok := errnoOf(err)
	if !ok {
		return false
	}
	for _, c := range codes {
		if errno == c {
			return true
		}
	}
	return false
}

// classify returns the driver error class of an error of call o, or nil
// when it belongs to none (and a retry may help).
func classify(o op, err error) error {
	in := inner(err)
	switch {
	case hasCode(err, hcsOSMismatch):
		return driver.ErrVersionMismatch
	case hasCode(err, hcsFeatureMissing):
		return driver.ErrNotSupported
	case o == opCreate && hasCode(err, errFileNotFound, errPathNotFound, errBadNetPath):
		return driver.ErrHostPathNotFound
	case o == opProcess && hasCode(err, errFileNotFound, errPathNotFound, errDirectory):
		return driver.ErrInvalidConfig
	case (o == opCreate || o == opProcess) && hasCode(err, errInvalidArg):
		return driver.ErrInvalidConfig
	case hcsshim.IsNotExist(in):
		return driver.ErrNotFound
	case hcsshim.IsNotSupported(in):
		return driver.ErrNotSupported
	case hcsshim.IsOperationInvalidState(in):
		return driver.ErrInvalidState
	case errors.Is(in, hcsshim.ErrUnexpectedProcessAbort), hcsshim.IsTimeout(in), hcsshim.IsAccessIsDenied(in):
		return driver.ErrUnavailable
	}
	return nil
}

// hcsError wraps an error of an HCS call for what on id in the driver's
// error class, keeping HCS's own message. The HCS error itself is not
// wrapped, so hcsshim's types stay inside this package.
func hcsError(what, id string, err error) error { return callError(opOther, what, id, err) }

// callError is hcsError for an error of call o.
func callError(o op, what, id string, err error) error {
	if err == nil {
		return nil
	}
	if class := classify(o, err); class != nil {
		return fmt.Errorf("%s %s: %w (%s)", what, id, class, err.Error())
	}
	return fmt.Errorf("%s %s: %s", what, id, err.Error())
}

// isNotReady reports the storage filter's transient failures on Windows
// Server 2019, which hcsshim retries (internal/layers/wcow_mount.go).
func isNotReady(err error) bool { return hasCode(err, errNotReady, errNotConnected) }

// stopped reports errors that say a compute system or process is not
// running any more (or not there): nothing is left to stop.
func stopped(err error) bool {
	in := inner(err)
	return hcsshim.IsAlreadyStopped(in) || hcsshim.IsNotExist(in)
}

// pending reports that a shutdown or terminate goes on in the background.
func pending(err error) bool { return hcsshim.IsPending(inner(err)) }

// closed reports that a wait ended because its handle was closed.
func closed(err error) bool {
	in := inner(err)
	return hcsshim.IsAlreadyClosed(in) || errors.Is(in, hcsshim.ErrHandleClose)
}
