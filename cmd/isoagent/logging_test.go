package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// eventRecorder stands in for the Event Log.
type eventRecorder struct {
	events []string // "Information 1: text"
	err    error
}

func (r *eventRecorder) add(kind string, eid uint32, msg string) error {
	r.events = append(r.events, fmt.Sprintf("%s %d: %s", kind, eid, msg))
	return r.err
}
func (r *eventRecorder) Info(eid uint32, msg string) error    { return r.add("Information", eid, msg) }
func (r *eventRecorder) Warning(eid uint32, msg string) error { return r.add("Warning", eid, msg) }
func (r *eventRecorder) Error(eid uint32, msg string) error   { return r.add("Error", eid, msg) }

func TestEventHandlerMapsLevelsToEventTypes(t *testing.T) {
	tests := []struct {
		name  string
		min   slog.Level
		level slog.Level
		want  []string
	}{
		{"debug is left out at info", slog.LevelInfo, slog.LevelDebug, nil},
		{"debug is information when asked for", slog.LevelDebug, slog.LevelDebug, []string{"Information 1: m k=v"}},
		{"info is information", slog.LevelInfo, slog.LevelInfo, []string{"Information 1: m k=v"}},
		{"warn is warning", slog.LevelInfo, slog.LevelWarn, []string{"Warning 2: m k=v"}},
		{"between warn and error is warning", slog.LevelInfo, slog.LevelWarn + 2, []string{"Warning 2: m k=v"}},
		{"error is error", slog.LevelInfo, slog.LevelError, []string{"Error 3: m k=v"}},
		{"above error is error", slog.LevelInfo, slog.LevelError + 4, []string{"Error 3: m k=v"}},
		{"warn is left out at error", slog.LevelError, slog.LevelWarn, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec eventRecorder
			slog.New(newEventHandler(&rec, tt.min)).Log(t.Context(), tt.level, "m", "k", "v")
			if !reflect.DeepEqual(rec.events, tt.want) {
				t.Errorf("events %q, want %q", rec.events, tt.want)
			}
		})
	}
}

func TestEventHandlerText(t *testing.T) {
	var rec eventRecorder
	log := slog.New(newEventHandler(&rec, slog.LevelInfo))
	log.Info("isoagent starting", "driver", "hcs", "dir", `C:\ProgramData\isoagent\specs`)
	log.With("spec", "web").WithGroup("err").Warn("backing off", "attempt", 3, "cause", "port in use")
	log.Info("")
	log.Error("cannot start", "err", errors.New("vmcompute.dll: not found"))
	want := []string{
		`Information 1: isoagent starting driver=hcs dir=C:\ProgramData\isoagent\specs`,
		`Warning 2: backing off spec=web err.attempt=3 err.cause="port in use"`,
		`Information 1: `,
		`Error 3: cannot start err="vmcompute.dll: not found"`,
	}
	if !reflect.DeepEqual(rec.events, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(rec.events, "\n"), strings.Join(want, "\n"))
	}
}

func TestEventHandlerTruncatesLongRecordsOnARuneBoundary(t *testing.T) {
	var rec eventRecorder
	slog.New(newEventHandler(&rec, slog.LevelInfo)).Info(strings.Repeat("ä", maxEventText))
	if len(rec.events) != 1 {
		t.Fatalf("events: %d", len(rec.events))
	}
	text := strings.TrimPrefix(rec.events[0], "Information 1: ")
	if len(text) > maxEventText+len(" [truncated]") || !strings.HasSuffix(text, "ä [truncated]") {
		t.Errorf("text of %d bytes ends %q", len(text), text[len(text)-20:])
	}
}

func TestEventHandlerReportsWriteErrors(t *testing.T) {
	rec := eventRecorder{err: errors.New("the event log file is full")}
	err := newEventHandler(&rec, slog.LevelInfo).Handle(t.Context(), slog.NewRecord(time.Now(), slog.LevelInfo, "m", 0))
	if err == nil || !strings.Contains(err.Error(), "the event log file is full") {
		t.Errorf("err = %v", err)
	}
}

func TestLogFileGetsEveryRecordAlongsideTheOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "isoagent.log")
	if err := os.WriteFile(path, []byte(`{"msg":"from before"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var console bytes.Buffer
	var rec eventRecorder
	logs := logFlags{format: "auto", level: "warn", file: path}
	logger, closeLog, err := logs.open(&console, newEventHandler(&rec, slog.LevelWarn))
	if err != nil {
		t.Fatal(err)
	}
	logger.Info("quiet")
	logger.Warn("loud", "n", 1)
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var msgs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log file line %q is not JSON: %v", sc.Text(), err)
		}
		msgs = append(msgs, fmt.Sprint(rec["msg"]))
	}
	if want := []string{"from before", "loud"}; !reflect.DeepEqual(msgs, want) {
		t.Errorf("log file messages %q, want %q (appended, at the level asked)", msgs, want)
	}
	if !strings.Contains(console.String(), `"msg":"loud"`) || strings.Contains(console.String(), "quiet") {
		t.Errorf("console:\n%s", console.String())
	}
	if want := []string{"Warning 2: loud n=1"}; !reflect.DeepEqual(rec.events, want) {
		t.Errorf("events %q, want %q", rec.events, want)
	}
}

func TestLogFlagsReportMistakes(t *testing.T) {
	tests := []struct {
		name string
		logs logFlags
		want string
	}{
		{"level", logFlags{format: "json", level: "loud"}, "--log-level"},
		{"format", logFlags{format: "xml", level: "info"}, "--log-format"},
		{"file in a missing folder", logFlags{format: "json", level: "info", file: filepath.Join(t.TempDir(), "missing", "a.log")}, "--log-file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.logs.open(&bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %s", err, tt.want)
			}
		})
	}
}
