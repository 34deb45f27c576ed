package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"

	"github.com/isoagent/isoagent/reconcile"
)

// ConfirmRequest is the body of POST /prune/confirm.
type ConfirmRequest struct {
	// ID is the ID of the pending prune, as /status shows it
	// (pendingPrune.id): a confirmation applies to that set of names only.
	ID string `json:"id"`
}

// confirmPrune serves POST /prune/confirm. Only a client on the host
// itself (a loopback address) may confirm: an agent listening on every
// address for Prometheus must not let the network remove containers.
func confirmPrune(w http.ResponseWriter, r *http.Request, confirm func(context.Context, string) (any, error), logger *slog.Logger) {
	fail := func(code int, msg string) {
		body, _ := json.Marshal(struct {
			Error string `json:"error"`
		}{msg})
		writeJSON(w, code, body)
	}
	if confirm == nil {
		fail(http.StatusNotFound, "this agent has no prune to confirm")
		return
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		fail(http.StatusForbidden, "a prune can be confirmed only from the host itself")
		return
	}
	var req ConfirmRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4096)).Decode(&req); err != nil || req.ID == "" {
		fail(http.StatusBadRequest, `want {"id": "<pendingPrune.id from /status>"}`)
		return
	}
	v, err := confirm(r.Context(), req.ID)
	switch {
	case errors.Is(err, reconcile.ErrNoPendingPrune):
		fail(http.StatusNotFound, err.Error())
	case errors.Is(err, reconcile.ErrPruneChanged):
		fail(http.StatusConflict, err.Error())
	case err != nil:
		logger.Error("confirm prune", "err", err)
		fail(http.StatusInternalServerError, err.Error())
	default:
		body, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			fail(http.StatusInternalServerError, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, body)
	}
}
