package spec

import (
	"fmt"
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

// foreignKeys explains keys Compose and Kubernetes users bring for things
// isoagent does not do (or does elsewhere): the reason and what to write
// instead, rather than a list of fields that does not have it.
var foreignKeys = map[string]string{
	"livenessProbe":      "isoagent's probe is healthcheck, and onUnhealthy: restart (the default) makes it a liveness probe; write healthcheck: {http: {port: 80, path: /healthz}} instead of livenessProbe",
	"readinessProbe":     "isoagent's probe is healthcheck: its health gates dependsOn condition healthy; write healthcheck: {http: {port: 80, path: /healthz}} instead of readinessProbe",
	"startupProbe":       "isoagent's probe is healthcheck, whose startPeriod gives a slow start its time; write healthcheck: {http: {port: 80}, startPeriod: 2m} instead of startupProbe",
	"depends_on":         "isoagent has no start order: each spec's container is started on its own; remove depends_on",
	"dependsOn":          "isoagent has no start order: each spec's container is started on its own; remove dependsOn",
	"replicas":           "a spec is one container on each host it is meant for; for more, write a spec per container; remove replicas",
	"deploy":             "isoagent has no deploy section: limits go in resources, restarts in restartPolicy, hosts and selector say where it runs; remove deploy",
	"build":              "isoagent runs images, it does not build them: build and push the image, then name it in image; remove build",
	"logging":            "isoagent has no logging drivers; remove logging",
	"ulimits":            "Windows containers have no ulimits; cap memory and CPU with resources; remove ulimits",
	"sysctls":            "Windows containers have no sysctls; remove sysctls",
	"cpu_shares":         "CPU shares (relative weights) are not supported; cap CPU with resources.cpuCount or resources.cpuMaximumPercent; remove cpu_shares",
	"cpuShares":          "CPU shares (relative weights) are not supported; cap CPU with resources.cpuCount or resources.cpuMaximumPercent; remove cpuShares",
	"cpuset":             "CPUs cannot be pinned; cap CPU with resources.cpuCount; remove cpuset",
	"memswap_limit":      "Windows containers have no swap limit; cap memory with resources.memoryMB; remove memswap_limit",
	"memory_swap":        "Windows containers have no swap limit; cap memory with resources.memoryMB; remove memory_swap",
	"mem_swappiness":     "Windows containers have no swap settings; remove mem_swappiness",
	"mem_reservation":    "isoagent reserves no memory: resources.memoryMB is a limit; remove mem_reservation",
	"memoryReservation":  "isoagent reserves no memory: resources.memoryMB is a limit; remove memoryReservation",
	"requests":           "isoagent reserves nothing: resources are limits (memoryMB, cpuCount, cpuMaximumPercent); remove requests",
	"oom_kill_disable":   "Windows containers have no OOM killer settings; cap memory with resources.memoryMB; remove oom_kill_disable",
	"oom_score_adj":      "Windows containers have no OOM killer settings; cap memory with resources.memoryMB; remove oom_score_adj",
	"expose":             "expose is not needed: publish the ports that must be reached from outside with ports; remove expose",
	"extra_hosts":        "isoagent does not edit the container's hosts file; give DNS servers with network.dns; remove extra_hosts",
	"links":              "links are not supported; remove links",
	"volumes_from":       "volumes_from is not supported: mount the same host folders into both containers with mounts; remove volumes_from",
	"stdin_open":         "isoagent runs containers detached, without standard input or a terminal; remove stdin_open",
	"tty":                "isoagent runs containers detached, without standard input or a terminal; remove tty",
	"stdin":              "isoagent runs containers detached, without standard input or a terminal; remove stdin",
	"stop_signal":        "Windows containers are stopped with a shutdown request, not a signal; set the grace time with stopTimeout; remove stop_signal",
	"platform":           "isoagent runs Windows images for the host's architecture; remove platform",
	"container_name":     "isoagent names the container after metadata.name; write the name there and remove container_name",
	"containers":         "a spec is one container: write a spec per container, with the container's fields under spec",
	"initContainers":     "isoagent has no init containers: write a spec per container; remove initContainers",
	"tolerations":        "isoagent has no scheduler: say where a spec runs with hosts (host name globs) and selector (agent labels); remove tolerations",
	"affinity":           "isoagent has no scheduler: say where a spec runs with hosts (host name globs) and selector (agent labels); remove affinity",
	"nodeName":           "isoagent has no scheduler: say where a spec runs with hosts (host name globs); remove nodeName",
	"serviceAccountName": "isoagent has no service accounts: for a domain identity give a gMSA's credentialSpec; remove serviceAccountName",
}

// movedKeys are fields isoagent has in another section than where they
// were found: the key, and the section it belongs in.
var movedKeys = map[string]string{
	"labels":      "metadata",
	"annotations": "metadata",
	"name":        "metadata",
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
	"mem_limit":                     {"resources.memoryMB", "memoryMB"},
	"memory":                        {"resources.memoryMB", "memoryMB"},
	"memoryLimit":                   {"resources.memoryMB", "memoryMB"},
	"memory_limit":                  {"resources.memoryMB", "memoryMB"},
	"cpus":                          {"resources.cpuCount", "cpuCount"},
	"cpu":                           {"resources.cpuCount", "cpuCount"},
	"cpu_count":                     {"resources.cpuCount", "cpuCount"},
	"cpu_percent":                   {"resources.cpuMaximumPercent", "cpuMaximumPercent"},
	"cpuPercent":                    {"resources.cpuMaximumPercent", "cpuMaximumPercent"},
	"nodeName":                      {"hosts"},
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
}

// unknownKeyMessage says what to do about key, found in a mapping whose
// keys are known: point at the isoagent spelling of a Docker or Kubernetes
// key, give the reason for a feature isoagent does not have, say where a
// field found in the wrong section belongs, or suggest the closest known
// key. It also returns the suggested key, if any, and whether nothing
// better than the list of known keys can be said (the caller adds it).
func unknownKeyMessage(key string, known []string) (msg, suggestion string, unknown bool) {
	if alias := aliasFor(key, known); alias != "" {
		return "unknown field " + strconv.Quote(key) + "; did you mean " + alias + "?", alias, false
	}
	if reason, ok := unsupportedKeys[key]; ok {
		return reason, "", false
	}
	if reason, ok := foreignKeys[key]; ok {
		return reason, "", false
	}
	if s := closest(key, known); s != "" {
		return "unknown field " + strconv.Quote(key) + "; did you mean " + s + "?", s, false
	}
	if section, ok := movedKeys[key]; ok && !slices.Contains(known, section) {
		return fmt.Sprintf("%q is a field of %s; move it to %s.%s", key, section, section, key), "", false
	}
	return "unknown field " + strconv.Quote(key), "", true
}

// knownFieldsText is what follows an unknown field without a better hint:
// the known fields, the first time a file has one in that kind of
// mapping, and where they were listed after that.
func knownFieldsText(known []string, listedAt int) string {
	if listedAt > 0 {
		return fmt.Sprintf(" (the fields known here are listed on line %d)", listedAt)
	}
	return "; known fields here are " + strings.Join(sorted(known), ", ")
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
