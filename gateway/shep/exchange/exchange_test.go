package exchange_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"go.uber.org/goleak"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/gateway/shep/exchange/replay"
	"github.com/kopir/kopir/internal/pgtest"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// pki: ECDSA keys, quick to make; the signing package covers RSA.
type pki struct {
	ca, foreignCA              *devpki.CA
	gateway, mock, foreignMock *devpki.Leaf
}

var (
	pkiOnce sync.Once
	keys    pki
)

func testPKI(t testing.TB) *pki {
	pkiOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keys.ca, err = devpki.NewCA(devpki.ECDSAP256)
		must(err)
		keys.foreignCA, err = devpki.NewCA(devpki.ECDSAP256)
		must(err)
		keys.gateway, err = keys.ca.Issue(devpki.ECDSAP256, devpki.GatewaySubject, time.Time{}, time.Time{})
		must(err)
		keys.mock, err = keys.ca.Issue(devpki.ECDSAP256, devpki.MockSHEPSubject, time.Time{}, time.Time{})
		must(err)
		keys.foreignMock, err = keys.foreignCA.Issue(devpki.ECDSAP256, devpki.MockSHEPSubject, time.Time{}, time.Time{})
		must(err)
	})
	return &keys
}

func signer(t testing.TB, l *devpki.Leaf) *signing.Signer {
	s, err := signing.NewSigner(l.Key, l.Chain, signing.SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func verifier(t testing.TB, roots ...*x509.Certificate) *signing.Verifier {
	v, err := signing.NewVerifier(signing.Policy{Roots: roots})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type harness struct {
	mock    *shepmock.Server
	client  *exchange.Client
	clock   *clockwork.FakeClock
	mu      sync.Mutex
	records []*exchange.Record
}

func (h *harness) observed() []*exchange.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]*exchange.Record(nil), h.records...)
}

// setup starts a mock SHEP signing with mockKey and a client trusting the
// test CA.
func setup(t *testing.T, mockKey *devpki.Leaf, tune func(*exchange.Config)) *harness {
	t.Helper()
	p := testPKI(t)
	mock, err := shepmock.New(shepmock.Config{Signer: signer(t, mockKey), Verifier: verifier(t, p.ca.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	cfg := exchange.Config{URL: srv.URL + "/bip-sync-wss-gost/", SenderID: "kopir", Password: field.Secret{Env: "SHEP_PASSWORD"},
		Timeout: 2 * time.Second, Attempts: 3, BackoffMin: time.Millisecond, BackoffMax: 5 * time.Millisecond,
		Faults: exchange.FaultTable{Transient: []string{"SE_BUSY"}, Business: []string{"PERSON_DECEASED"}}}
	if tune != nil {
		tune(&cfg)
	}
	h := &harness{mock: mock, clock: clockwork.NewFakeClockAt(time.Now())}
	h.client, err = exchange.New(cfg, signer(t, p.gateway), verifier(t, p.ca.Cert), exchange.Options{
		Getenv: func(string) string { return "s3cret" }, Clock: h.clock,
		Observers: []exchange.Observer{exchange.ObserverFunc(func(r *exchange.Record) {
			h.mu.Lock()
			h.records = append(h.records, r)
			h.mu.Unlock()
		})}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mock.Close()
		h.client.Close()
		srv.Close()
	})
	return h
}

// do makes a call, moving the fake clock on whenever the call waits on
// it between attempts (its deadline's timer and a back-off timer), so
// that retries happen without the test sleeping.
func (h *harness) do(ctx context.Context, call exchange.Call) (*exchange.Result, error) {
	return drive(h.clock, func() (*exchange.Result, error) { return h.client.Do(ctx, call) })
}

// drive runs f, advancing clock by a second each time it has two
// waiters: the call's deadline and a back-off.
func drive(clock *clockwork.FakeClock, f func() (*exchange.Result, error)) (*exchange.Result, error) {
	var res *exchange.Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = f()
	}()
	waiting, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		<-done
		stop()
	}()
	for clock.BlockUntilContext(waiting, 2) == nil {
		clock.Advance(time.Second)
	}
	<-done
	return res, err
}

const persons = "GBDFL_UniversalServiceSync"

func personCall(iin string) exchange.Call {
	return exchange.Call{ServiceID: persons,
		// GBD FL's request: data's children (protocol.md §8).
		Payload: []byte(`<messageId>5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f</messageId><messageDate>2026-11-25T14:00:00.000+05:00</messageDate>` +
			`<senderCode>KOPIR</senderCode><iin>` + iin + `</iin>`),
		App: &exchange.AppContext{ServiceName: "Licence to make the State Flag and Emblem", ApplicationID: "KZ-LIC-2026-00017",
			RecipientID: "050340000108", AuthorizedAt: time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)}}
}

