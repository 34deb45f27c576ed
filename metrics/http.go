package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
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
	// Restart, when set, serves POST /restart/{name}: it restarts the
	// named container now (loopback clients only).
	Restart func(ctx context.Context, name string) error
	// Logs, when set, serves GET /logs/{name}: a container's output
	// (package containerlog).
	Logs http.Handler
}

// Handler returns the handler of the agent's HTTP endpoints:
//
//	/metrics  the Prometheus exposition of e.Gatherer; a collector that
//	          fails is logged and left out, the rest is still served
//	/healthz  200 "ok" while e.Health returns nil, else 503 with the
//	          reason (a liveness probe restarts the agent)
//	/readyz   200 "ok" when e.Ready returns nil, else 503 with the reason
//	/status   200 with e.Status's value as JSON, else 500 with
//	          {"error": "..."}
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
	mux.Handle("GET /metrics", promhttp.HandlerFor(gatherer, promhttp.HandlerOpts{
		ErrorLog:      promLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	}))
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
		writeText(w, http.StatusOK, "isoagent\n\n/metrics  Prometheus metrics\n/healthz  liveness\n/readyz   readiness\n/status   status as JSON")
	})
	return mux
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
	srv := &http.Server{
		Handler: s.handler,
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
	s.logger.Info("serving HTTP", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

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
