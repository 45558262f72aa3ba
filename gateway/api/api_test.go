package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/adapters/soleproprietors"
	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/golden"
	"github.com/kopir/kopir/internal/mocktest"
	paymentsmock "github.com/kopir/kopir/mocks/payments"
	shepmock "github.com/kopir/kopir/mocks/shep"
)

type apiEnv struct {
	srv     *httptest.Server
	shep    *mocktest.Env
	pay     *mocktest.Env
	log     bytes.Buffer
	mu      sync.Mutex
	records []*exchange.Record
}

func newAPI(t *testing.T, tune func(*exchange.Config)) *apiEnv {
	t.Helper()
	e := &apiEnv{}
	observe := exchange.ObserverFunc(func(r *exchange.Record) { e.mu.Lock(); e.records = append(e.records, r); e.mu.Unlock() })
	e.shep = mocktest.New(t, nil, tune, observe)
	pf, err := paymentsmock.DefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	e.pay = mocktest.New(t, pf, tune, observe)
	now := func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }
	s := api.New(api.Backends{
		LegalEntities:   legalentities.New(e.shep.Client, e.shep.PayloadSigner, e.shep.PayloadVerifier, legalentities.Config{RequestorBIN: "260110000120"}),
		SoleProprietors: soleproprietors.New(e.shep.Client, soleproprietors.Config{}),
		Persons: persons.New(e.shep.Client, persons.Config{SenderCode: "KOPIR"},
			persons.Options{Verifier: e.shep.PayloadVerifier, Signer: e.shep.PayloadSigner, Now: now}),
		Payments: payments.New(e.pay.Client, payments.Config{Now: now}),
	}, api.Options{Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &e.log, mu: &e.mu}, nil)), Now: now})
	e.srv = httptest.NewServer(s)
	t.Cleanup(e.srv.Close)
	return e
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func (e *apiEnv) do(t *testing.T, method, path, body string, headers map[string]string) reply {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func TestRoutes(t *testing.T) {
	e := newAPI(t, nil)
	tests := []struct {
		name, method, path, body string
		status                   int
		problem                  string // problem type, or "" for a success
		want                     string // a fragment of the body
	}{
		{"legal entity", "GET", "/v1/legal-entities/050340000108", "", 200, "", `"short_ru":"ТОО «Астана Экспорт Трейд»"`},
		{"legal entity: bad BIN", "GET", "/v1/legal-entities/050340000109", "", 400, "bad-input", "checksum"},
		{"legal entity: not found", "GET", "/v1/legal-entities/260110000120", "", 404, "not-found", ""},
		{"sole proprietor", "GET", "/v1/sole-proprietors/850721400012", "", 200, "", `"status":"active"`},
		{"sole proprietor: not found", "GET", "/v1/sole-proprietors/880101300010", "", 404, "not-found", ""},
		{"documents", "GET", "/v1/persons/880101300010/documents", "", 200, "", `"valid":true`},
		{"documents: bad IIN", "GET", "/v1/persons/12345/documents", "", 400, "bad-input", "length"},
		{"fee: issue", "GET", "/v1/fees?kind=issue&date=2026-01-15", "", 200, "", `"amount":"43250.00"`},
		{"fee: reissue today", "GET", "/v1/fees?kind=reissue", "", 200, "", `"amount":"4325.00"`},
		{"fee: bad kind", "GET", "/v1/fees?kind=fine", "", 400, "bad-input", "issue or reissue"},
		{"fee: bad date", "GET", "/v1/fees?kind=issue&date=15.01.2026", "", 400, "bad-input", "YYYY-MM-DD"},
		// The gateway lacks the value, the caller asked well: 503, not 400.
		{"fee: year without MCI", "GET", "/v1/fees?kind=issue&date=2019-01-01", "", 503, "not-configured", "mci.2019"},
		{"fee check: paid", "POST", "/v1/fee-checks", `{"payer":"050340000108","application":"KZ-LIC-2026-00017","kind":"issue"}`, 200, "", `"status":"paid"`},
		{"fee check: partly", "POST", "/v1/fee-checks", `{"payer":"121140000109","kind":"issue"}`, 200, "", `"status":"partly_paid"`},
		{"fee check: not paid", "POST", "/v1/fee-checks", `{"payer":"880101300010","kind":"reissue"}`, 200, "", `"status":"not_paid"`},
		{"fee check: bad JSON", "POST", "/v1/fee-checks", `{"payer":`, 400, "bad-input", ""},
		{"fee check: unknown field", "POST", "/v1/fee-checks", `{"payer":"880101300010","kind":"issue","amount":1}`, 400, "bad-input", "amount"},
		{"fee check: two objects", "POST", "/v1/fee-checks", `{"payer":"880101300010","kind":"reissue"}{"payer":"050340000108","kind":"issue"}`, 400, "bad-input", "more than one"},
		{"fee check: too large", "POST", "/v1/fee-checks", `{"payer":"` + strings.Repeat("1", 70000) + `","kind":"issue"}`, 413, "too-large", ""},
		{"fee check: bad payer", "POST", "/v1/fee-checks", `{"payer":"1","kind":"issue"}`, 400, "bad-input", ""},
		{"payment", "GET", "/v1/payments/PAY-2026-000101", "", 200, "", `"amount":"43250.00"`},
		// Every payment a fee check counts can be read by its id.
		{"payment counted by a fee check", "GET", "/v1/payments/PAY-2026-000106", "", 200, "", `"amount":"23250.00"`},
		{"payment refunded", "GET", "/v1/payments/PAY-2026-000104", "", 200, "", `"status":"refunded"`},
		{"payment: not found", "GET", "/v1/payments/PAY-0", "", 404, "not-found", ""},
		{"payment: bad id", "GET", "/v1/payments/a%20b", "", 400, "bad-input", ""},
		{"wrong method", "DELETE", "/v1/legal-entities/050340000108", "", 405, "method-not-allowed", ""},
		{"no such route", "GET", "/v2/anything", "", 404, "no-such-route", "openapi"},
		{"openapi", "GET", "/openapi.json", "", 200, "", `"openapi": "3.0.3"`},
	}
	// The same Content-Type rule as failure reports: JSON is said to be JSON.
	for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded"} {
		r := e.do(t, "POST", "/v1/fee-checks", `{"payer":"880101300010","kind":"reissue"}`, map[string]string{"Content-Type": ct})
		if r.status != 415 || r.body["type"] != "urn:kopir:problem:unsupported-media-type" {
			t.Errorf("%s: HTTP %d %s", ct, r.status, r.raw)
		}
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, tt.method, tt.path, tt.body, nil)
			if r.status != tt.status || !strings.Contains(r.raw, tt.want) {
				t.Fatalf("HTTP %d, want %d with %q: %s", r.status, tt.status, tt.want, r.raw)
			}
			if r.header.Get(api.HeaderRequestID) == "" {
				t.Error("no request id")
			}
			if tt.problem == "" {
				return
			}
			if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %s", ct)
			}
			if r.body["type"] != "urn:kopir:problem:"+tt.problem || r.body["status"] != float64(tt.status) || r.body["title"] == "" {
				t.Errorf("problem %v", r.body)
			}
			if strings.Contains(r.raw, "050340000109") || strings.Contains(r.raw, "12345") && tt.status == 400 && strings.Contains(tt.path, "12345") {
				t.Errorf("the problem repeats the number: %s", r.raw)
			}
		})
	}
	if r := e.do(t, "DELETE", "/v1/fee-checks", "", nil); r.header.Get("Allow") != "POST" {
		t.Errorf("Allow: %q", r.header.Get("Allow"))
	}
	if r := e.do(t, "HEAD", "/v1/legal-entities/050340000108", "", nil); r.status != 200 {
		t.Errorf("HEAD: %d", r.status)
	}
}

