package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/internal/adminonly"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/spec/yamlpos"
)

// missing says what it means that a folder is not there.
type missing int

const (
	missingFails missing = iota // the agent needs it
	missingMade                 // the agent makes it, with inherited permissions
	missingNone                 // nothing uses it until it is made
)

// folder is one of the agent's folders whose writers doctor checks.
type folder struct {
	name    string
	path    string
	missing missing
}

func (f folder) check() driver.Check {
	c := driver.Check{Name: f.name}
	fi, err := os.Stat(f.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		switch f.missing {
		case missingNone:
			c.Status, c.Detail = driver.CheckPass, fmt.Sprintf("%s does not exist (nothing uses it until it is made)", f.path)
		case missingMade:
			c.Status, c.Detail = driver.CheckWarn, fmt.Sprintf("%s does not exist yet; the agent makes it, writable by whoever may write where it is made", f.path)
			c.Fix = "make it first, " + adminonly.Wording + ": " + adminonly.CreateFix(f.path)
		default:
			c.Status, c.Detail, c.Fix = driver.CheckFail, fmt.Sprintf("%s does not exist", f.path), "make it, "+adminonly.Wording+": "+adminonly.CreateFix(f.path)
		}
		return c
	case err != nil:
		c.Status, c.Detail, c.Fix = driver.CheckFail, fmt.Sprintf("cannot look at %s: %v", f.path, err), "run isoagent doctor as an administrator"
		return c
	case !fi.IsDir():
		c.Status, c.Detail, c.Fix = driver.CheckFail, fmt.Sprintf("%s is not a folder", f.path), "give the folder's path"
		return c
	}
	return writers(c, f.path, true)
}

// writers checks that only administrators can change path and says so in
// c.
func writers(c driver.Check, path string, dir bool) driver.Check {
	others, err := adminonly.Writers(path)
	switch {
	case err != nil:
		c.Status, c.Detail, c.Fix = driver.CheckFail, fmt.Sprintf("cannot read who may write %s: %v", path, err), "run isoagent doctor as an administrator"
	case len(others) > 0:
		c.Status = driver.CheckFail
		c.Detail = fmt.Sprintf("%s can be changed by %s; whoever can change it controls what the agent runs, with the agent's rights", path, joinAnd(others))
		c.Fix = adminonly.RestrictFix(path, dir)
	default:
		c.Status, c.Detail = driver.CheckPass, fmt.Sprintf("%s, %s", path, adminonly.Wording)
	}
	return c
}

func joinAnd(s []string) string {
	switch len(s) {
	case 0:
		return ""
	case 1:
		return s[0]
	}
	out := s[0]
	for _, x := range s[1 : len(s)-1] {
		out += ", " + x
	}
	return out + " and " + s[len(s)-1]
}

// specFolder checks the spec folder: there, readable, every file valid
// and writable by administrators only.
func specFolder(dir string) []driver.Check {
	if dir == "" {
		return []driver.Check{{Name: "spec folder", Status: driver.CheckWarn, Detail: "no --dir given, so the spec folder is not checked",
			Fix: "give isoagent doctor the --dir the agent runs with"}}
	}
	c := folder{name: "spec folder", path: dir}.check()
	if c.Status == driver.CheckFail && !existsDir(dir) {
		return []driver.Check{c}
	}
	load := driver.Check{Name: "specs", Status: driver.CheckPass}
	snap, err := spec.NewLoader(dir, spec.LoaderOptions{LocateSyntax: yamlpos.Locate}).Load()
	if err != nil {
		load.Status, load.Detail, load.Fix = driver.CheckFail, fmt.Sprintf("cannot read %s: %v", dir, err), "run isoagent doctor as an administrator, or give the folder's path"
		return []driver.Check{c, load}
	}
	invalid := 0
	for _, f := range snap.Files {
		if !f.Valid() {
			invalid++
		}
	}
	load.Detail = fmt.Sprintf("%d specs in %d files", len(snap.Specs), len(snap.Files))
	if invalid > 0 {
		load.Status = driver.CheckWarn
		load.Detail += fmt.Sprintf(", %d of them invalid (the agent runs the others)", invalid)
		load.Fix = fmt.Sprintf("isoagent validate %s shows what is wrong, with file:line:col", dir)
	}
	return []driver.Check{c, load}
}

func existsDir(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.IsDir()
}

// policyFile checks the policy: given, valid, and it and its folder
// writable by administrators only.
func policyFile(path string) []driver.Check {
	c := driver.Check{Name: "policy file"}
	if path == "" {
		c.Status, c.Detail = driver.CheckWarn, "no --policy: nothing that pierces isolation is allowed (mounts, pipes, ports, devices, network sharing, credential specs)"
		c.Fix = `write one (examples/policy.yaml is a start) and give it as --policy C:\ProgramData\isoagent\policy.yaml`
		return []driver.Check{c}
	}
	if _, err := policy.Load(path); err != nil {
		c.Status, c.Fix = driver.CheckFail, fmt.Sprintf("fix the file: isoagent validate --policy %s shows every problem", path)
		errs := spec.Errors(err)
		c.Detail = fmt.Sprintf("%s does not parse (%d problems, the first: %s); the agent does not start with it", path, len(errs), errs[0].Error())
		return []driver.Check{c}
	}
	c = writers(c, path, false)
	if c.Status == driver.CheckPass {
		c.Detail = fmt.Sprintf("%s parses, %s", path, adminonly.Wording)
	}
	dir := folder{name: "policy folder", path: filepath.Dir(path)}.check()
	return []driver.Check{c, dir}
}
