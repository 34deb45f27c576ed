//go:build !unix

package spec

import "time"

// processCPUTime is not measured here; benchmarks then report wall time only.
func processCPUTime() time.Duration { return 0 }