func TestSuccess(t *testing.T) {
	h := setup(t, testPKI(t).mock, nil)
	res, err := h.do(context.Background(), personCall("880101300010"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Status.Code != shep.SuccessCode || !strings.Contains(string(res.Response.Data), "<surname>Әбілқасымов</surname>") {
		t.Fatalf("response %+v %s", res.Response, res.Response.Data)
	}
	if res.Response.CorrelationID != res.Record.MessageID {
		t.Error("the response does not correlate with the request")
	}
	if res.Signer.BIN != devpki.MockSHEPSubject.BIN {
		t.Errorf("signer %v", res.Signer)
	}
	rec := res.Record
	if len(rec.Steps) != 1 || rec.Outcome != exchange.OutcomeOK || rec.SystemFailure || rec.Steps[0].HTTPStatus != 200 {
		t.Fatalf("record %+v", rec)
	}
	step := rec.Steps[0]
	if step.ServiceID != persons || step.MessageID != rec.MessageID || !strings.HasSuffix(step.Upstream, "/bip-sync-wss-gost/") {
		t.Errorf("step %+v", step)
	}
	// Personal data and credentials are masked in what the record keeps.
	for _, body := range []string{step.Request, step.Response} {
		for _, leak := range []string{"880101300010", "Әбілқасымов", "s3cret", "045678912"} {
			if strings.Contains(body, leak) {
				t.Errorf("the record keeps %q unmasked", leak)
			}
		}
	}
	if !strings.Contains(step.Request, "********0010") || !strings.Contains(step.Response, "<surname>***</surname>") {
		t.Errorf("masked bodies lost their shape:\n%s\n%s", step.Request, step.Response)
	}
	if rec.App == nil || rec.App.ApplicationID != "KZ-LIC-2026-00017" {
		t.Error("the application context did not travel with the record")
	}
	if obs := h.observed(); len(obs) != 1 || obs[0] != rec {
		t.Errorf("observers saw %d records", len(obs))
	}
}

func TestNotFoundIsAnAnswer(t *testing.T) {
	h := setup(t, testPKI(t).mock, nil)
	res, err := h.do(context.Background(), personCall("020315500018"))
	if err != nil {
		t.Fatal(err)
	}
	// GBD FL's "not found" is a processed answer without a person.
	if strings.Contains(string(res.Response.Data), "<person>") || res.Response.Status.Code != shep.SuccessCode || res.Record.SystemFailure {
		t.Fatalf("not found: %+v", res.Response)
	}
}

// TestFaults injects every fault kind the mock offers and checks the typed
// error, the class, the retries and the record.
func TestFaults(t *testing.T) {
	tests := []struct {
		name     string
		rule     shepmock.FaultRule
		tune     func(*exchange.Config)
		wantErr  exchange.Kind // "" means success
		class    exchange.Class
		attempts int
		status   int
	}{
		{"503 once, then success", shepmock.FaultRule{Kind: shepmock.FaultHTTP, Count: 1}, nil, "", "", 2, 200},
		{"503 always", shepmock.FaultRule{Kind: shepmock.FaultHTTP, Status: 503}, nil, exchange.OutcomeHTTP, exchange.ClassSystem, 3, 503},
		{"502 then 504 then success", shepmock.FaultRule{Kind: shepmock.FaultHTTP, Status: 502, Count: 1}, nil, "", "", 2, 200},
		{"404 is not retried", shepmock.FaultRule{Kind: shepmock.FaultHTTP, Status: 404}, nil, exchange.OutcomeHTTP, exchange.ClassSystem, 1, 404},
		{"system fault is not retried", shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB"}, nil, exchange.OutcomeFault, exchange.ClassSystem, 1, 500},
		{"transient fault is retried", shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "SE_BUSY", Count: 2}, nil, "", "", 3, 200},
		{"transient fault, attempts run out", shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "SE_BUSY"}, nil, exchange.OutcomeTransient, exchange.ClassSystem, 3, 500},
		{"client fault is a business answer", shepmock.FaultRule{Kind: shepmock.FaultSOAP, FaultCode: "Client", Code: "BAD_IIN"}, nil, exchange.OutcomeBusiness, exchange.ClassBusiness, 1, 500},
		{"business code from the table", shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "PERSON_DECEASED"}, nil, exchange.OutcomeBusiness, exchange.ClassBusiness, 1, 500},
		{"unsigned response", shepmock.FaultRule{Kind: shepmock.FaultUnsigned}, nil, exchange.OutcomeSignature, exchange.ClassSystem, 1, 200},
		{"badly signed response", shepmock.FaultRule{Kind: shepmock.FaultBadSig}, nil, exchange.OutcomeSignature, exchange.ClassSystem, 1, 200},
		{"connection reset, retried", shepmock.FaultRule{Kind: shepmock.FaultReset}, nil, exchange.OutcomeTransport, exchange.ClassSystem, 3, 0},
		{"reset once, then success", shepmock.FaultRule{Kind: shepmock.FaultReset, Count: 1}, nil, "", "", 2, 200},
		{"no answer: attempt timeout", shepmock.FaultRule{Kind: shepmock.FaultTimeout},
			func(c *exchange.Config) { c.Timeout, c.Attempts = 100*time.Millisecond, 2 }, exchange.OutcomeTimeout, exchange.ClassSystem, 2, 0},
		{"delay within the timeout", shepmock.FaultRule{Kind: shepmock.FaultDelay, Delay: shepmock.Duration(50 * time.Millisecond)}, nil, "", "", 1, 200},
		{"response over the size limit", shepmock.FaultRule{Kind: shepmock.FaultDelay},
			func(c *exchange.Config) { c.MaxResponseBytes = 512 }, exchange.OutcomeTooLarge, exchange.ClassSystem, 1, 200},
		{"fault for another service only", shepmock.FaultRule{Service: "OTHER", Kind: shepmock.FaultSOAP}, nil, "", "", 1, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t, testPKI(t).mock, tt.tune)
			if err := h.mock.AddFault(tt.rule); err != nil {
				t.Fatal(err)
			}
			res, err := h.do(context.Background(), personCall("880101300010"))
			var rec *exchange.Record
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				rec = res.Record
			} else {
				var e *exchange.Error
				if !errors.As(err, &e) {
					t.Fatalf("err = %v (%T), want *exchange.Error", err, err)
				}
				if e.Kind != tt.wantErr || e.Class != tt.class || e.SystemFailure() != (tt.class == exchange.ClassSystem) {
					t.Fatalf("err = %v: kind %s class %s, want %s %s", err, e.Kind, e.Class, tt.wantErr, tt.class)
				}
				if e.Kind == exchange.OutcomeFault || e.Kind == exchange.OutcomeBusiness || e.Kind == exchange.OutcomeTransient {
					var f *shep.Fault
					if !errors.As(err, &f) || f.ErrorCode() != tt.rule.Code {
						t.Errorf("the fault is not reachable with errors.As: %v", err)
					}
				}
				rec = e.Record
				if rec.Outcome != tt.wantErr || rec.SystemFailure != e.SystemFailure() || rec.Error == "" {
					t.Errorf("record outcome %s failure %v error %q", rec.Outcome, rec.SystemFailure, rec.Error)
				}
			}
			if len(rec.Steps) != tt.attempts || rec.Retries() != tt.attempts-1 {
				t.Fatalf("%d attempts, want %d: %+v", len(rec.Steps), tt.attempts, rec.Steps)
			}
			last := rec.Steps[len(rec.Steps)-1]
			if last.HTTPStatus != tt.status {
				t.Errorf("last step HTTP %d, want %d", last.HTTPStatus, tt.status)
			}
			for i, s := range rec.Steps {
				if s.Attempt != i+1 || s.Time.IsZero() || s.Outcome == "" {
					t.Errorf("step %d: %+v", i, s)
				}
			}
			if got := h.mock.Calls(persons); tt.status != 0 && got != tt.attempts && tt.rule.Service == "" {
				t.Errorf("the mock saw %d calls, want %d", got, tt.attempts)
			}
		})
	}
}

