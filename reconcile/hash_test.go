package reconcile

import (
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/driver"
	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

func fullConfig() driver.Config {
	return driver.Config{
		ID: "web-0123456789ab", Name: "web", Owner: "isoagent", Hash: "old",
		Isolation: driver.Process,
		Image:     imageref.MustParse("mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022"),
		Command:   []string{`C:\ServiceMonitor.exe`, "w3svc"}, WorkingDir: `C:\inetpub`,
		Env: map[string]string{"A": "1", "B": "2"}, User: "ContainerUser",
		Labels:    map[string]string{"team": "payments"},
		Resources: driver.Resources{CPUCount: 2, CPUMaximumPercent: 50, MemoryMB: 2048},
		Mounts:    []driver.Mount{{HostPath: winpath.MustParse(`D:\sites\web`), ContainerPath: winpath.MustParse(`C:\inetpub\wwwroot`), ReadOnly: true}},
		Pipes:     []driver.Pipe{{HostPipe: winpath.MustParsePipe(`\\.\pipe\metrics`), ContainerPipe: winpath.MustParsePipe(`\\.\pipe\metrics`)}},
		Ports:     []driver.Port{{HostPort: 8080, ContainerPort: 80, Protocol: "tcp"}},
		Network:   "nat", DNSSearch: []string{"corp.example"},
		Devices:      []string{"5B45201D-F2F2-4F3B-85BB-30FF1F953599"},
		SecretEnv:    []driver.SecretRef{{Name: "db", Digest: "sha256:aa"}},
		SecretMounts: []driver.SecretMount{{Name: "tls", Digest: "sha256:bb", ContainerPath: winpath.MustParse(`C:\secrets\tls`)}},
		KeepOnPrune:  true,
	}
}

// releasedConfig is fullConfig with the fields added since the hash was
// pinned left zero, as every config of that release has them.
func releasedConfig() driver.Config {
	c := fullConfig()
	c.SecretEnv, c.SecretMounts, c.KeepOnPrune = nil, nil, false
	return c
}

// The hash of a fixed config is pinned: a change to the canonical form (or
// to a field name) would recreate every container on every host after an
// upgrade, and must come with a new hashVersion.
func TestHashIsStableAcrossReleases(t *testing.T) {
	const want = "bfe5f1e31722da2516db8d7ea91cdaebc965550f6e548bfdc15ef1a7da5cc83b"
	if got := Hash(releasedConfig()); got != want {
		t.Errorf("Hash(releasedConfig()) = %s, want %s: the canonical form changed; bump hashVersion if that is meant", got, want)
	}
}

func TestHashIgnoresIdentityFields(t *testing.T) {
	base := Hash(fullConfig())
	tests := map[string]func(*driver.Config){
		"id":     func(c *driver.Config) { c.ID = "other" },
		"owner":  func(c *driver.Config) { c.Owner = "someone-else" },
		"hash":   func(c *driver.Config) { c.Hash = "" },
		"labels": func(c *driver.Config) { c.Labels = map[string]string{"team": "other"} },
		"nil vs empty slice and map": func(c *driver.Config) {
			c.Labels = map[string]string{}
		},
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := fullConfig()
			mutate(&c)
			if got := Hash(c); got != base {
				t.Errorf("hash changed to %s, want %s", got, base)
			}
		})
	}
}

func TestHashTreatsNilAndEmptyAlike(t *testing.T) {
	a := driver.Config{Name: "x", Image: imageref.MustParse("i")}
	b := driver.Config{Name: "x", Image: imageref.MustParse("i"), Command: []string{}, Env: map[string]string{}, Mounts: []driver.Mount{}}
	if Hash(a) != Hash(b) {
		t.Error("nil and empty collections hash differently")
	}
}

