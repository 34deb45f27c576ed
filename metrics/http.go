package metrics

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"
)

// Endpoints is what the agent's HTTP endpoints serve. See Handler.
type Endpoints struct {
	// Gatherer is served on /metrics; usually the registry given to New.
	Gatherer prometheus.Gatherer
	// Health returns nil while the agent is alive and keeping up, and
	// otherwise an error saying why not (the spec folder reader has not
	// finished a read for too long). It must not block. A nil Health
	// means alive while the process answers.
	Health func() error
	// Ready returns nil when the agent is ready (its first full reconcile
	// is done and the driver answers) and otherwise an error saying why
	// not. A nil Ready means never ready.
	Ready func(ctx context.Context) error
	// ReadyTimeout bounds a readiness check, so that a driver that hangs
	// makes the agent unready instead of hanging the probe; Ready must
	// honour its context. Zero means 5 seconds.
	ReadyTimeout time.Duration
	// Status returns the value /status serves as JSON: the reconcile
	// engine's status. A nil Status makes /status fail.
	Status func(ctx context.Context) (any, error)
	// Logger receives errors from gathering metrics and serving requests;
	// nil discards them.
	Logger *slog.Logger
	// ConfirmPrune, when set, serves POST /prune/confirm: it lets the held
	// prune with the given ID go on and returns what it confirmed. It
	// wraps reconcile.ErrNoPendingPrune or reconcile.ErrPruneChanged when
	// it cannot.
	ConfirmPrune func(ctx context.Context, id string) (any, error)
	// Extra, when set, writes more series after Gatherer's on /metrics,
	// in Prometheus's text format (gzipped when gzipped is set), such as
	// those Metrics.ContainerSeries keeps encoded; /metrics then serves
	// the text format only.
	Extra func(w io.Writer, gzipped bool) error
	// Converged, when set, serves GET /converged: it blocks until the
	// agent has converged and stayed so for settle, or ctx ends, and
	// returns what to answer (reconcile.Convergence), which says which.
	Converged func(ctx context.Context, settle time.Duration) any
	// Restart, when set, serves POST /restart/{name}: it restarts the
	// named container now (loopback clients only).
	Restart func(ctx context.Context, name string) error
	// Logs, when set, serves GET /logs/{name}: a container's output
	// (package containerlog).
	Logs http.Handler
	// Plan, when set, serves GET /plan: what a run would do now with the
	// agent's folder, policy and host (reconcile.RunPlan), as JSON.
	Plan func(ctx context.Context) (any, error)
}

// Bounds of a /converged request's parameters.
const (
	defaultConvergedSettle  = 1500 * time.Millisecond
	defaultConvergedTimeout = 30 * time.Second
	maxConvergedWait        = 5 * time.Minute
)

// Handler returns the handler of the agent's HTTP endpoints:
//
//	/metrics  the Prometheus exposition of e.Gatherer; a collector that
//	          fails is logged and left out, the rest is still served
//	/healthz  200 "ok" while e.Health returns nil, else 503 with the
//	          reason (a liveness probe restarts the agent)
//	/readyz   200 "ok" when e.Ready returns nil, else 503 with the reason
//	/status   200 with e.Status's value as JSON, else 500 with
//	          {"error": "..."}
//	/converged?settle=D&timeout=D
//	          a long poll: 200 with e.Converged's answer as JSON once the
//	          agent has converged for settle (default 1.5s), or once
//	          timeout (default 30s, at most 5m) has passed; 400 for a bad
//	          duration, 404 when e.Converged is nil
//	/plan     200 with e.Plan's value as JSON (what a run would do now),
//	          500 with {"error": "..."}, 404 when e.Plan is nil
//	/logs/{name} a container's output, when e.Logs is set
//	/restart/{name} (POST) restarts a container now, from the host only
//
// The endpoints answer GET and HEAD; other methods get 405.
func Handler(e Endpoints) http.Handler {
	logger := e.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	gatherer := e.Gatherer
	if gatherer == nil {
		gatherer = prometheus.NewRegistry()
	}
	mux := http.NewServeMux()
	if e.Extra != nil {
		mux.Handle("GET /metrics", textHandler{gatherer: gatherer, extra: e.Extra, log: logger, gzips: new(sync.Pool)})
	} else {
		mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
			ErrorLog:      promLogger{logger},
			ErrorHandling: promhttp.ContinueOnError,
		}))
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if e.Health != nil {
			if err := e.Health(); err != nil {
				writeText(w, http.StatusServiceUnavailable, "unhealthy: "+err.Error())
				return
			}
		}
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		err := errors.New("readiness is not wired up")
		if e.Ready != nil {
			timeout := e.ReadyTimeout
			if timeout <= 0 {
				timeout = 5 * time.Second
			}
			ctx, cancel := context.WithTimeout(r.Context(), timeout)
			err = e.Ready(ctx)
			cancel()
		}
		if err != nil {
			writeText(w, http.StatusServiceUnavailable, "not ready: "+err.Error())
			return
		}
		writeText(w, http.StatusOK, "ok")
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		if e.Status == nil {
			writeJSONError(w, logger, errors.New("status is not wired up"))
			return
		}
		v, err := e.Status(r.Context())
		if err != nil {
			writeJSONError(w, logger, err)
			return
		}
		body, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			writeJSONError(w, logger, fmt.Errorf("encode status: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("GET /plan", func(w http.ResponseWriter, r *http.Request) {
		if e.Plan == nil {
			http.NotFound(w, r)
			return
		}
		v, err := e.Plan(r.Context())
		if err != nil {
			writeJSONError(w, logger, err)
			return
		}
		body, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			writeJSONError(w, logger, fmt.Errorf("encode plan: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("GET /converged", func(w http.ResponseWriter, r *http.Request) {
		if e.Converged == nil {
			http.NotFound(w, r)
			return
		}
		settle, err := durationParam(r, "settle", defaultConvergedSettle)
		if err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
		timeout, err := durationParam(r, "timeout", defaultConvergedTimeout)
		if err != nil {
			writeText(w, http.StatusBadRequest, err.Error())
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), min(timeout, maxConvergedWait))
		defer cancel()
		body, err := json.Marshal(e.Converged(ctx, min(settle, maxConvergedWait)))
		if err != nil {
			writeJSONError(w, logger, fmt.Errorf("encode convergence: %w", err))
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
	mux.HandleFunc("POST /prune/confirm", func(w http.ResponseWriter, r *http.Request) {
		confirmPrune(w, r, e.ConfirmPrune, logger)
	})
	mux.HandleFunc("POST /restart/{name}", func(w http.ResponseWriter, r *http.Request) {
		restartContainer(w, r, e.Restart, logger)
	})
	if e.Logs != nil {
		mux.Handle("GET /logs/{name}", e.Logs)
	}
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "isoagent\n\n/metrics  Prometheus metrics\n/healthz  liveness\n/readyz   readiness\n/status   status as JSON\n/converged  waits until converged (long poll)\n/plan     what a run would do now, as JSON")
	})
	return mux
}

