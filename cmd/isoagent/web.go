package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/isoagent/isoagent/metrics"
)

// webFlags are the flags that secure the agent's HTTP endpoint, named as
// node_exporter's.
type webFlags struct {
	configFile  string
	publicPaths string
}

func (w *webFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&w.configFile, "web.config.file", "", "TLS and basic-auth `file` of the HTTP endpoint, in the Prometheus exporter-toolkit format (as node_exporter's); empty serves plain HTTP to anyone who can reach --listen")
	fs.StringVar(&w.publicPaths, "web.public-paths", "", "comma-separated `paths` served without basic auth when the web config has users: any of /metrics, /healthz, /readyz (default: none, every path asks)")
}

func (w *webFlags) access() metrics.Access {
	a := metrics.Access{WebConfigFile: w.configFile}
	for p := range strings.SplitSeq(w.publicPaths, ",") {
		if p = strings.TrimSpace(p); p != "" {
			a.Public = append(a.Public, p)
		}
	}
	return a
}

// check checks the web config at start, so a mistake in it is an error of
// the command line rather than of the running agent.
func (w *webFlags) check() error {
	if err := w.access().Check(); err != nil {
		return fmt.Errorf("--web.config.file/--web.public-paths: %w", err)
	}
	return nil
}
