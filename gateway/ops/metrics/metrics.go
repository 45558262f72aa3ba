// Package metrics is what Kopir tells Prometheus: upstream exchanges,
// signatures, failure reports, API requests, the signing certificate's
// expiry and the build. Everything is registered on a registry the caller
// owns (never the global one), and no label ever holds personal data: the
// values are systems, SHEP service ids, outcomes, reasons and route
// patterns, all bounded by configuration or code.
package metrics

import (
	"context"
	"crypto/x509"
	"errors"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/signing"
)

const namespace = "kopir"

// Buckets, shared so that dashboards can compare them.
var (
	// upstreamBuckets span a fast registry look-up to SHEP's worst.
	upstreamBuckets = []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	// cryptoBuckets span one signature on small to 100,000-element bodies.
	cryptoBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}
	// lagBuckets span "at once" to a relay down for a day.
	lagBuckets = []float64{1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}
)

// Metrics are Kopir's collectors.
type Metrics struct {
	upstreamRequests *prometheus.CounterVec
	upstreamDuration *prometheus.HistogramVec
	upstreamRetries  *prometheus.CounterVec
	signOps          *prometheus.CounterVec
	signDuration     *prometheus.HistogramVec
	refusals         *prometheus.CounterVec
	reportsAccepted  *prometheus.CounterVec
	deliveries       *prometheus.CounterVec
	deliveryLag      prometheus.Histogram
	apiRequests      *prometheus.CounterVec
	apiDuration      *prometheus.HistogramVec
	apiInFlight      prometheus.Gauge
	ncanodeCalls     *prometheus.CounterVec
	notifications    *prometheus.CounterVec
	ncanodeDuration  *prometheus.HistogramVec
	reg              prometheus.Registerer
	now              func() time.Time
}

// New registers Kopir's collectors on reg, with the Go runtime's and the
// process's, and a kopir_build_info series. now is the clock durations are
// measured by (the composition root's); nil is time.Now.
func New(reg prometheus.Registerer, now func() time.Time) *Metrics {
	if now == nil {
		now = time.Now
	}
	m := &Metrics{reg: reg, now: now}
	m.upstreamRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "upstream_requests_total",
		Help: "Exchanges with upstream systems through SHEP, by system, service id and outcome."}, []string{"system", "service", "outcome"})
	m.upstreamDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "upstream_request_duration_seconds",
		Help: "Duration of whole exchanges, retries included.", Buckets: upstreamBuckets}, []string{"system", "service", "outcome"})
	m.upstreamRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "upstream_retries_total",
		Help: "Attempts after the first, by system and service id."}, []string{"system", "service"})
	m.signOps = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "signature_operations_total",
		Help: "Transport signatures made (sign) and checked (verify), by result: ok, refused or error."}, []string{"operation", "result"})
	m.signDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "signature_duration_seconds",
		Help: "Time to sign or verify one envelope.", Buckets: cryptoBuckets}, []string{"operation"})
	m.refusals = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "signature_refusals_total",
		Help: "Envelopes whose transport signature was refused, by reason."}, []string{"reason"})
	m.reportsAccepted = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "failure_reports_accepted_total",
		Help: "Failure reports stored, by source: exchange (detected by Kopir) or backend."}, []string{"source"})
	m.deliveries = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "failure_report_deliveries_total",
		Help: "Incident mails handed to the relay (ok) or not (error)."}, []string{"result"})
	m.deliveryLag = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: namespace, Name: "failure_report_delivery_lag_seconds",
		Help: "From an incident's first report to its mail's delivery.", Buckets: lagBuckets})
	m.apiRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "api_requests_total",
		Help: "HTTP API requests, by route pattern, method and status code."}, []string{"route", "method", "code"})
	m.apiDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "api_request_duration_seconds",
		Help: "HTTP API request duration, by route pattern and method.", Buckets: upstreamBuckets}, []string{"route", "method"})
	m.apiInFlight = prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "api_requests_in_flight",
		Help: "HTTP API requests being served."})
	m.ncanodeCalls = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "ncanode_calls_total",
		Help: "Calls to NCANode (the signing back end), by API operation and outcome: ok, status_N, transport, breaker_open."},
		[]string{"operation", "outcome"})
	m.ncanodeDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: "ncanode_call_duration_seconds",
		Help: "Duration of calls to NCANode, retries included.", Buckets: upstreamBuckets}, []string{"operation"})
	m.notifications = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: "payment_notifications_total",
		Help: "Payments the payment gateway pushed, by outcome: stored, duplicate, conflict, refused, failed (not kept: the gateway must send it again)."},
		[]string{"outcome"})
	version, revision := buildVersion()
	build := prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "build_info",
		Help:        "Kopir's version; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision}})
	build.Set(1)
	reg.MustRegister(m.upstreamRequests, m.upstreamDuration, m.upstreamRetries, m.signOps, m.signDuration, m.refusals,
		m.reportsAccepted, m.deliveries, m.deliveryLag, m.apiRequests, m.apiDuration, m.apiInFlight, m.ncanodeCalls, m.ncanodeDuration, m.notifications, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func buildVersion() (version, revision string) {
	version, revision = "(devel)", "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				revision = s.Value
			}
		}
	}
	return version, revision
}