// TestRetriesAreSignedAnew: each attempt carries its own Timestamp.
func TestRetriesAreSignedAnew(t *testing.T) {
	h := setup(t, testPKI(t).mock, nil)
	h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP, Count: 2})
	res, err := h.do(context.Background(), personCall("880101300010"))
	if err != nil {
		t.Fatal(err)
	}
	ts := regexp.MustCompile(`wsu:Id="(TS-[0-9a-f]+)"`)
	seen := map[string]bool{}
	for _, s := range res.Record.Steps {
		m := ts.FindStringSubmatch(s.Request)
		if m == nil || seen[m[1]] {
			t.Fatalf("attempt %d reuses or lacks a Timestamp", s.Attempt)
		}
		seen[m[1]] = true
	}
}

func TestForeignSignatureRefused(t *testing.T) {
	h := setup(t, testPKI(t).foreignMock, nil)
	_, err := h.do(context.Background(), personCall("880101300010"))
	var e *exchange.Error
	var se *signing.Error
	if !errors.As(err, &e) || e.Kind != exchange.OutcomeSignature || !errors.As(err, &se) || se.Reason != signing.ReasonUntrusted {
		t.Fatalf("err = %v", err)
	}
}

// startMock serves a mock SHEP signing its answers with s and trusting
// requests from the test CA, until the test ends.
func startMock(t *testing.T, s *signing.Signer) (*shepmock.Server, string) {
	t.Helper()
	mock, err := shepmock.New(shepmock.Config{Signer: s, Verifier: verifier(t, testPKI(t).ca.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	t.Cleanup(func() {
		srv.Close()
		mock.Close()
	})
	return mock, srv.URL
}

// TestUnsignedRequestRefusedByMock: the mock holds requests to the same
// standard, answering a foreign signature with SHEP's fault.
func TestUnsignedRequestRefusedByMock(t *testing.T) {
	p := testPKI(t)
	mock, err := shepmock.New(shepmock.Config{Signer: signer(t, p.mock), Verifier: verifier(t, p.ca.Cert)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()
	client, err := exchange.New(exchange.Config{URL: srv.URL, SenderID: "kopir", Attempts: 1},
		signer(t, p.foreignMock), verifier(t, p.ca.Cert), exchange.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	_, err = client.Do(context.Background(), personCall("880101300010"))
	var f *shep.Fault
	if !errors.As(err, &f) || f.ErrorCode() != shepmock.CodeSignature {
		t.Fatalf("err = %v", err)
	}
}

func TestBreaker(t *testing.T) {
	h := setup(t, testPKI(t).mock, func(c *exchange.Config) {
		c.Attempts = 1
		c.Breaker = exchange.BreakerConfig{Failures: 2, OpenFor: 100 * time.Millisecond}
	})
	ctx := context.Background()
	// Business answers do not trip it.
	h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, FaultCode: "Client", Code: "BAD_IIN", Count: 3})
	for i := 0; i < 3; i++ {
		h.do(ctx, personCall("880101300010"))
	}
	if h.client.BreakerState() != "closed" {
		t.Fatal("business answers opened the breaker")
	}
	// Two system failures open it; the next call fails fast, unsent.
	h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP})
	for i := 0; i < 2; i++ {
		h.do(ctx, personCall("880101300010"))
	}
	sent := h.mock.Calls(persons)
	_, err := h.do(ctx, personCall("880101300010"))
	var e *exchange.Error
	if !errors.As(err, &e) || e.Kind != exchange.OutcomeBreakerOpen || !e.SystemFailure() || len(e.Record.Steps) != 0 {
		t.Fatalf("err = %v", err)
	}
	if h.mock.Calls(persons) != sent || h.client.BreakerState() != "open" {
		t.Fatal("an open breaker let a call through")
	}
	// Still open just before OpenFor has passed.
	h.clock.Advance(99 * time.Millisecond)
	if h.client.BreakerState() != "open" {
		t.Fatalf("breaker %s before open_for passed", h.client.BreakerState())
	}
	// Once the upstream recovers, a probe closes it.
	h.mock.ClearFaults()
	h.clock.Advance(time.Millisecond)
	if h.client.BreakerState() != "half-open" {
		t.Fatalf("breaker %s after open_for", h.client.BreakerState())
	}
	if _, err := h.do(ctx, personCall("880101300010")); err != nil {
		t.Fatalf("probe: %v", err)
	}
	if h.client.BreakerState() != "closed" {
		t.Fatalf("breaker %s after a successful probe", h.client.BreakerState())
	}
}

func TestCanceled(t *testing.T) {
	h := setup(t, testPKI(t).mock, nil)
	h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultTimeout})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for h.mock.Calls(persons) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	_, err := h.do(ctx, personCall("880101300010"))
	var e *exchange.Error
	if !errors.As(err, &e) || e.Kind != exchange.OutcomeCanceled || e.SystemFailure() || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

// TestDataModes: a payload travels as the upstream's data_mode says, or
// as the call says (per service, protocol.md §3), with data's xsi:type.
func TestDataModes(t *testing.T) {
	token := exchange.Call{ServiceID: "KDP_SERVICE", Payload: []byte(`<r:Token xmlns:r="urn:t"><iin>900515400014</iin></r:Token>`)}
	for _, tc := range []struct {
		name     string
		upstream shep.DataMode
		call     exchange.Call
	}{
		{"escaped", shep.DataEscaped, token},
		{"cdata", shep.DataCDATA, token},
		{"escaped by the call", shep.DataChildren, exchange.Call{ServiceID: token.ServiceID, Payload: token.Payload,
			DataMode: shep.DataEscaped, DataType: "xs:string"}},
		{"children with a type", shep.DataEscaped, exchange.Call{ServiceID: token.ServiceID, Payload: token.Payload,
			DataMode: shep.DataChildren, DataType: "{urn:t}TokenRequest"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, testPKI(t).mock, func(c *exchange.Config) { c.DataMode = tc.upstream })
			res, err := h.do(context.Background(), tc.call)
			if err != nil || !strings.Contains(string(res.Response.Data), "kdp-0014-consent-token") {
				t.Fatalf("err = %v, data %s", err, res.Response.Data)
			}
		})
	}
	h := setup(t, testPKI(t).mock, nil)
	if _, err := h.do(context.Background(), exchange.Call{ServiceID: "KDP_SERVICE", Payload: token.Payload, DataType: "string"}); err == nil {
		t.Fatal("an xsi:type that is not a QName was sent")
	}
}

