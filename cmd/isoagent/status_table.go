package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/isoagent/isoagent/reconcile"
)

// Widths of the status table when it is not wide: a terminal's 120
// columns.
const (
	tableWidth    = 120
	minImageWidth = 24
	tablePadding  = 2
	noteIndent    = "    "
)

// writeContainers writes the containers table of the status. Wide, it
// is one line per container with every column whole. Otherwise it fits
// tableWidth columns: the container ID is left out, images are cut at
// the start (their tag is kept) when the rest would not fit, and each
// note (rejection, last error, conditions) is written whole under its
// row, a line for each of its "; " parts, wrapped.
//
// The usage columns (CPU, memory; more when wide) come after HOST VIEW
// when the host tells what containers use; then PORTS, the host ports a
// spec publishes as host->container/protocol (the first and how many
// more, unless wide).
func writeContainers(w io.Writer, cs []reconcile.ContainerStatus, now time.Time, wide bool, usage usageColumns) {
	cells := func(s string) []string { return strings.Split(strings.TrimSuffix(s, "\t"), "\t") }
	header := []string{"NAME", "STATE", "ISOLATION", "IMAGE", "RESTARTS", "EXIT", "AGE", "CONTAINER", "HOST VIEW"}
	if usage.show {
		header = append(header, cells(usage.header())...)
	}
	rows := [][]string{append(header, "PORTS", "NOTE")}
	for _, c := range cs {
		r := []string{c.Name, stateColumn(c), isolationColumn(c), orDash(c.Image), strconv.Itoa(c.RestartCount),
			exitColumn(c), age(c.Since, now), orDash(c.ContainerID), hostView(c)}
		if usage.show {
			r = append(r, cells(usage.row(c))...)
		}
		rows = append(rows, append(r, portsColumn(c, wide), note(c, now)))
	}
	if wide {
		tw := tabwriter.NewWriter(w, 0, 4, tablePadding, ' ', 0)
		for _, r := range rows {
			fmt.Fprintln(tw, strings.Join(r, "\t"))
		}
		tw.Flush()
		return
	}
	const imageCol = 3
	notes := make([]string, len(rows))
	for i, r := range rows {
		// The note goes under the row, the container ID is left out.
		notes[i] = r[len(r)-1]
		rows[i] = append(r[:7:7], r[8:len(r)-1]...)
	}
	widths := make([]int, len(rows[0]))
	for col := range widths {
		for _, r := range rows {
			widths[col] = max(widths[col], utf8.RuneCountInString(r[col]))
		}
	}
	others := tablePadding * (len(widths) - 1)
	for col, n := range widths {
		if col != imageCol {
			others += n
		}
	}
	if room := max(tableWidth-others, minImageWidth); widths[imageCol] > room {
		widths[imageCol] = utf8.RuneCountInString(rows[0][imageCol])
		for _, r := range rows[1:] {
			r[imageCol] = cutImage(r[imageCol], room)
			widths[imageCol] = max(widths[imageCol], utf8.RuneCountInString(r[imageCol]))
		}
	}
	for i, r := range rows {
		var b strings.Builder
		for col, cell := range r {
			b.WriteString(cell)
			if col < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[col]-utf8.RuneCountInString(cell)+tablePadding))
			}
		}
		fmt.Fprintln(w, b.String())
		if i > 0 && notes[i] != "" {
			for _, part := range strings.Split(notes[i], "; ") {
				for _, line := range wrap(part, tableWidth-len(noteIndent)) {
					fmt.Fprintln(w, noteIndent+line)
				}
			}
		}
	}
}

// cutImage shortens an image reference to n runes by cutting its start,
// where it says least, at a '/' when it can: "…/iis:ltsc2022".
func cutImage(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	tail := string(r[len(r)-n+1:])
	if i := strings.IndexByte(tail, '/'); i >= 0 && i < len(tail)-1 {
		tail = tail[i:]
	}
	return "…" + tail
}

