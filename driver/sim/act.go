package sim

import (
	"context"
	"encoding/json"
	"time"

	"github.com/isoagent/isoagent/monitor"
)

// ActRun acts out the output of the run of container id that started at
// startedAt, on the simulated host of state folder dir, as the monitor of
// a sim run does (MonitorRuntime): its lines as they are due, until the
// run ends, and then its exit. The fake HCS of driver/hcs writes it to
// the pipes of the init process it creates.
func ActRun(ctx context.Context, dir, id string, startedAt time.Time) (monitor.Process, error) {
	p, err := json.Marshal(simProcess{Dir: dir, StartedAt: startedAt})
	if err != nil {
		return nil, err
	}
	return MonitorRuntime{}.Start(ctx, monitor.Config{ID: id, Runtime: RuntimeName, Process: p})
}
