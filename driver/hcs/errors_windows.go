//go:build windows

package hcs

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"

	"github.com/Microsoft/hcsshim"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/internal/hresult"
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

// hasCode reports whether err carries one of codes, compared in the form
// hcsshim hands them back: an HRESULT of facility Win32 as the plain Win32
// code (see hresult.Code.Errno).
func hasCode(err error, codes ...hresult.Code) bool {
	errno, ok := errnoOf(err)
	if !ok {
		return false
	}
	for _, c := range codes {
		if errno == c.Errno() {
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
	case hasCode(err, hresult.OSMismatch):
		return driver.ErrVersionMismatch
	case hasCode(err, hresult.FeatureMissing):
		return driver.ErrNotSupported
	case o == opCreate && hasCode(err, hresult.FileNotFound, hresult.PathNotFound, hresult.BadNetPath):
		return driver.ErrHostPathNotFound
	case o == opProcess && hasCode(err, hresult.FileNotFound, hresult.PathNotFound, hresult.Directory):
		return driver.ErrInvalidConfig
	case (o == opCreate || o == opProcess) && hasCode(err, hresult.InvalidArg):
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
func isNotReady(err error) bool { return hasCode(err, hresult.NotReady, hresult.DeviceNotConnected) }

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

// mappedPathHint wraps err, a failed create of cfg, with the host folder
// or pipe it maps that the host lacks, when HCS says one is missing
// without naming it: the first mount whose folder is not there, or else
// the first pipe no program serves (the pipe folder is listed, which
// opens no pipe). The hint's words are the sim's (driver.MissingFolder).
func mappedPathHint(err error, cfg driver.Config) error {
	if !errors.Is(err, driver.ErrHostPathNotFound) {
		return err
	}
	for _, m := range cfg.Mounts {
		p := m.ResolvedPath
		if p.IsZero() {
			p = m.HostPath
		}
		if _, serr := os.Stat(p.String()); errors.Is(serr, fs.ErrNotExist) {
			return driver.MissingFolder(err, m.HostPath.String())
		}
	}
	if len(cfg.Pipes) == 0 {
		return err
	}
	entries, lerr := os.ReadDir(`\\.\pipe\`)
	if lerr != nil {
		return err
	}
	served := make(map[string]bool, len(entries))
	for _, e := range entries {
		served[strings.ToLower(e.Name())] = true
	}
	for _, p := range cfg.Pipes {
		if !served[strings.ToLower(p.HostPipe.Name())] {
			return driver.MissingPipe(err, p.HostPipe.String())
		}
	}
	return err
}

// imageHint wraps err, a failed look-up of image ref, with how the host
// gets it, in the sim's words (driver.MissingImage).
func imageHint(err error, ref imageref.Ref) error {
	if !errors.Is(err, driver.ErrNotFound) {
		return err
	}
	return driver.MissingImage(err, ref.String())
}
