// Package gateway assembles Kopir from its configuration: the signing key,
// the verifiers of each upstream's signatures, the exchanges with SHEP and
// the payment gateway, the adapters over them, the failure-report outbox,
// the HTTP API with its access rules, and the operators' side: metrics and
// health. The pieces live in its sub-packages; this one only wires them.
//
// This is the composition root: the one place that knows every room. Only
// cmd imports it. gateway/architecture_test.go holds the direction of
// imports between the rooms, and fails when a change breaks it.
package gateway

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kopir/kopir/adapters"
	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/adapters/soleproprietors"
	"github.com/kopir/kopir/config"
	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/api/access"
	"github.com/kopir/kopir/gateway/notify"
	"github.com/kopir/kopir/gateway/ops/health"
	"github.com/kopir/kopir/gateway/ops/metrics"
	"github.com/kopir/kopir/gateway/report/outbox"
	"github.com/kopir/kopir/gateway/shep/exchange"
	"github.com/kopir/kopir/gateway/shep/exchange/replay"
	"github.com/kopir/kopir/gateway/shep/ncanode"
	"github.com/kopir/kopir/signing"
)

// Options are what a Gateway takes besides its configuration.
type Options struct {
	Logger *slog.Logger
	// Getenv reads secrets named in the configuration. Default: os.Getenv.
	Getenv    func(string) string
	Observers []exchange.Observer
	// Registry receives the metrics. Default: a new registry.
	Registry *prometheus.Registry
	// Clock is the one clock every component reads the time and makes
	// its timers from. Default: the real clock.
	Clock clockwork.Clock

	replays exchange.ReplayStore // set by New
}

// Gateway is an assembled Kopir.
type Gateway struct {
	SHEP, Payments *exchange.Client
	// Outbox keeps and mails failure reports.
	Outbox *outbox.Outbox
	// Certificate is the signing certificate (its expiry matters to
	// operators).
	Certificate *x509.Certificate
	// Health answers readiness; its maintenance switch is the operators'.
	Health *health.Health
	// TLS is the API listener's TLS configuration, nil for plain HTTP.
	TLS      *tls.Config
	handler  http.Handler
	ops      http.Handler
	log      *slog.Logger
	metrics  *metrics.Metrics
	registry *prometheus.Registry
	replays  *replay.Postgres // shared by replicas, with the outbox's database
	ledger   *notify.Store    // pushed payments, in the outbox's database
	receiver *notify.Receiver
}

