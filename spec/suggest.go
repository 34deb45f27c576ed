package spec

import (
	"slices"
	"strconv"
	"strings"
)

// unsupportedKeys explains keys people bring from Docker, Compose or
// Kubernetes for things Windows containers cannot do. They are reported
// with the reason instead of as unknown fields, wherever they appear.
var unsupportedKeys = map[string]string{
	"ipc":                   "Windows containers do not support sharing an IPC namespace (shared memory, semaphores, mutexes); remove ipc",
	"ipcMode":               "Windows containers do not support sharing an IPC namespace (shared memory, semaphores, mutexes); remove ipcMode",
	"ipc_mode":              "Windows containers do not support sharing an IPC namespace (shared memory, semaphores, mutexes); remove ipc_mode",
	"hostIPC":               "Windows containers do not support sharing the host's IPC namespace; remove hostIPC",
	"shm_size":              "Windows containers do not support shared memory; remove shm_size",
	"shmSize":               "Windows containers do not support shared memory; remove shmSize",
	"shmsize":               "Windows containers do not support shared memory; remove shmsize",
	"pid":                   "Windows containers do not support sharing a process namespace; remove pid",
	"pidMode":               "Windows containers do not support sharing a process namespace; remove pidMode",
	"pid_mode":              "Windows containers do not support sharing a process namespace; remove pid_mode",
	"hostPID":               "Windows containers do not support sharing the host's process namespace; remove hostPID",
	"shareProcessNamespace": "Windows containers do not support sharing a process namespace; remove shareProcessNamespace",
	"privileged":            "Windows containers have no privileged mode; remove privileged and map only the mounts, pipes or devices the container needs",
	"readOnlyRootFilesystem": "Windows containers do not support a read-only root filesystem; remove readOnlyRootFilesystem " +
		"and mount the data the container reads with readOnly: true",
	"read_only": "Windows containers do not support a read-only root filesystem; remove read_only " +
		"and mount the data the container reads with readOnly: true",
	"tmpfs":             "Windows containers do not support tmpfs (memory-backed) mounts; remove tmpfs and mount a host folder instead",
	"semaphores":        "Windows containers do not support sharing synchronization objects (semaphores, mutexes) with the host or other containers; remove semaphores",
	"mutexes":           "Windows containers do not support sharing synchronization objects (semaphores, mutexes) with the host or other containers; remove mutexes",
	"syncObjects":       "Windows containers do not support sharing synchronization objects (semaphores, mutexes) with the host or other containers; remove syncObjects",
	"sharedSyncObjects": "Windows containers do not support sharing synchronization objects (semaphores, mutexes) with the host or other containers; remove sharedSyncObjects",
	"cap_add":           "Windows containers have no Linux capabilities; remove cap_add",
	"cap_drop":          "Windows containers have no Linux capabilities; remove cap_drop",
	"capabilities":      "Windows containers have no Linux capabilities; remove capabilities",
	"securityContext":   "isoagent has no securityContext: set the account with user (e.g. user: ContainerUser) and remove securityContext",
	"hostNetwork":       "Windows containers cannot join the host's network namespace; remove hostNetwork and publish ports instead",
	"network_mode":      "isoagent calls this network.mode; write network: {mode: nat}",
	"hostIP":            "a host IP cannot be given: ports are published on every host address; remove hostIP",
	"hostIp":            "a host IP cannot be given: ports are published on every host address; remove hostIp",
	"host_ip":           "a host IP cannot be given: ports are published on every host address; remove host_ip",
}

// aliasKeys points at the isoagent names of keys that Docker, Compose or
// Kubernetes spell differently, where edit distance would not find them.
// The first candidate that exists where the key was found is suggested; a
// dotted candidate counts when its first part exists there.
var aliasKeys = map[string][]string{
	"volumes":                       {"mounts"},
	"volumeMounts":                  {"mounts"},
	"environment":                   {"env"},
	"env_file":                      {"envFrom"},
	"secrets":                       {"secretMounts"},
	"entrypoint":                    {"command"},
	"args":                          {"command"},
	"working_dir":                   {"workingDir"},
	"workdir":                       {"workingDir"},
	"restart":                       {"restartPolicy"},
	"stop_grace_period":             {"stopTimeout"},
	"stopGracePeriod":               {"stopTimeout"},
	"terminationGracePeriodSeconds": {"stopTimeout"},
	"nodeSelector":                  {"selector"},
	"limits":                        {"resources"},
	"mem_limit":                     {"resources.memoryMB"},
	"cpus":                          {"resources.cpuCount", "cpuCount"},
	"published":                     {"hostPort"},
	"target":                        {"containerPort", "containerPath"},
	"source":                        {"hostPath"},
	"destination":                   {"containerPath"},
	"mountPath":                     {"containerPath"},
	"read_only":                     {"readOnly"},
	"dns_search":                    {"network.dnsSearch", "dnsSearch"},
	"dns":                           {"network.dns"},
	"dnsConfig":                     {"network.dns"},
	"credential_spec":               {"credentialSpec"},
	"security_opt":                  {"credentialSpec"},
	"securityOpt":                   {"credentialSpec"},
	"host_name":                     {"hostname"},
	"name":                          {"metadata.name"},
}

// unknownKeyMessage says what to do about key, found in a mapping whose
// keys are known: point at the isoagent spelling of a Docker or Kubernetes
// key, give the reason for an unsupported feature, or suggest the closest
// known key. It also returns the suggested key, if any.
func unknownKeyMessage(key string, known []string) (msg, suggestion string) {
	if alias := aliasFor(key, known); alias != "" {
		return "unknown field " + strconv.Quote(key) + "; did you mean " + alias + "?", alias
	}
	if reason, ok := unsupportedKeys[key]; ok {
		return reason, ""
	}
	if s := closest(key, known); s != "" {
		return "unknown field " + strconv.Quote(key) + "; did you mean " + s + "?", s
	}
	return "unknown field " + strconv.Quote(key) + "; known fields here are " + strings.Join(sorted(known), ", "), ""
}

func aliasFor(key string, known []string) string {
	for _, alias := range aliasKeys[key] {
		first, _, _ := strings.Cut(alias, ".")
		if slices.Contains(known, first) {
			return alias
		}
	}
	return ""
}

// closest returns the known key closest to key, or "" when none is close
// enough to be a likely typo. Case differences alone always count as close.
func closest(key string, known []string) string {
	lk := strings.ToLower(key)
	best, bestDist := "", -1
	for _, k := range sorted(known) {
		d := editDistance(lk, strings.ToLower(k))
		if bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	limit := 1
	if len(key) >= 5 {
		limit = 2
	}
	if len(key) >= 10 {
		limit = 3
	}
	if bestDist < 0 || bestDist > limit {
		return ""
	}
	return best
}

func sorted(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return out
}

// editDistance is the optimal-string-alignment distance between a and b,
// in bytes: insertions, deletions, substitutions and swaps of neighbours
// ("nmae" for "name") each cost one.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
