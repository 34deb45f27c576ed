package agent

import (
	"log/slog"
	"time"
)

// LogHandlerOptions are the options of the agent's log handlers, JSON and
// text alike: records at level and above, and every duration written as
// a Go duration string ("1.5s", "250ms"), as the text handler writes
// them, rather than the JSON handler's integer nanoseconds.
func LogHandlerOptions(level slog.Leveler) *slog.HandlerOptions {
	return &slog.HandlerOptions{Level: level, ReplaceAttr: durationAsString}
}

func durationAsString(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	} else if d, ok := a.Value.Any().(time.Duration); ok && a.Value.Kind() == slog.KindAny {
		a.Value = slog.StringValue(d.String())
	}
	return a
}
