package agent

import (
	"context"

	"github.com/isoagent/isoagent/spec"
)

// follow runs w until ctx is done and hands each update it reads to
// apply, in order; it returns once both have stopped.
func follow[T any](ctx context.Context, w *spec.FileWatcher[T], apply func(spec.FileUpdate[T])) error {
	done := make(chan struct{})
	go func() {
		defer close(done)
		for u := range w.Updates() {
			apply(u)
		}
	}()
	err := w.Run(ctx)
	<-done
	return err
}
