package reconcile

import "testing"

func TestForOtherHosts(t *testing.T) {
	notHere := &Rejection{Reason: ReasonNotForThisHost}
	tests := []struct {
		name string
		c    ContainerStatus
		want bool
	}{
		{"a spec whose hosts leave this host out", ContainerStatus{State: StateElsewhere, Rejection: notHere}, true},
		{"a refusal on this host", ContainerStatus{State: StateRejected, Rejection: &Rejection{Reason: ReasonVersionMismatch}}, false},
		{"a container removed because its spec moved away", ContainerStatus{State: StateRemoving, Rejection: notHere}, false},
		{"a running container", ContainerStatus{State: StateRunning}, false},
	}
	for _, tt := range tests {
		if got := tt.c.ForOtherHosts(); got != tt.want {
			t.Errorf("%s: ForOtherHosts() = %v, want %v", tt.name, got, tt.want)
		}
	}
}
