package testutil

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that notes failures instead of failing the
// test, to test the helpers' own failures.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

func (r *recorder) Fatal(args ...any) {
	r.Errorf("%s", fmt.Sprint(args...))
	runtime.Goexit()
}

// run calls fn with r on a goroutine of its own, so that Fatal can end it.
func (r *recorder) run(fn func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
}

func TestFreeAddrCanBeListenedOn(t *testing.T) {
	addr := FreeAddr(t)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("FreeAddr = %q, want a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	ln.Close()
}

func TestGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "testdata", "out.golden")
	tests := []struct {
		name     string
		file     string // content of the golden file before; "" for none
		got      string
		update   bool
		fails    bool
		want     string // message part when it fails
		fileThen string // content of the golden file after
	}{
		{name: "missing file", got: "a\n", fails: true, want: "run the test with -update to create it"},
		{name: "update creates the file", got: "a\n", update: true, fileThen: "a\n"},
		{name: "equal", file: "a\n", got: "a\n", fileThen: "a\n"},
		{name: "CRLF checkout", file: "a\r\nb\r\n", got: "a\nb\n", fileThen: "a\r\nb\r\n"},
		{name: "different", file: "a\n", got: "b\n", fails: true, want: "--- got\nb\n--- want\na\n", fileThen: "a\n"},
		{name: "update rewrites", file: "a\n", got: "b\n", update: true, fileThen: "b\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.RemoveAll(filepath.Dir(path))
			if tt.file != "" {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(tt.file), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			r := &recorder{TB: t}
			r.run(func(tb testing.TB) { Golden(tb, path, []byte(tt.got), tt.update) })
			if r.failed != tt.fails || (tt.fails && !strings.Contains(strings.Join(r.msgs, "\n"), tt.want)) {
				t.Errorf("failed %v with %q; want failed %v saying %q", r.failed, r.msgs, tt.fails, tt.want)
			}
			if tt.fileThen != "" {
				if b, err := os.ReadFile(path); err != nil || string(b) != tt.fileThen {
					t.Errorf("golden file %q, %v; want %q", b, err, tt.fileThen)
				}
			}
		})
	}
}

// helperEnv makes the test binary act as the program TestProcess starts.
const helperEnv = "TESTUTIL_HELPER_PROCESS"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		// Runs until it is interrupted (or killed).
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		<-sig
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A program a test starts is stopped when that test ends; had the
// interrupt not ended it in time, the subtest would fail.
func TestProcessStopsAtTheEndOfTheTest(t *testing.T) {
	var p *Process
	t.Run("owner", func(t *testing.T) {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		p = Start(t, "helper", cmd)
		if p.Exited() {
			t.Fatal("the helper exited at once")
		}
	})
	if !p.Exited() {
		t.Fatal("the helper still runs after its test ended")
	}
}

func TestWriteSpecAndWriteFile(t *testing.T) {
	dir := t.TempDir()
	WriteSpec(t, dir, "web.yaml", "web", "example.com/web:ltsc2022", "isolation: process")
	b, err := os.ReadFile(filepath.Join(dir, "web.yaml"))
	want := "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\nspec:\n  image: example.com/web:ltsc2022\n  isolation: process\n"
	if err != nil || string(b) != want {
		t.Errorf("spec file %q, %v; want %q", b, err, want)
	}
	path := filepath.Join(dir, "policy.yaml")
	WriteFile(t, path, "a")
	WriteFile(t, path, "b")
	if b, err := os.ReadFile(path); err != nil || string(b) != "b" {
		t.Errorf("file %q, %v; want the second content", b, err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
}