func TestConfigRefused(t *testing.T) {
	p := testPKI(t)
	for name, cfg := range map[string]exchange.Config{
		"no url":    {SenderID: "k"},
		"ftp url":   {URL: "ftp://x/", SenderID: "k"},
		"no sender": {URL: "http://localhost/"},
	} {
		if _, err := exchange.New(cfg, signer(t, p.gateway), verifier(t, p.ca.Cert), exchange.Options{}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestFaultTable(t *testing.T) {
	table := exchange.FaultTable{Transient: []string{"T"}, Business: []string{"B"}, System: []string{"S"}}
	tests := []struct {
		fault     shep.Fault
		class     exchange.Class
		transient bool
	}{
		{shep.Fault{Code: "Server"}, exchange.ClassSystem, false},
		{shep.Fault{Code: "Client"}, exchange.ClassBusiness, false},
		{shep.Fault{Code: "Client", Info: &shep.ErrorInfo{Code: "S"}}, exchange.ClassSystem, false},
		{shep.Fault{Code: "Server", Info: &shep.ErrorInfo{Code: "X", Sub: &shep.ErrorInfo{Code: "T"}}}, exchange.ClassSystem, true},
		{shep.Fault{Code: "Server", Info: &shep.ErrorInfo{Code: "B"}}, exchange.ClassBusiness, false},
	}
	for _, tt := range tests {
		c, tr := table.Classify(&tt.fault)
		if c != tt.class || tr != tt.transient {
			t.Errorf("%v: %s %v, want %s %v", tt.fault.Error(), c, tr, tt.class, tt.transient)
		}
	}
}

// TestRealWireFailures: what real peers do that Kopir must tell apart —
// an error status in a signed answer, an unsigned fault, an HTML 500, a
// replayed answer, an answer to another request — each ends as its own
// failure of the digital system, never as data, and never blamed on the
// signature when the signature is not the problem.
func TestRealWireFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rule    shepmock.FaultRule
		kind    exchange.Kind
		class   exchange.Class
		message string
		tries   int
	}{
		{"error status", shepmock.FaultRule{Kind: shepmock.FaultStatus, Code: "E_GBD", Message: "database down"}, exchange.OutcomeStatus, exchange.ClassSystem, "status E_GBD: database down", 1},
		{"business status", shepmock.FaultRule{Kind: shepmock.FaultStatus, Code: "PERSON_DECEASED"}, exchange.OutcomeStatus, exchange.ClassBusiness, "PERSON_DECEASED", 1},
		{"transient status", shepmock.FaultRule{Kind: shepmock.FaultStatus, Code: "SE_BUSY", Count: 1}, exchange.OutcomeOK, "", "", 2},
		{"unsigned fault", shepmock.FaultRule{Kind: shepmock.FaultUnsignedFault, Code: "999", Message: "service not found"}, exchange.OutcomeFault, exchange.ClassSystem, "unsigned fault 999 from shep: service not found", 1},
		{"unsigned business fault", shepmock.FaultRule{Kind: shepmock.FaultUnsignedFault, FaultCode: "Client", Code: "PERSON_DECEASED"}, exchange.OutcomeFault, exchange.ClassSystem, "unsigned fault PERSON_DECEASED", 1},
		{"HTML 500", shepmock.FaultRule{Kind: shepmock.FaultHTML}, exchange.OutcomeHTTP, exchange.ClassSystem, "not SOAP", 1},
		{"answer to another request", shepmock.FaultRule{Kind: shepmock.FaultUnbound}, exchange.OutcomeUnbound, exchange.ClassSystem, "correlationId", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, testPKI(t).mock, func(c *exchange.Config) {
				c.Statuses = exchange.StatusTable{Success: []string{"SCSS001"}, Transient: []string{"SE_BUSY"}, Business: []string{"PERSON_DECEASED"}}
			})
			h.mock.AddFault(tc.rule)
			_, err := h.do(context.Background(), personCall("880101300010"))
			recs := h.observed()
			if tc.kind == exchange.OutcomeOK {
				if err != nil || len(recs[0].Steps) != tc.tries {
					t.Fatalf("err = %v, %d attempts", err, len(recs[0].Steps))
				}
				return
			}
			var e *exchange.Error
			if !errors.As(err, &e) || e.Kind != tc.kind || e.Class != tc.class || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("err = %v (kind %v, class %v)", err, e.Kind, e.Class)
			}
			var fault *shep.Fault
			if errors.As(err, &fault) {
				t.Fatal("an unverified fault reached the caller as SHEP's fault")
			}
			if len(recs) != 1 || recs[0].Outcome != tc.kind || len(recs[0].Steps) != tc.tries {
				t.Fatalf("record %+v", recs)
			}
		})
	}
}

