package hcs

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// hcsshim logs through logrus's standard logger (its internal/log): the
// retries of the storage filter, a failed wait, a handle it could not
// close. LogrusHook and RouteLogrus bring those records into the agent's
// own log.

// LogrusHook is a logrus hook that hands warnings and errors to Logger as
// slog records, with the entry's fields as attributes.
type LogrusHook struct {
	Logger *slog.Logger
}

var _ logrus.Hook = LogrusHook{}

// Levels implements logrus.Hook: warnings and worse.
func (LogrusHook) Levels() []logrus.Level {
	return []logrus.Level{logrus.PanicLevel, logrus.FatalLevel, logrus.ErrorLevel, logrus.WarnLevel}
}

// Fire implements logrus.Hook.
func (h LogrusHook) Fire(e *logrus.Entry) error {
	level := slog.LevelWarn
	if e.Level <= logrus.ErrorLevel {
		level = slog.LevelError
	}
	attrs := make([]slog.Attr, 0, len(e.Data))
	for k, v := range e.Data {
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	ctx := e.Context
	if ctx == nil {
		ctx = context.Background()
	}
	h.Logger.LogAttrs(ctx, level, e.Message, attrs...)
	return nil
}

// RouteLogrus makes l (logrus.StandardLogger(), where hcsshim logs) hand
// its warnings and errors to logger and write nothing itself; its debug
// and info records are dropped. It changes l for the whole process: call
// it once, from main.
func RouteLogrus(l *logrus.Logger, logger *slog.Logger) {
	l.SetOutput(io.Discard)
	l.SetLevel(logrus.WarnLevel)
	l.ReplaceHooks(logrus.LevelHooks{})
	l.AddHook(LogrusHook{Logger: logger})
}
