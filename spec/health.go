package spec

import (
	"fmt"
	"strings"
	"time"
)

// Defaults of a health check, Docker's (HEALTHCHECK's options).
const (
	DefaultHealthInterval    = Duration(30 * time.Second)
	DefaultHealthTimeout     = Duration(30 * time.Second)
	DefaultHealthRetries     = 3
	DefaultHealthStartPeriod = Duration(0)
)

// OnUnhealthy says what the agent does with a container whose health check
// fails Retries times in a row.
type OnUnhealthy string

// OnUnhealthy values.
const (
	// UnhealthyRestart stops the container and starts it again through
	// the restart policy's crash backoff, as a liveness probe does.
	UnhealthyRestart OnUnhealthy = "restart"
	// UnhealthyNone only reports it, as Docker does.
	UnhealthyNone OnUnhealthy = "none"
)

// HealthCheck is spec.healthcheck: how the agent tells whether the
// container's process does its work, with Docker's meaning of the
// timings. One of Exec, TCP and HTTP is set, or Disable. A spec without
// one runs the image's own HEALTHCHECK, when its config has one;
// Disable turns that off.
type HealthCheck struct {
	// Exec is a command run inside the container; exit code 0 is
	// healthy.
	Exec []string `yaml:"exec,omitempty" json:"exec,omitempty"`
	// TCP connects from the host to a port of the container's network
	// endpoint; a connection is healthy.
	TCP TCPCheck `yaml:"tcp,omitempty" json:"tcp,omitzero"`
	// HTTP sends a GET from the host to a port of the container's
	// network endpoint; a 2xx or 3xx answer is healthy.
	HTTP HTTPCheck `yaml:"http,omitempty" json:"http,omitzero"`
	// Interval is the time between two probes (default 30s); Timeout how
	// long one may take (default 30s); Retries how many failures in a
	// row make the container unhealthy (default 3); StartPeriod how long
	// after the start failures do not count, unless a probe has passed
	// (default 0).
	Interval    Duration `yaml:"interval,omitempty" json:"interval,omitempty"`
	Timeout     Duration `yaml:"timeout,omitempty" json:"timeout,omitempty"`
	Retries     int      `yaml:"retries,omitempty" json:"retries,omitempty"`
	StartPeriod Duration `yaml:"startPeriod,omitempty" json:"startPeriod,omitempty"`
	// Disable turns off the image's HEALTHCHECK; nothing else may be set
	// with it.
	Disable bool `yaml:"disable,omitempty" json:"disable,omitempty"`
}

// TCPCheck is a port to connect to.
type TCPCheck struct {
	Port int `yaml:"port" json:"port"`
}

// HTTPCheck is a port and path to GET.
type HTTPCheck struct {
	Port int `yaml:"port" json:"port"`
	// Path is the request's path and query (default /).
	Path string `yaml:"path,omitempty" json:"path,omitempty"`
}

// IsZero reports whether no field of h is set: the spec has no
// healthcheck.
func (h HealthCheck) IsZero() bool {
	return h.Exec == nil && h.TCP == (TCPCheck{}) && h.HTTP == (HTTPCheck{}) &&
		h.Interval == 0 && h.Timeout == 0 && h.Retries == 0 && h.StartPeriod == 0 && !h.Disable
}

// HasProbe reports whether h says how to probe (exec, tcp or http).
func (h HealthCheck) HasProbe() bool {
	return len(h.Exec) > 0 || h.TCP.Port != 0 || h.HTTP.Port != 0
}

// WithDefaults returns h with the unset timings at their defaults, and an
// HTTP check's path at /.
func (h HealthCheck) WithDefaults() HealthCheck {
	if h.Interval == 0 {
		h.Interval = DefaultHealthInterval
	}
	if h.Timeout == 0 {
		h.Timeout = DefaultHealthTimeout
	}
	if h.Retries == 0 {
		h.Retries = DefaultHealthRetries
	}
	if h.HTTP.Port != 0 && h.HTTP.Path == "" {
		h.HTTP.Path = "/"
	}
	return h
}

