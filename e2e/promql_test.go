//go:build e2e

package e2e

import (
	"path/filepath"
	"testing"
)

// Files promtool checks besides the rules.
var (
	rulesTestFile      = filepath.Join("..", "examples", "prometheus", "isoagent-rules_test.yml")
	usageRulesTestFile = filepath.Join("..", "examples", "prometheus", "isoagent-usage-rules_test.yml")
	promConfig         = filepath.Join("..", "examples", "prometheus", "prometheus.yml")
)

// TestExamplesPromQL checks, without the agent, that every expression in
// the dashboard and the alert rules is PromQL a real Prometheus accepts,
// and that promtool accepts the rules, their unit tests and the example
// configuration. Data is not needed for that: a parse or type error is
// reported on an empty database too.
func TestExamplesPromQL(t *testing.T) {
	t.Run("promtool", func(t *testing.T) {
		dir := filepath.Dir(rulesFile)
		for _, args := range [][]string{
			{"check", "rules", filepath.Base(rulesFile)},
			{"test", "rules", filepath.Base(rulesTestFile)},
			{"check", "rules", filepath.Base(usageRulesFile)},
			{"test", "rules", filepath.Base(usageRulesTestFile)},
			{"check", "config", filepath.Base(promConfig)},
		} {
			promtool(t, dir, nil, args...)
		}
	})

	prom := startPrometheus(t, "global:\n  scrape_interval: 15s\n")
	for _, e := range exampleExpressions(t) {
		t.Run(e.Source, func(t *testing.T) {
			expr, err := substitute(e.Expr, grafanaVars(".*"))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := prom.query(t.Context(), expr); err != nil {
				t.Errorf("Prometheus rejects %q: %v", expr, err)
			}
		})
	}
}