// Point 5(b): a future release that adds optional fields to the config (at
// the top level or inside a nested type) hashes every existing config, whose
// new fields are zero, exactly as before.
func TestHashUnchangedByNewZeroFields(t *testing.T) {
	type futureResources struct {
		driver.Resources
		GPUCount   int
		Affinity   []int
		Scheduling map[string]string
	}
	type futureMount struct {
		driver.Mount
		Propagation string
	}
	type futureConfig struct {
		driver.Config
		StopSignal    string
		Healthcheck   *struct{ Cmd []string }
		Annotations   map[string]string
		ExtraMounts   []futureMount
		Limits        futureResources
		Privileged    bool
		RestartWindow int64
	}
	c := fullConfig()
	want := Hash(c)
	stripped := c
	stripped.ID, stripped.Owner, stripped.Hash, stripped.Labels = "", "", "", nil
	if got := hashOf(futureConfig{Config: stripped}); got != want {
		t.Errorf("config extended with zero fields hashes to %s, want %s", got, want)
	}
	if hashOf(futureResources{Resources: c.Resources}) != hashOf(c.Resources) {
		t.Error("nested type extended with zero fields hashes differently")
	}
	if hashOf(futureMount{Mount: c.Mounts[0]}) != hashOf(c.Mounts[0]) {
		t.Error("mount extended with a zero field hashes differently")
	}
	// And the new fields count once they are set.
	if hashOf(futureConfig{Config: stripped, StopSignal: "SIGTERM"}) == want {
		t.Error("a set new field does not change the hash")
	}
}

