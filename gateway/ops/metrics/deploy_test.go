package metrics

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/signing"
)

type noStats struct{}

func (noStats) Stats(context.Context) (outbox.Stats, error) { return outbox.Stats{}, nil }

// exercised is a registry on which every Kopir series has a value.
func exercised() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	m := New(reg, nil)
	m.Observe(&exchange.Record{System: "shep", ServiceID: "S", Outcome: exchange.OutcomeOK, Steps: make([]exchange.Step, 2)})
	m.InstrumentSigner(fakeSigner{}).Sign(context.Background(), nil)
	m.InstrumentVerifier(fakeVerifier{&signing.Error{Reason: signing.ReasonDTD}}).Verify(nil)
	m.Accepted(&report.Report{Source: report.SourceBackend})
	m.Delivered(&report.Incident{}, time.Second)
	m.APIRequest("/openapi.json", "GET", 200, time.Millisecond)
	m.APIInFlight(0)
	m.PaymentNotification("stored")
	m.MCIConfiguredUntil(time.Now)
	m.Certificate(&x509.Certificate{})
	m.Outbox(noStats{}, time.Now)
	return reg
}

// exported are the names Kopir exports, histogram series included.
func exported(t *testing.T) map[string]bool {
	mfs, err := exercised().Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
		if mf.GetType() == dto.MetricType_HISTOGRAM {
			for _, s := range []string{"_bucket", "_count", "_sum"} {
				names[mf.GetName()+s] = true
			}
		}
	}
	names["kopir_upstream_breaker_state"] = true // registered per client by Breakers
	return names
}

// TestDeployNamesExist: the shipped alert rules and dashboard query only
// series Kopir exports, so a rename cannot silently blind them.
func TestDeployNamesExist(t *testing.T) {
	names := exported(t)
	files, _ := filepath.Glob("../../../deploy/*/*")
	if len(files) < 3 {
		t.Fatalf("deploy files: %v", files)
	}
	used := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(f, ".json") {
			var d struct {
				Panels []struct {
					Title   string
					Targets []struct{ Expr string }
				}
			}
			if err := json.Unmarshal(b, &d); err != nil || len(d.Panels) == 0 {
				t.Fatalf("%s: %v", f, err)
			}
			for _, p := range d.Panels {
				if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
					t.Errorf("%s: panel %q has no query", f, p.Title)
				}
			}
		}
		if strings.Contains(f, ".test.") {
			continue // test inputs name series freely
		}
		for _, n := range regexp.MustCompile(`kopir_[a-z_]+`).FindAllString(string(b), -1) {
			used[n] = true
			if !names[n] {
				t.Errorf("%s queries %s, which Kopir does not export", f, n)
			}
		}
	}
	for _, must := range []string{"kopir_signing_certificate_expiry_timestamp_seconds", "kopir_failure_reports_oldest_pending_age_seconds",
		"kopir_upstream_requests_total", "kopir_upstream_breaker_state"} {
		if !used[must] {
			t.Errorf("nothing in deploy/ watches %s", must)
		}
	}
}