// TestReplayRefused: an answer already seen — the mock sending its last
// answer again, signature and all — is refused, within the window; the
// next fresh answer is accepted.
func TestReplayRefused(t *testing.T) {
	h := setup(t, testPKI(t).mock, nil)
	ctx := context.Background()
	if _, err := h.do(ctx, personCall("880101300010")); err != nil {
		t.Fatal(err)
	}
	h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultReplay, Count: 1})
	_, err := h.do(ctx, personCall("880101300010"))
	var e *exchange.Error
	if !errors.As(err, &e) || e.Kind != exchange.OutcomeReplay || !e.SystemFailure() {
		t.Fatalf("a replayed answer: %v", err)
	}
	if _, err := h.do(ctx, personCall("880101300010")); err != nil {
		t.Fatalf("a fresh answer after the replay: %v", err)
	}
}

// TestPolicyPinsFirstCertificate: a pinned file is often the certificate
// with its chain; only the first is pinned, or its CA's key would sign
// answers as good as SHEP's.
func TestPolicyPinsFirstCertificate(t *testing.T) {
	dir := t.TempDir()
	if _, err := devpki.Ensure(dir, devpki.ECDSAP256); err != nil {
		t.Fatal(err)
	}
	files := devpki.FilesFor(dir, "mock-shep")
	chain, err := signing.LoadCertificates(files.Cert)
	if err != nil || len(chain) < 2 {
		t.Fatalf("want a chain file: %d certificates, %v", len(chain), err)
	}
	cfg := exchange.Config{Pinned: []string{files.Cert}}
	p, err := cfg.Policy()
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Pinned) != 1 || !p.Pinned[0].Equal(chain[0]) {
		t.Fatalf("pinned %d certificates, want the leaf alone", len(p.Pinned))
	}
}

