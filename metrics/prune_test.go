package metrics

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/isoagent/isoagent/reconcile"
)

func TestConfirmPrune(t *testing.T) {
	var got []string
	h := Handler(Endpoints{ConfirmPrune: func(_ context.Context, id string) (any, error) {
		got = append(got, id)
		switch id {
		case "abc":
			return reconcile.PendingPrune{ID: "abc", Names: []string{"b", "c"}}, nil
		case "old":
			return nil, fmt.Errorf("%w: it is abc now", reconcile.ErrPruneChanged)
		}
		return nil, reconcile.ErrNoPendingPrune
	}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	tests := []struct {
		body string
		code int
		want string
	}{
		{`{"id": "abc"}`, 200, `"names"`},
		{`{"id": "old"}`, 409, "changed"},
		{`{"id": "none"}`, 404, "no prune is pending"},
		{`{}`, 400, "pendingPrune.id"},
		{`not json`, 400, "pendingPrune.id"},
	}
	for _, tt := range tests {
		resp, err := http.Post(srv.URL+"/prune/confirm", "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.code || !strings.Contains(string(b), tt.want) {
			t.Errorf("POST %s = %d %s, want %d with %q", tt.body, resp.StatusCode, b, tt.code, tt.want)
		}
	}
	if resp, err := http.Get(srv.URL + "/prune/confirm"); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET /prune/confirm = %v %v, want 405", resp, err)
	}
	// From another machine: refused before the engine is asked.
	before := len(got)
	req := httptest.NewRequest(http.MethodPost, "/prune/confirm", strings.NewReader(`{"id": "abc"}`))
	req.RemoteAddr = "192.0.2.7:40000"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != 403 || len(got) != before {
		t.Errorf("a remote confirmation = %d (engine asked %d times more), want 403 and no confirmation", rec.Code, len(got)-before)
	}
}
