package hcs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/isoagent/isoagent/driver"
)

func TestRecordsRoundTripAndList(t *testing.T) {
	rs := records{dir: filepath.Join(t.TempDir(), "containers")}
	if ids, err := rs.list(); err != nil || len(ids) != 0 {
		t.Fatalf("list of a missing folder = %v, %v; want nothing", ids, err)
	}
	want := &record{
		Config:    driver.Config{ID: "web-1", Name: "web", Owner: "isoagent", Hash: "abc", Isolation: driver.Process},
		Layers:    []string{`C:\layers\top`, `C:\layers\base`},
		Scratch:   `C:\ProgramData\isoagent\layers\web-1`,
		Endpoints: []string{"E1"}, Started: true, InitPID: 4104, Exited: true, ExitCode: 3,
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	for _, id := range []string{"web-1", "api-2"} {
		r := *want
		r.Config.ID = id
		if err := rs.put(&r); err != nil {
			t.Fatal(err)
		}
	}
	// Leftover temporary files and other names are not records.
	os.WriteFile(filepath.Join(rs.dir, ".web-1-123.tmp"), []byte("{"), 0o600)
	os.WriteFile(filepath.Join(rs.dir, "notes.txt"), nil, 0o600)
	ids, err := rs.list()
	if err != nil || !slices.Equal(ids, []string{"api-2", "web-1"}) {
		t.Fatalf("list = %v, %v; want [api-2 web-1]", ids, err)
	}
	got, err := rs.get("web-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Config.Hash != want.Config.Hash || got.ExitCode != 3 || got.InitPID != 4104 || !got.CreatedAt.Equal(want.CreatedAt) || !slices.Equal(got.Layers, want.Layers) {
		t.Errorf("get = %+v, want %+v", got, want)
	}
	if err := rs.delete("web-1"); err != nil {
		t.Fatal(err)
	}
	if err := rs.delete("web-1"); err != nil {
		t.Errorf("deleting a deleted record = %v, want nil", err)
	}
	if _, err := rs.get("web-1"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("get after delete = %v, want ErrNotExist", err)
	}
}