// Observe makes Metrics an exchange.Observer.
func (m *Metrics) Observe(rec *exchange.Record) {
	m.upstreamRequests.WithLabelValues(rec.System, rec.ServiceID, string(rec.Outcome)).Inc()
	m.upstreamDuration.WithLabelValues(rec.System, rec.ServiceID, string(rec.Outcome)).Observe(rec.Duration.Seconds())
	if n := rec.Retries(); n > 0 {
		m.upstreamRetries.WithLabelValues(rec.System, rec.ServiceID).Add(float64(n))
	}
}

// Signer is what Kopir signs with.
type Signer interface {
	Sign(ctx context.Context, envelope []byte) ([]byte, error)
}

// Verifier is what Kopir verifies with.
type Verifier interface {
	Verify(envelope []byte) (*signing.Result, error)
}

// InstrumentSigner counts and times s's signatures.
func (m *Metrics) InstrumentSigner(s Signer) Signer { return &signer{s, m} }

// InstrumentVerifier counts and times v's verifications, and refusals by
// reason.
func (m *Metrics) InstrumentVerifier(v Verifier) Verifier { return &verifier{v, m} }

type signer struct {
	s Signer
	m *Metrics
}

func (s *signer) Sign(ctx context.Context, env []byte) ([]byte, error) {
	start := s.m.now()
	out, err := s.s.Sign(ctx, env)
	s.m.signDuration.WithLabelValues("sign").Observe(s.m.now().Sub(start).Seconds())
	s.m.signOps.WithLabelValues("sign", result(err)).Inc()
	return out, err
}

type verifier struct {
	v Verifier
	m *Metrics
}

func (v *verifier) Verify(env []byte) (*signing.Result, error) {
	start := v.m.now()
	res, err := v.v.Verify(env)
	v.m.signDuration.WithLabelValues("verify").Observe(v.m.now().Sub(start).Seconds())
	v.m.signOps.WithLabelValues("verify", result(err)).Inc()
	var se *signing.Error
	if errors.As(err, &se) {
		v.m.refusals.WithLabelValues(string(se.Reason)).Inc()
	}
	return res, err
}

func result(err error) string {
	var se *signing.Error
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &se):
		return "refused"
	}
	return "error"
}

// Accepted, Delivered and DeliveryFailed make Metrics an outbox.Observer.
func (m *Metrics) Accepted(r *report.Report) {
	m.reportsAccepted.WithLabelValues(string(r.Source)).Inc()
}

func (m *Metrics) Delivered(_ *report.Incident, lag time.Duration) {
	m.deliveries.WithLabelValues("ok").Inc()
	m.deliveryLag.Observe(lag.Seconds())
}