// TestSHEPLayoutAnswers: answers signed as SHEP signs them (Body only, no
// Timestamp, the certificate by issuer and serial) are read when SHEP's
// certificate is pinned and the Body is all that is required, and are a
// signature failure of the digital system under a policy that wants a
// Timestamp or trusts a CA alone.
func TestSHEPLayoutAnswers(t *testing.T) {
	p := testPKI(t)
	mockSigner, err := signing.NewSigner(p.mock.Key, p.mock.Chain, signing.SignerOptions{Layout: signing.LayoutSHEP})
	if err != nil {
		t.Fatal(err)
	}
	_, url := startMock(t, mockSigner)
	body := []signing.Part{signing.PartBody}
	for _, tc := range []struct {
		name   string
		policy signing.Policy
		ok     bool
	}{
		{"pinned, body", signing.Policy{Pinned: p.mock.Chain[:1], Required: body}, true},
		{"pinned, timestamp wanted", signing.Policy{Pinned: p.mock.Chain[:1]}, false},
		{"CA alone", signing.Policy{Roots: []*x509.Certificate{p.ca.Cert}, Required: body}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := signing.NewVerifier(tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			c, err := exchange.New(exchange.Config{URL: url + "/", SenderID: "kopir", Timeout: 2 * time.Second, Attempts: 1},
				signer(t, p.gateway), v, exchange.Options{Clock: clockwork.NewFakeClockAt(time.Now())})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			res, err := c.Do(context.Background(), personCall("880101300010"))
			if tc.ok {
				if err != nil || res.Response == nil {
					t.Fatalf("SHEP's layout refused: %v", err)
				}
				return
			}
			var e *exchange.Error
			if !errors.As(err, &e) || e.Kind != exchange.OutcomeSignature || !e.SystemFailure() {
				t.Fatalf("got %v, want a signature failure", err)
			}
		})
	}
}

