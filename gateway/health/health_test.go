package health

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
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
