package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/isoagent/isoagent/kube"
	"github.com/isoagent/isoagent/policy"
	"github.com/isoagent/isoagent/spec"
)

const exportUsage = `usage: isoagent export kubernetes DIR [--policy FILE] [--namespace NS] [-o FILE|DIR]

Writes Kubernetes manifests for the specs of the folder DIR: a workload per
spec, a RuntimeClass for Hyper-V isolation and the boundary policy as a
ValidatingAdmissionPolicy with its binding (see docs/kubernetes.md). What
has no Kubernetes equivalent is said on stderr and as a comment above the
object. The manifests go to stdout, or to -o: a file, or a folder (an
existing one, or a name ending in / or \) with one file per object.
A folder with an invalid spec file is not exported. Exit status: 0 written,
1 the folder or the policy is invalid, 2 usage or I/O error.
`

func runExport(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", exportUsage, stderr)
	policyFile := fs.String("policy", "", "the boundary policy `file` to export as admission; without it the cluster allows nothing that pierces isolation, as the agent")
	ns := fs.String("namespace", "", "the `namespace` of the workloads, to which the admission policy is bound; without it, every namespace but kube-system")
	out := fs.String("o", "", "write to this `file`, or to this folder one file per object, instead of stdout")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if len(pos) != 2 || pos[0] != "kubernetes" {
		fmt.Fprintln(stderr, "isoagent export: want: isoagent export kubernetes DIR")
		fs.Usage()
		return exitUsage
	}
	dir := pos[1]
	snap, err := spec.Load(dir)
	if err != nil {
		fmt.Fprintf(stderr, "isoagent export: %v\n", err)
		return exitUsage
	}
	bad := false
	for _, f := range snap.Files {
		for _, e := range spec.Errors(f.Err) {
			fmt.Fprintf(stderr, "%v\n", e)
			bad = true
		}
	}
	for _, c := range snap.Conflicts {
		fmt.Fprintf(stderr, "%s:%d: spec %s is left out: %s:%d declares it too\n", c.Loser.File, c.Loser.Line, c.Name, c.Winner.File, c.Winner.Line)
		bad = true
	}
	if bad {
		fmt.Fprintf(stderr, "isoagent export: %s has problems (above); fix them first, so that no spec is left out of the manifests\n", dir)
		return exitProblem
	}
	var p *policy.Policy
	if *policyFile != "" {
		if p, err = policy.Load(*policyFile); err != nil {
			fmt.Fprintf(stderr, "isoagent export: policy file %s is not usable:\n%v\n", *policyFile, err)
			return exitProblem
		}
	}
	objs := kube.Export(snap.Specs, p, kube.Options{Namespace: *ns})
	for _, o := range objs {
		for _, n := range o.Notes {
			fmt.Fprintf(stderr, "%s\n", n)
		}
	}
	if err := writeExport(*out, objs, stdout); err != nil {
		fmt.Fprintf(stderr, "isoagent export: %v\n", err)
		return exitUsage
	}
	fmt.Fprintf(stderr, "isoagent export: %d specs, %d objects%s\n", len(snap.Specs), len(objs), where(*out))
	return exitOK
}

func writeExport(out string, objs []kube.Object, stdout io.Writer) error {
	if out == "" || out == "-" {
		return kube.Write(stdout, objs)
	}
	if isDirTarget(out) {
		return kube.WriteDir(out, objs)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := kube.Write(f, objs); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// isDirTarget reports whether -o names a folder: an existing one, or a
// name that ends in a separator.
func isDirTarget(out string) bool {
	if strings.HasSuffix(out, "/") || strings.HasSuffix(out, `\`) {
		return true
	}
	fi, err := os.Stat(out)
	return err == nil && fi.IsDir()
}

func where(out string) string {
	switch {
	case out == "" || out == "-":
		return ""
	case isDirTarget(out):
		return " in " + filepath.Clean(out)
	}
	return " to " + out
}
