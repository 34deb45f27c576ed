// Package driver defines what isoagent needs from a container host: the
// small Driver interface, the types it speaks and the classes of error it
// returns. Two drivers implement it: driver/sim, a simulated HCS host, and
// driver/hcs, the Host Compute Service on Windows. Package drivertest holds
// the conformance suite both must pass.
//
// Drivers are safe for concurrent use. Errors returned by a driver wrap one
// of the sentinel errors below, so callers decide with errors.Is and never
// by matching strings.
package driver

import (
	"context"
	"net/netip"
	"time"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// Driver is a container host.
type Driver interface {
	// Host describes the host: OS version, SKU and name.
	Host(ctx context.Context) (Host, error)
	// Image returns what the host knows of an image. It wraps ErrNotFound
	// when the host does not have the image.
	Image(ctx context.Context, ref imageref.Ref) (Image, error)
	// List returns the containers that carry the driver's owner tag;
	// containers of other owners are never returned.
	List(ctx context.Context) ([]Container, error)
	// Create creates (but does not start) a container. It wraps
	// ErrAlreadyExists when cfg.ID is taken.
	Create(ctx context.Context, cfg Config) error
	// Start starts a created container, or starts it again after it exited.
	Start(ctx context.Context, id string) error
	// Stop shuts the container down gracefully and terminates it when it
	// has not exited after timeout. Stopping an exited container is not an
	// error.
	Stop(ctx context.Context, id string, timeout time.Duration) error
	// Remove removes a container that is not running and releases what it
	// held (scratch layer, network endpoints). It wraps ErrNotFound when
	// there is no such container and ErrInvalidState when it is running.
	Remove(ctx context.Context, id string) error
}

// SecretSource gives a driver the content of the secrets a config names
// (Config.SecretEnv, Config.SecretMounts), at the moment it needs them;
// *secrets.Store is one. A driver that has none refuses configs that name
// secrets.
type SecretSource interface {
	// Secret returns the keys and values of the named secret and the
	// digest of that content. It wraps fs.ErrNotExist when there is no
	// such secret.
	Secret(name string) (map[string][]byte, string, error)
}

// Name of a driver, as reported in logs and metrics.
const (
	NameSim = "sim"
	NameHCS = "hcs"
)

// SKU is the kind of Windows a host runs.
type SKU string

// SKUs. Windows Server defaults to process isolation, client Windows
// (10/11) to Hyper-V.
const (
	SKUServer SKU = "server"
	SKUClient SKU = "client"
)

// Host describes a container host.
type Host struct {
	OSVersion OSVersion `json:"osVersion"`
	SKU       SKU       `json:"sku"`
	Name      string    `json:"name"`
	Driver    string    `json:"driver"`
	// HyperV tells whether the host can run Hyper-V isolated containers;
	// HyperVDetail says how the driver knows, when it does.
	HyperV       Availability `json:"hyperV,omitempty"`
	HyperVDetail string       `json:"hyperVDetail,omitempty"`
	// UNCMounts reports that the host can map a folder on a network share,
	// named by its UNC path (\\server\share\...), into a container. HCS
	// cannot: it maps folders on local drives only (moby#27100); a share
	// is mapped to a drive letter for the whole host with an SMB global
	// mapping (New-SmbGlobalMapping), and a folder on that drive is
	// mounted.
	UNCMounts bool `json:"uncMounts,omitempty"`
}

// Availability says whether a host has what a kind of container needs.
type Availability string

// Availabilities. A driver that cannot tell says AvailabilityUnknown, and
// the host itself refuses the containers it cannot run when they start.
const (
	AvailabilityUnknown Availability = ""
	Available           Availability = "available"
	Unavailable         Availability = "unavailable"
)

// Isolation is the isolation a container actually runs with; it is never
// "default" at the driver.
type Isolation string

// Effective isolation modes.
const (
	Process Isolation = "process"
	HyperV  Isolation = "hyperv"
)

// Image is what a host knows of an image.
type Image struct {
	Ref imageref.Ref `json:"ref"`
	// OSVersion is the image's Windows version (its config's os.version);
	// zero when unknown.
	OSVersion OSVersion `json:"osVersion"`
	// Command is the image's default command.
	Command []string `json:"command,omitempty"`
	// Digest is the digest of the image's manifest (sha256:...) when the
	// host knows it: an image the driver pulled itself (ImageStore);
	// empty for one it only finds by name (Docker's store, the sim's
	// images named by tag).
	Digest string `json:"digest,omitempty"`
	// Healthcheck is the image config's HEALTHCHECK; nil when it has
	// none or the host does not tell.
	Healthcheck *ImageHealthcheck `json:"healthcheck,omitempty"`
}

// Config is everything a driver needs to create a container. Reconcile
// builds it from an admitted spec; its fields are the effective settings.
type Config struct {
	ID        string       `json:"id"`        // unique on the host
	Name      string       `json:"name"`      // spec name
	Owner     string       `json:"owner"`     // owner tag, see List
	Hash      string       `json:"hash"`      // config hash, for change detection
	Isolation Isolation    `json:"isolation"` // effective isolation
	Image     imageref.Ref `json:"image"`
	// ImageDigest, when set, is the manifest digest of the image to run
	// (the one the registry named for Image when it was admitted): the
	// driver runs that image and no other, and wraps ErrNotFound when it
	// does not have it. Empty runs what the host has under Image.
	ImageDigest string            `json:"imageDigest,omitempty"`
	Command     []string          `json:"command,omitempty"`
	WorkingDir  string            `json:"workingDir,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	User        string            `json:"user,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Resources   Resources         `json:"resources,omitempty"`
	Mounts      []Mount           `json:"mounts,omitempty"`
	Pipes       []Pipe            `json:"pipes,omitempty"`
	Ports       []Port            `json:"ports,omitempty"`
	// Network is "nat", "none", or empty for nat.
	Network string `json:"network,omitempty"`
	// NetworkSharedWith is the ID of the container whose network namespace
	// this one joins (process isolation only).
	NetworkSharedWith string   `json:"networkSharedWith,omitempty"`
	DNSSearch         []string `json:"dnsSearch,omitempty"`
	Devices           []string `json:"devices,omitempty"` // device interface class GUIDs
	// HostName is the container's host name; empty means Name.
	HostName string `json:"hostName,omitempty"`
	// DNS are the DNS servers of the container's own network endpoint, in
	// order; none means the network's.
	DNS []netip.Addr `json:"dns,omitempty"`
	// CredentialSpec names the gMSA credential spec, a file in the
	// driver's credential-spec folder (package credspec), that the
	// container runs with; the driver reads its content when it makes the
	// container.
	CredentialSpec string `json:"credentialSpec,omitempty"`
	// SecretEnv are secrets whose keys become environment variables of
	// the init process (a spec's envFrom), and SecretMounts secrets whose
	// keys become read-only files in a container folder. They name the
	// secrets and carry the digest of their content at admission, never
	// a value: a driver reads the values from its SecretSource when it
	// needs them and refuses content whose digest differs
	// (ErrSecretChanged), so no value is ever in a config or a record.
	SecretEnv    []SecretRef   `json:"secretEnv,omitempty"`
	SecretMounts []SecretMount `json:"secretMounts,omitempty"`
	// KeepOnPrune marks a container the agent keeps when its spec is
	// deleted (metadata.annotations isoagent.io/prune: "false"). Drivers
	// keep it with the container and list it, since the spec that said so
	// is gone when it matters.
	KeepOnPrune bool `json:"keepOnPrune,omitempty"`
}

// SecretRef names a secret and the digest of the content admission saw.
type SecretRef struct {
	Name   string `json:"name"`
	Digest string `json:"digest"`
}

// SecretMount puts a secret's keys as files into the container folder
// ContainerPath, read-only.
type SecretMount struct {
	Name          string       `json:"name"`
	Digest        string       `json:"digest"`
	ContainerPath winpath.Path `json:"containerPath"`
}

// Resources limits a container; zero means unlimited.
type Resources struct {
	CPUCount          int `json:"cpuCount,omitempty"`
	CPUMaximumPercent int `json:"cpuMaximumPercent,omitempty"`
	MemoryMB          int `json:"memoryMB,omitempty"`
}

// Mount maps a host directory into a container.
type Mount struct {
	HostPath      winpath.Path `json:"hostPath"`
	ContainerPath winpath.Path `json:"containerPath"`
	ReadOnly      bool         `json:"readOnly,omitempty"`
	// ResolvedPath is the folder HostPath led to, through junctions and
	// symbolic links, when admission checked it against the policy; zero
	// when it led to HostPath itself or nothing resolved it (the sim). A
	// driver that resolves paths maps only that folder: if HostPath leads
	// elsewhere at create, it refuses with ErrHostPathChanged.
	ResolvedPath winpath.Path `json:"resolvedPath,omitzero"`
}

// Pipe maps a host named pipe into a container.
type Pipe struct {
	HostPipe      winpath.Pipe `json:"hostPipe"`
	ContainerPipe winpath.Pipe `json:"containerPipe"`
}

// Port maps a host port to a container port.
type Port struct {
	HostPort      int    `json:"hostPort"`
	ContainerPort int    `json:"containerPort"`
	Protocol      string `json:"protocol"` // tcp or udp
}

// State is the lifecycle state of a container.
type State string

// Container states.
const (
	StateCreated State = "created"
	StateRunning State = "running"
	StateExited  State = "exited"
)

// Container is a container as the host sees it.
type Container struct {
	ID        string       `json:"id"`
	Name      string       `json:"name"`
	Owner     string       `json:"owner"`
	Hash      string       `json:"hash"`
	Isolation Isolation    `json:"isolation"`
	Image     imageref.Ref `json:"image"`
	// ImageDigest is the config's: the manifest digest of the image the
	// container was created from, when the config named one.
	ImageDigest string `json:"imageDigest,omitempty"`
	State       State  `json:"state"`
	// ExitCode is the init process's exit code once State is exited.
	ExitCode   int       `json:"exitCode"`
	CreatedAt  time.Time `json:"createdAt"`
	StartedAt  time.Time `json:"startedAt,omitzero"`
	FinishedAt time.Time `json:"finishedAt,omitzero"`
	// InitPID is the host PID of the init process of a running
	// process-isolated container; zero otherwise.
	InitPID int `json:"initPid,omitempty"`
	// UtilityVM is the VM a running Hyper-V container runs in.
	UtilityVM *UtilityVM `json:"utilityVM,omitempty"`
	// RestartCount is how often the container was started again after
	// its first start, as its record keeps it, so it outlives the agent.
	RestartCount int `json:"restartCount,omitempty"`
	// KeepOnPrune is the mark of the config it was created with.
	KeepOnPrune bool `json:"keepOnPrune,omitempty"`
}

// UtilityVM identifies the utility VM of a Hyper-V container as the host
// sees it: the VM's runtime id and its worker process (vmwp.exe).
type UtilityVM struct {
	ID  string `json:"id"`
	PID int    `json:"pid"`
}
