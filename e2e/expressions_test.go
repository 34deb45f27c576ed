package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// Paths of the shipped examples, relative to this package's folder (go test
// runs tests in the package's folder).
var (
	dashboardFile = filepath.Join("..", "examples", "grafana", "isoagent.json")
	rulesFile     = filepath.Join("..", "examples", "prometheus", "isoagent-rules.yml")
	// usageRulesFile holds the alerts on what containers use.
	usageRulesFile = filepath.Join("..", "examples", "prometheus", "isoagent-usage-rules.yml")
)

// expression is one PromQL expression from the examples, with where it came
// from for error messages.
type expression struct {
	Source string // e.g. `dashboard panel "Containers" A`, `rule IsoagentDown`
	Expr   string // as written, template variables and all
}

// dashboardExpressions returns every PromQL expression of a Grafana
// dashboard: each panel target's expr (rows nest panels) and each query
// variable's query. Grafana's label_values(metric, label) is not PromQL;
// its metric selector is returned instead, which is what Grafana sends.
func dashboardExpressions(data []byte) ([]expression, error) {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("parse dashboard: %w", err)
	}
	var out []expression
	var walk func(v any, title string)
	walk = func(v any, title string) {
		switch v := v.(type) {
		case map[string]any:
			if t, ok := v["title"].(string); ok {
				title = t
			}
			if e, ok := v["expr"].(string); ok {
				ref, _ := v["refId"].(string)
				out = append(out, expression{Source: fmt.Sprintf("dashboard panel %q %s", title, ref), Expr: e})
			}
			for _, k := range sortedKeys(v) {
				walk(v[k], title)
			}
		case []any:
			for _, e := range v {
				walk(e, title)
			}
		}
	}
	root, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("parse dashboard: top level is %T, not an object", doc)
	}
	walk(root["panels"], "")

	vars, err := templateVariables(root)
	if err != nil {
		return nil, err
	}
	for _, v := range vars {
		if v.Type != "query" {
			continue
		}
		e, ok := variableExpr(v.Query)
		if !ok {
			return nil, fmt.Errorf("variable %s: query %q is not one the tests understand", v.Name, v.Query)
		}
		out = append(out, expression{Source: "dashboard variable " + v.Name, Expr: e})
	}
	return out, nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// variable is the part of a Grafana template variable the tests read.
type variable struct {
	Name       string
	Type       string
	Query      string // the query text, whichever shape Grafana stored it in
	Datasource map[string]any
	Raw        map[string]any
}

func templateVariables(root map[string]any) ([]variable, error) {
	tmpl, _ := root["templating"].(map[string]any)
	list, _ := tmpl["list"].([]any)
	var vars []variable
	for i, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("templating.list[%d] is %T, not an object", i, e)
		}
		v := variable{Raw: m}
		v.Name, _ = m["name"].(string)
		v.Type, _ = m["type"].(string)
		v.Datasource, _ = m["datasource"].(map[string]any)
		switch q := m["query"].(type) {
		case string:
			v.Query = q
		case map[string]any:
			v.Query, _ = q["query"].(string)
		}
		vars = append(vars, v)
	}
	return vars, nil
}

