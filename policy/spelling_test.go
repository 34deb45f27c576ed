package policy

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// tails returns every string of dots and spaces of length 0 to n.
func tails(n int) []string {
	out, level := []string{""}, []string{""}
	for range n {
		var next []string
		for _, s := range level {
			next = append(next, s+".", s+" ")
		}
		out = append(out, next...)
		level = next
	}
	return out
}

func checkerOf(t *testing.T, src string) *Checker {
	t.Helper()
	p, err := Parse("policy.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\n"+src))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

// pipeViolation returns what pc says of a spec mapping host pipe in, or
// why in does not parse.
func pipeViolation(pc *Checker, in string) (string, error) {
	hp, err := winpath.ParsePipe(in)
	if err != nil {
		return "", err
	}
	cfg := driver.Config{Isolation: driver.Process, Pipes: []driver.Pipe{{HostPipe: hp, ContainerPipe: winpath.MustParsePipe(`\\.\pipe\x`)}}}
	var msgs []string
	for _, v := range pc.Check(&spec.Container{}, cfg, Leads{}) {
		msgs = append(msgs, v.Message)
	}
	return strings.Join(msgs, "; "), nil
}

// Issue 20 point 7: under a glob over every pipe, no spelling of a system
// or engine pipe that Windows resolves to it (trailing dots and spaces,
// any case, either slash) is admitted; the pipe-system root in any
// spelling does not even parse.
func TestSensitivePipesInEverySpelling(t *testing.T) {
	pc := checkerOf(t, `pipes: ['\\.\pipe\*']`)
	var names []string
	names = append(names, sensitivePipeNames...)
	for _, p := range sensitivePipePrefixes {
		names = append(names, p+"1", p+"_x") // a name that starts with the prefix
	}
	n := 0
	for _, name := range names {
		for _, tail := range tails(3) {
			for _, prefix := range []string{`\\.\pipe\`, `//./PIPE/`} {
				for _, spelt := range []string{name + tail, strings.ToLower(name) + tail} {
					in := prefix + spelt
					msg, err := pipeViolation(pc, in)
					n++
					if err != nil || !strings.Contains(msg, "never through a glob") {
						t.Errorf("%s under a glob over every pipe: %q, %v; want it held back", in, msg, err)
					}
				}
			}
		}
	}
	for _, tail := range tails(4)[1:] {
		in := `\\.\pipe\` + tail
		n++
		if msg, err := pipeViolation(pc, in); err == nil {
			t.Errorf("%q parses (%q); want the pipe-system root refused", in, msg)
		}
	}
	t.Logf("%d spellings", n)
}

// Naming a pipe exactly allows it in every spelling Windows resolves to
// it, and an ordinary pipe under a glob stays allowed.
func TestPipeRulesMatchAsWindowsResolves(t *testing.T) {
	pc := checkerOf(t, "pipes: ['\\\\.\\pipe\\lsass', '\\\\.\\pipe\\app-*']")
	for _, tail := range tails(3) {
		for _, in := range []string{`\\.\pipe\LSASS` + tail, `\\.\pipe\app-metrics` + tail} {
			if msg, err := pipeViolation(pc, in); err != nil || msg != "" {
				t.Errorf("%q: %q, %v; want it allowed", in, msg, err)
			}
		}
	}
}

// A policy file cannot name what Windows would resolve otherwise either.
func TestPolicyRefusesSpellingsWindowsResolvesOtherwise(t *testing.T) {
	for _, tail := range tails(2)[1:] {
		for _, src := range []string{
			"mounts: [{path: 'C:\\data" + tail + "'}]",
			"mounts: [{path: 'C:\\data" + tail + "\\web'}]",
			"mounts: [{path: '\\\\?\\C:\\data" + tail + "'}]",
			"pipes: ['\\\\.\\pipe\\" + tail + "']",
		} {
			if _, err := Parse("policy.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\n"+src)); err == nil {
				t.Errorf("policy %q parses; want it refused", src)
			}
		}
	}
}
