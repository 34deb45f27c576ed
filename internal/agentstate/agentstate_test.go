package agentstate

import (
	"path/filepath"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f := Open(dir, "isoagent")
	s, err := f.Load()
	if err != nil || s.Dir != "" {
		t.Fatalf("Load of a new state = %+v, %v", s, err)
	}
	want := Abs(filepath.Join(dir, "specs"))
	if err := f.Save(State{Dir: want}); err != nil {
		t.Fatal(err)
	}
	if s, err := f.Load(); err != nil || !SameDir(s.Dir, want) {
		t.Fatalf("Load = %+v, %v; want %s", s, err, want)
	}
	if s, _ := Open(dir, "other").Load(); s.Dir != "" {
		t.Fatalf("another owner's state = %+v", s)
	}
}