func TestUpstreamStatuses(t *testing.T) {
	tests := []struct {
		name    string
		rule    shepmock.FaultRule
		tune    func(*exchange.Config)
		status  int
		problem string
	}{
		{"system fault", shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB"}, nil, 502, "upstream-failure"},
		{"unsigned answer", shepmock.FaultRule{Kind: shepmock.FaultUnsigned}, nil, 502, "upstream-failure"},
		{"business fault", shepmock.FaultRule{Kind: shepmock.FaultSOAP, FaultCode: "Client", Code: "BAD_IIN"}, nil, 422, "upstream-rejected"},
		{"timeout", shepmock.FaultRule{Kind: shepmock.FaultTimeout}, mocktest.FastTimeout, 504, "upstream-timeout"},
		// The real wire's failures: never data, never "not found".
		{"error status", shepmock.FaultRule{Kind: shepmock.FaultStatus, Code: "SE_GBD_DOWN", Message: "down"}, nil, 502, "upstream-failure"},
		{"unsigned fault", shepmock.FaultRule{Kind: shepmock.FaultUnsignedFault, Code: "999", Message: "Service not found"}, nil, 502, "upstream-failure"},
		{"HTML 500", shepmock.FaultRule{Kind: shepmock.FaultHTML}, nil, 502, "upstream-failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newAPI(t, tt.tune)
			e.shep.Mock.AddFault(tt.rule)
			r := e.do(t, "GET", "/v1/legal-entities/050340000108", "", nil)
			ex, _ := r.body["exchange"].(map[string]any)
			if r.status != tt.status || r.body["type"] != "urn:kopir:problem:"+tt.problem || ex["message_id"] == "" || ex["service_id"] != "GbdulInfoByBin_v2" {
				t.Fatalf("HTTP %d: %s", r.status, r.raw)
			}
		})
	}
	t.Run("breaker open", func(t *testing.T) {
		e := newAPI(t, func(c *exchange.Config) { c.Attempts, c.Breaker.Failures = 1, 1 })
		e.shep.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP})
		e.do(t, "GET", "/v1/legal-entities/050340000108", "", nil)
		r := e.do(t, "GET", "/v1/legal-entities/050340000108", "", nil)
		if r.status != 503 || r.body["type"] != "urn:kopir:problem:upstream-unavailable" {
			t.Fatalf("HTTP %d: %s", r.status, r.raw)
		}
	})
}

