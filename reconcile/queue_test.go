package reconcile

import (
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestQueueCollapsesAddsOfAWaitingKey(t *testing.T) {
	q := newQueue()
	q.Add("a")
	q.Add("b")
	q.Add("a")
	if n := q.Len(); n != 2 {
		t.Fatalf("Len = %d, want 2", n)
	}
}

func TestQueueNeverHandsOneKeyToTwoWorkers(t *testing.T) {
	q := newQueue()
	q.Add("a")
	k, _ := q.Get()
	q.Add("a") // dirty while processing
	if n := q.Len(); n != 0 {
		t.Fatalf("a key being processed was queued again before Done: Len = %d", n)
	}
	q.Done(k)
	if k2, ok := q.Get(); !ok || k2 != "a" {
		t.Fatalf("dirty key not requeued by Done: %q %v", k2, ok)
	}
}

func TestQueueParallelWorkersSeeEachKeyExclusively(t *testing.T) {
	q := newQueue()
	var mu sync.Mutex
	busy := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				k, ok := q.Get()
				if !ok {
					return
				}
				mu.Lock()
				if busy[k] {
					t.Errorf("key %s handed to two workers", k)
				}
				busy[k] = true
				mu.Unlock()
				mu.Lock()
				busy[k] = false
				mu.Unlock()
				q.Done(k)
			}
		})
	}
	for i := range 10000 {
		q.Add([]string{"a", "b", "c"}[i%3])
	}
	q.ShutDown()
	wg.Wait()
}

func TestQueueAddAfterKeepsTheEarliest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue()
		defer q.ShutDown()
		q.AddAfter("a", time.Minute)
		q.AddAfter("a", time.Second)
		q.AddAfter("a", time.Hour) // later: ignored
		start := time.Now()
		k, ok := q.Get()
		if !ok || k != "a" {
			t.Fatalf("Get = %q %v", k, ok)
		}
		if got := time.Since(start); got != time.Second {
			t.Errorf("key came after %s, want 1s", got)
		}
		q.Done(k)
		time.Sleep(2 * time.Hour)
		if n := q.Len(); n != 0 {
			t.Errorf("replaced delayed adds fired: Len = %d", n)
		}
	})
}

func TestQueueShutDownWakesWorkers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		q := newQueue()
		done := make(chan bool)
		go func() {
			_, ok := q.Get()
			done <- ok
		}()
		synctest.Wait()
		q.ShutDown()
		if <-done {
			t.Error("Get returned a key after shutdown")
		}
	})
}

// Keys added low are handed out after every other key, each once; a key
// added again at the usual priority goes with the others, and one added
// low while processed comes back low.
func TestQueueHandsOutLowKeysLast(t *testing.T) {
	type op struct {
		kind string // add, low, get (and Done at once), take (no Done), done
		key  string
	}
	tests := []struct {
		name string
		ops  []op
		want []string // the keys the gets hand out, in order, then the rest drained
	}{
		{"low behind the others", []op{{"low", "a"}, {"low", "b"}, {"add", "x"}, {"add", "y"}}, []string{"x", "y", "a", "b"}},
		{"a low key added again goes with the others", []op{{"low", "a"}, {"low", "b"}, {"add", "x"}, {"add", "b"}}, []string{"x", "b", "a"}},
		{"added low after the usual add stays with the others", []op{{"add", "x"}, {"low", "a"}, {"add", "b"}, {"low", "b"}}, []string{"x", "b", "a"}},
		{"added low while processed comes back low", []op{{"add", "a"}, {"take", "a"}, {"low", "a"}, {"add", "x"}, {"done", "a"}, {"add", "y"}}, []string{"x", "y", "a"}},
		{"added low, then as usual, while processed", []op{{"add", "a"}, {"take", "a"}, {"low", "b"}, {"low", "a"}, {"add", "a"}, {"done", "a"}}, []string{"a", "b"}},
		{"handed out, then added low again: once more", []op{{"low", "a"}, {"add", "a"}, {"get", "a"}, {"low", "a"}, {"low", "b"}}, []string{"a", "a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newQueue()
			var got []string
			for _, o := range tt.ops {
				switch o.kind {
				case "add":
					q.Add(o.key)
				case "low":
					q.AddLow(o.key)
				case "get", "take":
					k, _ := q.Get()
					if k != o.key {
						t.Fatalf("Get = %q, want %q", k, o.key)
					}
					if o.kind == "get" {
						got = append(got, k)
						q.Done(k)
					}
				case "done":
					q.Done(o.key)
				}
			}
			for q.Len() > 0 {
				k, _ := q.Get()
				got = append(got, k)
				q.Done(k)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("handed out %v, want %v", got, tt.want)
			}
		})
	}
}
