package gateway

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopir/kopir/config"
	"github.com/kopir/kopir/gateway/shep/exchange"
	ncanodemock "github.com/kopir/kopir/mocks/ncanode"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

// assemble builds a gateway whose signing certificate expires at notAfter.
func assemble(t *testing.T, notAfter time.Time) (*Gateway, *prometheus.Registry) {
	t.Helper()
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	return assembleWith(t, ca, t.TempDir(), notAfter, "allow_anonymous: true\n")
}

// assembleWith is assemble with a CA, a folder and more configuration.
func assembleWith(t *testing.T, ca *devpki.CA, dir string, notAfter time.Time, extra string) (*Gateway, *prometheus.Registry) {
	t.Helper()
	g, reg, err := build(t, ca, dir, notAfter, extra)
	if err != nil {
		t.Fatal(err)
	}
	return g, reg
}

// tryAssemble is assembleWith returning New's error.
func tryAssemble(t *testing.T, ca *devpki.CA, dir, extra string) (*Gateway, error) {
	t.Helper()
	g, _, err := build(t, ca, dir, time.Now().AddDate(1, 0, 0), extra)
	return g, err
}

func build(t *testing.T, ca *devpki.CA, dir string, notAfter time.Time, extra string) (*Gateway, *prometheus.Registry, error) {
	t.Helper()
	return buildWith(t, ca, dir, notAfter, extra, Options{})
}

func buildWith(t *testing.T, ca *devpki.CA, dir string, notAfter time.Time, extra string, o Options) (*Gateway, *prometheus.Registry, error) {
	t.Helper()
	leaf, err := ca.Issue(devpki.ECDSAP256, devpki.GatewaySubject, time.Now().Add(-time.Hour), notAfter)
	if err != nil {
		t.Fatal(err)
	}
	files := devpki.FilesFor(dir, "gateway")
	if err := leaf.Write(files, "pw"); err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, []byte(certPEM(t, ca)), 0o644)
	yaml := fmt.Sprintf(`
identity: {key: %q, cert: %q}
shep: {url: "http://127.0.0.1:1/", sender_id: k, trust: [%q]}
payments: {url: "http://127.0.0.1:2/", sender_id: k, trust: [%q]}
reports: {from: kopir@example.kz, database: %q, smtp: {host: 127.0.0.1, tls: none}}
`, files.Key, files.Cert, caFile, caFile, filepath.Join(dir, "outbox.db")) + extra
	cfg, err := config.Parse([]byte(yaml), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	o.Registry = reg
	g, err := New(context.Background(), cfg, o)
	if err != nil {
		return nil, nil, err
	}
	t.Cleanup(g.Close)
	return g, reg, nil
}

func certPEM(t *testing.T, ca *devpki.CA) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))
}

