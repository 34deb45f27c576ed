//go:build windows

package hcs

import (
	"errors"
	"fmt"
	"syscall"

	"github.com/Microsoft/hcsshim"
	"github.com/Microsoft/hcsshim/hcn"

	"github.com/isoagent/isoagent/driver"
)

// HCS result codes the driver tells apart; hcsshim names only some of them.
const (
	// hcsOSMismatch is HCS_E_CONTAINER_OS_MISMATCH (0xc0370101): "The
	// container operating system does not match the host operating system."
	hcsOSMismatch = syscall.Errno(0xc0370101)
	// Win32 codes HCS returns (as HRESULTs of facility Win32, which
	// hcsshim turns back into plain Win32 codes) for a missing mapped
	// folder or pipe.
	errFileNotFound = syscall.Errno(2)
	errPathNotFound = syscall.Errno(3)
	errBadNetPath   = syscall.Errno(53)
)

// classify returns the driver error class of an HCS or HCN error, or nil
// when it belongs to none.
func classify(err error) error {
	var errno syscall.Errno
	switch {
	case errors.As(err, &errno) && errno == hcsOSMismatch:
		return driver.ErrVersionMismatch
	case hcn.IsPortAlreadyExistsError(err):
		return driver.ErrPortInUse
	case errors.As(err, &errno) && (errno == errFileNotFound || errno == errPathNotFound || errno == errBadNetPath):
		return driver.ErrHostPathNotFound
	case hcsshim.IsNotExist(err):
		return driver.ErrNotFound
	case hcsshim.IsNotSupported(err):
		return driver.ErrNotSupported
	case hcsshim.IsOperationInvalidState(err):
		return driver.ErrInvalidState
	case errors.Is(err, hcsshim.ErrUnexpectedProcessAbort), hcsshim.IsTimeout(err), hcsshim.IsAccessIsDenied(err):
		return driver.ErrUnavailable
	}
	return nil
}

// hcsError wraps an HCS error for op on id in the driver's error class,
// keeping HCS's own message. The HCS error itself is not wrapped, so
// hcsshim's types stay inside this package.
func hcsError(op, id string, err error) error {
	if err == nil {
		return nil
	}
	if class := classify(err); class != nil {
		return fmt.Errorf("%s %s: %w (%s)", op, id, class, err.Error())
	}
	return fmt.Errorf("%s %s: %s", op, id, err.Error())
}
