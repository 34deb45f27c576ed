package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/driver/sim"
	"github.com/isoagent/isoagent/internal/testutil"
	"github.com/isoagent/isoagent/spec"
)

// logBuffer collects the lines a handler writes, from any goroutine.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Split(strings.TrimSuffix(l.b.String(), "\n"), "\n")
}

// uniqueKeys decodes one JSON value from dec, failing on an object that
// has a key twice, at any depth.
func uniqueKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		seen := map[string]bool{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if seen[key] {
				return fmt.Errorf("key %q twice", key)
			}
			seen[key] = true
			if err := uniqueKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if err := uniqueKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
	}
	return err
}

// record is one JSON log line, checked: one object with unique keys.
func record(t *testing.T, line string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if err := uniqueKeys(dec); err != nil {
		t.Fatalf("log line %s: %v", line, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("log line %s holds more than one value", line)
	}
	var r map[string]any
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		t.Fatalf("log line %s: %v", line, err)
	}
	return r
}

// TestAgentJSONLogs runs the agent with the JSON handler it is given in
// production over a folder with an invalid file, a container that keeps
// exiting and a create that fails once, through several resyncs, and
// reads every line: one JSON object with unique keys, durations as
// strings, one line per event, the invalid file named with its problems
// once per change of its content.
func TestAgentJSONLogs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		const image = "mcr.microsoft.com/windows/servercore:ltsc2022"
		testutil.WriteSpec(t, dir, "web.yaml", "web", image)
		testutil.WriteSpec(t, dir, "crash.yaml", "crash", image, "command: [cmd, /c, exit 3]", "restartPolicy: always")
		testutil.WriteSpec(t, dir, "portal.yaml", "portal", image, "ports: [{hostPort: 8080, containerPort: 80}]") // rejected: no policy
		bad := filepath.Join(dir, "bad.yaml")
		testutil.WriteFile(t, bad, "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: bad\nspec:\n  image: "+image+"\n  imgae: x\n")
		drv, err := sim.Open("", sim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := drv.InjectFault(sim.Fault{Op: driver.OpCreate, Count: 1, Err: errors.New("the disk is full")}); err != nil {
			t.Fatal(err)
		}
		var logs logBuffer
		startAgent(t, Config{Dir: dir, Driver: drv, Logger: slog.New(slog.NewJSONHandler(&logs, LogHandlerOptions(slog.LevelDebug)))})
		time.Sleep(6 * testResync)
		testutil.WriteFile(t, bad, "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: bad\nspec:\n  image: "+image+"\n  command: [cmd\n")
		time.Sleep(3 * testResync)
		testutil.WriteSpec(t, dir, "bad.yaml", "bad", image)
		time.Sleep(3 * testResync)
		synctest.Wait()

		var recs []map[string]any
		for _, line := range logs.lines() {
			recs = append(recs, record(t, line))
		}
		var invalid [][]any
		var snapshots, valid, failures []string
		countdowns := map[string]int{}
		rejected := 0
		for _, r := range recs {
			msg, _ := r["msg"].(string)
			for _, k := range []string{"latency", "after", "resync", "duration", "retry_in", "wait", "interval", "waited"} {
				if v, ok := r[k]; ok {
					if _, isString := v.(string); !isString {
						t.Errorf("%q: %s is %v, not a duration string", msg, k, v)
					}
				}
			}
			switch {
			case strings.HasPrefix(msg, "spec file is invalid"):
				if r["file"] != bad {
					t.Errorf("invalid file %v, want %s", r["file"], bad)
				}
				p, _ := r["problems"].([]any)
				invalid = append(invalid, p)
			case msg == "spec file is valid again":
				valid = append(valid, fmt.Sprint(r["file"]))
			case strings.HasPrefix(msg, "spec folder") || msg == "spec snapshot":
				snapshots = append(snapshots, msg)
			case msg == "spec rejected":
				rejected++
				if d, _ := r["detail"].(string); !strings.Contains(d, "8080/tcp") {
					t.Errorf("rejection's detail %q does not say why", d)
				}
			case msg == "container keeps exiting; restart waits":
				countdowns[fmt.Sprint(r["spec"], " ", r["restarts"])]++
			}
			if r["level"] == "ERROR" && strings.Contains(fmt.Sprint(r), "the disk is full") {
				failures = append(failures, msg)
			}
		}
		want := [][]any{
			{bad + ":7:3: spec.imgae: unknown field \"imgae\"; did you mean image?"},
			{bad + ":7: invalid YAML: did not find expected ',' or ']'"},
		}
		if fmt.Sprint(invalid) != fmt.Sprint(want) {
			t.Errorf("invalid-file lines %q, want %q (once per content)", invalid, want)
		}
		if !slices.Equal(valid, []string{bad}) {
			t.Errorf("valid-again lines %q, want one of %s", valid, bad)
		}
		if len(snapshots) == 0 || snapshots[0] != "spec folder loaded at start-up" {
			t.Errorf("snapshot lines %q, want the first to be the start-up load", snapshots)
		}
		if len(failures) != 1 {
			t.Errorf("error lines for one failed create: %q, want one", failures)
		}
		if rejected != 1 {
			t.Errorf("%d lines say portal was rejected, want one through every resync", rejected)
		}
		if len(countdowns) == 0 {
			t.Error("no line says the crashing container's restart waits")
		}
		for k, n := range countdowns {
			if n != 1 {
				t.Errorf("restart wait of %s logged %d times, want once", k, n)
			}
		}
	})
}

// In text, as the Event Log gets it (its handler formats with slog's text
// handler), a file's problems read one after another, each as validate
// prints it.
func TestInvalidFileProblemsInText(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	testutil.WriteFile(t, bad, "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: Bad\nspec:\n  image: x:1\n  imgae: x\n")
	l := spec.NewLoader(dir, spec.LoaderOptions{})
	var out bytes.Buffer
	files := newFileLog(slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})))
	for range 2 { // read again, unchanged: not logged again
		snap, err := l.Reload()
		if err != nil {
			t.Fatal(err)
		}
		files.snapshot(snap)
	}
	want := `level=WARN msg="spec file is invalid; it declares nothing until fixed" file=` + bad +
		` problems="` + bad + `:4:9: metadata.name: \"Bad\" is not a valid name: use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (such as \"bad\"); ` +
		bad + `:7:3: spec.imgae: unknown field \"imgae\"; did you mean image?"` + "\n"
	if out.String() != want {
		t.Errorf("logged\n%s\nwant\n%s", out.String(), want)
	}
}
