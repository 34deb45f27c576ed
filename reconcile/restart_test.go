package reconcile

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
)

func TestCrashLoopDelays(t *testing.T) {
	var c crashLoop
	var got []time.Duration
	for range 8 {
		got = append(got, c.delay(time.Second))
		c.consecutive++
	}
	want := []time.Duration{0, 10 * time.Second, 20 * time.Second, 40 * time.Second, 80 * time.Second, 160 * time.Second, 5 * time.Minute, 5 * time.Minute}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("restart %d waits %s, want %s", i, got[i], want[i])
		}
	}
	if d := c.delay(10 * time.Minute); d != 0 {
		t.Errorf("after 10 min of running the restart waits %s, want 0 (reset)", d)
	}
}

// The restart policy counts from the exit the driver reports, or, when it
// reports none, from when the exit was first seen; a restart that must wait
// shows until when in the views status is built from.
func TestRestartsWaitFromTheExit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := newRestarts()
		start := time.Now()
		exited := driver.Container{ID: "a-1", State: driver.StateExited, StartedAt: start.Add(-5 * time.Second), FinishedAt: start}
		if d, n, _ := r.wait("a", exited); d > 0 || n != 0 {
			t.Fatalf("first restart waits %s after %d restarts, want at once", d, n)
		}
		r.restarted("a")
		time.Sleep(2 * time.Second)
		exited.FinishedAt = time.Now()
		d, n, told := r.wait("a", exited)
		if d != 10*time.Second || n != 1 {
			t.Errorf("second restart waits %s after %d restarts, want 10s after 1", d, n)
		}
		if !told {
			t.Error("the first wait before a restart is not the one to log")
		}
		if _, _, again := r.wait("a", exited); again {
			t.Error("the same wait is to be logged again on the next look")
		}
		if v := r.views()["a"]; v.count != 1 || !v.waiting.Equal(time.Now().Add(10*time.Second)) {
			t.Errorf("view %+v", v)
		}

		// No exit time from the driver: the wait counts from the first look.
		noTime := driver.Container{ID: "b-1", State: driver.StateExited}
		r.restarted("b")
		first, _, _ := r.wait("b", noTime)
		time.Sleep(4 * time.Second)
		later, _, _ := r.wait("b", noTime)
		if first != 10*time.Second || later != 6*time.Second {
			t.Errorf("waits %s then %s 4s later, want 10s then 6s", first, later)
		}
		r.restarted("b")
		if v := r.views()["b"]; v.count != 2 || !v.waiting.IsZero() {
			t.Errorf("after a restart the view still holds a wait: %+v", v)
		}
	})
}