func (m *Metrics) DeliveryFailed(*report.Incident, error) {
	m.deliveries.WithLabelValues("error").Inc()
}

// APIRequest records one API request; route is the pattern, never the
// path (paths hold IINs).
func (m *Metrics) APIRequest(route, method string, code int, d time.Duration) {
	m.apiRequests.WithLabelValues(route, method, codeLabel(code)).Inc()
	m.apiDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// NCANodeCall records one call to NCANode.
func (m *Metrics) NCANodeCall(operation, outcome string, d time.Duration) {
	m.ncanodeCalls.WithLabelValues(operation, outcome).Inc()
	m.ncanodeDuration.WithLabelValues(operation).Observe(d.Seconds())
}

// PaymentNotification counts a pushed payment by its outcome.
func (m *Metrics) PaymentNotification(outcome string) { m.notifications.WithLabelValues(outcome).Inc() }

// APIInFlight moves the API's in-flight gauge.
func (m *Metrics) APIInFlight(delta int) { m.apiInFlight.Add(float64(delta)) }

func codeLabel(code int) string {
	if code < 100 || code > 599 {
		return "000"
	}
	return strconv.Itoa(code)
}

// Breakers exports each client's breaker state: 0 closed, 1 half-open,
// 2 open.
func (m *Metrics) Breakers(clients ...*exchange.Client) {
	for _, c := range clients {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "upstream_breaker_state",
			Help:        "The upstream's circuit breaker: 0 closed, 1 half-open, 2 open.",
			ConstLabels: prometheus.Labels{"system": c.System()}}, func() float64 {
			switch c.BreakerState() {
			case "half-open":
				return 1
			case "open":
				return 2
			}
			return 0
		}))
	}
}

// Certificate exports the signing certificate's expiry, so an operator is
// warned weeks before the NCA certificate lapses.
func (m *Metrics) Certificate(cert *x509.Certificate) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "signing_certificate_expiry_timestamp_seconds",
		Help: "When the gateway's signing certificate expires (notAfter), as a Unix time."},
		func() float64 { return float64(cert.NotAfter.Unix()) }))
}

// MCIConfiguredUntil exports when fee checks stop: the first 1 January of
// a year without a monthly calculation index, read at each scrape.
func (m *Metrics) MCIConfiguredUntil(until func() time.Time) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: namespace, Name: "mci_configured_until_timestamp_seconds",
		Help: "The first 1 January (Kazakhstan time) of a year without a configured MCI, as a Unix time: fees cannot be computed from then."},
		func() float64 { return float64(until().Unix()) }))
}

// Stats is the outbox's state, read at scrape time.
type Stats interface {
	Stats(ctx context.Context) (outbox.Stats, error)
}

// Outbox exports the outbox's reports by state and the age of the oldest
// undelivered one, read from its database at each scrape.
func (m *Metrics) Outbox(s Stats, now func() time.Time) {
	m.reg.MustRegister(&outboxCollector{s: s, now: now})
}

var (
	reportsDesc = prometheus.NewDesc(namespace+"_failure_reports", "Failure reports stored, by state.", []string{"state"}, nil)
	oldestDesc  = prometheus.NewDesc(namespace+"_failure_reports_oldest_pending_age_seconds",
		"Age of the oldest report not yet delivered; 0 when none is waiting.", nil, nil)
)

type outboxCollector struct {
	s   Stats
	now func() time.Time
}

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) { ch <- reportsDesc; ch <- oldestDesc }

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.s.Stats(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(reportsDesc, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(reportsDesc, prometheus.GaugeValue, float64(st.Pending), string(outbox.StatePending))
	ch <- prometheus.MustNewConstMetric(reportsDesc, prometheus.GaugeValue, float64(st.Delivered), string(outbox.StateDelivered))
	ch <- prometheus.MustNewConstMetric(reportsDesc, prometheus.GaugeValue, float64(st.Refused), string(outbox.StateRefused))
	age := 0.0
	if !st.OldestPending.IsZero() {
		age = c.now().Sub(st.OldestPending).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age)
}