var (
	labelValuesRE = regexp.MustCompile(`^\s*label_values\(\s*(.+)\s*,\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)
	queryResultRE = regexp.MustCompile(`^\s*query_result\((.+)\)\s*$`)
)

// variableExpr turns a Grafana Prometheus variable query into the PromQL
// Grafana evaluates for it.
func variableExpr(q string) (string, bool) {
	if m := labelValuesRE.FindStringSubmatch(q); m != nil {
		return m[1], true
	}
	if m := queryResultRE.FindStringSubmatch(q); m != nil {
		return m[1], true
	}
	return "", false
}

// ruleExpressions returns the expr of every alerting and recording rule of
// a Prometheus rule file.
func ruleExpressions(data []byte) ([]expression, error) {
	var file struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert  string `yaml:"alert"`
				Record string `yaml:"record"`
				Expr   string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(data, &file); err != nil {
		return nil, fmt.Errorf("parse rules: %w", err)
	}
	var out []expression
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			name := r.Alert
			if name == "" {
				name = r.Record
			}
			out = append(out, expression{Source: "rule " + name, Expr: r.Expr})
		}
	}
	return out, nil
}

// exampleExpressions reads every expression of the shipped dashboard and
// alert rules.
func exampleExpressions(t *testing.T) []expression {
	t.Helper()
	dash, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	out, err := dashboardExpressions(dash)
	if err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	for _, f := range []string{rulesFile, usageRulesFile} {
		rules, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		re, err := ruleExpressions(rules)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, re...)
	}
	return out
}

// templateVarRE matches the ways Grafana lets a query name a variable:
// $name, ${name}, ${name:format} and the deprecated [[name]].
var templateVarRE = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)(?::\w+)?\]\]`)

// substitute replaces Grafana template variables in expr by the values in
// vars, the way Grafana does before it sends a query. A variable missing
// from vars is an error, so that a new variable in the dashboard cannot
// slip past the tests untested.
func substitute(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := templateVarRE.ReplaceAllStringFunc(expr, func(m string) string {
		sub := templateVarRE.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return m
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for template variable(s) %s in %q", strings.Join(missing, ", "), expr)
	}
	return out, nil
}

// grafanaVars gives Grafana's built-in variables values close to what
// Grafana sends for a dashboard over the last hour; instance is the
// dashboard's instance selector, as a regular expression.
func grafanaVars(instance string) map[string]string {
	return map[string]string{
		"instance":          instance,
		"datasource":        "prometheus",
		"__rate_interval":   "1m",
		"__interval":        "15s",
		"__interval_ms":     "15000",
		"__range":           "1h",
		"__range_s":         "3600",
		"__range_ms":        "3600000",
		"__auto":            "15s",
		"__to":              "0",
		"__from":            "0",
		"__dashboard":       "isoagent",
		"__org":             "1",
		"__user":            "admin",
		"__name":            "",
		"__timeFilter":      "",
		"__rate_interval_s": "60",
	}
}

func TestSubstitute(t *testing.T) {
	vars := map[string]string{"instance": "h1:9741", "__rate_interval": "1m"}
	tests := []struct {
		name, in, want, wantErr string
	}{
		{name: "dollar name", in: `up{instance=~"$instance"}`, want: `up{instance=~"h1:9741"}`},
		{name: "braces", in: `rate(x[${__rate_interval}])`, want: `rate(x[1m])`},
		{name: "braces with format", in: `up{instance=~"${instance:regex}"}`, want: `up{instance=~"h1:9741"}`},
		{name: "double brackets", in: `up{instance=~"[[instance]]"}`, want: `up{instance=~"h1:9741"}`},
		{name: "no variables", in: `sum(up)`, want: `sum(up)`},
		{name: "unknown variable is an error", in: `up{job="$job"}`, wantErr: "job"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := substitute(tt.in, vars)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("substitute(%q) = %q, %v; want an error naming %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("substitute(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestVariableExpr(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"label_values(isoagent_build_info, instance)", "isoagent_build_info", true},
		{`label_values(isoagent_build_info{job="isoagent"}, instance)`, `isoagent_build_info{job="isoagent"}`, true},
		{"query_result(up == 1)", "up == 1", true},
		{"label_values(instance)", "", false},
		{"metrics(isoagent_.*)", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := variableExpr(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("variableExpr(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

// TestExampleExpressions pins that the extraction finds the expressions the
// PromQL tests then run: all of them, each with every variable resolved.
func TestExampleExpressions(t *testing.T) {
	exprs := exampleExpressions(t)
	var dash, rules int
	for _, e := range exprs {
		if strings.HasPrefix(e.Source, "dashboard") {
			dash++
		} else {
			rules++
		}
		t.Run(e.Source, func(t *testing.T) {
			if strings.TrimSpace(e.Expr) == "" {
				t.Fatal("empty expression")
			}
			got, err := substitute(e.Expr, grafanaVars(".*"))
			if err != nil {
				t.Fatal(err)
			}
			if strings.ContainsAny(got, "$") {
				t.Errorf("template variable left after substitution: %q", got)
			}
		})
	}
	// The dashboard has a dozen panels with one or more queries each and
	// the rules file one alert per failure mode; far fewer means the walk
	// missed some.
	if dash < 20 {
		t.Errorf("found %d dashboard expressions, want at least 20", dash)
	}
	if rules < 5 {
		t.Errorf("found %d rule expressions, want at least 5", rules)
	}
}

// TestDashboard checks the properties of the dashboard that make it
// importable anywhere and correct for several agents at once.
func TestDashboard(t *testing.T) {
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var root map[string]any
	if err := json.Unmarshal(data, &root); err != nil {
		t.Fatalf("%s does not parse: %v", dashboardFile, err)
	}
	exprs, err := dashboardExpressions(data)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("data source is the datasource variable of type prometheus", func(t *testing.T) {
		vars, err := templateVariables(root)
		if err != nil {
			t.Fatal(err)
		}
		var found bool
		for _, v := range vars {
			if v.Name == "datasource" {
				found = v.Type == "datasource" && v.Raw["query"] == "prometheus"
			}
		}
		if !found {
			t.Fatal(`no variable "datasource" of type datasource with query prometheus`)
		}
		// Every data source reference outside the built-in annotation must
		// be the variable, or the dashboard breaks on import.
		var walk func(v any, path string)
		walk = func(v any, path string) {
			switch v := v.(type) {
			case map[string]any:
				if ds, ok := v["datasource"]; ok {
					m, _ := ds.(map[string]any)
					if m["uid"] != "${datasource}" || m["type"] != "prometheus" {
						t.Errorf("%s: datasource %v, want {type: prometheus, uid: ${datasource}}", path, ds)
					}
				}
				for _, k := range sortedKeys(v) {
					if k != "datasource" {
						walk(v[k], path+"."+k)
					}
				}
			case []any:
				for i, e := range v {
					walk(e, fmt.Sprintf("%s[%d]", path, i))
				}
			}
		}
		walk(root["panels"], "panels")
		for i, v := range vars {
			if v.Type == "query" {
				walk(v.Raw, fmt.Sprintf("templating.list[%d]", i))
			}
		}
	})

	t.Run("instance variable lists agents from isoagent_build_info", func(t *testing.T) {
		vars, _ := templateVariables(root)
		for _, v := range vars {
			if v.Name == "instance" {
				if v.Type != "query" || v.Query != "label_values(isoagent_build_info, instance)" {
					t.Fatalf("instance variable: type %q, query %q", v.Type, v.Query)
				}
				if v.Raw["multi"] != true || v.Raw["includeAll"] != true {
					t.Errorf("instance variable should allow several agents and All")
				}
				return
			}
		}
		t.Fatal("no instance variable")
	})

	t.Run("every isoagent selector filters on the instance variable", func(t *testing.T) {
		sel := regexp.MustCompile(`isoagent_[a-z0-9_]+(\{[^}]*\})?`)
		for _, e := range exprs {
			if strings.HasPrefix(e.Source, "dashboard variable") {
				continue
			}
			for _, m := range sel.FindAllStringSubmatch(e.Expr, -1) {
				if !strings.Contains(m[1], `instance=~"$instance"`) {
					t.Errorf("%s: %s does not select instance=~\"$instance\"", e.Source, m[0])
				}
			}
		}
	})

	t.Run("quantiles come from classic histogram buckets", func(t *testing.T) {
		var n int
		for _, e := range exprs {
			if !strings.Contains(e.Expr, "histogram_quantile") {
				continue
			}
			n++
			if !strings.Contains(e.Expr, "_bucket{") || !regexp.MustCompile(`by \([^)]*\ble\b`).MatchString(e.Expr) {
				t.Errorf("%s: %q does not aggregate _bucket series by le", e.Source, e.Expr)
			}
		}
		if n == 0 {
			t.Error("no histogram_quantile in the dashboard")
		}
	})

	t.Run("panel ids are unique", func(t *testing.T) {
		seen := map[float64]string{}
		panels, _ := root["panels"].([]any)
		for _, p := range panels {
			m, _ := p.(map[string]any)
			id, _ := m["id"].(float64)
			title, _ := m["title"].(string)
			if other, ok := seen[id]; ok {
				t.Errorf("panel %q and %q share id %v", title, other, id)
			}
			seen[id] = title
		}
	})

	t.Run("panels cover what operators asked for", func(t *testing.T) {
		// Issue 5 point 6: each of these must be on the dashboard.
		for _, metric := range []string{
			"isoagent_containers_desired", "isoagent_containers_running", "isoagent_containers{",
			"isoagent_admission_rejections_total", "isoagent_reconcile_total",
			"isoagent_reconcile_duration_seconds_bucket", "isoagent_convergence_seconds_bucket",
			"isoagent_last_successful_reconcile_timestamp_seconds", "isoagent_container_info",
			"isoagent_container_restarts_total", "isoagent_driver_operation_duration_seconds_bucket",
			"isoagent_watch_events_total", "isoagent_rescans_total", "isoagent_spec_files",
		} {
			if !slices.ContainsFunc(exprs, func(e expression) bool { return strings.Contains(e.Expr, metric) }) {
				t.Errorf("no panel queries %s", metric)
			}
		}
	})
}
