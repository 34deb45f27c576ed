package reconcile

import (
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
