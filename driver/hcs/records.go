package hcs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/atomicfile"
	"github.com/isoagent/isoagent/internal/safefile"
)

// record is what the driver keeps about one container beyond what HCS
// stores: HCS v1 has no labels and forgets a stopped compute system once
// its last handle closes.
type record struct {
	// Config is the config the container was created with; Start after an
	// exit creates a new compute system from it.
	Config driver.Config `json:"config"`
	// Layers are the image's read-only layer folders, topmost first.
	Layers []string `json:"layers"`
	// CommandLine is the init process's command line and Process its
	// working folder, environment and user, the config's merged with the
	// image's, fixed at create so a restart runs what the first start ran
	// (a record from before Process was kept has none).
	CommandLine string       `json:"commandLine"`
	Process     *processSpec `json:"process,omitempty"`
	// Scratch is the container's scratch (read-write) layer folder.
	Scratch string `json:"scratch"`
	// Mounted reports that the scratch layer is activated and prepared
	// (process isolation, while a compute system uses it).
	Mounted bool `json:"mounted,omitempty"`
	// Endpoints are the HNS endpoints the driver made for the container's
	// current compute system; one lasts a run.
	Endpoints []string `json:"endpoints,omitempty"`
	// SharedEndpoints are endpoints of the container whose network this one
	// shares, as they were at its last start; they are not this
	// container's to delete.
	SharedEndpoints []string `json:"sharedEndpoints,omitempty"`
	// Started reports that the current compute system has been started,
	// so its disappearance means the container exited.
	Started bool `json:"started,omitempty"`
	InitPID int  `json:"initPid,omitempty"`
	// Run is the folder of the current run's monitor (package monitor),
	// which holds its output and records its exit; "" for a run the
	// driver holds itself.
	Run      string `json:"run,omitempty"`
	Exited   bool   `json:"exited,omitempty"`
	ExitCode int    `json:"exitCode"`

	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// Restarts counts the starts after the first, so that the count
	// outlives the agent (issue 13).
	Restarts int `json:"restarts,omitempty"`
}

// records is a folder of container records, one <id>.json file each. Every
// write replaces the file through a rename, so a crash leaves the old or
// the new record, never half of one. The driver serialises access per
// container; records does no locking of its own.
type records struct {
	dir string
}

func (rs records) path(id string) string { return filepath.Join(rs.dir, id+".json") }

// get reads the record of id; it wraps fs.ErrNotExist when there is none.
func (rs records) get(id string) (*record, error) {
	b, err := safefile.ReadFile(rs.path(id))
	if err != nil {
		return nil, err
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("container record %s: %w", rs.path(id), err)
	}
	return &r, nil
}

func (rs records) put(r *record) error {
	if err := os.MkdirAll(rs.dir, 0o700); err != nil {
		return fmt.Errorf("container records: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(rs.path(r.Config.ID), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("container record %s: %w", r.Config.ID, err)
	}
	return nil
}

func (rs records) delete(id string) error {
	if err := os.Remove(rs.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("container record %s: %w", id, err)
	}
	return nil
}

// list returns the IDs that have a record, sorted.
func (rs records) list() ([]string, error) {
	entries, err := os.ReadDir(rs.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("container records: %w", err)
	}
	var ids []string
	for _, e := range entries {
		name := e.Name()
		if id, ok := strings.CutSuffix(name, ".json"); ok && !strings.HasPrefix(name, ".") && !e.IsDir() {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	return ids, nil
}
