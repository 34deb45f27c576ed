package spec

import (
	"net/netip"
	"time"

	"github.com/isoagent/isoagent/imageref"
	"github.com/isoagent/isoagent/winpath"
)

// APIVersion is the only apiVersion this agent understands.
const APIVersion = "isoagent/v1"

// KindContainer is the kind of a container spec document.
const KindContainer = "Container"

// Isolation is the isolation mode a spec asks for.
type Isolation string

// Isolation modes. IsolationDefault means the host's default: process on
// Windows Server, hyperv on Windows 10/11.
const (
	IsolationDefault Isolation = "default"
	IsolationProcess Isolation = "process"
	IsolationHyperV  Isolation = "hyperv"
)

// OnVersionMismatch says what to do when process isolation cannot run the
// image on this host's build.
type OnVersionMismatch string

// Version-mismatch behaviours.
const (
	MismatchFail   OnVersionMismatch = "fail"
	MismatchHyperV OnVersionMismatch = "hyperv"
)

// PullPolicy says when the agent pulls a spec's image from its registry.
type PullPolicy string

// Pull policies, as the kubelet names them.
const (
	// PullIfNotPresent pulls the image only when the host does not have
	// it: a tag that moves in the registry does not move the container.
	PullIfNotPresent PullPolicy = "IfNotPresent"
	// PullAlways asks the registry at every resync which image the tag
	// names, and pulls it and rolls the container to it when it moved:
	// how the monthly servicing updates of a tag such as ltsc2022 reach
	// the hosts.
	PullAlways PullPolicy = "Always"
	// PullNever uses only what the host has.
	PullNever PullPolicy = "Never"
)

// RestartPolicy says when an exited container is started again.
type RestartPolicy string

// Restart policies.
const (
	RestartAlways    RestartPolicy = "always"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartNever     RestartPolicy = "never"
)

// Network modes. A mode of the form "container:<name>" shares the network
// namespace of another container; see Network.SharedWith.
const (
	NetworkNAT  = "nat"
	NetworkNone = "none"
	// NetworkContainerPrefix starts a shared network mode.
	NetworkContainerPrefix = "container:"
)

// Container is one validated container spec, as decoded from a document of a
// spec file with defaults applied (see ApplyDefaults).
type Container struct {
	APIVersion string   `yaml:"apiVersion" json:"apiVersion"`
	Kind       string   `yaml:"kind" json:"kind"`
	Metadata   Metadata `yaml:"metadata" json:"metadata"`
	Spec       Spec     `yaml:"spec" json:"spec"`

	// Source is where the document was read from; it is not part of the
	// YAML format.
	Source Source `yaml:"-" json:"source"`
}

// Name returns the container's name (metadata.name).
func (c *Container) Name() string { return c.Metadata.Name }

// Source locates a spec document.
type Source struct {
	File   string `json:"file"`
	Line   int    `json:"line"`
	Column int    `json:"column"`
}

// Metadata names a container and carries free-form labels, and
// annotations that tell the agent how to treat it.
type Metadata struct {
	Name   string            `yaml:"name" json:"name"`
	Labels map[string]string `yaml:"labels,omitempty" json:"labels,omitempty"`
	// Annotations under the isoagent.io/ prefix are the agent's (see
	// AnnotationPrune); others are free-form and ignored.
	Annotations map[string]string `yaml:"annotations,omitempty" json:"annotations,omitempty"`
}

// AnnotationPrune, set to "false", keeps the container when its spec is
// deleted: the agent reports it as orphaned-kept instead of pruning it.
const AnnotationPrune = "isoagent.io/prune"

// AnnotationPrefix starts the annotations the agent reads.
const AnnotationPrefix = "isoagent.io/"

// KeepOnPrune reports whether the annotations say to keep the container
// when its spec is deleted.
func (m Metadata) KeepOnPrune() bool { return m.Annotations[AnnotationPrune] == "false" }

