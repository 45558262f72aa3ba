package shepmock

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/gateway/pii/iin"
	"github.com/kopir/kopir/gateway/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/xmldoc"
)

type fixture struct {
	srv      *httptest.Server
	mock     *Server
	client   *signing.Signer   // signs requests as a trusted client
	verifier *signing.Verifier // checks the mock's answers
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(s devpki.Subject) *signing.Signer {
		l, err := ca.Issue(devpki.ECDSAP256, s, time.Time{}, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		sg, err := signing.NewSigner(l.Key, l.Chain, signing.SignerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return sg
	}
	v, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{ca.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	mock, err := New(Config{Signer: issue(devpki.MockSHEPSubject), Verifier: v})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	t.Cleanup(func() { mock.Close(); srv.Close() })
	return &fixture{srv: srv, mock: mock, client: issue(devpki.GatewaySubject), verifier: v}
}

func (f *fixture) post(t *testing.T, action string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL, bytes.NewReader(body))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "-" {
		req.Header.Set("SOAPAction", action)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func (f *fixture) request(t *testing.T, service, payload string) []byte {
	t.Helper()
	env, err := (&shep.Request{MessageID: "m-1", ServiceID: service, MessageDate: time.Now(), SenderID: "tester", Data: []byte(payload)}).Envelope()
	if err != nil {
		t.Fatal(err)
	}
	signed, err := f.client.Sign(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	return signed
}

// answer verifies the mock's signature and reads the answer.
func (f *fixture) answer(t *testing.T, body []byte) (*shep.Response, error) {
	t.Helper()
	res, err := f.verifier.Verify(body)
	if err != nil {
		t.Fatalf("the mock's answer does not verify: %v\n%s", err, body)
	}
	return shep.ParseBody(res.Body, xmldoc.Limits{})
}

func TestSOAPActions(t *testing.T) {
	f := newFixture(t)
	for _, action := range []string{"SendMessage", `"SendMessage"`, "", `""`, "-", "http://bip.bee.kz/SyncChannel/v10/Interfaces/SendMessage"} {
		req := f.request(t, "GBDIP_UniversalServiceSync", `<q:get xmlns:q="urn:q"><iin>850721400012</iin></q:get>`)
		resp, body := f.post(t, action, req)
		if resp.StatusCode != 200 {
			t.Fatalf("SOAPAction %q: HTTP %d", action, resp.StatusCode)
		}
		r, err := f.answer(t, body)
		if err != nil || r.CorrelationID != "m-1" || !bytes.Contains(r.Data, []byte("Гүлнар Текстиль")) {
			t.Fatalf("SOAPAction %q: %v %+v", action, err, r)
		}
	}
	resp, body := f.post(t, "GetStatus", f.request(t, "GBDIP_UniversalServiceSync", `<q:get xmlns:q="urn:q"><iin>850721400012</iin></q:get>`))
	_, err := f.answer(t, body)
	var fault *shep.Fault
	if resp.StatusCode != 500 || !errors.As(err, &fault) || fault.ErrorCode() != CodeUnknownAction {
		t.Fatalf("unknown action: HTTP %d, %v", resp.StatusCode, err)
	}
}

func TestRefusesBadRequests(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		body []byte
		code string
	}{
		{"unsigned", []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body/></soap:Envelope>`), CodeSignature},
		{"not xml", []byte(`hello`), CodeMalformed},
		{"tampered", bytes.Replace(f.request(t, "X", "<a/>"), []byte("tester"), []byte("intruder"), 1), CodeSignature},
	}
	for _, tt := range tests {
		resp, body := f.post(t, "SendMessage", tt.body)
		_, err := f.answer(t, body)
		var fault *shep.Fault
		if resp.StatusCode != 500 || !errors.As(err, &fault) || fault.ErrorCode() != tt.code || fault.Code != "Client" {
			t.Errorf("%s: HTTP %d, %v", tt.name, resp.StatusCode, err)
		}
	}
	// Each refusal has its own code, in a signed fault of the real shape.
	refused := func(what string, resp *http.Response, body []byte, status int, code string) {
		t.Helper()
		_, err := f.answer(t, body)
		var fault *shep.Fault
		if resp.StatusCode != status || !errors.As(err, &fault) || fault.ErrorCode() != code ||
			!bytes.Contains(body, []byte("SendMessageFault1_SendMessageFault")) {
			t.Errorf("%s: HTTP %d, %v", what, resp.StatusCode, err)
		}
	}
	resp, body := f.post(t, "SendMessage", f.request(t, "NoSuchService", "<a/>"))
	refused("unknown service", resp, body, 500, CodeUnknownService)
	req := f.request(t, "GBDIP_UniversalServiceSync", `<q:get xmlns:q="urn:q"><iin>850721400012</iin></q:get>`)
	if resp, _ := f.post(t, "", req); resp.StatusCode != 200 {
		t.Fatalf("a good request: HTTP %d", resp.StatusCode)
	}
	resp, body = f.post(t, "", req)
	refused("the same request again", resp, body, 500, CodeReplay)
	post := func(path, contentType string) (*http.Response, []byte) {
		r, _ := http.NewRequest(http.MethodPost, f.srv.URL+path, bytes.NewReader(f.request(t, "GBDIP_UniversalServiceSync", "<a/>")))
		r.Header.Set("Content-Type", contentType)
		res, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	resp, body = post("/elsewhere/", "text/xml")
	refused("wrong path", resp, body, 404, CodeWrongPath)
	resp, body = post("/bip-sync-wss-gost/", "application/json")
	refused("wrong Content-Type", resp, body, 415, CodeContentType)
	if resp, _ := post("/bip-sync-wss-gost/", "application/xml"); resp.StatusCode != 200 {
		t.Errorf("application/xml, as one production client sends: HTTP %d", resp.StatusCode)
	}
	get, err := http.Get(f.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	get.Body.Close()
	if get.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /: HTTP %d", get.StatusCode)
	}
}

func TestWSDL(t *testing.T) {
	f := newFixture(t)
	resp, err := http.Get(f.srv.URL + "/bip-sync-wss-gost/?wsdl")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `location="`+f.srv.URL+`/bip-sync-wss-gost/"`) {
		t.Fatalf("WSDL: HTTP %d\n%s", resp.StatusCode, b)
	}
	// The real SHEP's names (protocol.md §1-4), so that a client generated
	// from this WSDL gets the real shapes.
	for _, want := range []string{`soapAction=""`, `name="ISyncChannelHttpService"`, `name="SyncChannelHttpPort"`,
		`name="SendMessageFault1_SendMessageFault" type="com:ErrorInfo"`, `"http://bip.bee.kz/SyncChannel/v10/Types/Request"`,
		`"http://bip.bee.kz/SyncChannel/v10/Types/Response"`, `"http://bip.bee.kz/common/v10/Types"`, `name="SyncMessageInfo"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the WSDL lacks %s", want)
		}
	}
}

func TestControlAPI(t *testing.T) {
	f := newFixture(t)
	do := func(method, path, body string) (int, string) {
		req, _ := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []string{`{`, `{"kind":"explode"}`, `{"kind":"fault","bogus":1}`, `{"kind":"http","status":200}`, `{"kind":"delay","probability":2}`} {
		if code, body := do("POST", "/_control/faults", bad); code != 400 || !strings.Contains(body, "error") {
			t.Errorf("rule %s: HTTP %d %s", bad, code, body)
		}
	}
	if code, _ := do("POST", "/_control/faults", `{"service":"GBDIP_UniversalServiceSync","kind":"fault","code":"E1","count":1}`); code != 201 {
		t.Fatalf("add: HTTP %d", code)
	}
	if _, body := do("GET", "/_control/faults", ""); !strings.Contains(body, `"code":"E1"`) {
		t.Fatalf("list: %s", body)
	}
	_, body := f.post(t, "SendMessage", f.request(t, "GBDIP_UniversalServiceSync", "<q><iin>850721400012</iin></q>"))
	var fault *shep.Fault
	if _, err := f.answer(t, body); !errors.As(err, &fault) || fault.ErrorCode() != "E1" {
		t.Fatalf("injected fault: %v", err)
	}
	// Count 1: spent, so the rule is gone and the next call succeeds.
	if _, body := do("GET", "/_control/faults", ""); strings.TrimSpace(body) != "[]" {
		t.Fatalf("spent rule still listed: %s", body)
	}
	do("POST", "/_control/faults", `{"kind":"http"}`)
	if code, _ := do("DELETE", "/_control/faults", ""); code != 204 {
		t.Fatalf("delete: HTTP %d", code)
	}
	if _, body := do("GET", "/_control/calls", ""); !strings.Contains(body, `"GBDIP_UniversalServiceSync":1`) {
		t.Fatalf("calls: %s", body)
	}
	if code, _ := do("GET", "/_control/nothing", ""); code != 404 {
		t.Fatalf("unknown control path: HTTP %d", code)
	}
}

func TestFaultRuleProbability(t *testing.T) {
	var s faultSet
	draws := []float64{0.9, 0.1, 0.5, 0.2}
	s.rand = func() float64 { d := draws[0]; draws = draws[1:]; return d }
	s.add(FaultRule{Kind: FaultHTTP, Probability: 0.3, Count: 1})
	if s.take("A") != nil { // draw 0.9: not taken
		t.Fatal("taken above the probability")
	}
	if s.take("A") == nil { // draw 0.1: taken, count spent
		t.Fatal("not taken below the probability")
	}
	if s.take("A") != nil {
		t.Fatal("a spent rule was taken again")
	}
}

func TestFixtures(t *testing.T) {
	f, err := DefaultFixtures()
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Services) < 4 {
		t.Fatalf("%d services in the default set", len(f.Services))
	}
	for id, svc := range f.Services {
		if len(svc.Records) < 2 {
			t.Errorf("%s: only %d records", id, len(svc.Records))
		}
		for key := range svc.Records {
			if err := iin.Validate(key); err != nil {
				t.Errorf("%s: record key: %v", id, err)
			}
		}
	}
	for name, in := range map[string]string{
		"unknown key":    "services: {}\nbogus: 1\n",
		"no key":         "services:\n  S:\n    records: {}\n",
		"bad payload":    "services:\n  S:\n    key: iin\n    records:\n      \"1\": \"<a>\"\n",
		"bad fault rule": "faults:\n  - kind: explode\n",
	} {
		if _, err := ParseFixtures([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	b, _ := json.Marshal(&faultSet{})
	if string(b) != "[]" {
		t.Errorf("empty rules marshal as %s", b)
	}
}

// TestSenderCredentials: with senders configured, a request from another
// sender, or with another password, gets its own fault.
func TestSenderCredentials(t *testing.T) {
	f := newFixture(t)
	f.mock.cfg.Senders = map[string]string{"kopir": "s3cret"}
	resp, body := f.post(t, "", f.request(t, "GBDIP_UniversalServiceSync", "<a/>"))
	_, err := f.answer(t, body)
	var fault *shep.Fault
	if resp.StatusCode != 500 || !errors.As(err, &fault) || fault.ErrorCode() != CodeSender {
		t.Fatalf("sender tester: HTTP %d, %v", resp.StatusCode, err)
	}
}
