package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// answers is a Resolver with fixed answers; an empty answer is an error.
type answers map[string]string

func (a answers) ResolvePath(p winpath.Path) (string, error) {
	real, ok := a[p.String()]
	switch {
	case !ok:
		return p.String(), nil
	case real == "":
		return "", errors.New("access denied")
	}
	return real, nil
}

// TestResolveMountsRecordsWhereMountsLead pins what admission records for
// the driver: the folder a mount leads to when it is not the mount's own
// host folder (in any spelling), and nothing, stale values included, when
// it is, when it cannot be told, or when nothing resolves paths.
func TestResolveMountsRecordsWhereMountsLead(t *testing.T) {
	r := answers{
		`D:\data\link`:   `D:\other`,
		`D:\data\case`:   `D:\DATA\Case`,
		`D:\data\locked`: "",
		`D:\data\guid`:   `\\?\Volume{8a25748f-cf34-4ac6-9ee2-c89400e886db}\x`,
	}
	tests := []struct {
		host     string
		resolver Resolver
		want     string
	}{
		{`D:\data\link`, r, `D:\other`},
		{`D:\data\plain`, r, ""},
		{`D:\data\case`, r, ""},
		{`D:\data\locked`, r, ""},
		{`D:\data\guid`, r, ""},
		{`D:\data\link`, nil, ""},
	}
	for _, tt := range tests {
		cfg := driver.Config{Mounts: []driver.Mount{{HostPath: winpath.MustParse(tt.host), ResolvedPath: winpath.MustParse(`X:\stale`)}}}
		ResolveMounts(tt.resolver, &cfg)
		if got := cfg.Mounts[0].ResolvedPath.String(); got != tt.want {
			t.Errorf("ResolveMounts(%s, resolver %v): ResolvedPath = %q, want %q", tt.host, tt.resolver != nil, got, tt.want)
		}
	}
}

// TestCheckIsPure: Check reads its arguments and writes none of them; the
// same config and leads give the same answer however often it is asked.
func TestCheckIsPure(t *testing.T) {
	p, err := Parse("policy.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\nmounts: [{path: 'D:\\data'}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	cfg := driver.Config{Image: imageref.MustParse("mcr.microsoft.com/windows/servercore:ltsc2022"), Isolation: driver.Process,
		Mounts: []driver.Mount{{HostPath: winpath.MustParse(`D:\data\link`), ContainerPath: winpath.MustParse(`C:\data`)}}}
	leads := ResolveMounts(answers{`D:\data\link`: `C:\Windows`}, &cfg)
	before := cfg.Mounts[0]
	first := pc.Check(&spec.Container{}, cfg, leads)
	if len(first) != 1 || !strings.Contains(first[0].Message, `is 'C:\Windows' through a junction`) {
		t.Fatalf("Check = %+v, want the mount refused for where it leads", first)
	}
	if cfg.Mounts[0] != before {
		t.Errorf("Check changed the mount: %+v, was %+v", cfg.Mounts[0], before)
	}
	if again := pc.Check(&spec.Container{}, cfg, leads); len(again) != 1 || again[0] != first[0] {
		t.Errorf("a second Check gave %+v, the first %+v", again, first)
	}
	if asWritten := pc.Check(&spec.Container{}, cfg, Leads{}); len(asWritten) != 0 {
		t.Errorf("with the zero Leads (host folders as written) Check = %+v, want nothing", asWritten)
	}
}
