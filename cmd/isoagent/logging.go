package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/isoagent/isoagent/agent"
)

// logFlags are the logging flags of `isoagent run`. `service install`
// registers them too, so it can check them before they are written into
// the service's command line.
type logFlags struct {
	format string
	level  string
	file   string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "auto", "log format: auto (text on a terminal, else json), text or json")
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&l.file, "log-file", "", "also append logs to this file, in --log-format (auto: json); the Windows service logs to the Event Log and this file")
}

// check reports a bad --log-format or --log-level without opening
// anything.
func (l logFlags) check() error {
	_, err := newLogger(io.Discard, l.format, l.level)
	return err
}

// open returns a logger writing to console (unless it is nil), to
// --log-file when given, and to the extra handlers. The caller must call
// close when done with the logger; it closes the log file.
func (l logFlags) open(console io.Writer, extra ...slog.Handler) (logger *slog.Logger, close func() error, err error) {
	handlers := extra
	if console != nil {
		lg, err := newLogger(console, l.format, l.level)
		if err != nil {
			return nil, nil, err
		}
		handlers = append([]slog.Handler{lg.Handler()}, handlers...)
	}
	close = func() error { return nil }
	if l.file != "" {
		f, err := os.OpenFile(l.file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("--log-file: %w", err)
		}
		lg, err := newLogger(f, l.format, l.level)
		if err != nil {
			f.Close()
			return nil, nil, err
		}
		handlers = append(handlers, lg.Handler())
		close = f.Close
	}
	switch len(handlers) {
	case 0:
		return slog.New(slog.DiscardHandler), close, nil
	case 1:
		return slog.New(handlers[0]), close, nil
	}
	return slog.New(slog.NewMultiHandler(handlers...)), close, nil
}

// slogLevel parses --log-level.
func (l logFlags) slogLevel() (slog.Level, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.level)); err != nil {
		return 0, fmt.Errorf("--log-level %q: %w", l.level, err)
	}
	return lv, nil
}

// eventWriter is the part of the Windows Event Log (*eventlog.Log) that
// eventHandler writes to: one method per event type.
type eventWriter interface {
	Info(eid uint32, msg string) error
	Warning(eid uint32, msg string) error
	Error(eid uint32, msg string) error
}

// Event IDs of the records isoagent writes, one per event type, so that
// an administrator can filter on either.
const (
	eventIDInfo    = 1
	eventIDWarning = 2
	eventIDError   = 3
)

// maxEventText keeps a record under the Event Log's limit of 31,839
// characters per string.
const maxEventText = 31000

// eventHandler is a slog.Handler that writes each record as one Event Log
// event: Debug and Info records as Information, Warn as Warning, Error as
// Error. The text is the message followed by the attributes as key=value
// pairs; time and level are left out because the event carries both.
//
// It is cross-platform so its formatting is tested everywhere; only
// opening the real Event Log is Windows-only.
type eventHandler struct {
	text slog.Handler // formats attributes into sink, and keeps WithAttrs and WithGroup
	sink *eventSink   // shared by every handler derived from one newEventHandler
}

// eventSink receives the attribute text of one record at a time and
// writes the event; mu makes the record's level and message travel with
// its text.
type eventSink struct {
	mu    sync.Mutex
	w     eventWriter
	level slog.Level
	msg   string
}

var _ slog.Handler = (*eventHandler)(nil)

func newEventHandler(w eventWriter, level slog.Leveler) *eventHandler {
	sink := &eventSink{w: w}
	text := slog.NewTextHandler(sink, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.MessageKey) {
				return slog.Attr{}
			}
			return a
		},
	})
	return &eventHandler{text: text, sink: sink}
}

func (h *eventHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.text.Enabled(ctx, l)
}

func (h *eventHandler) Handle(ctx context.Context, r slog.Record) error {
	h.sink.mu.Lock()
	defer h.sink.mu.Unlock()
	h.sink.level, h.sink.msg = r.Level, r.Message
	return h.text.Handle(ctx, r)
}

func (h *eventHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &eventHandler{text: h.text.WithAttrs(attrs), sink: h.sink}
}

func (h *eventHandler) WithGroup(name string) slog.Handler {
	return &eventHandler{text: h.text.WithGroup(name), sink: h.sink}
}

// Write is called by the text handler, under mu, with one record's
// attributes.
func (s *eventSink) Write(p []byte) (int, error) {
	text := s.msg
	if kv := strings.TrimSpace(string(p)); kv != "" {
		if text != "" {
			text += " "
		}
		text += kv
	}
	if len(text) > maxEventText {
		n := maxEventText
		for n > 0 && !utf8.RuneStart(text[n]) {
			n--
		}
		text = text[:n] + " [truncated]"
	}
	var err error
	switch {
	case s.level >= slog.LevelError:
		err = s.w.Error(eventIDError, text)
	case s.level >= slog.LevelWarn:
		err = s.w.Warning(eventIDWarning, text)
	default:
		err = s.w.Info(eventIDInfo, text)
	}
	if err != nil {
		return 0, fmt.Errorf("write to the Event Log: %w", err)
	}
	return len(p), nil
}

// newLogger returns a logger writing to w in the given format and level.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: %w", level, err)
	}
	opts := agent.LogHandlerOptions(lv)
	switch format {
	case "auto":
		if isTerminal(w) {
			return slog.New(slog.NewTextHandler(w, opts)), nil
		}
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want auto, text or json", format)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