func readyz(t *testing.T, g *Gateway) (int, map[string]any) {
	t.Helper()
	srv := httptest.NewServer(g.OpsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestReadiness(t *testing.T) {
	g, _ := assemble(t, time.Now().AddDate(1, 0, 0))
	code, body := readyz(t, g)
	checks, _ := body["checks"].(map[string]any)
	if code != 200 || len(checks) != 6 {
		t.Fatalf("%d %v", code, body)
	}
	for _, name := range []string{"signing_key", "signing_certificate", "database"} {
		if c, _ := checks[name].(map[string]any); c["ok"] != true {
			t.Errorf("%s: %v", name, checks[name])
		}
	}
	g.Health.SetMaintenance(true)
	if code, _ := readyz(t, g); code != 503 {
		t.Errorf("maintenance: %d", code)
	}

	// A certificate with less than a day left: not ready.
	g, _ = assemble(t, time.Now().Add(12*time.Hour))
	code, body = readyz(t, g)
	c := body["checks"].(map[string]any)["signing_certificate"].(map[string]any)
	if code != 503 || c["ok"] != false || !strings.Contains(c["detail"].(string), "expires") {
		t.Errorf("expiring certificate: %d %v", code, c)
	}
	// The database closed: not ready.
	g, _ = assemble(t, time.Now().AddDate(1, 0, 0))
	g.Outbox.Close()
	if code, _ := readyz(t, g); code != 503 {
		t.Errorf("closed database: %d", code)
	}
}

func TestOpsMetrics(t *testing.T) {
	notAfter := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	g, _ := assemble(t, notAfter)
	readyz(t, g) // signs once
	srv := httptest.NewServer(g.OpsHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		"kopir_signing_certificate_expiry_timestamp_seconds " + strconv.FormatFloat(float64(notAfter.Unix()), 'g', -1, 64),
		`kopir_upstream_breaker_state{system="shep"} 0`,
		`kopir_upstream_breaker_state{system="payments"} 0`,
		`kopir_failure_reports{state="pending"} 0`,
		`kopir_signature_operations_total{operation="sign",result="ok"} 1`,
		"kopir_build_info{", "go_goroutines ", "process_",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestClientCertificates: over TLS, a back end presenting a certificate
// the configuration lists is that client, with its rights; one without
// credentials is refused.
func TestClientCertificates(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	server, err := ca.Issue(devpki.ECDSAP256, devpki.Subject{CommonName: "kopir", DNSNames: []string{"localhost"}}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	sf := devpki.FilesFor(dir, "api")
	if err := server.Write(sf, "pw"); err != nil {
		t.Fatal(err)
	}
	backend, err := ca.Issue(devpki.ECDSAP256, devpki.Subject{CommonName: "import licensing"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	impostor, err := stranger.Issue(devpki.ECDSAP256, devpki.Subject{CommonName: "import licensing"}, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	fp := sha256.Sum256(backend.Chain[0].Raw)
	g, _ := assembleWith(t, ca, dir, time.Now().AddDate(1, 0, 0), fmt.Sprintf(`
tls: {cert: %q, key: %q, client_ca: %q}
clients: [{name: importer, cert_sha256: [%x], allow: [payments]}]
`, sf.Cert, sf.Key, filepath.Join(dir, "ca.pem"), fp))
	if g.TLS == nil || g.TLS.ClientAuth != tls.VerifyClientCertIfGiven {
		t.Fatalf("TLS %+v", g.TLS)
	}
	srv := httptest.NewUnstartedServer(g.Handler())
	srv.TLS = g.TLS
	srv.StartTLS()
	defer srv.Close()
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	call := func(leaf *devpki.Leaf, path string) int {
		c := &tls.Config{RootCAs: roots, ServerName: "localhost"}
		if leaf != nil {
			c.Certificates = []tls.Certificate{{Certificate: [][]byte{leaf.Chain[0].Raw}, PrivateKey: leaf.Key}}
		}
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: c}}
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			return -1 // the handshake refused it
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	const fees = "/v1/fees?kind=issue&date=2026-01-10"
	for _, tc := range []struct {
		name string
		leaf *devpki.Leaf
		path string
		want int
	}{
		{"listed certificate", backend, fees, 200},
		{"outside its rights", backend, "/v1/legal-entities/050340000108", 403},
		{"no certificate", nil, fees, 401},
		{"a certificate from another CA", impostor, fees, -1},
	} {
		if got := call(tc.leaf, tc.path); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}

// TestMaintenanceToken: with ops.maintenance_token configured, the ops
// listener turns the switch only for the token's bearer, loopback or not.
func TestMaintenanceToken(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "ops-token")
	os.WriteFile(tokenFile, []byte("a-long-ops-token-0123\n"), 0o600)
	g, _ := assembleWith(t, ca, dir, time.Now().AddDate(1, 0, 0),
		fmt.Sprintf("allow_anonymous: true\nops: {maintenance_token: {file: %q}}\n", tokenFile))
	srv := httptest.NewServer(g.OpsHandler())
	defer srv.Close()
	put := func(auth string) int {
		req, _ := http.NewRequest("PUT", srv.URL+"/maintenance", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(""); code != 401 || g.Health.Maintenance() {
		t.Fatalf("without the token: %d, maintenance %v", code, g.Health.Maintenance())
	}
	if code := put("Bearer a-long-ops-token-0123"); code != 200 || !g.Health.Maintenance() {
		t.Fatalf("with the token: %d, maintenance %v", code, g.Health.Maintenance())
	}
}

// TestUpstreamSignatureProfile: each upstream signs in the layout its
// section names — the Smart Bridge one for SHEP here (the default), WSS4J's
// for the payment gateway — with the one identity.
func TestUpstreamSignatureProfile(t *testing.T) {
	got := make(chan []byte, 2)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer upstream.Close()
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	leaf, err := ca.Issue(devpki.ECDSAP256, devpki.GatewaySubject, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	files := devpki.FilesFor(dir, "gateway")
	leaf.Write(files, "pw")
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, []byte(certPEM(t, ca)), 0o644)
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
identity: {key: %q, cert: %q}
shep: {url: %q, sender_id: k, trust: [%q], attempts: 1}
payments: {url: %q, sender_id: k, trust: [%q], layout: wss4j, require: [body, timestamp], attempts: 1}
reports: {from: kopir@example.kz, database: %q, smtp: {host: 127.0.0.1, tls: none}}
allow_anonymous: true
`, files.Key, files.Cert, upstream.URL+"/", caFile, upstream.URL+"/", caFile, filepath.Join(dir, "outbox.db"))), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.SHEP.Require) != 1 || cfg.SHEP.Require[0] != "Body" || cfg.SHEP.Layout != signing.LayoutSmartBridge ||
		cfg.Payments.Layout != signing.LayoutWSS4J || len(cfg.Payments.Require) != 2 {
		t.Fatalf("decoded shep %+v %s, payments %+v %s", cfg.SHEP.Require, cfg.SHEP.Layout, cfg.Payments.Require, cfg.Payments.Layout)
	}
	g, err := New(context.Background(), cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.SHEP.Do(context.Background(), exchange.Call{ServiceID: "GBDFL_UniversalServiceSync", Payload: []byte("<iin>880101300010</iin>")})
	shep := string(<-got)
	g.Payments.Do(context.Background(), exchange.Call{ServiceID: "PSHEP_PaymentInfoSync", Payload: []byte("<x/>")})
	pay := string(<-got)
	if !strings.Contains(shep, "KeyIdentifier") || strings.Contains(shep, "Timestamp") || strings.Contains(shep, "BinarySecurityToken") {
		t.Errorf("SHEP's request is not in the Smart Bridge layout:\n%s", shep)
	}
	if !strings.Contains(pay, "BinarySecurityToken") || !strings.Contains(pay, "Timestamp") {
		t.Errorf("the payment gateway's request is not in WSS4J's layout:\n%s", pay)
	}
	if _, err := config.Parse([]byte(strings.Replace(fmt.Sprintf("shep: {layout: %s}", "sideways"), "", "", 1)), func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), "sideways") {
		t.Errorf("a bad layout: %v", err)
	}
}

// TestNCANodeBackend: with signing.backend ncanode, requests are signed by
// NCANode (the fake, doing it with the NCA's GOST test key Kopir hands it)
// in the Smart Bridge layout, and its calls are counted; a layout NCANode
// cannot produce is refused by configuration, field by field.
func TestNCANodeBackend(t *testing.T) {
	fake := httptest.NewServer(ncanodemock.New(nil))
	defer fake.Close()
	got := make(chan []byte, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer upstream.Close()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.der.pem")
	der, _ := os.ReadFile("../signing/gost/testdata/nca/ca-gost2015.der")
	os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	base := fmt.Sprintf(`
identity: {p12: ../signing/pkcs12/testdata/nca-gost2015.p12, p12_password: {env: P12}}
signing: {backend: ncanode, ncanode: {url: %q}}
shep: {url: %q, sender_id: k, trust: [%q], layout: %%s, attempts: 1}
payments: {url: %q, sender_id: k, trust: [%q], layout: smart-bridge, attempts: 1}
reports: {from: kopir@example.kz, database: %q, smtp: {host: 127.0.0.1, tls: none}}
allow_anonymous: true
`, fake.URL, upstream.URL+"/", ca, upstream.URL+"/", ca, filepath.Join(dir, "outbox.db"))
	getenv := func(k string) string { return map[string]string{"P12": "Aa123456"}[k] }
	if _, err := config.Parse([]byte(fmt.Sprintf(base, "wss4j")), getenv); err == nil || !strings.Contains(err.Error(), "shep.layout") {
		t.Fatalf("a layout NCANode cannot sign: %v", err)
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(base, "smart-bridge")), getenv)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	g, err := New(context.Background(), cfg, Options{Getenv: getenv, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	g.SHEP.Do(context.Background(), exchange.Call{ServiceID: "GBDFL_UniversalServiceSync", Payload: []byte("<x/>")})
	req := string(<-got)
	if !strings.Contains(req, "KeyIdentifier") || !strings.Contains(req, "gostr34102015-gostr34112015-512") {
		t.Fatalf("the request is not NCANode's GOST Smart Bridge signature:\n%s", req)
	}
	families, _ := reg.Gather()
	found := false
	for _, f := range families {
		if f.GetName() == "kopir_ncanode_calls_total" {
			for _, m := range f.GetMetric() {
				found = found || m.GetCounter().GetValue() >= 1 && strings.Contains(m.String(), "/wsse/sign")
			}
		}
	}
	if !found {
		t.Fatal("no kopir_ncanode_calls_total for /wsse/sign")
	}
}

// TestPayloadSigning: without payload_signing, legal-entity lookups are
// not configured (503, nothing sent); with it, a certificate naming no BIN
// needs requestor_bin, and one naming a BIN gives it.
func TestPayloadSigning(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	g, _ := assembleWith(t, ca, dir, time.Now().AddDate(1, 0, 0), "allow_anonymous: true\n")
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/v1/legal-entities/050340000108")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("no payload signing key: HTTP %d", resp.StatusCode)
	}

	for _, tc := range []struct {
		name    string
		subject devpki.Subject
		extra   string
		err     string
	}{
		{"a BIN in the certificate", devpki.OrganisationSubject, "", ""},
		{"no BIN anywhere", devpki.Subject{CommonName: "no BIN"}, "", "services.legal_entities.requestor_bin"},
		{"requestor_bin set", devpki.Subject{CommonName: "no BIN"}, "services: {legal_entities: {requestor_bin: \"050340000108\"}}\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			org, err := ca.Issue(devpki.RSA2048, tc.subject, time.Time{}, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			files := devpki.FilesFor(dir, "signing")
			org.Write(files, "pw")
			extra := fmt.Sprintf("allow_anonymous: true\npayload_signing: {key: %q, cert: %q}\n", files.Key, files.Cert) + tc.extra
			if tc.err == "" {
				assembleWith(t, ca, dir, time.Now().AddDate(1, 0, 0), extra)
				return
			}
			_, err = tryAssemble(t, ca, dir, extra)
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("err = %v, want %s", err, tc.err)
			}
		})
	}
}

// TestMCIWarning: a month before a year without an MCI, readiness says so
// (informational: the gateway stays ready) and the metric tells when fees
// stop; once the year has begun, a fee for it is the gateway's gap.
func TestMCIWarning(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at     time.Time
		ok     bool
		detail string
	}{
		{time.Date(2028, 11, 20, 12, 0, 0, 0, time.UTC), true, "configured until 2029-01-01"},
		{time.Date(2028, 12, 1, 12, 0, 0, 0, time.UTC), false, "no MCI for 2029, which begins in"},
		{time.Date(2029, 1, 2, 12, 0, 0, 0, time.UTC), false, "no MCI for 2029: fee checks fail"},
	} {
		t.Run(tc.at.Format(time.DateOnly), func(t *testing.T) {
			clock := clockwork.NewFakeClockAt(tc.at)
			g, reg, err := buildWith(t, ca, t.TempDir(), tc.at.AddDate(1, 0, 0), "allow_anonymous: true\nmci: {2027: 4500, 2028: 4700}\n", Options{Clock: clock})
			if err != nil {
				t.Fatal(err)
			}
			code, body := readyz(t, g)
			c, _ := body["checks"].(map[string]any)["mci"].(map[string]any)
			if code != 200 || c["ok"] != tc.ok || !strings.Contains(fmt.Sprint(c["detail"]), tc.detail) {
				t.Fatalf("%d %v", code, c)
			}
			mfs, _ := reg.Gather()
			var until float64
			for _, mf := range mfs {
				if mf.GetName() == "kopir_mci_configured_until_timestamp_seconds" {
					until = mf.GetMetric()[0].GetGauge().GetValue()
				}
			}
			if want := time.Date(2029, 1, 1, 0, 0, 0, 0, time.FixedZone("", 5*3600)); until != float64(want.Unix()) {
				t.Errorf("metric %v, want %v", until, want.Unix())
			}
		})
	}
}
