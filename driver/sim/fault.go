package sim

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// ParseOp parses the name of a driver operation, as faults are given on
// the command line.
func ParseOp(s string) (driver.Op, error) {
	if slices.Contains(driver.Ops(), driver.Op(s)) {
		return driver.Op(s), nil
	}
	return "", fmt.Errorf("unknown operation %q (want one of %v)", s, driver.Ops())
}

// Fault makes the next Count calls of Op wait Delay (cut short when the
// call's context ends) and then, when Err is set, fail with Err without
// doing anything; with no Err the call goes ahead after the delay.
//
// A fault kept in the state folder (Model.InjectFault) is seen by every
// client of the host and its Err must be one of the driver error classes
// (see ErrorClass); a fault given to one Driver (Driver.InjectFault) may
// carry any error.
type Fault struct {
	Op    driver.Op
	Count int
	Err   error
	Delay time.Duration
}

func (f Fault) String() string {
	s := fmt.Sprintf("%s: next %d calls", f.Op, f.Count)
	if f.Delay > 0 {
		s += ", delay " + f.Delay.String()
	}
	if f.Err != nil {
		s += ", fail with " + f.Err.Error()
	}
	return s
}

func (f Fault) validate(persisted bool) error {
	if _, err := ParseOp(string(f.Op)); err != nil {
		return err
	}
	if f.Count < 1 {
		return fmt.Errorf("fault on %s: count %d must be at least 1", f.Op, f.Count)
	}
	if f.Delay < 0 {
		return fmt.Errorf("fault on %s: negative delay %s", f.Op, f.Delay)
	}
	if f.Err == nil && f.Delay == 0 {
		return fmt.Errorf("fault on %s: neither an error nor a delay", f.Op)
	}
	if persisted && f.Err != nil && errorClassName(f.Err) == "" {
		return fmt.Errorf("fault on %s: error %q is not a driver error class (one of %v)", f.Op, f.Err, ErrorClassNames())
	}
	return nil
}

type faultJSON struct {
	Op    driver.Op `json:"op"`
	Count int       `json:"count"`
	Error string    `json:"error,omitempty"`
	Delay string    `json:"delay,omitempty"`
}

// MarshalJSON stores Err by its class name.
func (f Fault) MarshalJSON() ([]byte, error) {
	j := faultJSON{Op: f.Op, Count: f.Count}
	if f.Err != nil {
		j.Error = errorClassName(f.Err)
	}
	if f.Delay > 0 {
		j.Delay = f.Delay.String()
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{Op: j.Op, Count: j.Count}
	if j.Error != "" {
		err, ok := ErrorClass(j.Error)
		if !ok {
			return fmt.Errorf("fault on %s: unknown error class %q", j.Op, j.Error)
		}
		f.Err = err
	}
	if j.Delay != "" {
		d, err := time.ParseDuration(j.Delay)
		if err != nil {
			return fmt.Errorf("fault on %s: %w", j.Op, err)
		}
		f.Delay = d
	}
	return nil
}