// start makes a call in the background and returns, once the mock holds
// it, a function that waits for its end.
func (h *harness) start(ctx context.Context) func() (*exchange.Result, error) {
	var res *exchange.Result
	var err error
	done := make(chan struct{})
	go func() {
		defer close(done)
		res, err = h.client.Do(ctx, personCall("880101300010"))
	}()
	for h.mock.Calls(persons) == 0 {
		runtime.Gosched()
	}
	return func() (*exchange.Result, error) {
		<-done
		return res, err
	}
}

// TestHungUpstream: a SHEP that never answers holds the call for its one
// deadline, not for a timeout per attempt; the call ends as a timeout, a
// system failure the breaker counts; a back end that gives up after
// hang_after has met a hang, one that gives up sooner has not.
func TestHungUpstream(t *testing.T) {
	for _, tc := range []struct {
		name     string
		advance  time.Duration // on the fake clock, before the caller gives up (0: never)
		kind     exchange.Kind
		system   bool
		breaker  string
		deadline bool
	}{
		{"deadline", 15 * time.Second, exchange.OutcomeTimeout, true, "open", true},
		{"abandoned after hang_after", 6 * time.Second, exchange.OutcomeTimeout, true, "open", false},
		{"abandoned at once", time.Second, exchange.OutcomeCanceled, false, "closed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, testPKI(t).mock, func(c *exchange.Config) {
				c.Deadline, c.Timeout, c.HangAfter = 15*time.Second, 10*time.Second, 5*time.Second
				c.Breaker = exchange.BreakerConfig{Failures: 1, OpenFor: time.Minute}
			})
			h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultTimeout})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			wait := h.start(ctx)
			h.clock.Advance(tc.advance)
			if !tc.deadline {
				cancel()
			}
			_, err := wait()
			var e *exchange.Error
			if !errors.As(err, &e) || e.Kind != tc.kind || e.SystemFailure() != tc.system {
				t.Fatalf("got %v, want %s (system failure %v)", err, tc.kind, tc.system)
			}
			if tc.deadline && !strings.Contains(err.Error(), "deadline of 15s") {
				t.Errorf("the error does not name the deadline: %v", err)
			}
			if n := len(e.Record.Steps); n != 1 || e.Record.Duration != tc.advance {
				t.Errorf("record: %d steps over %s, want 1 over %s", n, e.Record.Duration, tc.advance)
			}
			if got := h.client.BreakerState(); got != tc.breaker {
				t.Errorf("breaker %s, want %s", got, tc.breaker)
			}
			if got := h.observed(); len(got) != 1 || got[0].Outcome != tc.kind {
				t.Errorf("observed %d records", len(got))
			}
		})
	}
}

// TestRetryAfter: a 429 (or 503) with Retry-After is retried after the
// time it asks for, on the injected clock; one that asks for more than
// the deadline leaves is not retried.
func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		after  time.Duration
		ok     bool
	}{
		{"429, 3s", http.StatusTooManyRequests, 3 * time.Second, true},
		{"503, 2s", http.StatusServiceUnavailable, 2 * time.Second, true},
		{"429, past the deadline", http.StatusTooManyRequests, time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := setup(t, testPKI(t).mock, func(c *exchange.Config) { c.Deadline = 15 * time.Second })
			h.mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP, Status: tc.status,
				RetryAfter: shepmock.Duration(tc.after), Count: 1})
			res, err := h.do(context.Background(), personCall("880101300010"))
			if !tc.ok {
				var e *exchange.Error
				if !errors.As(err, &e) || e.HTTPStatus != tc.status || len(e.Record.Steps) != 1 {
					t.Fatalf("got %v, want HTTP %d after one attempt", err, tc.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			steps := res.Record.Steps
			if len(steps) != 2 {
				t.Fatalf("%d attempts", len(steps))
			}
			if gap := steps[1].Time.Sub(steps[0].Time.Add(steps[0].Duration)); gap < tc.after {
				t.Errorf("retried after %s, Retry-After said %s", gap, tc.after)
			}
		})
	}
}

