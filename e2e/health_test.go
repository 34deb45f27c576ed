//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// The health alert's rules and their unit tests.
var (
	healthRulesFile     = filepath.Join("..", "examples", "prometheus", "isoagent-health-rules.yml")
	healthRulesTestFile = filepath.Join("..", "examples", "prometheus", "isoagent-health-rules_test.yml")
)

// TestHealthRules checks that promtool accepts the health alert's rules
// and that their unit tests pass, and that a real Prometheus takes every
// expression in them.
func TestHealthRules(t *testing.T) {
	dir := filepath.Dir(healthRulesFile)
	promtool(t, dir, nil, "check", "rules", filepath.Base(healthRulesFile))
	promtool(t, dir, nil, "test", "rules", filepath.Base(healthRulesTestFile))
	rules, err := os.ReadFile(healthRulesFile)
	if err != nil {
		t.Fatal(err)
	}
	exprs, err := ruleExpressions(rules)
	if err != nil {
		t.Fatal(err)
	}
	if len(exprs) == 0 {
		t.Fatalf("%s has no rules", healthRulesFile)
	}
	prom := startPrometheus(t, "global:\n  scrape_interval: 15s\n")
	for _, e := range exprs {
		if _, err := prom.query(t.Context(), e.Expr); err != nil {
			t.Errorf("Prometheus rejects %s %q: %v", e.Source, e.Expr, err)
		}
	}
}
