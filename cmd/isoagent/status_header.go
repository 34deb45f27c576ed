package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/isoagent/isoagent/reconcile"
)

// statusView says how much of a status to print.
type statusView struct {
	// wide prints every column whole.
	wide bool
	// all prints the specs meant for other hosts too.
	all bool
}

// printStatus prints the engine's status as a table that fits 120
// columns, every column and nothing cut when wide; ages are relative to
// now. Specs meant for other hosts are left out but counted.
func printStatus(w io.Writer, st reconcile.Status, now time.Time, wide bool) {
	printStatusView(w, st, now, statusView{wide: wide})
}

// printStatusView prints the status as v says: the header (convergence,
// refusals, invalid files), the engine-wide conditions, the containers
// and the invalid files' errors.
func printStatusView(w io.Writer, st reconcile.Status, now time.Time, v statusView) {
	fmt.Fprintln(w, statusHeader(st))
	for _, c := range st.Conditions {
		fmt.Fprintf(w, "%s: %s\n", c.Type, c.Message)
	}
	shown := st.Containers
	elsewhere := 0
	if !v.all {
		shown = nil
		for _, c := range st.Containers {
			if c.State == reconcile.StateElsewhere {
				elsewhere++
				continue
			}
			shown = append(shown, c)
		}
	}
	writeContainers(w, shown, now, v.wide, usageColumnsOf(st, v.wide))
	if elsewhere > 0 {
		fmt.Fprintf(w, "%s for other hosts not shown (--all shows them)\n", plural(elsewhere, "spec"))
	}
	for _, f := range st.Files {
		fmt.Fprintf(w, "invalid file %s:\n", f.Path)
		for _, e := range f.Errors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	if len(st.RevisionChanges) > 0 {
		fmt.Fprintf(w, "spec files not committed at revision %s: %s\n", st.Revision, strings.Join(st.RevisionChanges, ", "))
	}
}

// statusHeader is the first line of a status: the host, the revision,
// and whether the host runs every spec meant for it as declared:
// "converged", "converged, 2 rejected, 1 invalid", "NOT converged".
func statusHeader(st reconcile.Status) string {
	var b strings.Builder
	fmt.Fprintf(&b, "host %s (%s, %s driver)", st.Host.OSVersion, st.Host.SKU, st.Host.Driver)
	if st.Revision != "" {
		fmt.Fprintf(&b, ", revision %s", st.Revision)
	}
	if st.Converged {
		b.WriteString(": converged")
	} else {
		b.WriteString(": NOT converged")
	}
	b.WriteString(refusalCounts(len(st.Refused()), len(st.Files)))
	return b.String()
}

// refusalCounts is ", 2 rejected, 1 invalid", or "" when there are none.
func refusalCounts(rejected, invalid int) string {
	var s string
	if rejected > 0 {
		s += fmt.Sprintf(", %d rejected", rejected)
	}
	if invalid > 0 {
		s += fmt.Sprintf(", %d invalid", invalid)
	}
	return s
}

// writeRefusals writes which specs do not run as declared, one line
// each: the refused ones (name, file, reason, and the message unless
// brief: a status table above has it) and the invalid files, with their
// first error unless brief.
func writeRefusals(w io.Writer, rejected []reconcile.Refusal, invalid []reconcile.FileStatus, brief bool) {
	for _, r := range rejected {
		if brief {
			fmt.Fprintf(w, "  rejected %s\n", r.Brief())
		} else {
			fmt.Fprintf(w, "  rejected %s\n", r)
		}
	}
	for _, f := range invalid {
		line := "  invalid " + f.Path
		if len(f.Errors) > 0 && !brief {
			line += ": " + f.Errors[0]
			if n := len(f.Errors) - 1; n > 0 {
				line += fmt.Sprintf(" (and %d more)", n)
			}
		}
		fmt.Fprintln(w, line)
	}
}

// onceRefusals names, after run --once's table, the specs meant for this
// host that do not run as declared, on stdout beside the table (stderr
// carries the log), and returns exitProblem when there are any and
// allowRejected is off.
func onceRefusals(stdout io.Writer, st reconcile.Status, allowRejected bool) int {
	rejected := st.Refused()
	if len(rejected) == 0 && len(st.Files) == 0 {
		return exitOK
	}
	fmt.Fprintln(stdout, "not running as declared:")
	writeRefusals(stdout, rejected, st.Files, true)
	if allowRejected {
		return exitOK
	}
	fmt.Fprintln(stdout, "(--allow-rejected exits 0 all the same)")
	return exitProblem
}