// TestReplayAcrossReplicas: an answer one replica took is refused when it
// is played to another that shares the replay memory (PostgreSQL), and
// taken by one that does not — the reason to share it. The binding is off,
// as for answers without a correlationId, so that the memory alone decides.
func TestReplayAcrossReplicas(t *testing.T) {
	store, err := replay.OpenPostgres(context.Background(), pgtest.Schema(t))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	p := testPKI(t)
	mock, url := startMock(t, signer(t, p.mock))
	replica := func(shared exchange.ReplayStore) *exchange.Client {
		c, err := exchange.New(exchange.Config{URL: url + "/", SenderID: "kopir", Attempts: 1, Binding: "none"},
			signer(t, p.gateway), verifier(t, p.ca.Cert), exchange.Options{Clock: clockwork.NewFakeClockAt(time.Now()), Replays: shared})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Close)
		return c
	}
	a, b, alone := replica(store), replica(store), replica(nil)
	ctx := context.Background()
	if _, err := a.Do(ctx, personCall("880101300010")); err != nil {
		t.Fatal(err)
	}
	mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultReplay, Count: 2})
	_, err = b.Do(ctx, personCall("880101300010"))
	var e *exchange.Error
	if !errors.As(err, &e) || e.Kind != exchange.OutcomeReplay {
		t.Fatalf("a replica sharing the memory took a replayed answer: %v", err)
	}
	if _, err := alone.Do(ctx, personCall("880101300010")); err != nil {
		t.Fatalf("a replica with its own memory only: %v", err)
	}
}

// TestRequestHeaders: the Content-Type and SOAPAction of requests are the
// peer profile's, SHEP's by default.
func TestRequestHeaders(t *testing.T) {
	for _, tc := range []struct {
		contentType, action  string
		wantType, wantAction string
	}{
		{"", "", "text/xml; charset=utf-8", `""`},
		{"application/xml", "urn:SendMessage", "application/xml", `"urn:SendMessage"`},
	} {
		got := make(chan http.Header, 1)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got <- r.Header.Clone()
			w.WriteHeader(http.StatusForbidden)
		}))
		c, err := exchange.New(exchange.Config{URL: srv.URL + "/", SenderID: "k", Attempts: 1, ContentType: tc.contentType, SOAPAction: tc.action},
			signer(t, testPKI(t).gateway), verifier(t, testPKI(t).ca.Cert), exchange.Options{Clock: clockwork.NewFakeClock()})
		if err != nil {
			t.Fatal(err)
		}
		c.Do(context.Background(), personCall("880101300010"))
		h := <-got
		if h.Get("Content-Type") != tc.wantType || h.Get("SOAPAction") != tc.wantAction {
			t.Errorf("Content-Type %q, SOAPAction %q; want %q, %q", h.Get("Content-Type"), h.Get("SOAPAction"), tc.wantType, tc.wantAction)
		}
		c.Close()
		srv.Close()
	}
}

// TestKeyInfoProfile: an upstream whose profile accepts only the token
// reference refuses SHEP's issuer-and-serial answers as a signature failure;
// one that accepts issuer-serial reads them.
func TestKeyInfoProfile(t *testing.T) {
	p := testPKI(t)
	mockSigner, err := signing.NewSigner(p.mock.Key, p.mock.Chain, signing.SignerOptions{Layout: signing.LayoutSHEP})
	if err != nil {
		t.Fatal(err)
	}
	_, url := startMock(t, mockSigner)
	dir := t.TempDir()
	pin := filepath.Join(dir, "shep.pem")
	os.WriteFile(pin, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.mock.Chain[0].Raw}), 0o644)
	for _, tc := range []struct {
		accept []signing.KeyRef
		ok     bool
	}{
		{[]signing.KeyRef{signing.KeyRefIssuerSerial}, true},
		{[]signing.KeyRef{signing.KeyRefToken}, false},
	} {
		cfg := exchange.Config{URL: url + "/", SenderID: "k", Attempts: 1, Pinned: []string{pin}, KeyInfo: tc.accept}
		cfg.SetDefaults()
		policy, err := cfg.Policy()
		if err != nil {
			t.Fatal(err)
		}
		v, err := signing.NewVerifier(policy)
		if err != nil {
			t.Fatal(err)
		}
		c, err := exchange.New(cfg, signer(t, p.gateway), v, exchange.Options{Clock: clockwork.NewFakeClockAt(time.Now())})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Do(context.Background(), personCall("880101300010"))
		c.Close()
		var e *exchange.Error
		if tc.ok && err != nil || !tc.ok && !(errors.As(err, &e) && e.Kind == exchange.OutcomeSignature && strings.Contains(err.Error(), "issuer-serial")) {
			t.Errorf("accepting %v: %v", tc.accept, err)
		}
	}
}
