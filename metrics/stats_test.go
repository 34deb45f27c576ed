package metrics

import (
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/isoagent/isoagent/driver"
)

func TestStatsSeriesFollowTheSource(t *testing.T) {
	m, reg := newTest(t)
	unlimited := driver.Stats{ID: "a1", Network: []driver.NetworkStats{{Endpoint: "e1"}, {Endpoint: "e2"}}}
	var mu sync.Mutex
	current := []ContainerStats{{Name: "web", Stats: testStats}, {Name: "job", Stats: unlimited}}
	m.SetStatsSource(func() []ContainerStats {
		mu.Lock()
		defer mu.Unlock()
		return current
	})
	tests := []struct {
		metric string
		want   int
	}{
		{"isoagent_container_cpu_seconds_total", 4},           // user and kernel of each
		{"isoagent_container_memory_limit_bytes", 1},          // job has none
		{"isoagent_container_cpu_limit_cores", 1},             //
		{"isoagent_container_network_receive_bytes_total", 3}, // one endpoint of web, two of job
	}
	for _, tt := range tests {
		if n, err := testutil.GatherAndCount(reg, tt.metric); err != nil || n != tt.want {
			t.Errorf("%s: %d series (err %v), want %d", tt.metric, n, err, tt.want)
		}
	}
	mu.Lock()
	current = current[:1]
	mu.Unlock()
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_network_receive_bytes_total"); n != 1 {
		t.Errorf("after job went: %d network series, want web's 1", n)
	}
	mu.Lock()
	current = nil
	mu.Unlock()
	if n, _ := testutil.GatherAndCount(reg, "isoagent_container_cpu_seconds_total", "isoagent_container_memory_private_working_set_bytes"); n != 0 {
		t.Errorf("after every container went: %d usage series, want 0", n)
	}
}
