package main

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// passedDeadline is a context whose deadline the clock has passed but
// whose timer has not yet ended it, as a real one is for a moment.
type passedDeadline struct{ context.Context }

func (passedDeadline) Deadline() (time.Time, bool) { return time.Now().Add(-time.Millisecond), true }

// A wait whose deadline has passed on the clock, but not yet on its
// context, is a timeout: it never asks the agent with a negative timeout
// (which the agent refuses as a usage error).
func TestLongPollAfterTheDeadlineIsATimeout(t *testing.T) {
	var asked atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "timeout: want a duration such as 1.5s", http.StatusBadRequest)
	}))
	defer srv.Close()
	client := &agentClient{base: srv.URL, addr: srv.Listener.Addr().String(), http: srv.Client()}

	// Its timer ends it in a while, so that a wait that does ask ends too.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := awaitAgent(passedDeadline{ctx}, client, time.Second, 10*time.Millisecond)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("awaitAgent after its deadline: %v, want a timeout", err)
	}
	if n := asked.Load(); n != 0 {
		t.Errorf("the agent was asked %d times after the deadline", n)
	}
}
