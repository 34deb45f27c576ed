package sim

import (
	"errors"
	"fmt"
	"sort"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/hresult"
)

// HCSError is an error as the host reports it: the failing call, the
// object it was about, HCS's HRESULT and text. It unwraps to the driver
// error class (driver.ErrVersionMismatch, ...), so callers test it with
// errors.Is like any driver error and read the HCS details with errors.As.
type HCSError struct {
	Op      string       // the HCS or HNS call, e.g. "CreateComputeSystem"
	ID      string       // container id, image reference or host path
	Code    hresult.Code // HCS's HRESULT
	Message string       // HCS's text for Code
	Err     error        // the driver error class
}

func (e *HCSError) Error() string {
	return fmt.Sprintf("hcsshim::%s %s: %s (0x%08x)", e.Op, e.ID, e.Message, e.Code)
}

func (e *HCSError) Unwrap() error { return e.Err }

func hcsError(op, id string, code hresult.Code, class error, format string, args ...any) error {
	return &HCSError{Op: op, ID: id, Code: code, Message: fmt.Sprintf(format, args...), Err: class}
}

// errorClasses names the driver error classes so that faults can be kept
// in the state folder and typed on a command line.
var errorClasses = map[string]error{
	"not-found":           driver.ErrNotFound,
	"already-exists":      driver.ErrAlreadyExists,
	"invalid-state":       driver.ErrInvalidState,
	"version-mismatch":    driver.ErrVersionMismatch,
	"port-in-use":         driver.ErrPortInUse,
	"host-path-not-found": driver.ErrHostPathNotFound,
	"not-supported":       driver.ErrNotSupported,
	"unavailable":         driver.ErrUnavailable,
	"invalid-config":      driver.ErrInvalidConfig,
}

// ErrorClass returns the driver error class named name ("not-found",
// "unavailable", ... as listed by ErrorClassNames).
func ErrorClass(name string) (error, bool) {
	err, ok := errorClasses[name]
	return err, ok
}

// ErrorClassNames lists the names ErrorClass accepts, sorted.
func ErrorClassNames() []string {
	names := make([]string, 0, len(errorClasses))
	for n := range errorClasses {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// errorClassName is the inverse of ErrorClass: the name of the class err
// belongs to, or "" when it is none of them.
func errorClassName(err error) string {
	for _, n := range ErrorClassNames() {
		if errors.Is(err, errorClasses[n]) {
			return n
		}
	}
	return ""
}
