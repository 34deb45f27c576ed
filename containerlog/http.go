package containerlog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/isoagent/isoagent/driver"
)

// Handler serves GET /logs/{name}: the container's output as text, with
// the query parameters follow, previous, timestamps (1 or true), tail (a
// count) and since (RFC 3339). Only the host itself (a loopback address)
// may read them: a container's output is the administrator's to see.
func Handler(d driver.Driver) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
			http.Error(w, "container logs are served to the host itself only", http.StatusForbidden)
			return
		}
		opts, err := parseQuery(r.URL.Query())
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		dir, err := Run(r.Context(), d, r.PathValue("name"), opts.Previous)
		if err != nil {
			code := http.StatusInternalServerError
			for name, class := range classes() {
				if errors.Is(err, class) {
					code = http.StatusNotFound
					if class != ErrUnknown {
						code = http.StatusConflict
					}
					w.Header().Set(classHeader, name)
				}
			}
			http.Error(w, err.Error(), code)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		CopyRun(r.Context(), flusher{w, http.NewResponseController(w)}, dir, opts)
	})
}

// classHeader names the class of a /logs error for Fetch.
const classHeader = "X-Isoagent-Error"

// classes are the errors /logs tells Fetch apart, by name.
func classes() map[string]error {
	return map[string]error{
		"unknown":       ErrUnknown,
		"never-started": ErrNeverStarted,
		"no-previous":   ErrNoPrevious,
		"not-kept":      ErrNotKept,
	}
}

// remoteError is an error the agent sent, of one of the classes.
type remoteError struct {
	msg   string
	class error
}

func (e remoteError) Error() string { return e.msg }
func (e remoteError) Unwrap() error { return e.class }

// flusher sends every write on at once, for a follow.
type flusher struct {
	w  io.Writer
	rc *http.ResponseController
}

func (f flusher) Write(p []byte) (int, error) {
	n, err := f.w.Write(p)
	if err == nil {
		err = f.rc.Flush()
	}
	return n, err
}

func parseQuery(q url.Values) (Options, error) {
	var o Options
	flag := func(name string) (bool, error) {
		v := q.Get(name)
		if v == "" {
			return false, nil
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return false, fmt.Errorf("%s=%q: want 1, true, 0 or false", name, v)
		}
		return b, nil
	}
	var err error
	if o.Follow, err = flag("follow"); err != nil {
		return o, err
	}
	if o.Previous, err = flag("previous"); err != nil {
		return o, err
	}
	if o.Timestamps, err = flag("timestamps"); err != nil {
		return o, err
	}
	if v := q.Get("tail"); v != "" {
		if o.Tail, err = strconv.Atoi(v); err != nil || o.Tail < 0 {
			return o, fmt.Errorf("tail=%q: want a count of lines", v)
		}
	}
	if v := q.Get("since"); v != "" {
		if o.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return o, fmt.Errorf("since=%q: want an RFC 3339 time", v)
		}
	}
	return o, nil
}

// ErrUnauthorized is the agent asking for credentials Fetch did not give.
var ErrUnauthorized = errors.New("the agent asks for credentials: give --http.config.file with basic_auth (username, password_file) of a user in its --web.config.file")

// Fetch prints the output of container name from the agent at base
// (scheme://host:port of its --listen) through hc, as opts say.
func Fetch(ctx context.Context, w io.Writer, hc *http.Client, base, name string, opts Options) error {
	q := url.Values{}
	set := func(k string, b bool) {
		if b {
			q.Set(k, "1")
		}
	}
	set("follow", opts.Follow)
	set("previous", opts.Previous)
	set("timestamps", opts.Timestamps)
	if opts.Tail > 0 {
		q.Set("tail", strconv.Itoa(opts.Tail))
	}
	if !opts.Since.IsZero() {
		q.Set("since", opts.Since.UTC().Format(time.RFC3339Nano))
	}
	u := base + "/logs/" + url.PathEscape(name) + "?" + q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("no agent answers at %s (is `isoagent run` running with --listen?): %w", base, err)
	}
	if resp.StatusCode == http.StatusUnauthorized {
		resp.Body.Close()
		return ErrUnauthorized
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		msg := strings.TrimSpace(string(body))
		if class, ok := classes()[resp.Header.Get(classHeader)]; ok {
			return remoteError{msg, class}
		}
		return fmt.Errorf("%s: %s: %s", u, resp.Status, msg)
	}
	_, err = io.Copy(w, resp.Body)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}
