package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/gateway/access"
	"github.com/kopir/kopir/gateway/api"
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
	if resp.StatusCode != 401 || p["type"] != "urn:kopir:problem:unauthorized" || resp.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("no key: %d %v %v", resp.StatusCode, p, resp.Header)
	}
	resp, p = call("/v1/fees?kind=issue&date=2026-01-10", "wrong")
	if resp.StatusCode != 401 {
		t.Errorf("wrong key: %d", resp.StatusCode)
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
