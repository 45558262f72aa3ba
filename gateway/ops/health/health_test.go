package health

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestReadiness(t *testing.T) {
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	runs := 0
	dbErr := error(nil)
	h := New(2*time.Second, func() time.Time { return now },
		Check{Name: "database", Run: func(context.Context) (string, error) { runs++; return "answers", dbErr }},
		Check{Name: "breaker_shep", Informational: true, Run: func(context.Context) (string, error) { return "", errors.New("breaker open") }},
	)
	srv := httptest.NewServer(h.Handler())
	defer srv.Close()
	get := func(path string) (int, Result) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r Result
		json.NewDecoder(resp.Body).Decode(&r)
		return resp.StatusCode, r
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz %d", code)
	}
	code, r := get("/readyz")
	if code != 200 || !r.Ready || !r.Checks["database"].OK || r.Checks["breaker_shep"].OK || r.Checks["breaker_shep"].Detail != "breaker open" {
		t.Fatalf("ready: %d %+v", code, r)
	}
	// Cached: the database fails, but for 2s nobody asks it.
	dbErr = errors.New("disk I/O error")
	if code, _ := get("/readyz"); code != 200 || runs != 1 {
		t.Errorf("within the cache: %d, %d runs", code, runs)
	}
	now = now.Add(2 * time.Second)
	code, r = get("/readyz")
	if code != 503 || r.Ready || r.Checks["database"].Detail != "disk I/O error" || runs != 2 {
		t.Errorf("after the cache: %d %+v, %d runs", code, r, runs)
	}
	dbErr = nil
	now = now.Add(2 * time.Second)

	// The maintenance switch fails readiness at once, cache or not, and
	// leaves liveness alone.
	req, _ := http.NewRequest("PUT", srv.URL+"/maintenance", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatal(err, resp)
	}
	resp.Body.Close()
	if code, r := get("/readyz"); code != 503 || !r.Maintenance || !r.Checks["database"].OK {
		t.Errorf("in maintenance: %d %+v", code, r)
	}
	if code, _ := get("/healthz"); code != 200 {
		t.Errorf("healthz in maintenance: %d", code)
	}
	req, _ = http.NewRequest("DELETE", srv.URL+"/maintenance", nil)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if code, _ := get("/readyz"); code != 200 {
		t.Errorf("after maintenance: %d", code)
	}
}

// TestSwitchPolicy: without a token only loopback callers turn the switch;
// with one, whoever presents it, from anywhere. Every turn and refusal is
// logged; reading the switch is open.
func TestSwitchPolicy(t *testing.T) {
	const token = "0123456789abcdef0123"
	tests := []struct {
		name, token, remote, auth string
		want                      int
	}{
		{"loopback, no token needed", "", "127.0.0.1:4000", "", 200},
		{"IPv6 loopback", "", "[::1]:4000", "", 200},
		{"IPv4-mapped loopback", "", "[::ffff:127.0.0.1]:4000", "", 200},
		{"from the network, no token configured", "", "10.1.2.3:4000", "", 403},
		{"from the network, the token", token, "10.1.2.3:4000", "Bearer " + token, 200},
		{"token configured, none presented, even on loopback", token, "127.0.0.1:4000", "", 401},
		{"wrong token", token, "10.1.2.3:4000", "Bearer " + token[:len(token)-1], 401},
		{"token as basic auth", token, "10.1.2.3:4000", "Basic " + token, 401},
		// The scheme is case-insensitive, and required: a bare token is not one.
		{"scheme in lower case", token, "10.1.2.3:4000", "bearer " + token, 200},
		{"token without a scheme", token, "10.1.2.3:4000", token, 401},
	}
	for _, tt := range tests {
		for _, method := range []string{"PUT", "DELETE"} {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				var logs bytes.Buffer
				h := New(time.Second, nil)
				h.SetSwitchPolicy(SwitchPolicy{Token: tt.token, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
				before := method == "DELETE"
				h.SetMaintenance(before)
				req := httptest.NewRequest(method, "/maintenance", nil)
				req.RemoteAddr = tt.remote
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				rec := httptest.NewRecorder()
				h.Handler().ServeHTTP(rec, req)
				if rec.Code != tt.want {
					t.Fatalf("%d %s", rec.Code, rec.Body)
				}
				turned := h.Maintenance() != before
				if turned != (tt.want == 200) {
					t.Errorf("switch turned: %v", turned)
				}
				if tt.want == 401 && rec.Header().Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				if wantLog := map[bool]string{true: "maintenance switch turned", false: "refused"}[turned]; !strings.Contains(logs.String(), wantLog) {
					t.Errorf("log %q lacks %q", logs.String(), wantLog)
				}
				if strings.Contains(logs.String(), token) {
					t.Error("the token is in the log")
				}
				get := httptest.NewRequest("GET", "/maintenance", nil)
				get.RemoteAddr = "10.9.9.9:1"
				rec = httptest.NewRecorder()
				h.Handler().ServeHTTP(rec, get)
				if rec.Code != 200 {
					t.Errorf("reading the switch: %d", rec.Code)
				}
			})
		}
	}
}
