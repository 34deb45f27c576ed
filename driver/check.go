package driver

// CheckStatus is how a Check came out.
type CheckStatus string

// Check outcomes. A warning is something the operator should know that
// does not stop the agent.
const (
	CheckPass CheckStatus = "pass"
	CheckWarn CheckStatus = "warn"
	CheckFail CheckStatus = "fail"
)

// Check is one thing a host needs for a driver, as the driver checks it
// for `isoagent doctor`: what was checked, how it came out, what was found
// and, unless it passed, what to do about it.
type Check struct {
	Name   string      `json:"name"`
	Status CheckStatus `json:"status"`
	Detail string      `json:"detail,omitempty"`
	Fix    string      `json:"fix,omitempty"`
}