// healthCheck checks spec.healthcheck and spec.onUnhealthy.
func (v *validator) healthCheck(s *Spec) {
	const hp = "spec.healthcheck"
	v.enum("spec.onUnhealthy", string(s.OnUnhealthy), string(UnhealthyRestart), string(UnhealthyNone))
	h := &s.HealthCheck
	if !v.written(hp) {
		return
	}
	var probes []string
	if v.written(hp + ".exec") {
		probes = append(probes, "exec")
	}
	if v.written(hp + ".tcp") {
		probes = append(probes, "tcp")
	}
	if v.written(hp + ".http") {
		probes = append(probes, "http")
	}
	if h.Disable {
		for _, f := range []struct {
			name string
			set  bool
		}{{"exec", v.written(hp + ".exec")}, {"tcp", v.written(hp + ".tcp")}, {"http", v.written(hp + ".http")},
			{"interval", h.Interval != 0}, {"timeout", h.Timeout != 0}, {"retries", h.Retries != 0}, {"startPeriod", h.StartPeriod != 0}} {
			if f.set {
				v.errorf(hp+"."+f.name, "disable: true turns the health check off, so %s has nothing to apply to; remove it, or remove disable", f.name)
			}
		}
		return
	}
	switch len(probes) {
	case 0:
		v.errorf(hp, "says no probe; add one of exec (such as exec: [\"curl\", \"-f\", \"http://localhost/\"]), tcp: {port: 80} or http: {port: 80, path: /healthz}, or disable: true to turn off the image's HEALTHCHECK")
	case 1:
	default:
		v.errorf(hp+"."+probes[1], "a health check has one probe, and %s is set too; keep one of %s", probes[0], strings.Join(probes, ", "))
	}
	if v.written(hp + ".exec") {
		switch {
		case len(h.Exec) == 0:
			v.errorf(hp+".exec", "is empty; give the command to run in the container, such as [\"curl\", \"-f\", \"http://localhost/\"]")
		case strings.TrimSpace(h.Exec[0]) == "":
			v.errorf(hp+".exec[0]", "is empty; give the program to run, such as curl or powershell")
		}
	}
	if s.Network.Mode == NetworkNone && (v.written(hp+".tcp") || v.written(hp+".http")) {
		v.errorf(hp+"."+probes[len(probes)-1], "a container without a network (network.mode: none) cannot be reached from the host; probe it with exec, or give it a network")
	}
	if v.written(hp + ".tcp") {
		v.port(hp+".tcp.port", h.TCP.Port, "container port")
	}
	if v.written(hp + ".http") {
		v.port(hp+".http.port", h.HTTP.Port, "container port")
		if p := h.HTTP.Path; p != "" && !strings.HasPrefix(p, "/") {
			v.errorf(hp+".http.path", "%q does not start with /; give the path of the request, such as /healthz", p)
		} else if strings.ContainsAny(p, " \t\r\n") {
			v.errorf(hp+".http.path", "%q has white space; write it URL-encoded (%%20)", p)
		}
	}
	for _, d := range []struct {
		name string
		d    Duration
		zero bool // whether 0 is allowed when written
	}{{"interval", h.Interval, false}, {"timeout", h.Timeout, false}, {"startPeriod", h.StartPeriod, true}} {
		fp := hp + "." + d.name
		switch {
		case d.d < 0:
			v.errorf(fp, "%s is negative; give a duration such as 30s", d.d)
		case d.d > 0 && d.d < Duration(time.Millisecond):
			v.errorf(fp, "%s is less than 1ms; give a duration such as 30s", d.d)
		case d.d == 0 && !d.zero && v.written(fp):
			v.errorf(fp, "is 0; give a duration such as 30s, or leave it out for the default of 30s")
		}
	}
	if h.Retries < 0 || h.Retries == 0 && v.written(hp+".retries") {
		v.errorf(hp+".retries", "%d is not a number of failures; give 1 or more, or leave it out for the default of 3", h.Retries)
	}
}

// written reports whether the field at path was written in the document.
func (v *validator) written(path string) bool {
	_, ok := v.doc.d.nodes[path]
	return ok
}

// FormatHealthCheck describes h in a few words, for status and messages:
// "http :80/healthz every 30s".
func FormatHealthCheck(h HealthCheck) string {
	var what string
	switch {
	case h.Disable:
		return "disabled"
	case len(h.Exec) > 0:
		what = "exec " + strings.Join(h.Exec, " ")
	case h.TCP.Port != 0:
		what = fmt.Sprintf("tcp :%d", h.TCP.Port)
	case h.HTTP.Port != 0:
		what = fmt.Sprintf("http :%d%s", h.HTTP.Port, h.HTTP.Path)
	default:
		return "none"
	}
	return fmt.Sprintf("%s every %s", what, h.Interval)
}
