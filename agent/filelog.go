package agent

import (
	"encoding/json"
	"log/slog"
	"strings"

	"github.com/isoagent/isoagent/spec"
)

// fileLog logs the spec files that turn invalid, with their problems as
// validate prints them, and those that turn valid again: once per change
// of a file's problems, not once per snapshot, so that a resync or a
// change elsewhere in the folder does not repeat them. Only the feed
// goroutine uses it.
type fileLog struct {
	log  *slog.Logger
	last map[string]string // path → problems last logged
}

func newFileLog(log *slog.Logger) *fileLog {
	return &fileLog{log: log, last: map[string]string{}}
}

// problemList is the problems of one file, "file:line:col: field:
// message" each: a JSON array in JSON logs, joined with "; " in text (and
// so in the Event Log), where a slice would print ambiguously.
type problemList []string

func (p problemList) MarshalJSON() ([]byte, error) { return json.Marshal([]string(p)) }

func (p problemList) MarshalText() ([]byte, error) { return []byte(strings.Join(p, "; ")), nil }

// snapshot logs what changed in s's files since the last snapshot.
func (l *fileLog) snapshot(s *spec.Snapshot) {
	// The files logged invalid that the snapshot no longer has: a set of
	// the few logged, not of every file the folder holds.
	gone := make(map[string]bool, len(l.last))
	for p := range l.last {
		gone[p] = true
	}
	for _, f := range s.Files {
		delete(gone, f.Path)
		if f.Valid() {
			if _, was := l.last[f.Path]; was {
				delete(l.last, f.Path)
				l.log.Info("spec file is valid again", "file", f.Path)
			}
			continue
		}
		var problems problemList
		for _, e := range spec.Errors(f.Err) {
			problems = append(problems, e.Error())
		}
		text := strings.Join(problems, "\n")
		if l.last[f.Path] == text {
			continue
		}
		l.last[f.Path] = text
		switch {
		case f.Pending:
			l.log.Info("spec file change held back until it settles", "file", f.Path, "problems", problems)
		case f.Stale:
			l.log.Warn("spec file is invalid; its last good specs stay in force", "file", f.Path, "problems", problems)
		default:
			l.log.Warn("spec file is invalid; it declares nothing until fixed", "file", f.Path, "problems", problems)
		}
	}
	for p := range gone {
		delete(l.last, p)
	}
}
