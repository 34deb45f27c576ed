//go:build e2e

package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/isoagent/isoagent/internal/testutil"
)

// agentStatus is the part of /status these tests read.
type agentStatus struct {
	Revision   string `json:"revision"`
	Converged  bool   `json:"converged"`
	Conditions []struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"conditions"`
	Containers []struct {
		Name        string `json:"name"`
		State       string `json:"state"`
		Image       string `json:"image"`
		ContainerID string `json:"containerID"`
		Rejection   *struct {
			Reason  string `json:"reason"`
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"rejection"`
	} `json:"containers"`
	PendingPrune *struct {
		ID    string   `json:"id"`
		Names []string `json:"names"`
	} `json:"pendingPrune"`
}

func getStatus(t *testing.T, addr string) (agentStatus, []byte) {
	t.Helper()
	code, body, err := httpGet(t.Context(), "http://"+addr+"/status")
	if err != nil || code != 200 {
		t.Fatalf("GET /status: HTTP %d, %v", code, err)
	}
	var st agentStatus
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("/status: %v", err)
	}
	return st, body
}

func (st agentStatus) condition(typ string) string {
	for _, c := range st.Conditions {
		if c.Type == typ {
			return c.Message
		}
	}
	return ""
}

func (st agentStatus) container(name string) (state, image, id string) {
	for _, c := range st.Containers {
		if c.Name == name {
			return c.State, c.Image, c.ContainerID
		}
	}
	return "", "", ""
}

// run runs the agent binary to completion and returns its output and exit
// code.
func run(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	if len(args) > 0 && args[0] == "run" {
		stopMonitorsOf(t, bin, args)
	}
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return string(out), code
}

func specText(name, image string, extra ...string) string {
	s := "apiVersion: isoagent/v1\nkind: Container\nmetadata:\n  name: " + name + "\nspec:\n  image: " + image + "\n"
	for _, e := range extra {
		s += "  " + e + "\n"
	}
	return s
}

const (
	nanoserver = "mcr.microsoft.com/windows/nanoserver:ltsc2022"
	servercore = "mcr.microsoft.com/windows/servercore:ltsc2022"
)

// gitRepo is a real repository made with the git command line.
type gitRepo struct {
	t   *testing.T
	dir string
}

