package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"

	"github.com/isoagent/isoagent/reconcile"
)

// restartContainer serves POST /restart/{name}: `isoagent restart`. Only
// a client on the host itself (a loopback address) may ask.
func restartContainer(w http.ResponseWriter, r *http.Request, restart func(context.Context, string) error, logger *slog.Logger) {
	reply := func(code int, v any) {
		body, _ := json.Marshal(v)
		writeJSON(w, code, body)
	}
	fail := func(code int, msg string) {
		reply(code, struct {
			Error string `json:"error"`
		}{msg})
	}
	if restart == nil {
		fail(http.StatusNotFound, "this agent restarts no containers")
		return
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		fail(http.StatusForbidden, "a container can be restarted only from the host itself")
		return
	}
	name := r.PathValue("name")
	err := restart(r.Context(), name)
	switch {
	case errors.Is(err, reconcile.ErrNotRunning):
		fail(http.StatusConflict, err.Error())
	case err != nil:
		logger.Error("restart", "spec", name, "err", err)
		fail(http.StatusInternalServerError, err.Error())
	default:
		reply(http.StatusOK, struct {
			Restarted string `json:"restarted"`
		}{name})
	}
}
