package policy

import (
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/spec"
)

func TestCheckSecrets(t *testing.T) {
	p, err := Parse("policy.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\nsecrets:\n  - {secrets: [db-*], specs: [web, api-*]}\n  - {secrets: [tls], specs: ['*']}\n"))
	if err != nil {
		t.Fatal(err)
	}
	pc, err := NewChecker(p)
	if err != nil {
		t.Fatal(err)
	}
	none, _ := NewChecker(nil)
	cfg := func(name string, env []string, mounts ...string) driver.Config {
		c := driver.Config{Name: name}
		for _, e := range env {
			c.SecretEnv = append(c.SecretEnv, driver.SecretRef{Name: e})
		}
		for _, m := range mounts {
			c.SecretMounts = append(c.SecretMounts, driver.SecretMount{Name: m})
		}
		return c
	}
	tests := []struct {
		name  string
		pc    *Checker
		cfg   driver.Config
		field string // "" when allowed
		msg   string
	}{
		{"allowed by name and glob", pc, cfg("web", []string{"db-main"}, "tls"), "", ""},
		{"spec glob", pc, cfg("api-eu", []string{"db-main"}), "", ""},
		{"secret not listed", pc, cfg("web", []string{"payments"}), "spec.envFrom[0].secret", `add "secrets: [{secrets: [payments], specs: [web]}]" to the policy file policy.yaml`},
		{"spec not listed", pc, cfg("batch", []string{"db-main"}), "spec.envFrom[0].secret", "secret db-main is not allowed for spec batch"},
		{"mount not listed", pc, cfg("batch", nil, "db-main"), "spec.secretMounts[0].secret", "secret db-main is not allowed for spec batch"},
		{"no policy file", none, cfg("web", []string{"db-main"}), "spec.envFrom[0].secret", "no --policy file is given"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &spec.Container{Metadata: spec.Metadata{Name: tt.cfg.Name}}
			vs := tt.pc.Check(c, tt.cfg, Leads{})
			if tt.field == "" {
				if len(vs) > 0 {
					t.Fatalf("violations %v, want none", vs)
				}
				return
			}
			if len(vs) != 1 || vs[0].Field != tt.field || !strings.Contains(vs[0].Message, tt.msg) {
				t.Fatalf("violations %v, want one at %s saying %q", vs, tt.field, tt.msg)
			}
		})
	}
}

func TestParseSecretRules(t *testing.T) {
	_, err := Parse("policy.yaml", []byte("apiVersion: isoagent/v1\nkind: Policy\nsecrets:\n  - {secrets: [], specs: [web]}\n  - {secrets: ['a b'], specs: ['??']}\n"))
	errs := spec.Errors(err)
	want := []string{"secrets[0].secrets", "secrets[1].secrets[0]", "secrets[1].specs[0]"}
	if len(errs) != len(want) {
		t.Fatalf("errors %v, want %d", errs, len(want))
	}
	for i, e := range errs {
		if e.Field != want[i] || e.Line == 0 {
			t.Errorf("error %d = %v, want one at %s with a line", i, e, want[i])
		}
	}
}
