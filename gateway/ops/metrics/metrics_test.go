package metrics

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/internal/mocktest"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
)

// series gathers reg into "name{k="v",…}" → value; histograms give their
// _count and _sum.
func series(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			sort.Strings(labels)
			key := mf.GetName() + "{" + strings.Join(labels, ",") + "}"
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[key] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[strings.Replace(key, "{", "_count{", 1)] = float64(m.GetHistogram().GetSampleCount())
				out[strings.Replace(key, "{", "_sum{", 1)] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

func want(t *testing.T, got map[string]float64, wants map[string]float64) {
	t.Helper()
	for k, v := range wants {
		if g, ok := got[k]; !ok || g != v {
			var near []string
			name := k[:strings.IndexByte(k, '{')]
			for gk := range got {
				if strings.HasPrefix(gk, name) {
					near = append(near, fmt.Sprintf("%s %v", gk, got[gk]))
				}
			}
			t.Errorf("%s = %v (present %v), want %v; have:\n%s", k, g, ok, v, strings.Join(near, "\n"))
		}
	}
}

func shepSystem(c *exchange.Config) { c.System = "shep"; c.Attempts = 3 }

func TestExchangeMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, nil)
	env := mocktest.New(t, nil, shepSystem, m)
	m.Breakers(env.Client)
	p := persons.New(env.Client, persons.Config{SenderCode: "KOPIR"}, persons.Options{Verifier: env.PayloadVerifier})
	ctx := context.Background()
	if _, err := p.IdentityDocuments(ctx, "880101300010"); err != nil {
		t.Fatal(err)
	}
	env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultHTTP, Status: 503, Count: 1}) // retried, then answered
	if _, err := p.IdentityDocuments(ctx, "880101300010"); err != nil {
		t.Fatal(err)
	}
	env.Mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB", Count: 1})
	if _, err := p.IdentityDocuments(ctx, "880101300010"); err == nil {
		t.Fatal("a fault succeeded")
	}
	const svc = `service="GBDFL_UniversalServiceSync",system="shep"`
	got := series(t, reg)
	want(t, got, map[string]float64{
		`kopir_upstream_requests_total{outcome="ok",` + svc + `}`:                       2,
		`kopir_upstream_requests_total{outcome="fault",` + svc + `}`:                    1,
		`kopir_upstream_request_duration_seconds_count{outcome="ok",` + svc + `}`:       2,
		`kopir_upstream_retries_total{` + svc + `}`:                                     1,
		`kopir_upstream_breaker_state{system="shep"}`:                                   0,
		`kopir_build_info{revision="` + revision(got) + `",version="` + ver(got) + `"}`: 1,
	})
	for k := range got {
		if regexp.MustCompile(`\d{12}`).MatchString(k) {
			t.Errorf("a twelve-digit number in a series: %s", k)
		}
	}
}

func revision(got map[string]float64) string { return buildLabel(got, "revision") }
func ver(got map[string]float64) string      { return buildLabel(got, "version") }

func buildLabel(got map[string]float64, name string) string {
	for k := range got {
		if strings.HasPrefix(k, "kopir_build_info{") {
			m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(k)
			return m[1]
		}
	}
	return "missing"
}

type fakeVerifier struct{ err error }

func (f fakeVerifier) Verify([]byte) (*signing.Result, error) { return &signing.Result{}, f.err }

type fakeSigner struct{ err error }

func (f fakeSigner) Sign(_ context.Context, b []byte) ([]byte, error) { return b, f.err }

func TestSignatureMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, nil)
	m.InstrumentSigner(fakeSigner{}).Sign(context.Background(), nil)
	m.InstrumentSigner(fakeSigner{errors.New("hsm gone")}).Sign(context.Background(), nil)
	m.InstrumentVerifier(fakeVerifier{}).Verify(nil)
	for range 2 {
		m.InstrumentVerifier(fakeVerifier{&signing.Error{Reason: signing.ReasonDTD}}).Verify(nil)
	}
	want(t, series(t, reg), map[string]float64{
		`kopir_signature_operations_total{operation="sign",result="ok"}`:        1,
		`kopir_signature_operations_total{operation="sign",result="error"}`:     1,
		`kopir_signature_operations_total{operation="verify",result="ok"}`:      1,
		`kopir_signature_operations_total{operation="verify",result="refused"}`: 2,
		`kopir_signature_refusals_total{reason="dtd"}`:                          2,
		`kopir_signature_duration_seconds_count{operation="verify"}`:            3,
	})
}

func TestAPIAndCertificate(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, nil)
	m.APIInFlight(1)
	m.APIInFlight(1)
	m.APIInFlight(-1)
	m.APIRequest("/v1/persons/{iin}/documents", "GET", 200, 30*time.Millisecond)
	m.APIRequest("/v1/persons/{iin}/documents", "GET", 401, time.Millisecond)
	notAfter := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
	m.Certificate(&x509.Certificate{NotAfter: notAfter})
	want(t, series(t, reg), map[string]float64{
		`kopir_api_requests_in_flight{}`: 1,
		`kopir_api_requests_total{code="401",method="GET",route="/v1/persons/{iin}/documents"}`:    1,
		`kopir_api_request_duration_seconds_sum{method="GET",route="/v1/persons/{iin}/documents"}`: 0.031,
		`kopir_signing_certificate_expiry_timestamp_seconds{}`:                                     float64(notAfter.Unix()),
	})
}

func TestOutboxMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, nil)
	now := time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)
	clock := clockwork.NewFakeClockAt(now)
	ob, err := outbox.Open(context.Background(), filepath.Join(t.TempDir(), "o.db"), nil,
		outbox.Options{Clock: clock, Observer: m, Config: outbox.Config{MailOptions: report.MailOptions{From: "k@example.kz"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	m.Outbox(ob, clock.Now)
	for _, src := range []report.Source{report.SourceExchange, report.SourceBackend} {
		if _, err := ob.Accept(context.Background(), &report.Report{Source: src, System: "shep", Fault: "timeout", Error: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	clock.Advance(90 * time.Second)
	m.Delivered(&report.Incident{}, 3*time.Second)
	m.DeliveryFailed(&report.Incident{}, errors.New("451"))
	want(t, series(t, reg), map[string]float64{
		`kopir_failure_reports{state="pending"}`:                  2,
		`kopir_failure_reports{state="delivered"}`:                0,
		`kopir_failure_reports_oldest_pending_age_seconds{}`:      90,
		`kopir_failure_reports_accepted_total{source="backend"}`:  1,
		`kopir_failure_reports_accepted_total{source="exchange"}`: 1,
		`kopir_failure_report_deliveries_total{result="ok"}`:      1,
		`kopir_failure_report_deliveries_total{result="error"}`:   1,
		`kopir_failure_report_delivery_lag_seconds_sum{}`:         3,
	})
}

// TestNamesFollowConventions: with every series present, promlint (the
// Prometheus project's own linter) finds nothing.
func TestNamesFollowConventions(t *testing.T) {
	reg := exercised()
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "kopir_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	n, err := testutil.GatherAndCount(reg)
	if err != nil || n < 15 {
		t.Errorf("%d series gathered: %v", n, err)
	}
}