// wrap breaks s into lines of at most n runes at spaces outside [...]
// and {...}, so that a policy entry to copy stays on one line; what
// cannot be broken so is a line of its own, however long.
func wrap(s string, n int) []string {
	var words []string
	depth, start := 0, 0
	for i, r := range s {
		switch {
		case r == '[' || r == '{':
			depth++
		case (r == ']' || r == '}') && depth > 0:
			depth--
		case r == ' ' && depth == 0:
			if i > start {
				words = append(words, s[start:i])
			}
			start = i + 1
		}
	}
	if start < len(s) {
		words = append(words, s[start:])
	}
	var lines []string
	line := ""
	for _, word := range words {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= n:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}

func exitColumn(c reconcile.ContainerStatus) string {
	if c.ExitCode == nil {
		return "-"
	}
	return strconv.Itoa(*c.ExitCode)
}

func hostView(c reconcile.ContainerStatus) string {
	switch {
	case c.InitPID != 0:
		return fmt.Sprintf("pid %d", c.InitPID)
	case c.UtilityVM != nil:
		return fmt.Sprintf("vmwp %d", c.UtilityVM.PID)
	}
	return "-"
}

// note is what the status knows beyond the columns: the rejection, the
// last error, the conditions.
func note(c reconcile.ContainerStatus, now time.Time) string {
	note := c.LastError
	if c.Rejection != nil {
		note = fmt.Sprintf("%s: %s", c.Rejection.Reason, c.Rejection.Message)
		if c.Rejection.Field != "" {
			note = fmt.Sprintf("%s: %s: %s", c.Rejection.Reason, c.Rejection.Field, c.Rejection.Message)
		}
	}
	if c.Pull != nil && c.Pull.Error == "" {
		note = pullNote(*c.Pull)
	}
	for _, cond := range c.Conditions {
		if note != "" {
			note += "; "
		}
		if cond.Type == reconcile.CondCrashLoop {
			note += backoffNote(c, now)
			continue
		}
		note += conditionNote(cond)
	}
	if n := rolloutNote(c.Rollout, now); n != "" {
		if note != "" {
			note += "; "
		}
		note += n
	}
	if c.Schedule != nil && c.LastError == "" && c.Rejection == nil {
		note = scheduleNote(c.Schedule, now)
	}
	if h := healthNote(c); h != "" {
		if note != "" {
			note += "; "
		}
		note += h
	}
	return note
}

// backoffNote is the NOTE of a container waiting out its crash backoff:
// how its last run ended and when it is restarted, "exited 1, restart in
// 40s (restarted 5 times)".
func backoffNote(c reconcile.ContainerStatus, now time.Time) string {
	var parts []string
	switch {
	case c.ExitCode != nil:
		parts = append(parts, fmt.Sprintf("exited %d", *c.ExitCode))
	case c.LastExit != nil:
		parts = append(parts, fmt.Sprintf("exited %d", c.LastExit.Code))
	}
	switch {
	case c.NextRestart.IsZero():
		parts = append(parts, string(reconcile.CondCrashLoop))
	case c.NextRestart.After(now):
		parts = append(parts, "restart in "+c.NextRestart.Sub(now).Round(time.Second).String())
	default:
		parts = append(parts, "restart due now")
	}
	s := strings.Join(parts, ", ")
	if c.RestartCount > 0 {
		s += fmt.Sprintf(" (restarted %s)", plural(c.RestartCount, "time"))
	}
	return s
}

// portsColumn is the PORTS cell of c: "8080->80/tcp", the first port and
// "+N" for the others unless wide, where every one is listed.
func portsColumn(c reconcile.ContainerStatus, wide bool) string {
	if len(c.Ports) == 0 {
		return "-"
	}
	ports := make([]string, len(c.Ports))
	for i, p := range c.Ports {
		proto := p.Protocol
		if proto == "" {
			proto = "tcp"
		}
		ports[i] = fmt.Sprintf("%d->%d/%s", p.HostPort, p.ContainerPort, proto)
	}
	if wide || len(ports) == 1 {
		return strings.Join(ports, ",")
	}
	return fmt.Sprintf("%s +%d", ports[0], len(ports)-1)
}