// TestApplicationContext: the headers reach the exchange record, decoded;
// bad ones are refused; logs carry neither IINs nor paths.
func TestApplicationContext(t *testing.T) {
	e := newAPI(t, nil)
	name := "Мемлекеттік Ту мен Елтаңбаны дайындауға лицензия беру"
	r := e.do(t, "GET", "/v1/persons/900515400014/documents", "", map[string]string{
		api.HeaderServiceName: url.PathEscape(name), api.HeaderApplicationID: "KZ-LIC-2026-00017",
		api.HeaderAdminDocNumber: "42", api.HeaderAdminDocCode: "ADM-7", api.HeaderPermitID: "P-1",
		api.HeaderRecipientID: "050340000108", api.HeaderAuthorizedAt: "2026-11-25T09:00:00+05:00", api.HeaderRequestID: "req-1"})
	if r.status != 200 || r.header.Get(api.HeaderRequestID) != "req-1" {
		t.Fatalf("HTTP %d %s", r.status, r.raw)
	}
	e.mu.Lock()
	rec := e.records[len(e.records)-1]
	e.mu.Unlock()
	want := exchange.AppContext{ServiceName: name, ApplicationID: "KZ-LIC-2026-00017", AdminDocNumber: "42", AdminDocCode: "ADM-7",
		PermitID: "P-1", RecipientID: "050340000108", AuthorizedAt: time.Date(2026, 11, 25, 4, 0, 0, 0, time.UTC)}
	if rec.App == nil || rec.App.ServiceName != want.ServiceName || !rec.App.AuthorizedAt.Equal(want.AuthorizedAt) || rec.App.PermitID != "P-1" || rec.App.RecipientID != want.RecipientID {
		t.Fatalf("record app context %+v", rec.App)
	}
	for header, value := range map[string]string{api.HeaderRecipientID: "123", api.HeaderAuthorizedAt: "yesterday", api.HeaderServiceName: "%zz"} {
		if r := e.do(t, "GET", "/v1/persons/900515400014/documents", "", map[string]string{header: value}); r.status != 400 {
			t.Errorf("%s: %q accepted (HTTP %d)", header, value, r.status)
		}
	}
	e.mu.Lock()
	logs := e.log.String()
	e.mu.Unlock()
	if strings.Contains(logs, "900515400014") || !strings.Contains(logs, `"route":"/v1/persons/{iin}/documents"`) {
		t.Fatalf("logs:\n%s", logs)
	}
}

