package spec

import (
	"strings"
	"testing"
)

func TestParseSecretsAndAnnotations(t *testing.T) {
	src := "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: web\n  annotations: {isoagent.io/prune: \"false\", team.example/owner: ops}\nspec:\n" +
		"  image: mcr.microsoft.com/windows/servercore:ltsc2022\n" +
		"  envFrom: [{secret: db-credentials}]\n" +
		"  secretMounts: [{secret: tls, containerPath: 'c:/secrets/tls'}]\n"
	c := parseOne(t, src)
	if !c.Metadata.KeepOnPrune() {
		t.Error("isoagent.io/prune: \"false\" does not keep the container")
	}
	if len(c.Spec.EnvFrom) != 1 || c.Spec.EnvFrom[0].Secret != "db-credentials" {
		t.Errorf("envFrom = %+v", c.Spec.EnvFrom)
	}
	if len(c.Spec.SecretMounts) != 1 || c.Spec.SecretMounts[0].ContainerPath.String() != `C:\secrets\tls` {
		t.Errorf("secretMounts = %+v", c.Spec.SecretMounts)
	}
	if parseOne(t, doc()).Metadata.KeepOnPrune() {
		t.Error("a spec without the annotation is kept")
	}
}

func TestParseRejectsSecretsAndAnnotations(t *testing.T) {
	meta := func(annotations string) string {
		return strings.Replace(doc(), "  name: web\n", "  name: web\n  annotations: "+annotations+"\n", 1)
	}
	tests := []struct {
		name      string
		src       string
		line, col int
		wantField string
		wantMsg   string
	}{
		{"prune not a boolean word", meta("{isoagent.io/prune: never}"), 5, 36, `metadata.annotations["isoagent.io/prune"]`, `"never" is not "true" or "false"`},
		{"unknown isoagent annotation", meta("{isoagent.io/prunes: \"false\"}"), 5, 37, `metadata.annotations["isoagent.io/prunes"]`, "the one it reads is isoagent.io/prune"},
		{"envFrom without secret", doc("envFrom: [{}]"), 7, 13, "spec.envFrom[0].secret", "is required"},
		{"envFrom bad name", doc("envFrom: [{secret: ../db}]"), 7, 22, "spec.envFrom[0].secret", "is not a secret name"},
		{"envFrom twice", doc("envFrom: [{secret: db}, {secret: db}]"), 7, 36, "spec.envFrom[1].secret", "already listed as spec.envFrom[0]"},
		{"envFrom key misspelt", doc("envFrom: [{secretRef: db}]"), 7, 14, "spec.envFrom[0].secretRef", "known fields here are secret"},
		{"secretMount without path", doc("secretMounts: [{secret: tls}]"), 7, 18, "spec.secretMounts[0].containerPath", "is required"},
		{"secretMount at C:", doc(`secretMounts: [{secret: tls, containerPath: 'C:\'}]`), 7, 47, "spec.secretMounts[0].containerPath", "system drive"},
		{"secretMount over a mount", doc(`mounts: [{hostPath: 'D:\x', containerPath: 'C:\x'}]`, `secretMounts: [{secret: tls, containerPath: 'c:\X'}]`), 8, 47, "spec.secretMounts[0].containerPath", "already the target of spec.mounts[0]"},
		{"compose secrets", doc("secrets: [db]"), 7, 3, "spec.secrets", "did you mean secretMounts?"},
		{"compose env_file", doc("env_file: [.env]"), 7, 3, "spec.env_file", "did you mean envFrom?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("web.yaml", []byte(tt.src))
			errs := Errors(err)
			for _, e := range errs {
				if e.Field == tt.wantField {
					if !strings.Contains(e.Message, tt.wantMsg) {
						t.Errorf("message %q does not contain %q", e.Message, tt.wantMsg)
					}
					if e.Line != tt.line || e.Column != tt.col {
						t.Errorf("at %d:%d, want %d:%d", e.Line, e.Column, tt.line, tt.col)
					}
					return
				}
			}
			t.Fatalf("no error for %s in %v\n%s", tt.wantField, errs, tt.src)
		})
	}
}
