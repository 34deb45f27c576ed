package jsonstore

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
)

type counter struct {
	N     int      `json:"n"`
	Names []string `json:"names,omitempty"`
}

func open(t *testing.T, dir string, opts Options) *Store[counter] {
	t.Helper()
	s, err := Open[counter](dir, "state.json", opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func value(t *testing.T, s *Store[counter]) counter {
	t.Helper()
	var got counter
	if err := s.View(func(c *counter) error { got = *c; return nil }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestAMissingFileIsTheZeroValue(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	s := open(t, dir, Options{})
	if got := value(t, s); got.N != 0 || got.Names != nil {
		t.Errorf("value of a new store = %+v, want the zero value", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "state.json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a view wrote the file: %v", err)
	}
}

func TestAFailedUpdateChangesNothing(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{})
	if err := s.Update(func(c *counter) error { c.N = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := s.Update(func(c *counter) error { c.N = 99; c.Names = []string{"half"}; return boom }); !errors.Is(err, boom) {
		t.Fatalf("Update = %v, want fn's error as it is", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if string(after) != string(before) {
		t.Errorf("the file changed after a failed update: %s -> %s", before, after)
	}
	if got := value(t, s); got.N != 1 || got.Names != nil {
		t.Errorf("value after a failed update = %+v, want what was saved", got)
	}
}

func TestAWriteOfAnotherStoreIsSeen(t *testing.T) {
	dir := t.TempDir()
	a, b := open(t, dir, Options{}), open(t, dir, Options{})
	for i := 1; i <= 3; i++ {
		if err := a.Update(func(c *counter) error { c.N++; return nil }); err != nil {
			t.Fatal(err)
		}
		if got := value(t, b); got.N != 2*i-1 {
			t.Fatalf("b sees %d after a's write, want %d", got.N, 2*i-1)
		}
		if err := b.Update(func(c *counter) error { c.N++; return nil }); err != nil {
			t.Fatal(err)
		}
		if got := value(t, a); got.N != 2*i {
			t.Fatalf("a sees %d after b's write, want %d", got.N, 2*i)
		}
	}
}

func TestOptionsShapeTheFiles(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir, Options{Lock: "held", Indent: true, Perm: 0o644})
	if err := s.Update(func(c *counter) error { c.N = 7; return nil }); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != "{\n  \"n\": 7\n}\n" {
		t.Errorf("indented file = %q", b)
	}
	if _, err := os.Stat(filepath.Join(dir, "held")); err != nil {
		t.Errorf("no lock file named held: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "state.json")); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644) {
		t.Errorf("state.json: %v, %v; want mode 0644", fi.Mode(), err)
	}
	s = open(t, t.TempDir(), Options{})
	if s.lock != s.file+".lock" || s.opts.Perm != 0o600 {
		t.Errorf("defaults: lock %s, perm %v", s.lock, s.opts.Perm)
	}
}

func TestAnUndecodableFileIsAnError(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "state.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := open(t, dir, Options{}).View(func(*counter) error { return nil })
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "state.json")) {
		t.Errorf("View of a broken file = %v, want an error naming it", err)
	}
}

// helperEnv makes the test binary the second process of
// TestProcessesTakeTurns: it adds its share of increments and exits.
const helperEnv = "JSONSTORE_HELPER_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		s, err := Open[counter](dir, "state.json", Options{})
		if err == nil {
			err = increment(s, "helper", 100)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func increment(s *Store[counter], who string, n int) error {
	for i := range n {
		if err := s.Update(func(c *counter) error {
			c.N++
			c.Names = append(c.Names, who+strconv.Itoa(i))
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// Two processes and several goroutines update one file at once; none of
// their updates is lost.
func TestProcessesTakeTurns(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := open(t, dir, Options{})
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for g := range 4 {
		wg.Go(func() { errs <- increment(s, "goroutine"+strconv.Itoa(g)+"-", 25) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s", err, out.String())
	}
	got := value(t, open(t, dir, Options{}))
	if got.N != 200 || len(got.Names) != 200 {
		t.Errorf("after 200 updates: n = %d, %d names", got.N, len(got.Names))
	}
}