// New assembles a Gateway from cfg, which Load or Parse validated. It
// opens the outbox database; Run delivers its reports.
func New(ctx context.Context, cfg *config.Config, o Options) (*Gateway, error) {
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Clock == nil {
		o.Clock = clockwork.NewRealClock()
	}
	now := o.Clock.Now
	key, chain, err := cfg.Identity.Load(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	rawSigner, err := signing.NewSigner(key, chain, signing.SignerOptions{Now: now})
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	guard, err := access.New(cfg.Clients, now)
	if err != nil {
		return nil, err
	}
	g := &Gateway{Certificate: chain[0], log: o.Logger, registry: o.Registry, metrics: metrics.New(o.Registry, now)}
	if g.TLS, err = cfg.TLS.Config(); err != nil {
		return nil, fmt.Errorf("tls: %w", err)
	}
	signer := g.metrics.InstrumentSigner(rawSigner)
	if cfg.Signing.Backend == "ncanode" {
		remote, err := ncanode.New(cfg.Signing.NCANode, ncanode.Options{Getenv: o.Getenv, Clock: o.Clock, Observer: g.metrics})
		if err != nil {
			return nil, fmt.Errorf("signing.ncanode: %w", err)
		}
		// NCANode signs every request (and the readiness probe), in the
		// Smart Bridge layout configuration has checked the upstreams use.
		signer = g.metrics.InstrumentSigner(remote)
	}
	// Each upstream signs in its own layout, with the one key.
	signerFor := func(u exchange.Config) (metrics.Signer, error) {
		if u.Layout == signing.LayoutWSS4J || cfg.Signing.Backend == "ncanode" {
			return signer, nil
		}
		s, err := signing.NewSigner(key, chain, signing.SignerOptions{Now: now, Layout: u.Layout})
		if err != nil {
			return nil, fmt.Errorf("%s.layout: %w", u.System, err)
		}
		return g.metrics.InstrumentSigner(s), nil
	}
	if g.Outbox, err = newOutbox(ctx, cfg.Reports, g.metrics, o); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	o.Observers = append(o.Observers, g.metrics, g.Outbox)
	if cfg.Reports.Postgres.Set() {
		// Replicas share the outbox's database: they share the memory of
		// answers' signatures there too, or a replay refused by one would
		// be taken by another.
		url, err := cfg.Reports.DatabaseURL(o.Getenv)
		if err == nil {
			g.replays, err = replay.OpenPostgres(ctx, url)
		}
		if err != nil {
			g.Outbox.Close()
			return nil, fmt.Errorf("replay memory: %w", err)
		}
		o.replays = g.replays
	}
	shepSigner, err := signerFor(cfg.SHEP)
	if err != nil {
		g.closeStores()
		return nil, err
	}
	paySigner, err := signerFor(cfg.Payments)
	if err != nil {
		g.closeStores()
		return nil, err
	}
	if err := g.openLedger(ctx, cfg, paySigner, o); err != nil {
		g.closeStores()
		return nil, err
	}
	if g.SHEP, err = newExchange(cfg.SHEP, shepSigner, g.metrics, o); err != nil {
		g.closeStores()
		return nil, err
	}
	if g.Payments, err = newExchange(cfg.Payments, paySigner, g.metrics, o); err != nil {
		g.closeStores()
		return nil, err
	}
	g.metrics.Breakers(g.SHEP, g.Payments)
	g.metrics.Certificate(g.Certificate)
	g.metrics.Outbox(g.Outbox, now)
	g.metrics.MCIConfiguredUntil(func() time.Time { return cfg.MCI.ConfiguredUntil(now()) })
	g.Health = health.New(cfg.Ops.ReadinessCache, now, g.checks(cfg, signer, now)...)
	opsToken, err := cfg.Ops.MaintenanceToken.Resolve(o.Getenv)
	if err != nil {
		g.closeStores()
		return nil, fmt.Errorf("ops.maintenance_token: %w", err)
	}
	g.Health.SetSwitchPolicy(health.SwitchPolicy{Token: opsToken, Logger: o.Logger.With("component", "ops")})
	s := cfg.Services
	backends := api.Backends{
		SoleProprietors: soleproprietors.New(g.SHEP, soleproprietors.Config{ServiceID: s.SoleProprietors}),
		Payments: payments.New(g.Payments, payments.Config{PayerService: s.PaymentsByPayer, StatusService: s.PaymentByID,
			MCI: cfg.MCI, Now: now, Ledger: g.ledger, Source: s.PaymentSource, KBK: s.PaymentKBK}),
		Reports: g.Outbox,
	}
	if err := g.payloadAdapters(cfg, &backends, o); err != nil {
		g.closeStores()
		return nil, err
	}
	apiHandler := api.New(backends, api.Options{Logger: o.Logger.With("component", "api"), UploadLimit: cfg.Reports.MaxUploadBytes,
		Guard: guardOrNil(guard, cfg), Observer: g.metrics, Now: now})
	// The payment gateway pushes payments here, authenticated by its
	// transport signature rather than an API key.
	mux := http.NewServeMux()
	mux.Handle(NotifyPath, g.receiver)
	mux.Handle("/", apiHandler)
	g.handler = mux
	if len(cfg.Clients) == 0 {
		o.Logger.Warn("allow_anonymous: the API serves anyone; for development only")
	}
	ops := http.NewServeMux()
	ops.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{Registry: o.Registry}))
	ops.Handle("/", g.Health.Handler())
	g.ops = ops
	return g, nil
}