func (r gitRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=isoagent e2e", "-c", "user.email=e2e@isoagent.invalid", "-c", "commit.gpgsign=false"}, args...)...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files (path -> content; "" removes) and commits them,
// signed with the SSH key at key when it is not "".
func (r gitRepo) commit(files map[string]string, key string) string {
	r.t.Helper()
	for p, content := range files {
		full := filepath.Join(r.dir, filepath.FromSlash(p))
		if content == "" {
			os.Remove(full)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git("add", "-A")
	args := []string{"commit", "-q", "--allow-empty", "-m", "change"}
	if key != "" {
		args = append([]string{"-c", "gpg.format=ssh", "-c", "user.signingkey=" + key}, append(args, "-S")...)
	}
	r.git(args...)
	return r.git("rev-parse", "HEAD")
}

// publish makes commit hash the one the link shows, as git-sync does: a
// worktree of its own and the link renamed over to it.
func (r gitRepo) publish(hash, link string) {
	r.t.Helper()
	wt := filepath.Join(filepath.Dir(r.dir), "worktrees", hash)
	r.git("worktree", "add", "-q", "--detach", wt, hash)
	tmp := link + ".new"
	os.Remove(tmp)
	if err := os.Symlink(wt, tmp); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		r.t.Fatal(err)
	}
}

func sshKey(t *testing.T, dir, name string) (string, string) {
	t.Helper()
	priv := filepath.Join(dir, name)
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", priv).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(priv + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	return priv, strings.TrimSpace(string(pub))
}

// TestAgentAppliesOnlySignedRevisions publishes a repository's commits
// git-sync style to an agent run with --verify-signatures: signed ones
// are applied, an unsigned one and one signed with a key not on the list
// are refused, once each, while the last verified revision stays in force.
func TestAgentAppliesOnlySignedRevisions(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	keysDir := filepath.Join(work, "keys")
	if err := os.Mkdir(keysDir, 0o700); err != nil {
		t.Fatal(err)
	}
	trusted, pub := sshKey(t, keysDir, "ops")
	intruder, _ := sshKey(t, keysDir, "intruder")
	keys := filepath.Join(keysDir, "allowed")
	if err := os.WriteFile(keys, []byte("# who may change what runs here\n"+pub+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	repo := gitRepo{t: t, dir: filepath.Join(work, "repo")}
	if err := os.Mkdir(repo.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	repo.git("init", "-q", "-b", "main")
	link := filepath.Join(work, "current")
	dir := filepath.Join(link, "specs")

	good := repo.commit(map[string]string{"specs/web.yaml": specText("web", nanoserver)}, trusted)
	unsigned := repo.commit(map[string]string{"specs/web.yaml": specText("web", servercore)}, "")
	foreign := repo.commit(map[string]string{"specs/api.yaml": specText("api", nanoserver)}, intruder)
	next := repo.commit(map[string]string{"specs/api.yaml": ""}, trusted)
	repo.publish(good, link)

	t.Run("validate in CI", func(t *testing.T) {
		out, code := run(t, bin, "validate", "--verify-signatures", keys, dir)
		if code != 0 {
			t.Fatalf("validate of a signed revision: exit %d\n%s", code, out)
		}
		if out, code := run(t, bin, "validate", "--verify-signatures", filepath.Join(dir, "web.yaml"), dir); code != 2 || !strings.Contains(out, "inside the spec folder") {
			t.Fatalf("validate with keys in the spec folder: exit %d\n%s", code, out)
		}
	})

	addr := testutil.FreeAddr(t)
	agent := startAgent(t, addr, bin, "run", "--dir", dir, "--verify-signatures", keys,
		"--listen", addr, "--sim-dir", filepath.Join(work, "sim"), "--resync", "1s", "--log-format", "json")
	waitFor := func(what string, cond func(agentStatus) bool) agentStatus {
		t.Helper()
		var st agentStatus
		poll(t, 60*time.Second, what, func() (bool, error) {
			if agent.Exited() {
				t.Fatalf("agent exited: %v", agent.Err())
			}
			st, _ = getStatus(t, addr)
			return cond(st), fmt.Errorf("status %+v", st)
		})
		return st
	}
	waitFor("the signed revision to run", func(st agentStatus) bool {
		state, image, _ := st.container("web")
		return st.Revision == good && state == "running" && image == nanoserver
	})

	for _, rc := range []struct{ name, hash, reason string }{{"unsigned", unsigned, "unsigned"}, {"untrusted", foreign, "untrusted"}} {
		t.Run(rc.name+" revision refused", func(t *testing.T) {
			repo.publish(rc.hash, link)
			waitFor("the refusal of "+rc.hash, func(st agentStatus) bool {
				return strings.Contains(st.condition("RevisionRefused"), rc.hash[:12])
			})
			if out, code := run(t, bin, "validate", "--verify-signatures", keys, dir); code != 1 || !strings.Contains(out, rc.hash[:12]) {
				t.Errorf("validate of the %s revision: exit %d\n%s", rc.name, code, out)
			}
			// Several resyncs later: still the verified revision, one log
			// entry for the refused one, and metrics that say which.
			time.Sleep(3 * time.Second)
			st, _ := getStatus(t, addr)
			state, image, _ := st.container("web")
			if st.Revision != good || state != "running" || image != nanoserver {
				t.Fatalf("revision %s, web %s %s; want %s in force", st.Revision, state, image, good)
			}
			if _, _, id := st.container("api"); id != "" {
				t.Fatal("api from the untrusted revision was created")
			}
			if n := strings.Count(agent.Output(1<<20), `"msg":"revision refused`); n != map[string]int{"unsigned": 1, "untrusted": 2}[rc.name] {
				t.Errorf("%d refusal log entries so far, want one per refused revision", n)
			}
			m := string(scrapeMetrics(t, addr))
			if !strings.Contains(m, fmt.Sprintf(`isoagent_revision_refused_info{reason=%q,revision=%q} 1`, rc.reason, rc.hash)) ||
				!strings.Contains(m, "isoagent_revision_refused 1\n") ||
				!strings.Contains(m, fmt.Sprintf(`isoagent_revision_refusals_total{reason=%q} 1`, rc.reason)) {
				t.Errorf("metrics do not name the refused revision:\n%s", grepLines(m, "revision_refus"))
			}
		})
	}

	t.Run("the next signed revision applies", func(t *testing.T) {
		repo.publish(next, link)
		st := waitFor("revision "+next, func(st agentStatus) bool {
			state, image, _ := st.container("web")
			return st.Revision == next && state == "running" && image == servercore
		})
		if msg := st.condition("RevisionRefused"); msg != "" {
			t.Errorf("RevisionRefused still holds: %s", msg)
		}
		if m := string(scrapeMetrics(t, addr)); strings.Contains(m, "isoagent_revision_refused_info{") || !strings.Contains(m, "isoagent_revision_refused 0\n") {
			t.Errorf("a refused revision is still exported:\n%s", grepLines(m, "revision_refused_info"))
		}
	})

	t.Run("uncommitted changes are never applied", func(t *testing.T) {
		wt := filepath.Join(filepath.Dir(repo.dir), "worktrees", next, "specs")
		if err := os.WriteFile(filepath.Join(wt, "web.yaml"), []byte(specText("web", nanoserver)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(wt, "extra.yaml"), []byte(specText("extra", nanoserver)), 0o644); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Second)
		st, _ := getStatus(t, addr)
		_, image, _ := st.container("web")
		_, _, extra := st.container("extra")
		if image != servercore || extra != "" {
			t.Fatalf("web runs %s, extra %q: the working tree was applied", image, extra)
		}
	})
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimSpace(line))
		}
	}
	return strings.Join(out, "\n")
}

// TestPruneBudgetDrill deletes most of the specs under an agent run with
// the default budget: nothing is pruned until 'isoagent prune --confirm'.
// Then the agent is started on another folder: the first prune is held
// again, and a container marked isoagent.io/prune: "false" is kept.
func TestPruneBudgetDrill(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	specs := filepath.Join(work, "specs")
	mkdir(t, specs)
	names := []string{"a", "b", "c", "d"}
	for _, n := range names {
		writeFileAtomic(t, filepath.Join(specs, n+".yaml"), specText(n, nanoserver))
	}
	writeFileAtomic(t, filepath.Join(specs, "db.yaml"), strings.Replace(specText("db", nanoserver), "  name: db\n", "  name: db\n  annotations: {isoagent.io/prune: \"false\"}\n", 1))
	simDir := filepath.Join(work, "sim")
	addr := testutil.FreeAddr(t)
	agentArgs := func(dir string) []string {
		return []string{"run", "--dir", dir, "--listen", addr, "--sim-dir", simDir, "--resync", "1s", "--log-format", "json"}
	}
	agent := startAgent(t, addr, bin, agentArgs(specs)...)
	waitFor := func(p *testutil.Process, what string, cond func(agentStatus) bool) agentStatus {
		t.Helper()
		var st agentStatus
		poll(t, 60*time.Second, what, func() (bool, error) {
			if p.Exited() {
				t.Fatalf("agent exited: %v", p.Err())
			}
			st, _ = getStatus(t, addr)
			return cond(st), fmt.Errorf("status %+v", st)
		})
		return st
	}
	running := func(st agentStatus) int {
		n := 0
		for _, c := range st.Containers {
			if c.State == "running" || c.State == "orphaned" || c.State == "orphaned-kept" {
				n++
			}
		}
		return n
	}
	waitFor(agent, "five containers", func(st agentStatus) bool { return st.Converged && running(st) == 5 })

	// Three of five deleted (and db, which is kept): over the budget of 2.
	for _, n := range []string{"b", "c", "d", "db"} {
		if err := os.Remove(filepath.Join(specs, n+".yaml")); err != nil {
			t.Fatal(err)
		}
	}
	st := waitFor(agent, "the prune to be held", func(st agentStatus) bool { return st.PendingPrune != nil })
	if got := strings.Join(st.PendingPrune.Names, ","); got != "b,c,d" {
		t.Fatalf("held prune %s, want b,c,d (db is kept by its annotation)", got)
	}
	time.Sleep(3 * time.Second)
	st, _ = getStatus(t, addr)
	if running(st) != 5 || st.condition("PruneHeld") == "" {
		t.Fatalf("%d containers, PruneHeld %q; want all kept and the condition", running(st), st.condition("PruneHeld"))
	}
	if state, _, _ := st.container("db"); state != "orphaned-kept" {
		t.Errorf("db is %s, want orphaned-kept", state)
	}
	if m := string(scrapeMetrics(t, addr)); !strings.Contains(m, "isoagent_prune_pending_containers 3") {
		t.Errorf("metrics:\n%s", grepLines(m, "prune"))
	}
	out, code := run(t, bin, "prune", "--addr", addr)
	if code != 1 || !strings.Contains(out, "b, c, d") {
		t.Fatalf("isoagent prune: exit %d\n%s", code, out)
	}
	if out, code := run(t, bin, "prune", "--addr", addr, "--confirm", "--id", "000000000000"); code != 1 || !strings.Contains(out, "changed") {
		t.Fatalf("isoagent prune --confirm with a stale id: exit %d\n%s", code, out)
	}
	if out, code := run(t, bin, "prune", "--addr", addr, "--confirm"); code != 0 {
		t.Fatalf("isoagent prune --confirm: exit %d\n%s", code, out)
	}
	waitFor(agent, "b, c and d pruned", func(st agentStatus) bool {
		_, _, b := st.container("b")
		state, _, _ := st.container("db")
		return st.PendingPrune == nil && b == "" && state == "orphaned-kept" && running(st) == 2
	})
	if err := agent.Stop(); err != nil {
		t.Fatal(err)
	}

	// Started on another folder, which declares none of a: held, though
	// one prune fits the budget.
	other := filepath.Join(work, "other")
	mkdir(t, other)
	writeFileAtomic(t, filepath.Join(other, "e.yaml"), specText("e", nanoserver))
	second := startAgent(t, addr, bin, agentArgs(other)...)
	st = waitFor(second, "the prune on another folder to be held", func(st agentStatus) bool { return st.PendingPrune != nil })
	if !strings.Contains(st.condition("PruneHeld"), "not on "+specs) {
		t.Fatalf("PruneHeld: %q", st.condition("PruneHeld"))
	}
	if out, code := run(t, bin, "prune", "--addr", addr, "--confirm"); code != 0 {
		t.Fatalf("isoagent prune --confirm: exit %d\n%s", code, out)
	}
	waitFor(second, "a pruned", func(st agentStatus) bool {
		_, _, a := st.container("a")
		return st.PendingPrune == nil && a == ""
	})
	if err := second.Stop(); err != nil {
		t.Fatal(err)
	}
	// The new folder is remembered: a restart on it holds nothing.
	third := startAgent(t, addr, bin, agentArgs(other)...)
	waitFor(third, "a restart on the same folder", func(st agentStatus) bool { return st.Converged && st.PendingPrune == nil })
}

// TestSecretsNeverLeak runs the agent with a secrets folder and a spec
// that takes a secret as environment variables and as files, then looks
// for the secret's value in everything the run left or showed: logs,
// /status, /metrics, plan, validate, status, and the simulated host's
// state.
func TestSecretsNeverLeak(t *testing.T) {
	bin, err := testutil.BuildAgent(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	b := make([]byte, 16)
	rand.Read(b)
	value := "s3cret-" + hex.EncodeToString(b)
	rotated := "r0tated-" + hex.EncodeToString(b)
	secretsDir := filepath.Join(work, "secrets")
	for _, d := range []string{secretsDir, filepath.Join(secretsDir, "db"), filepath.Join(secretsDir, "tls")} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	writeSecret := func(path, v string) {
		if err := os.WriteFile(path, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeSecret(filepath.Join(secretsDir, "db", "DB_PASSWORD"), value)
	writeSecret(filepath.Join(secretsDir, "tls", "key.pem"), value+"-key")
	policy := filepath.Join(work, "policy.yaml")
	if err := os.WriteFile(policy, []byte("apiVersion: isoagent/v1\nkind: Policy\nsecrets: [{secrets: [db, tls, payments], specs: [web, broken]}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	specs := filepath.Join(work, "specs")
	mkdir(t, specs)
	writeFileAtomic(t, filepath.Join(specs, "web.yaml"), specText("web", nanoserver,
		"envFrom: [{secret: db}]", `secretMounts: [{secret: tls, containerPath: 'C:\secrets\tls'}]`, "env: {MODE: production}"))
	writeFileAtomic(t, filepath.Join(specs, "broken.yaml"), specText("broken", nanoserver, "envFrom: [{secret: payments}]"))
	writeFileAtomic(t, filepath.Join(specs, "nosy.yaml"), specText("nosy", nanoserver, "envFrom: [{secret: db}]"))
	simDir := filepath.Join(work, "sim")
	addr := testutil.FreeAddr(t)
	common := []string{"--dir", specs, "--sim-dir", simDir, "--policy", policy, "--secrets", secretsDir}
	agent := startAgent(t, addr, bin, append([]string{"run", "--listen", addr, "--resync", "1s", "--log-format", "json", "--log-level", "debug"}, common...)...)
	var first string
	poll(t, 60*time.Second, "web to run", func() (bool, error) {
		st, _ := getStatus(t, addr)
		state, _, id := st.container("web")
		first = id
		return state == "running", fmt.Errorf("status %+v", st)
	})
	st, _ := getStatus(t, addr)
	for name, want := range map[string]string{"broken": "secret payments does not exist", "nosy": "secret db is not allowed for spec nosy"} {
		found := false
		for _, c := range st.Containers {
			if c.Name == name && c.Rejection != nil && strings.Contains(c.Rejection.Message, want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s is not rejected with %q: %+v", name, want, st.Containers)
		}
	}

	// A rotated value recreates the container, within a resync.
	writeSecret(filepath.Join(secretsDir, "db", "DB_PASSWORD"), rotated)
	poll(t, 60*time.Second, "web to be recreated with the rotated secret", func() (bool, error) {
		st, _ := getStatus(t, addr)
		state, _, id := st.container("web")
		return state == "running" && id != first && id != "", fmt.Errorf("web %s %s (was %s)", state, id, first)
	})

	// Everything an operator or a scraper can see.
	outputs := map[string][]byte{}
	_, outputs["/status"] = getStatus(t, addr)
	outputs["/metrics"] = scrapeMetrics(t, addr)
	for name, args := range map[string][]string{
		"plan":      append([]string{"plan"}, common...),
		"plan json": append([]string{"plan", "--json"}, common...),
		"validate":  {"validate", "--format", "json", specs},
		"status":    {"status", "--addr", addr},
	} {
		out, _ := run(t, bin, args...)
		outputs[name] = []byte(out)
	}
	if err := agent.Stop(); err != nil {
		t.Fatal(err)
	}
	outputs["agent log"] = []byte(agent.Output(64 << 20))
	err = filepath.WalkDir(simDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		outputs["sim state "+p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(outputs["agent log"], []byte(`"spec":"web"`)) || len(outputs["/status"]) == 0 {
		t.Fatal("the outputs are empty; the search below would prove nothing")
	}
	for name, out := range outputs {
		for _, v := range []string{value, rotated, value + "-key"} {
			if bytes.Contains(out, []byte(v)) {
				t.Errorf("%s shows a secret value", name)
			}
		}
	}
}
