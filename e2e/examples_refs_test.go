package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/reconcile"
)

// repoRoot is the repository's root, relative to this package's folder.
const repoRoot = ".."

// docRefRE matches what a rule or a panel cites as documentation: a path
// to a Markdown file (docs/metrics.md, ../README.md), with an optional
// anchor, or a link to this repository's files on GitHub.
var docRefRE = regexp.MustCompile(`(?:https://github\.com/isoagent/isoagent/(?:blob|tree)/[^/\s]+/)?(?:\.\./)*[A-Za-z0-9_][A-Za-z0-9_./-]*\.md(?:#[a-z0-9-]+)?|https://github\.com/isoagent/isoagent/(?:blob|tree)/[^/\s]+/[A-Za-z0-9_./-]+`)

// TestExamplesCiteDocsThatExist pins that every document the alert rules,
// their tests and the dashboard cite (in a comment, a description, a
// runbook) is a file of this repository, and an anchor a heading in it:
// a runbook that leads nowhere is found at 3 a.m., not in review.
func TestExamplesCiteDocsThatExist(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "prometheus", "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, dashboardFile, filepath.Join(repoRoot, "examples", "grafana", "README.md"))
	var refs int
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range docRefRE.FindAllString(string(data), -1) {
			refs++
			if msg := checkDocRef(f, ref); msg != "" {
				t.Errorf("%s cites %s: %s", f, ref, msg)
			}
		}
	}
	if refs == 0 {
		t.Fatal("found no document cited: the pattern misses what the examples cite")
	}
}

// checkDocRef says what is wrong with ref, cited in file, or "" when it
// names a file of the repository (from its root, or from file's folder)
// and, with an anchor, a heading of it.
func checkDocRef(file, ref string) string {
	ref = regexp.MustCompile(`^https://github\.com/isoagent/isoagent/(?:blob|tree)/[^/]+/`).ReplaceAllString(ref, "")
	path, anchor, _ := strings.Cut(ref, "#")
	var found string
	for _, base := range []string{filepath.Dir(file), repoRoot} {
		p := filepath.Join(base, filepath.FromSlash(path))
		if _, err := os.Stat(p); err == nil {
			found = p
			break
		}
	}
	if found == "" {
		return "no such file in the repository"
	}
	if anchor == "" {
		return ""
	}
	data, err := os.ReadFile(found)
	if err != nil {
		return err.Error()
	}
	for _, line := range strings.Split(string(data), "\n") {
		if h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " "); ok && strings.HasPrefix(line, "#") && headingAnchor(h) == anchor {
			return ""
		}
	}
	return "no heading with that anchor in " + found
}

// headingAnchor is GitHub's anchor of a Markdown heading: lower case,
// spaces to dashes, punctuation dropped.
func headingAnchor(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(h)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestHeadingAnchor(t *testing.T) {
	for h, want := range map[string]string{
		"TLS and basic auth":   "tls-and-basic-auth",
		"/converged":           "converged",
		"Label values":         "label-values",
		"What `status` shows!": "what-status-shows",
	} {
		if got := headingAnchor(h); got != want {
			t.Errorf("headingAnchor(%q) = %q, want %q", h, got, want)
		}
	}
}

// TestExamplesAskForValuesThatExist pins that every state and condition
// kind the alert rules and the dashboard select (state="...",
// state=~"a|b", kind=...) is one the agent exports, and that the
// dashboard names every state the agent has (its colours and the table's
// mappings): a panel for a state that no longer exists shows nothing, and
// a state without one shows in a default colour nobody reads.
func TestExamplesAskForValuesThatExist(t *testing.T) {
	states := make([]string, 0)
	for _, s := range reconcile.States() {
		states = append(states, string(s))
	}
	kinds := make([]string, 0)
	for _, k := range reconcile.ConditionTypes() {
		kinds = append(kinds, string(k))
	}
	exprs := exampleExpressions(t)
	more, err := filepath.Glob(filepath.Join(repoRoot, "examples", "prometheus", "*-rules.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range more {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		re, err := ruleExpressions(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		exprs = append(exprs, re...)
	}
	// The metrics whose state label is a container state, and whose kind
	// label is a condition kind (isoagent_spec_files has states of its own).
	sel := regexp.MustCompile(`(isoagent_containers|isoagent_container_info|isoagent_condition|isoagent_container_conditions)\{([^}]*)\}`)
	matcher := regexp.MustCompile(`(state|kind)\s*(=~|=)\s*"([^"]*)"`)
	var checked int
	for _, e := range exprs {
		for _, m := range sel.FindAllStringSubmatch(e.Expr, -1) {
			for _, lm := range matcher.FindAllStringSubmatch(m[2], -1) {
				want := states
				if lm[1] == "kind" {
					want = kinds
				}
				for _, v := range strings.Split(lm[3], "|") {
					checked++
					if !slices.Contains(want, v) {
						t.Errorf("%s: %s{%s=%q}: the agent has no %s %q (it has %v)", e.Source, m[1], lm[1], v, lm[1], v, want)
					}
				}
			}
		}
	}
	if checked == 0 {
		t.Fatal("no state or kind matcher found in the examples")
	}

	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, s := range states {
		// A colour override by name and a value mapping in the table.
		if !strings.Contains(text, `"options": "`+s+`"`) || !strings.Contains(text, `"`+s+`": {`) {
			t.Errorf("the dashboard has no colour or table mapping for state %q", s)
		}
	}
	for _, gone := range []string{"failed", "created"} {
		if strings.Contains(text, `"options": "`+gone+`"`) || strings.Contains(text, `"`+gone+`": {`) {
			t.Errorf("the dashboard still has state %q, which the agent does not have", gone)
		}
	}
	for _, metric := range []string{"isoagent_policy_valid", "isoagent_registries_valid", "isoagent_condition{", "isoagent_container_conditions{"} {
		if !slices.ContainsFunc(exprs, func(e expression) bool {
			return strings.HasPrefix(e.Source, "dashboard") && strings.Contains(e.Expr, metric)
		}) {
			t.Errorf("no dashboard panel shows %s", metric)
		}
	}
}