// payloadAdapters assembles the adapters of services that sign their
// payloads (GBD UL, GBD FL): the organisation's signing key for requests,
// the services' trust for answers.
func (g *Gateway) payloadAdapters(cfg *config.Config, b *api.Backends, o Options) error {
	var orgSigner *signing.Signer
	if cfg.PayloadSigningSet() {
		key, chain, err := cfg.PayloadSigning.Load(o.Getenv)
		if err == nil {
			orgSigner, err = signing.NewSigner(key, chain, signing.SignerOptions{Now: o.Clock.Now})
		}
		if err != nil {
			return fmt.Errorf("payload_signing: %w", err)
		}
	}
	verifier := func(section string, trust, pinned []string) (*signing.Verifier, error) {
		u := cfg.SHEP
		if len(trust)+len(pinned) > 0 {
			u.Trust, u.Pinned = trust, pinned
		}
		policy, err := u.Policy()
		if err != nil {
			return nil, fmt.Errorf("%s.%w", section, err)
		}
		policy.Now = o.Clock.Now
		v, err := signing.NewVerifier(policy)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", section, err)
		}
		return v, nil
	}
	fl := cfg.Services.Persons
	flv, err := verifier("services.persons", fl.Trust, fl.Pinned)
	if err != nil {
		return err
	}
	b.Persons = persons.New(g.SHEP, fl, persons.Options{Verifier: flv, Signer: orgSignerOrNil(orgSigner), Now: o.Clock.Now})
	if orgSigner == nil {
		o.Logger.Warn("payload_signing is not set: legal-entity lookups (GBD UL) answer 503 until it is")
		return nil
	}
	ul := cfg.Services.LegalEntities
	if ul.RequestorBIN == "" {
		if ul.RequestorBIN = signing.IdentityOf(orgSigner.Certificate()).BIN; ul.RequestorBIN == "" {
			return errors.New("services.legal_entities.requestor_bin: required, the payload signing certificate names no BIN")
		}
	}
	ulv, err := verifier("services.legal_entities", ul.Trust, ul.Pinned)
	if err != nil {
		return err
	}
	b.LegalEntities = legalentities.New(g.SHEP, orgSigner, ulv, ul)
	return nil
}

// orgSignerOrNil keeps a nil signer a nil interface.
func orgSignerOrNil(s *signing.Signer) adapters.Signer {
	if s == nil {
		return nil
	}
	return s
}

// guardOrNil keeps a nil Guard a nil interface when the API is anonymous.
func guardOrNil(a *access.Access, cfg *config.Config) api.Guard {
	if len(cfg.Clients) == 0 && cfg.AllowAnonymous {
		return nil
	}
	return a
}

// checks are the readiness conditions.
func (g *Gateway) checks(cfg *config.Config, signer metrics.Signer, now func() time.Time) []health.Check {
	minValid := cfg.Ops.CertificateMinValidity
	checks := []health.Check{
		{Name: "signing_key", Run: func(ctx context.Context) (string, error) {
			// Sign for real: a key in an HSM or behind a PIN can be
			// loaded and still unusable.
			if _, err := signer.Sign(ctx, probeEnvelope); err != nil {
				return "", fmt.Errorf("cannot sign: %w", err)
			}
			return "signs", nil
		}},
		{Name: "signing_certificate", Run: func(context.Context) (string, error) {
			c, t := g.Certificate, now()
			left := c.NotAfter.Sub(t)
			switch {
			case t.Before(c.NotBefore):
				return "", fmt.Errorf("not valid before %s", c.NotBefore.Format(time.RFC3339))
			case left < minValid:
				return "", fmt.Errorf("expires %s, in less than %s", c.NotAfter.Format(time.RFC3339), minValid)
			}
			return fmt.Sprintf("valid until %s", c.NotAfter.Format(time.RFC3339)), nil
		}},
		// Fees stop on the first 1 January without an MCI: said a month
		// ahead, never discovered by a failing fee check. Informational:
		// everything else still works.
		{Name: "mci", Informational: true, Run: func(context.Context) (string, error) {
			t := now()
			until := cfg.MCI.ConfiguredUntil(t)
			switch left := until.Sub(t); {
			case left <= 0:
				return "", fmt.Errorf("no MCI for %d: fee checks fail; add mci.%d from the budget law", until.Year(), until.Year())
			case left < MCIWarning:
				return "", fmt.Errorf("no MCI for %d, which begins in %s: add mci.%d from the budget law", until.Year(),
					left.Round(time.Hour), until.Year())
			}
			return fmt.Sprintf("configured until %s", until.Format(time.DateOnly)), nil
		}},
		{Name: "database", Run: func(ctx context.Context) (string, error) {
			if err := g.Outbox.Ping(ctx); err != nil {
				return "", err
			}
			return "answers", nil
		}},
	}
	for _, c := range []*exchange.Client{g.SHEP, g.Payments} {
		checks = append(checks, health.Check{Name: "breaker_" + c.System(), Informational: !cfg.Ops.BreakersAffectReadiness,
			Run: func(context.Context) (string, error) {
				if st := c.BreakerState(); st != "closed" {
					return "", fmt.Errorf("breaker %s", st)
				}
				return "closed", nil
			}})
	}
	return checks
}

