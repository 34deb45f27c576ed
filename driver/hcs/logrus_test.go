package hcs

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

func TestRouteLogrusKeepsWarningsAndErrors(t *testing.T) {
	var out bytes.Buffer
	l := logrus.New()
	var own bytes.Buffer
	l.SetOutput(&own)
	RouteLogrus(l, slog.New(slog.NewJSONHandler(&out, &slog.HandlerOptions{Level: slog.LevelDebug})))

	l.Debug("hcs::System::Start - Begin")
	l.Info("created process pid")
	l.WithField("path", `C:\layers\web`).WithError(errors.New("The device is not ready.")).Warn("retrying layer operations after failure")
	l.WithField("cid", "web").Error("failed wait")

	var got []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, rec)
	}
	want := []map[string]any{
		{"level": "WARN", "msg": "retrying layer operations after failure", "path": `C:\layers\web`, "error": "The device is not ready."},
		{"level": "ERROR", "msg": "failed wait", "cid": "web"},
	}
	if len(got) != len(want) {
		t.Fatalf("records %v, want %d (warnings and errors only)", got, len(want))
	}
	for i, w := range want {
		for k, v := range w {
			if got[i][k] != v {
				t.Errorf("record %d: %s = %v, want %v (%v)", i, k, got[i][k], v, got[i])
			}
		}
	}
	if own.Len() != 0 {
		t.Errorf("logrus still writes its own output: %q", own.String())
	}
}