// TestOpenAPI keeps the description true: every route is described, and
// every described operation is a route.
func TestOpenAPI(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		OpenAPI string                                `json:"openapi"`
		Servers []struct{ URL string }                `json:"servers"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &spec); err != nil || !strings.HasPrefix(spec.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	// What linters (redocly's recommended rules) ask of a description:
	// servers, and a unique operationId on every operation.
	if len(spec.Servers) == 0 {
		t.Error("no servers")
	}
	ids := map[string]string{}
	for path, ops := range spec.Paths {
		for method, op := range ops {
			var o struct{ OperationID string }
			json.Unmarshal(op, &o)
			if o.OperationID == "" || ids[o.OperationID] != "" {
				t.Errorf("%s %s: operationId %q missing or taken by %s", method, path, o.OperationID, ids[o.OperationID])
			}
			ids[o.OperationID] = method + " " + path
		}
	}
	routes := map[string]bool{}
	for _, r := range api.Routes {
		key := strings.ToLower(r.Method) + " " + r.Pattern
		routes[key] = true
		op, ok := spec.Paths[r.Pattern][strings.ToLower(r.Method)]
		if !ok {
			t.Errorf("%s is not described", key)
			continue
		}
		var o struct {
			Responses map[string]any `json:"responses"`
		}
		json.Unmarshal(op, &o)
		_, ok200 := o.Responses["200"]
		_, ok202 := o.Responses["202"]
		if !ok200 && !ok202 {
			t.Errorf("%s: no success response described", key)
		}
		if r.Pattern != "/openapi.json" {
			if _, ok := o.Responses["400"]; !ok {
				t.Errorf("%s: its bad-input problem is not described", key)
			}
		}
		if r.Right != "" {
			for _, code := range []string{"401", "403", "429"} {
				if _, ok := o.Responses[code]; !ok {
					t.Errorf("%s needs the right %s: its %s is not described", key, r.Right, code)
				}
			}
		}
	}
	for path, ops := range spec.Paths {
		for method := range ops {
			if !routes[method+" "+path] {
				t.Errorf("%s %s is described but not served", method, path)
			}
		}
	}
}

// TestGoldenBodies: the real shapes of GBD UL and GBD FL, as the mock
// serves them, reach a back end as these bodies.
func TestGoldenBodies(t *testing.T) {
	e := newAPI(t, nil)
	for name, path := range map[string]string{
		"legal-entity-050340000108":    "/v1/legal-entities/050340000108",
		"legal-entity-121140000109":    "/v1/legal-entities/121140000109",
		"legal-entity-ip-850721400012": "/v1/legal-entities/850721400012",
		"documents-880101300010":       "/v1/persons/880101300010/documents",
		"documents-020315500019":       "/v1/persons/020315500019/documents",
	} {
		t.Run(name, func(t *testing.T) {
			r := e.do(t, "GET", path, "", nil)
			if r.status != 200 {
				t.Fatalf("HTTP %d: %s", r.status, r.raw)
			}
			golden.RawJSON(t, name, []byte(r.raw))
		})
	}
}

// TestOpenAPIModels keeps the described models true: each schema's
// properties are the JSON fields of the Go type the API writes, at every
// depth.
func TestOpenAPIModels(t *testing.T) {
	b, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var spec struct {
		Components struct {
			Schemas map[string]map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	var check func(path string, schema map[string]any, typ reflect.Type)
	check = func(path string, schema map[string]any, typ reflect.Type) {
		if r, ok := schema["$ref"].(string); ok {
			schema = spec.Components.Schemas[strings.TrimPrefix(r, "#/components/schemas/")]
		}
		for typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		switch typ.Kind() {
		case reflect.Slice:
			items, _ := schema["items"].(map[string]any)
			if schema["type"] != "array" || items == nil {
				t.Errorf("%s: a %s is described as %v", path, typ, schema["type"])
				return
			}
			check(path+"[]", items, typ.Elem())
		case reflect.Struct:
			if typ == reflect.TypeFor[time.Time]() {
				return
			}
			props, _ := schema["properties"].(map[string]any)
			fields := map[string]bool{}
			for i := range typ.NumField() {
				f := typ.Field(i)
				name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
				if !f.IsExported() || name == "-" {
					continue
				}
				fields[name] = true
				p, ok := props[name].(map[string]any)
				if !ok {
					t.Errorf("%s.%s is not described", path, name)
					continue
				}
				check(path+"."+name, p, f.Type)
			}
			for name := range props {
				if !fields[name] {
					t.Errorf("%s.%s is described but never written", path, name)
				}
			}
		}
	}
	for name, typ := range map[string]reflect.Type{
		"LegalEntity":    reflect.TypeFor[legalentities.LegalEntity](),
		"Documents":      reflect.TypeFor[api.Documents](),
		"SoleProprietor": reflect.TypeFor[soleproprietors.SoleProprietor](),
		"Payment":        reflect.TypeFor[payments.Payment](),
		"FeeCheck":       reflect.TypeFor[payments.FeeCheck](),
	} {
		schema, ok := spec.Components.Schemas[name]
		if !ok {
			t.Errorf("no schema %s", name)
			continue
		}
		check(name, schema, typ)
	}
}

// TestFeeCheckNamesItsRecipient: a fee check's payer is the recipient a
// failure report names when the back end gave no Kopir-Recipient-Id (and
// its application, when none was given as a header).
func TestFeeCheckNamesItsRecipient(t *testing.T) {
	e := newAPI(t, nil)
	e.pay.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB", Count: 1})
	r := e.do(t, "POST", "/v1/fee-checks", `{"payer":"050340000108","application":"KZ-LIC-2026-00017","kind":"issue"}`, nil)
	if r.status != 502 {
		t.Fatalf("HTTP %d %s", r.status, r.raw)
	}
	e.mu.Lock()
	rec := e.records[len(e.records)-1]
	e.mu.Unlock()
	if rec.App == nil || rec.App.RecipientID != "050340000108" || rec.App.ApplicationID != "KZ-LIC-2026-00017" {
		t.Fatalf("the failed fee check's record names %+v", rec.App)
	}
	// A recipient the back end named is kept.
	e.pay.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB", Count: 1})
	e.do(t, "POST", "/v1/fee-checks", `{"payer":"050340000108","kind":"issue"}`, map[string]string{api.HeaderRecipientID: "880101300010"})
	e.mu.Lock()
	rec = e.records[len(e.records)-1]
	e.mu.Unlock()
	if rec.App.RecipientID != "880101300010" {
		t.Fatalf("recipient %q", rec.App.RecipientID)
	}
}

type brokenEntities struct{}

func (brokenEntities) LegalEntity(context.Context, string) (*legalentities.LegalEntity, error) {
	return nil, errors.New("disk on fire near 880101300010")
}

// TestServerErrorsLogTheirCause: a 500's body says only "internal error";
// the log says why (masked) under the request id the body carries.
func TestServerErrorsLogTheirCause(t *testing.T) {
	var (
		mu   sync.Mutex
		logs bytes.Buffer
	)
	srv := httptest.NewServer(api.New(api.Backends{LegalEntities: brokenEntities{}},
		api.Options{Logger: slog.New(slog.NewJSONHandler(&lockedWriter{w: &logs, mu: &mu}, nil))}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/legal-entities/050340000108")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Detail    string `json:"detail"`
		RequestID string `json:"request_id"`
	}
	json.NewDecoder(resp.Body).Decode(&p)
	resp.Body.Close()
	if resp.StatusCode != 500 || p.Detail != "internal error" || p.RequestID == "" {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, p)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, `"cause":"disk on fire near ********0010"`) || !strings.Contains(out, `"request_id":"`+p.RequestID+`"`) ||
		strings.Contains(out, "880101300010") {
		t.Fatalf("logs:\n%s", out)
	}
}