var probeEnvelope = []byte(`<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><probe/></soap:Body></soap:Envelope>`)

// Handler is the HTTP API.
func (g *Gateway) Handler() http.Handler { return g.handler }

// OpsHandler is the operators' listener: /metrics, /healthz, /readyz,
// /maintenance.
func (g *Gateway) OpsHandler() http.Handler { return g.ops }

// Run delivers failure reports until ctx ends.
func (g *Gateway) Run(ctx context.Context) error {
	err := g.Outbox.Run(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// Drain delivers the reports that are due, for a graceful shutdown; what
// it cannot deliver before ctx ends stays stored for the next start.
func (g *Gateway) Drain(ctx context.Context) error {
	err := g.Outbox.Drain(ctx)
	if err != nil {
		g.log.Warn("outbox not drained; undelivered reports stay stored", "error", err)
	}
	return err
}

// Close releases the exchanges' connections and the outbox database.
func (g *Gateway) Close() {
	g.SHEP.Close()
	g.Payments.Close()
	g.closeStores()
}

// closeStores closes the databases New opened.
func (g *Gateway) closeStores() {
	g.Outbox.Close()
	if g.replays != nil {
		g.replays.Close()
	}
	if g.ledger != nil {
		g.ledger.Close()
	}
}

// MCIWarning is how long before a year without an MCI readiness says so:
// from 1 December.
const MCIWarning = 31 * 24 * time.Hour

// NotifyPath is where the payment gateway pushes notificationPayment, on
// the API's listener.
const NotifyPath = "POST /payments/notify"

// openLedger opens the store of pushed payments, in the outbox's database,
// and the receiver that fills it, checking pushes against the payments
// section's trust.
func (g *Gateway) openLedger(ctx context.Context, cfg *config.Config, signer metrics.Signer, o Options) error {
	database, err := cfg.Reports.DatabaseURL(o.Getenv)
	if err != nil {
		return fmt.Errorf("reports.postgres: %w", err)
	}
	if g.ledger, err = notify.Open(ctx, database); err != nil {
		return err
	}
	policy, err := cfg.Payments.Policy()
	if err != nil {
		return fmt.Errorf("payments.%w", err)
	}
	policy.Now = o.Clock.Now
	v, err := signing.NewVerifier(policy)
	if err != nil {
		return fmt.Errorf("payments: %w", err)
	}
	g.receiver = notify.NewReceiver(g.ledger, g.metrics.InstrumentVerifier(v), notify.Options{Signer: signer,
		Logger: o.Logger, Now: o.Clock.Now, Observe: g.metrics.PaymentNotification})
	return nil
}

func newOutbox(ctx context.Context, r outbox.Config, obs outbox.Observer, o Options) (*outbox.Outbox, error) {
	sender, err := outbox.NewSMTP(r.SMTP, o.Getenv)
	if err != nil {
		return nil, err
	}
	database, err := r.DatabaseURL(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if !r.Postgres.Set() {
		if err := os.MkdirAll(filepath.Dir(database), 0o700); err != nil {
			return nil, err
		}
	}
	return outbox.Open(ctx, database, sender, outbox.Options{Config: r,
		Logger: o.Logger.With("component", "outbox"), Observer: obs, Clock: o.Clock})
}

func newExchange(u exchange.Config, signer metrics.Signer, m *metrics.Metrics, o Options) (*exchange.Client, error) {
	policy, err := u.Policy()
	if err != nil {
		return nil, fmt.Errorf("%s.%w", u.System, err)
	}
	policy.Now = o.Clock.Now
	verifier, err := signing.NewVerifier(policy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", u.System, err)
	}
	return exchange.New(u, signer, m.InstrumentVerifier(verifier),
		exchange.Options{Logger: o.Logger.With("component", "exchange"), Observers: o.Observers, Getenv: o.Getenv, Clock: o.Clock,
			Replays: o.replays})
}
