package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/api/access"
)

type apiCounts struct {
	mu       sync.Mutex
	codes    map[string]int
	inFlight int
}

func (c *apiCounts) APIRequest(route, method string, code int, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.codes[route+" "+http.StatusText(code)]++
}

func (c *apiCounts) APIInFlight(d int) { c.mu.Lock(); c.inFlight += d; c.mu.Unlock() }

func TestAccess(t *testing.T) {
	hash := func(k string) string { h := sha256.Sum256([]byte(k)); return hex.EncodeToString(h[:]) }
	guard, err := access.New([]access.Client{
		{Name: "fees-only", KeySHA256: []string{hash("fees-key")}, Allow: []string{access.RightPayments}, Rate: 1, Burst: 2},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	var mu sync.Mutex
	counts := &apiCounts{codes: map[string]int{}}
	srv := httptest.NewServer(api.New(api.Backends{Payments: payments.New(nil, payments.Config{})},
		api.Options{Guard: guard, Observer: counts, Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))}))
	defer srv.Close()
	call := func(path, key string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, p := call("/v1/fees?kind=issue&date=2026-01-10", "")
	if resp.StatusCode != 401 || p["type"] != "urn:kopir:problem:unauthorized" || resp.Header.Get("WWW-Authenticate") == "" ||
		!strings.Contains(fmt.Sprint(p["detail"]), "is required") {
		t.Errorf("no key: %d %v %v", resp.StatusCode, p, resp.Header)
	}
	// A wrong key is told apart from a missing one.
	resp, p = call("/v1/fees?kind=issue&date=2026-01-10", "wrong")
	if resp.StatusCode != 401 || p["type"] != "urn:kopir:problem:unauthorized" || !strings.Contains(fmt.Sprint(p["detail"]), "not accepted") {
		t.Errorf("wrong key: %d %v", resp.StatusCode, p)
	}
	resp, p = call("/v1/fees?kind=issue&date=2026-01-10", "fees-key")
	if resp.StatusCode != 200 || p["amount"] == nil {
		t.Errorf("within rights: %d %v", resp.StatusCode, p)
	}
	resp, p = call("/v1/legal-entities/050340000108", "fees-key")
	if resp.StatusCode != 403 || p["type"] != "urn:kopir:problem:forbidden" {
		t.Errorf("outside rights: %d %v", resp.StatusCode, p)
	}
	resp, _ = call("/v1/fees?kind=issue&date=2026-01-10", "fees-key")
	if resp.StatusCode != 200 {
		t.Errorf("second within the burst: %d", resp.StatusCode)
	}
	resp, p = call("/v1/fees?kind=issue&date=2026-01-10", "fees-key")
	if resp.StatusCode != 429 || p["type"] != "urn:kopir:problem:rate-limited" || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("over the rate: %d %v %q", resp.StatusCode, p, resp.Header.Get("Retry-After"))
	}
	if resp, _ = call("/openapi.json", ""); resp.StatusCode != 200 {
		t.Errorf("the OpenAPI description needs no key: %d", resp.StatusCode)
	}
	// A handler logs and counts itself out after its answer is sent: Close
	// waits for every handler to return (before the log's lock is taken,
	// which a handler still logging would wait for).
	srv.Close()
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(logs.String(), `"client":"fees-only","method":"GET","route":"/v1/fees","status":429`) ||
		!strings.Contains(logs.String(), `"client":"fees-only","method":"GET","route":"/v1/legal-entities/{bin}","status":403`) {
		t.Errorf("calls are not logged with who, what and outcome:\n%s", logs.String())
	}
	if strings.Contains(logs.String(), "050340000108") || strings.Contains(logs.String(), "fees-key") {
		t.Error("a BIN or a key in the logs")
	}
	counts.mu.Lock()
	defer counts.mu.Unlock()
	if counts.codes["/v1/fees Unauthorized"] != 2 || counts.codes["/v1/fees Too Many Requests"] != 1 || counts.inFlight != 0 {
		t.Errorf("observed %v, in flight %d", counts.codes, counts.inFlight)
	}
}

// TestServices: a back end limited to its state services acts for those
// only, in calls and in the failure reports it files.
func TestServices(t *testing.T) {
	hash := func(k string) string { h := sha256.Sum256([]byte(k)); return hex.EncodeToString(h[:]) }
	guard, err := access.New([]access.Client{{Name: "exports", KeySHA256: []string{hash("k")}, Allow: []string{access.RightAll},
		Services: []string{"Экспорт лицензиясы"}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Backends{Payments: payments.New(nil, payments.Config{}), Reports: &memReports{}},
		api.Options{Guard: guard}))
	defer srv.Close()
	do := func(method, path, service, body string) int {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer k")
		req.Header.Set("Content-Type", "application/json")
		if service != "" {
			req.Header.Set(api.HeaderServiceName, url.PathEscape(service))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const fees = "/v1/fees?kind=issue&date=2026-01-10"
	for _, tc := range []struct {
		name, method, path, service, body string
		want                              int
	}{
		{"its service", "GET", fees, "Экспорт лицензиясы", "", 200},
		{"another service", "GET", fees, "Импорт лицензиясы", "", 403},
		{"no service named", "GET", fees, "", "", 403},
		{"report naming its service in the body", "POST", "/v1/failure-reports", "",
			`{"system":"x","error":"y","service_name":"Экспорт лицензиясы"}`, 202},
		{"report for another service", "POST", "/v1/failure-reports", "", `{"system":"x","error":"y","service_name":"Импорт лицензиясы"}`, 403},
		{"report naming its service in the header", "POST", "/v1/failure-reports", "Экспорт лицензиясы", `{"system":"x","error":"y"}`, 202},
	} {
		if got := do(tc.method, tc.path, tc.service, tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