// Spec is what a container should look like.
type Spec struct {
	Image             imageref.Ref      `yaml:"image" json:"image"`
	ImagePullPolicy   PullPolicy        `yaml:"imagePullPolicy,omitempty" json:"imagePullPolicy,omitempty"`
	Command           []string          `yaml:"command,omitempty" json:"command,omitempty"`
	WorkingDir        string            `yaml:"workingDir,omitempty" json:"workingDir,omitempty"`
	Env               map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	User              string            `yaml:"user,omitempty" json:"user,omitempty"`
	Isolation         Isolation         `yaml:"isolation,omitempty" json:"isolation,omitempty"`
	OnVersionMismatch OnVersionMismatch `yaml:"onVersionMismatch,omitempty" json:"onVersionMismatch,omitempty"`
	RestartPolicy     RestartPolicy     `yaml:"restartPolicy,omitempty" json:"restartPolicy,omitempty"`
	StopTimeout       Duration          `yaml:"stopTimeout,omitempty" json:"stopTimeout,omitempty"`
	Hosts             []string          `yaml:"hosts,omitempty" json:"hosts,omitempty"`
	Selector          map[string]string `yaml:"selector,omitempty" json:"selector,omitempty"`
	Resources         Resources         `yaml:"resources,omitempty" json:"resources,omitempty"`
	Mounts            []Mount           `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	Pipes             []Pipe            `yaml:"pipes,omitempty" json:"pipes,omitempty"`
	Ports             []Port            `yaml:"ports,omitempty" json:"ports,omitempty"`
	Network           Network           `yaml:"network,omitempty" json:"network,omitempty"`
	Devices           []Device          `yaml:"devices,omitempty" json:"devices,omitempty"`
	// Hostname is the container's host name; empty means its name
	// (metadata.name).
	Hostname string `yaml:"hostname,omitempty" json:"hostname,omitempty"`
	// CredentialSpec names a file in the agent's credential-spec folder
	// whose gMSA credential spec the container runs with (package
	// credspec); the policy must list it.
	CredentialSpec string `yaml:"credentialSpec,omitempty" json:"credentialSpec,omitempty"`
	// EnvFrom makes every key of each secret an environment variable of
	// the container; Env wins over it for a name both set.
	EnvFrom []EnvFrom `yaml:"envFrom,omitempty" json:"envFrom,omitempty"`
	// SecretMounts put a secret's keys as read-only files into a folder
	// of the container.
	SecretMounts []SecretMount `yaml:"secretMounts,omitempty" json:"secretMounts,omitempty"`
	// DependsOn names the containers that must meet a condition before
	// this one is created (see Dependency).
	DependsOn []Dependency `yaml:"dependsOn,omitempty" json:"dependsOn,omitempty"`
	// Schedule, a cron expression of five fields, makes the container a
	// scheduled job: it is run at those times and otherwise not kept
	// running (see ParseSchedule). TimeZone, ConcurrencyPolicy and
	// StartingDeadline apply only with it.
	Schedule          string            `yaml:"schedule,omitempty" json:"schedule,omitempty"`
	TimeZone          string            `yaml:"timeZone,omitempty" json:"timeZone,omitempty"`
	ConcurrencyPolicy ConcurrencyPolicy `yaml:"concurrencyPolicy,omitempty" json:"concurrencyPolicy,omitempty"`
	StartingDeadline  Duration          `yaml:"startingDeadline,omitempty" json:"startingDeadline,omitempty"`
	// HealthCheck is how the agent probes the container (see
	// HealthCheck); OnUnhealthy what it does when the probes fail.
	HealthCheck HealthCheck `yaml:"healthcheck,omitempty" json:"healthcheck,omitzero"`
	OnUnhealthy OnUnhealthy `yaml:"onUnhealthy,omitempty" json:"onUnhealthy,omitempty"`
	// Update says how a change of the spec replaces the running
	// container (see UpdatePolicy).
	Update UpdatePolicy `yaml:"update,omitempty" json:"update,omitzero"`
}

// EnvFrom names a secret of the agent's secrets folder whose keys become
// environment variables.
type EnvFrom struct {
	Secret string `yaml:"secret" json:"secret"`
}

// SecretMount puts the keys of a secret of the agent's secrets folder as
// files into ContainerPath, read-only.
type SecretMount struct {
	Secret        string       `yaml:"secret" json:"secret"`
	ContainerPath winpath.Path `yaml:"containerPath" json:"containerPath"`
}

// Resources limits what a container may use. Zero means no limit.
type Resources struct {
	CPUCount          int `yaml:"cpuCount,omitempty" json:"cpuCount,omitempty"`
	CPUMaximumPercent int `yaml:"cpuMaximumPercent,omitempty" json:"cpuMaximumPercent,omitempty"`
	MemoryMB          int `yaml:"memoryMB,omitempty" json:"memoryMB,omitempty"`
}

// Mount maps a host directory into the container. Validation parses both
// paths (and requires them); they write as their normalised text (C:\...).
type Mount struct {
	HostPath      winpath.Path `yaml:"hostPath" json:"hostPath"`
	ContainerPath winpath.Path `yaml:"containerPath" json:"containerPath"`
	ReadOnly      bool         `yaml:"readOnly,omitempty" json:"readOnly,omitempty"`
}

// Pipe maps a host named pipe into the container. Validation parses both
// names (and requires them); they write as \\.\pipe\<name>.
type Pipe struct {
	HostPipe      winpath.Pipe `yaml:"hostPipe" json:"hostPipe"`
	ContainerPipe winpath.Pipe `yaml:"containerPipe" json:"containerPipe"`
}

// Port maps a host port to a container port.
type Port struct {
	HostPort      int    `yaml:"hostPort" json:"hostPort"`
	ContainerPort int    `yaml:"containerPort" json:"containerPort"`
	Protocol      string `yaml:"protocol,omitempty" json:"protocol,omitempty"` // tcp (default) or udp
}

// Network is the container's network attachment.
type Network struct {
	Mode      string   `yaml:"mode,omitempty" json:"mode,omitempty"` // nat (default), none, container:<name>
	DNSSearch []string `yaml:"dnsSearch,omitempty" json:"dnsSearch,omitempty"`
	// DNS are the DNS servers of the container's network adapter, in
	// order; none means the network's own. Validation parses them.
	DNS []netip.Addr `yaml:"dns,omitempty" json:"dns,omitempty"`
}

// SharedWith returns the name of the container whose network namespace this
// one shares, or "" when the mode is not container:<name>.
func (n Network) SharedWith() string {
	if len(n.Mode) > len(NetworkContainerPrefix) && n.Mode[:len(NetworkContainerPrefix)] == NetworkContainerPrefix {
		return n.Mode[len(NetworkContainerPrefix):]
	}
	return ""
}

// Device makes a host device class visible in the container.
type Device struct {
	ClassGUID string `yaml:"classGUID" json:"classGUID"` // upper case after validation
}

// Duration is a time.Duration written as a Go duration string ("10s").
type Duration time.Duration

// String formats d like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }
