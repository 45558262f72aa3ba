// Command kopirload is Kopir's load harness. It starts, in one process, a
// mock SHEP and the gateway's HTTP API over it, and drives three loads in
// the same run, so that the shared machine's noise hits them alike:
//
//   - baseline: the signed SHEP exchange alone (exchange.Client.Do), what
//     no API call can avoid;
//   - api: GET /v1/legal-entities/{bin} over loopback HTTP, with an API
//     key: admission, rate accounting, adapter, exchange, JSON, metrics;
//   - api-failing: the same with a share of exchanges failing at the mock,
//     each failure stored as a report in a SQLite outbox.
//
// It prints throughput and latency for each, and each against the
// baseline, as a Markdown table for BENCHMARKS.md.
package main

import (
	"context"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/api/access"
	"github.com/kopir/kopir/gateway/ops/metrics"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

func main() {
	duration := flag.Duration("duration", 10*time.Second, "how long each load runs")
	workers := flag.Int("c", 8, "concurrent callers")
	failShare := flag.Float64("fail", 0.1, "share of exchanges failing in the api-failing load")
	flag.Parse()
	if err := run(os.Stdout, *duration, *workers, *failShare); err != nil {
		log.Fatal(err)
	}
}

type stats struct {
	name      string
	calls     int
	errors    int
	latencies []time.Duration
	elapsed   time.Duration
}

func (s *stats) rate() float64 { return float64(s.calls) / s.elapsed.Seconds() }

func (s *stats) quantile(q float64) time.Duration {
	if len(s.latencies) == 0 {
		return 0
	}
	return s.latencies[int(q*float64(len(s.latencies)-1))]
}

// drive calls f from workers goroutines for d.
func drive(name string, d time.Duration, workers int, f func() error) *stats {
	var (
		mu  sync.Mutex
		all = &stats{name: name}
		wg  sync.WaitGroup
	)
	stop := time.Now().Add(d)
	start := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var lat []time.Duration
			errs := 0
			for time.Now().Before(stop) {
				t := time.Now()
				if f() != nil {
					errs++
				}
				lat = append(lat, time.Since(t))
			}
			mu.Lock()
			all.latencies = append(all.latencies, lat...)
			all.errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	all.elapsed = time.Since(start)
	all.calls = len(all.latencies)
	slices.Sort(all.latencies)
	return all
}

func run(w io.Writer, d time.Duration, workers int, failShare float64) error {
	ca, err := devpki.NewCA(devpki.RSA2048)
	if err != nil {
		return err
	}
	gw, err := ca.Issue(devpki.RSA2048, devpki.GatewaySubject, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	mk, err := ca.Issue(devpki.RSA2048, devpki.MockSHEPSubject, time.Time{}, time.Time{})
	if err != nil {
		return err
	}
	gwSigner, err := signing.NewSigner(gw.Key, gw.Chain, signing.SignerOptions{})
	if err != nil {
		return err
	}
	mkSigner, err := signing.NewSigner(mk.Key, mk.Chain, signing.SignerOptions{})
	if err != nil {
		return err
	}
	verifier, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{ca.Cert}})
	if err != nil {
		return err
	}
	mock, err := shepmock.New(shepmock.Config{Signer: mkSigner, Verifier: verifier})
	if err != nil {
		return err
	}
	defer mock.Close()
	shep := httptest.NewServer(mock)
	defer shep.Close()

	dir, err := os.MkdirTemp("", "kopirload")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ob, err := outbox.Open(context.Background(), filepath.Join(dir, "outbox.db"), nil,
		outbox.Options{Config: outbox.Config{MailOptions: report.MailOptions{From: "kopir@load.test"}}})
	if err != nil {
		return err
	}
	defer ob.Close()
	m := metrics.New(prometheus.NewRegistry(), nil)
	client, err := exchange.New(exchange.Config{System: "shep", URL: shep.URL, SenderID: "load", Timeout: 10 * time.Second,
		Attempts: 1, Breaker: exchange.BreakerConfig{Failures: 1 << 30}},
		m.InstrumentSigner(gwSigner), m.InstrumentVerifier(verifier), exchange.Options{Observers: []exchange.Observer{m, ob}})
	if err != nil {
		return err
	}
	defer client.Close()
	// GBD UL as it is: the request signed by the organisation's key (the
	// gateway's, here), the answer's payload signature checked.
	le := legalentities.New(client, gwSigner, verifier, legalentities.Config{RequestorBIN: "260110000120"})
	key, sum := access.NewKey()
	guard, err := access.New([]access.Client{{Name: "load", KeySHA256: []string{sum}, Allow: []string{access.RightAll}, Rate: 1e9, Burst: 1 << 20}}, nil)
	if err != nil {
		return err
	}
	srv := httptest.NewServer(api.New(api.Backends{LegalEntities: le, Reports: ob}, api.Options{Guard: guard, Observer: m}))
	defer srv.Close()
	httpClient := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers * 2}}
	get := func() error {
		req, _ := http.NewRequest("GET", srv.URL+"/v1/legal-entities/050340000108", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set(api.HeaderApplicationID, "KZ-LIC-LOAD")
		resp, err := httpClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	ctx := context.Background()
	// Warm up connections, caches and the JIT-less runtime's pools.
	drive("warm-up", d/5, workers, func() error { _, err := le.LegalEntity(ctx, "050340000108"); return err })

	base := drive("baseline: exchange.Client.Do", d, workers, func() error {
		_, err := le.LegalEntity(ctx, "050340000108")
		return err
	})
	apiLoad := drive("api: GET /v1/legal-entities/{bin}", d, workers, get)
	var reported atomic.Int64
	if err := mock.AddFault(shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_LOAD", Probability: failShare}); err != nil {
		return err
	}
	failing := drive(fmt.Sprintf("api-failing: %.0f%% system failures, each reported", failShare*100), d, workers, func() error {
		err := get()
		if err != nil {
			reported.Add(1)
		}
		return nil
	})
	st, err := ob.Stats(ctx)
	if err != nil {
		return err
	}

	fmt.Fprintf(w, "### load (baseline: the signed exchange alone; %d callers, %s each, one process) — %s\n\n", workers, d, time.Now().Format(time.DateOnly))
	fmt.Fprintln(w, "| load | calls/s | × baseline | p50 | p99 | errors |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, s := range []*stats{base, apiLoad, failing} {
		errs := s.errors
		if s == failing {
			errs = int(reported.Load())
		}
		fmt.Fprintf(w, "| %s | %.0f | %.2f× | %s | %s | %d |\n", s.name, s.rate(), s.rate()/base.rate(),
			s.quantile(0.5).Round(10*time.Microsecond), s.quantile(0.99).Round(10*time.Microsecond), errs)
	}
	fmt.Fprintf(w, "\nReports stored by the failing load: %d (pending %d); every failed call stored one: %v.\n",
		st.Pending, st.Pending, int64(st.Pending) == reported.Load())
	return nil
}
