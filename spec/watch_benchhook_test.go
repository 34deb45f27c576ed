package spec

import "github.com/isoagent/isoagent/internal/safefile"

// racyWindow is how long a benchmark lets files rest before it measures
// a folder at rest.
const racyWindow = safefile.RacyWindow

// askRescan asks the watcher's next rescan to read as trigger t asks
// (the loop does so when the trigger comes; benchmarks call rescan
// directly).
func askRescan(r *watchRun, t Trigger) {
	switch t {
	case TriggerResync:
		r.want.resync = true
	case TriggerOverflow:
		r.want.full = true
	}
}
