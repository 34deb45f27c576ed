package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"

	"github.com/agnivade/levenshtein"
)

// buildVCS returns the commit bi was built from and whether the checkout
// had uncommitted changes, as the go command stamps them (vcs.revision and
// vcs.modified); "" when it did not (a build outside a git checkout, or
// with -buildvcs=false).
func buildVCS(bi *debug.BuildInfo) (commit string, dirty bool) {
	if bi == nil {
		return "", false
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	return commit, dirty
}

// commitText is the commit part of the version line: "commit 1a2b...",
// with "-dirty" when the checkout had changes.
func commitText(bi *debug.BuildInfo) string {
	commit, dirty := buildVCS(bi)
	switch {
	case commit == "":
		return "commit unknown"
	case dirty:
		return "commit " + commit + "-dirty"
	}
	return "commit " + commit
}

// closestName returns the candidate a mistyped name most likely meant: a
// candidate it is a prefix of, or one within a small edit distance; ""
// when none is close.
func closestName(name string, candidates []string) string {
	best, bestDist := "", 0
	for _, c := range candidates {
		d := levenshtein.ComputeDistance(strings.ToLower(name), strings.ToLower(c))
		if len(name) >= 3 && strings.HasPrefix(c, name) {
			d = 1
		}
		if best == "" || d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" || bestDist > max(2, len(name)/3) {
		return ""
	}
	return best
}

// undefinedFlag returns the first flag in args that fs does not define,
// or "". It reads args as fs.Parse would: a flag's value follows it
// unless it is boolean or given with "=", "--" ends the flags, and so
// does the first argument that is not a flag unless interspersed (flags
// may follow positional arguments).
func undefinedFlag(fs *flag.FlagSet, args []string, interspersed bool) string {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return ""
		}
		if len(a) < 2 || a[0] != '-' {
			if interspersed {
				continue
			}
			return ""
		}
		name, _, hasValue := strings.Cut(strings.TrimPrefix(a[1:], "-"), "=")
		if name == "h" || name == "help" {
			return ""
		}
		f := fs.Lookup(name)
		if f == nil {
			return name
		}
		if !hasValue && !isBoolFlag(f) {
			i++
		}
	}
	return ""
}

// reportUndefinedFlag says which flag of args fs does not define, with the
// one it most likely meant, and reports whether there was one. The flag
// package alone would print the whole usage text after one line.
func reportUndefinedFlag(fs *flag.FlagSet, args []string, interspersed bool) bool {
	name := undefinedFlag(fs, args, interspersed)
	if name == "" {
		return false
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	msg := fmt.Sprintf("isoagent %s: unknown flag --%s", strings.TrimPrefix(fs.Name(), "isoagent "), name)
	if s := closestName(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean --%s?", s)
	}
	fmt.Fprintf(fs.Output(), "%s\nrun 'isoagent %s -h' for its flags\n", msg, strings.TrimPrefix(fs.Name(), "isoagent "))
	return true
}

// Output formats: every command that can print JSON takes --output
// json|text (-o); the spellings each had before stay as aliases.
const (
	outputText = "text"
	outputJSON = "json"
)

// outputValue is the value of --output and its aliases.
type outputValue struct{ p *string }

func (o outputValue) String() string {
	if o.p == nil {
		return outputText
	}
	return *o.p
}

func (o outputValue) Set(s string) error {
	if s != outputText && s != outputJSON {
		return fmt.Errorf("%q: want text or json", s)
	}
	*o.p = s
	return nil
}

// jsonAlias is the old boolean --json: --json is --output json.
type jsonAlias struct{ p *string }

func (j jsonAlias) String() string   { return "false" }
func (j jsonAlias) IsBoolFlag() bool { return true }
func (j jsonAlias) Set(s string) error {
	switch s {
	case "true":
		*j.p = outputJSON
	case "false":
		*j.p = outputText
	default:
		return fmt.Errorf("%q: want true or false", s)
	}
	return nil
}

// registerOutput registers --output and -o on fs, storing into p
// (default text), with the old spellings: boolJSON names boolean aliases
// (--json), valueAliases ones that take the format (--format).
func registerOutput(fs *flag.FlagSet, p *string, what string, boolJSON []string, valueAliases []string) {
	*p = outputText
	fs.Var(outputValue{p}, "output", "output `format`: text or json ("+what+")")
	fs.Var(outputValue{p}, "o", "short for --output")
	for _, n := range boolJSON {
		fs.Var(jsonAlias{p}, n, "the same as --output json")
	}
	for _, n := range valueAliases {
		fs.Var(outputValue{p}, n, "the same as --output")
	}
}

// completeFlagsArg, as a command's only argument, has its flag parsing
// print the names of its flags instead, one per line: what the shell
// completion asks for (see runComplete).
const completeFlagsArg = "--__complete-flags"

// printFlagNames prints fs's flags for completion when args ask for them,
// and reports whether they did.
func printFlagNames(fs *flag.FlagSet, args []string, w io.Writer) bool {
	if !slices.Equal(args, []string{completeFlagsArg}) {
		return false
	}
	fs.VisitAll(func(f *flag.Flag) {
		if len(f.Name) > 1 {
			kind := "value"
			if isBoolFlag(f) {
				kind = "bool"
			}
			fmt.Fprintf(w, "--%s %s\n", f.Name, kind)
		}
	})
	return true
}

// errUndefinedFlag is a flag the command does not have, already reported.
var errUndefinedFlag = errors.New("undefined flag")
