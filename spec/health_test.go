package spec

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestHealthCheckParses(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		want  HealthCheck
		on    OnUnhealthy
	}{
		{"none", nil, HealthCheck{}, UnhealthyRestart},
		{"exec with defaults", []string{"healthcheck: {exec: [curl, -f, 'http://localhost/']}"},
			HealthCheck{Exec: []string{"curl", "-f", "http://localhost/"}, Interval: Duration(30 * time.Second), Timeout: Duration(30 * time.Second), Retries: 3}, UnhealthyRestart},
		{"tcp with timings", []string{"healthcheck: {tcp: {port: 1433}, interval: 5s, timeout: 2s, retries: 5, startPeriod: 1m}", "onUnhealthy: none"},
			HealthCheck{TCP: TCPCheck{Port: 1433}, Interval: Duration(5 * time.Second), Timeout: Duration(2 * time.Second), Retries: 5, StartPeriod: Duration(time.Minute)}, UnhealthyNone},
		{"http path defaults to /", []string{"healthcheck: {http: {port: 80}}"},
			HealthCheck{HTTP: HTTPCheck{Port: 80, Path: "/"}, Interval: Duration(30 * time.Second), Timeout: Duration(30 * time.Second), Retries: 3}, UnhealthyRestart},
		{"http path", []string{"healthcheck: {http: {port: 8080, path: '/healthz?full=1'}}"},
			HealthCheck{HTTP: HTTPCheck{Port: 8080, Path: "/healthz?full=1"}, Interval: Duration(30 * time.Second), Timeout: Duration(30 * time.Second), Retries: 3}, UnhealthyRestart},
		{"disable", []string{"healthcheck: {disable: true}"}, HealthCheck{Disable: true}, UnhealthyRestart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := parseOne(t, doc(tt.lines...))
			if !reflect.DeepEqual(c.Spec.HealthCheck, tt.want) {
				t.Errorf("healthcheck = %+v, want %+v", c.Spec.HealthCheck, tt.want)
			}
			if c.Spec.OnUnhealthy != tt.on {
				t.Errorf("onUnhealthy = %q, want %q", c.Spec.OnUnhealthy, tt.on)
			}
		})
	}
}

func TestHealthCheckRejects(t *testing.T) {
	tests := []struct {
		name      string
		lines     []string
		wantField string
		wantMsg   string
	}{
		{"no probe", []string{"healthcheck: {interval: 10s}"}, "spec.healthcheck", "says no probe"},
		{"empty mapping", []string{"healthcheck: {}"}, "spec.healthcheck", "says no probe"},
		{"two probes", []string{"healthcheck: {exec: [a], tcp: {port: 80}}"}, "spec.healthcheck.tcp", "keep one of exec, tcp"},
		{"empty exec", []string{"healthcheck: {exec: []}"}, "spec.healthcheck.exec", "is empty"},
		{"empty program", []string{"healthcheck: {exec: ['', x]}"}, "spec.healthcheck.exec[0]", "is empty"},
		{"exec as a string", []string{"healthcheck: {exec: curl -f http://localhost/}"}, "spec.healthcheck.exec", "must be a list"},
		{"tcp without port", []string{"healthcheck: {tcp: {}}"}, "spec.healthcheck.tcp.port", "is missing or 0"},
		{"http port out of range", []string{"healthcheck: {http: {port: 70000}}"}, "spec.healthcheck.http.port", "not a container port"},
		{"http path without slash", []string{"healthcheck: {http: {port: 80, path: healthz}}"}, "spec.healthcheck.http.path", "does not start with /"},
		{"negative interval", []string{"healthcheck: {tcp: {port: 80}, interval: -1s}"}, "spec.healthcheck.interval", "negative"},
		{"zero timeout", []string{"healthcheck: {tcp: {port: 80}, timeout: 0s}"}, "spec.healthcheck.timeout", "is 0"},
		{"tiny interval", []string{"healthcheck: {tcp: {port: 80}, interval: 1us}"}, "spec.healthcheck.interval", "less than 1ms"},
		{"bare number", []string{"healthcheck: {tcp: {port: 80}, interval: 30}"}, "spec.healthcheck.interval", "not a duration"},
		{"zero retries", []string{"healthcheck: {tcp: {port: 80}, retries: 0}"}, "spec.healthcheck.retries", "give 1 or more"},
		{"disable with a probe", []string{"healthcheck: {disable: true, http: {port: 80}}"}, "spec.healthcheck.http", "turns the health check off"},
		{"unknown field", []string{"healthcheck: {tcp: {port: 80}, intervall: 5s}"}, "spec.healthcheck.intervall", "did you mean interval?"},
		{"compose test", []string{"healthcheck: {test: [CMD, curl]}"}, "spec.healthcheck.test", "written here as exec"},
		{"kubernetes httpGet", []string{"healthcheck: {httpGet: {port: 80}}"}, "spec.healthcheck.httpGet", "write http:"},
		{"tcp without a network", []string{"healthcheck: {tcp: {port: 80}}", "network: {mode: none}"}, "spec.healthcheck.tcp", "cannot be reached"},
		{"onUnhealthy unknown", []string{"onUnhealthy: restarts"}, "spec.onUnhealthy", "did you mean restart?"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := doc(tt.lines...)
			_, err := Parse("web.yaml", []byte(src))
			if err == nil {
				t.Fatalf("Parse succeeded, want an error\n%s", src)
			}
			for _, e := range Errors(err) {
				if e.Field == tt.wantField && strings.Contains(e.Message, tt.wantMsg) {
					if e.Line != 7 || e.Column == 0 {
						t.Errorf("error %q is at line %d col %d, want on line 7", e, e.Line, e.Column)
					}
					return
				}
			}
			t.Errorf("no error on field %q mentioning %q; got:\n%v", tt.wantField, tt.wantMsg, err)
		})
	}
}

func TestDependsOnHealthy(t *testing.T) {
	c := parseOne(t, doc("dependsOn: [{name: db, condition: healthy}]"))
	if got := c.Spec.DependsOn[0].Condition; got != DependsHealthy {
		t.Errorf("condition = %q, want healthy", got)
	}
}