// durationParam reads the query parameter name as a non-negative
// duration, def when absent.
func durationParam(r *http.Request, name string, def time.Duration) (time.Duration, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 1.5s", name, v)
	}
	return d, nil
}

func writeText(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	io.WriteString(w, msg+"\n")
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(body, '\n'))
}

func writeJSONError(w http.ResponseWriter, logger *slog.Logger, err error) {
	logger.Error("serve status", "err", err)
	body, _ := json.Marshal(struct {
		Error string `json:"error"`
	}{err.Error()}) // cannot fail: a struct of one string
	writeJSON(w, http.StatusInternalServerError, body)
}

// promLogger lets promhttp report gathering errors through slog.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) {
	p.l.Error(strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}

// Server serves a handler over HTTP until its context is cancelled.
// Create it with NewServer; it does nothing until Run or Serve.
type Server struct {
	addr    string
	handler http.Handler
	logger  *slog.Logger
	// ShutdownTimeout bounds how long Run waits for requests in flight
	// once its context is cancelled; then the connections are closed.
	ShutdownTimeout time.Duration
	// Access is the TLS and basic-auth set-up; the zero value serves
	// plain HTTP to anyone.
	Access Access
}

// NewServer returns a Server for handler on addr (host:port). logger may be
// nil.
func NewServer(addr string, handler http.Handler, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Server{addr: addr, handler: handler, logger: logger, ShutdownTimeout: 5 * time.Second}
}

// Run listens on the server's address and serves until ctx is cancelled,
// then shuts down gracefully. It returns nil after a shutdown caused by
// ctx, and an error when it cannot listen or serving fails.
func (s *Server) Run(ctx context.Context) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened, which it closes.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	handler := s.handler
	var tlsConfig *tls.Config
	if s.Access.WebConfigFile != "" {
		g, tc, err := newGuard(s.Access, s.handler, s.logger)
		if err != nil {
			ln.Close()
			return err
		}
		handler, tlsConfig = g, tc
	}
	srv := &http.Server{
		Handler:   handler,
		TLSConfig: tlsConfig,
		// Timeouts keep a slow or stuck client from holding connections
		// open; a scrape of this agent's few hundred series takes
		// milliseconds, and /status at most as long as the engine
		// takes to copy its state.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	if tlsConfig != nil && !slices.Contains(tlsConfig.NextProtos, "h2") {
		// http_server_config.http2: false; without this ServeTLS would
		// offer HTTP/2 all the same.
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	s.logger.Info("serving HTTP", "addr", ln.Addr().String(), "tls", tlsConfig != nil)
	errc := make(chan error, 1)
	go func() {
		if tlsConfig != nil {
			errc <- srv.ServeTLS(ln, "", "")
			return
		}
		errc <- srv.Serve(ln)
	}()

	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		srv.Close()
		err = fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = fmt.Errorf("serve %s: %w", ln.Addr(), serr)
	}
	return err
}

// textHandler serves a gatherer's families and then extra's series in the
// text format, gzipped when the client accepts it (as two gzip members,
// which gzip readers read as one stream). Like promhttp with
// ContinueOnError, a collector that fails is logged and left out.
type textHandler struct {
	gatherer prometheus.Gatherer
	extra    func(w io.Writer, gzipped bool) error
	log      *slog.Logger
	// gzips holds compressors between scrapes: a new one is hundreds of
	// kilobytes to allocate and clear for the registry's few hundred
	// series.
	gzips *sync.Pool
}

func (h textHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	mfs, err := h.gatherer.Gather()
	if err != nil {
		h.log.Error("gathering metrics", "err", err)
	}
	gzipped := acceptsGzip(r)
	w.Header().Set("Content-Type", string(textFormat))
	if gzipped {
		w.Header().Set("Content-Encoding", "gzip")
	}
	var out io.Writer = w
	var zw *gzip.Writer
	if gzipped {
		zw, _ = h.gzips.Get().(*gzip.Writer)
		if zw == nil {
			zw, _ = gzip.NewWriterLevel(w, exposureLevel) // a valid level: no error
		}
		zw.Reset(w)
		defer h.gzips.Put(zw)
		out = zw
	}
	enc := expfmt.NewEncoder(out, textFormat)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			h.log.Error("encoding metrics", "err", err)
			return
		}
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			return
		}
	}
	if err := h.extra(w, gzipped); err != nil {
		h.log.Error("writing metrics", "err", err)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.TrimSpace(q) != "q=0" {
			return true
		}
	}
	return false
}