// Point 5(c): every change that shapes the container changes the hash.
func TestHashChangesWithEveryShapingField(t *testing.T) {
	base := Hash(fullConfig())
	tests := map[string]func(*driver.Config){
		"isolation":       func(c *driver.Config) { c.Isolation = driver.HyperV },
		"image":           func(c *driver.Config) { c.Image = imageref.MustParse(c.Image.String() + "-x") },
		"command":         func(c *driver.Config) { c.Command = []string{"cmd"} },
		"command order":   func(c *driver.Config) { c.Command = []string{"w3svc", `C:\ServiceMonitor.exe`} },
		"working dir":     func(c *driver.Config) { c.WorkingDir = `C:\` },
		"env value":       func(c *driver.Config) { c.Env = map[string]string{"A": "1", "B": "3"} },
		"env key":         func(c *driver.Config) { c.Env = map[string]string{"A": "1", "C": "2"} },
		"user":            func(c *driver.Config) { c.User = "ContainerAdministrator" },
		"cpu count":       func(c *driver.Config) { c.Resources.CPUCount = 4 },
		"cpu percent":     func(c *driver.Config) { c.Resources.CPUMaximumPercent = 60 },
		"memory":          func(c *driver.Config) { c.Resources.MemoryMB = 1024 },
		"mount host path": func(c *driver.Config) { c.Mounts[0].HostPath = winpath.MustParse(`D:\other`) },
		"mount target":    func(c *driver.Config) { c.Mounts[0].ContainerPath = winpath.MustParse(`C:\x`) },
		"mount read-only": func(c *driver.Config) { c.Mounts[0].ReadOnly = false },
		"mount added": func(c *driver.Config) {
			c.Mounts = append(c.Mounts, driver.Mount{HostPath: winpath.MustParse(`D:\a`), ContainerPath: winpath.MustParse(`C:\a`)})
		},
		"pipe":             func(c *driver.Config) { c.Pipes[0].HostPipe = winpath.MustParsePipe(`\\.\pipe\other`) },
		"pipe removed":     func(c *driver.Config) { c.Pipes = nil },
		"host port":        func(c *driver.Config) { c.Ports[0].HostPort = 8081 },
		"container port":   func(c *driver.Config) { c.Ports[0].ContainerPort = 81 },
		"port protocol":    func(c *driver.Config) { c.Ports[0].Protocol = "udp" },
		"network":          func(c *driver.Config) { c.Network = "none" },
		"network sharing":  func(c *driver.Config) { c.NetworkSharedWith = "db-0123456789ab" },
		"dns search":       func(c *driver.Config) { c.DNSSearch = []string{"other.example"} },
		"device":           func(c *driver.Config) { c.Devices = []string{"00000000-0000-0000-0000-000000000000"} },
		"device removed":   func(c *driver.Config) { c.Devices = nil },
		"host name":        func(c *driver.Config) { c.HostName = "web-01" },
		"dns servers":      func(c *driver.Config) { c.DNS = []netip.Addr{netip.MustParseAddr("10.0.0.53")} },
		"credential spec":  func(c *driver.Config) { c.CredentialSpec = "webapp01.json" },
		"name":             func(c *driver.Config) { c.Name = "web2" },
		"empty string env": func(c *driver.Config) { c.Env["C"] = "" },
		"secret rotated":   func(c *driver.Config) { c.SecretEnv[0].Digest = "sha256:ab" },
		"secret env gone":  func(c *driver.Config) { c.SecretEnv = nil },
		"secret mount":     func(c *driver.Config) { c.SecretMounts[0].Digest = "sha256:bc" },
		"keep on prune":    func(c *driver.Config) { c.KeepOnPrune = false },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			c := fullConfig()
			c.Env = map[string]string{"A": "1", "B": "2"}
			mutate(&c)
			if Hash(c) == base {
				t.Errorf("hash did not change")
			}
		})
	}
}

// Every field of driver.Config is either hashed or deliberately left out;
// a new field must be zero-safe, which the encoder guarantees for every
// kind it accepts. This catches a field of a kind the encoder cannot hash.
func TestHashAcceptsEveryConfigField(t *testing.T) {
	c := fullConfig()
	// Fields added since the pinned config (TestHashIsStableAcrossReleases).
	c.NetworkSharedWith = "x"
	c.HostName, c.CredentialSpec = "web-01", "webapp01.json"
	c.DNS = []netip.Addr{netip.MustParseAddr("10.0.0.53"), netip.MustParseAddr("fd00::53")}
	v := reflect.ValueOf(c)
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("fullConfig leaves %s zero; set it so the hash tests cover it", v.Type().Field(i).Name)
		}
	}
	_ = Hash(c) // panics on a kind it cannot hash
}

// A field typed as something that marshals itself as text (an image
// reference, a Windows path) hashes exactly as the string it replaced, and
// is left out when its text is empty, like an empty string: typing a field
// of driver.Config must not recreate a single container.
func TestHashWritesTextTypesAsTheirText(t *testing.T) {
	type asString struct {
		Image string
		Path  string
		Pipe  string
	}
	type asText struct {
		Image imageref.Ref
		Path  winpath.Path
		Pipe  winpath.Pipe
	}
	const image, path, pipe = "mcr.microsoft.com/windows/servercore:ltsc2022", `D:\sites\web`, `\\.\pipe\metrics`
	typed := asText{imageref.MustParse(image), winpath.MustParse(path), mustPipe(t, pipe)}
	if got, want := hashOf(typed), hashOf(asString{image, path, pipe}); got != want {
		t.Errorf("typed fields hash to %s, their strings to %s", got, want)
	}
	if got, want := hashOf(asText{Image: typed.Image}), hashOf(asString{Image: image}); got != want {
		t.Errorf("zero typed fields hash to %s, empty strings to %s", got, want)
	}
	if hashOf(asText{}) != hashOf(struct{}{}) {
		t.Error("a struct of zero typed fields is not empty")
	}
}

// writeQuoted is strconv.Quote, written straight into the encoding: every
// byte and rune class must come out the same, or hashes would change.
func TestWriteQuotedIsStrconvQuote(t *testing.T) {
	ins := []string{"", `D:\sites\web`, `"quoted"`, "tab\there", "new\nline", "del\x7f", "naïve", "日本",
		"\xff\xfe invalid", "\u2028", "\x00", `\\.\pipe\x`, "~ !#$%&'()*+,-./09:;<=>?@AZ[]^_`az{|}"}
	for c := range 256 {
		ins = append(ins, string(rune(c)), string([]byte{byte(c)}))
	}
	for _, in := range ins {
		var a, b strings.Builder
		writeQuoted(&a, in)
		writeQuoted(&b, []byte(in))
		if want := strconv.Quote(in); a.String() != want || b.String() != want {
			t.Errorf("writeQuoted(%q) = %s (string), %s ([]byte); want %s", in, a.String(), b.String(), want)
		}
	}
}

func mustPipe(t *testing.T, s string) winpath.Pipe {
	t.Helper()
	p, err := winpath.ParsePipe(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContainerID(t *testing.T) {
	h := Hash(fullConfig())
	id := ContainerID("web", h)
	if id != "web-"+h[:12] || !strings.HasPrefix(id, "web-") {
		t.Errorf("ContainerID = %q", id)
	}
}
