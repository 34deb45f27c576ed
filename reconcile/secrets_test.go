package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/secrets"
	"github.com/isoagent/isoagent/spec"
	"github.com/isoagent/isoagent/winpath"
)

// secretStore makes a real secrets folder holding db (two keys) and tls.
func secretStore(t *testing.T) (*secrets.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "secrets")
	for name, keys := range map[string]map[string]string{"db": {"DB_USER": "app", "DB_PASSWORD": "hunter2"}, "tls": {"cert.pem": "CERT"}} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o700); err != nil {
			t.Fatal(err)
		}
		for k, v := range keys {
			if err := os.WriteFile(filepath.Join(dir, name, k), []byte(v), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := secrets.Open(dir)
	if err != nil {
		t.Skipf("the secrets folder is refused here: %v", err)
	}
	return st, dir
}

func withSecrets(env []string, mounts ...string) func(*spec.Spec) {
	return func(s *spec.Spec) {
		for _, e := range env {
			s.EnvFrom = append(s.EnvFrom, spec.EnvFrom{Secret: e})
		}
		for _, m := range mounts {
			s.SecretMounts = append(s.SecretMounts, spec.SecretMount{Secret: m, ContainerPath: winpath.MustParse(`C:\secrets\` + m)})
		}
	}
}

func TestAdmitSecrets(t *testing.T) {
	st, dir := secretStore(t)
	allow := checker(t, "apiVersion: isoagent/v1\nkind: Policy\nsecrets: [{secrets: ['*'], specs: [web]}]\n")
	admit := func(c *spec.Container, opts AdmitOptions) Decision {
		return Admit(context.Background(), server(20348), nil, []*spec.Container{c}, opts)[0]
	}
	dbDigest := func() string {
		s, err := st.Get("db")
		if err != nil {
			t.Fatal(err)
		}
		return s.Digest()
	}

	d := admit(ctr("web", img2022, withSecrets([]string{"db"}, "tls")), AdmitOptions{Policy: allow, Secrets: st})
	if !d.Admitted() {
		t.Fatalf("rejected: %v", d.Rejection)
	}
	if d.Config.SecretEnv[0].Digest != dbDigest() || d.Config.SecretMounts[0].Digest == "" {
		t.Fatalf("config %+v %+v does not carry the digests", d.Config.SecretEnv, d.Config.SecretMounts)
	}
	first := d.Config.Hash

	// A rotated value is a new hash, so the container is recreated.
	if err := os.WriteFile(filepath.Join(dir, "db", "DB_PASSWORD"), []byte("correct horse"), 0o600); err != nil {
		t.Fatal(err)
	}
	if again := admit(ctr("web", img2022, withSecrets([]string{"db"}, "tls")), AdmitOptions{Policy: allow, Secrets: st}); again.Config.Hash == first {
		t.Fatal("a rotated secret kept the config hash")
	}

	tests := []struct {
		name   string
		c      *spec.Container
		opts   AdmitOptions
		reason Reason
		field  string
		msg    string
	}{
		{"missing secret", ctr("web", img2022, withSecrets([]string{"payments"})), AdmitOptions{Policy: allow, Secrets: st}, ReasonSecret, "spec.envFrom[0].secret", "secret payments does not exist"},
		{"missing mount secret", ctr("web", img2022, withSecrets(nil, "db", "nope")), AdmitOptions{Policy: allow, Secrets: st}, ReasonSecret, "spec.secretMounts[1].secret", "secret nope does not exist"},
		{"no secrets folder", ctr("web", img2022, withSecrets([]string{"db"})), AdmitOptions{Policy: allow}, ReasonSecret, "spec.envFrom[0].secret", "--secrets FOLDER"},
		{"policy denies the spec", ctr("api", img2022, withSecrets([]string{"db"})), AdmitOptions{Policy: allow, Secrets: st}, ReasonPolicy, "spec.envFrom[0].secret", "secret db is not allowed for spec api"},
		{"denied before read", ctr("api", img2022, withSecrets([]string{"payments"})), AdmitOptions{Policy: allow, Secrets: st}, ReasonPolicy, "spec.envFrom[0].secret", "not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := admit(tt.c, tt.opts)
			if d.Admitted() {
				t.Fatal("admitted")
			}
			r := d.Rejection
			if r.Reason != tt.reason || r.Field != tt.field || !strings.Contains(r.Message, tt.msg) {
				t.Fatalf("rejection %+v, want %s at %s saying %q", r, tt.reason, tt.field, tt.msg)
			}
			if strings.Contains(r.Message, "hunter2") || strings.Contains(r.Message, "correct horse") {
				t.Fatalf("the rejection shows a secret value: %s", r.Message)
			}
		})
	}
}
