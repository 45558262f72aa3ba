// Package gateway assembles Kopir from its configuration: the signing key,
// the verifiers of each upstream's signatures, the exchanges with SHEP and
// the payment gateway, the adapters over them, and the HTTP API. The
// pieces live in its sub-packages; this one only wires them.
package gateway

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/kopir/kopir/adapters/legalentities"
	"github.com/kopir/kopir/adapters/payments"
	"github.com/kopir/kopir/adapters/persons"
	"github.com/kopir/kopir/adapters/soleproprietors"
	"github.com/kopir/kopir/config"
	"github.com/kopir/kopir/gateway/api"
	"github.com/kopir/kopir/gateway/exchange"
	"github.com/kopir/kopir/gateway/outbox"
	"github.com/kopir/kopir/gateway/report"
	"github.com/kopir/kopir/signing"
)

// Options are what a Gateway takes besides its configuration.
type Options struct {
	Logger *slog.Logger
	// Getenv reads secrets named in the configuration. Default: os.Getenv.
	Getenv    func(string) string
	Observers []exchange.Observer
}

// Gateway is an assembled Kopir.
type Gateway struct {
	SHEP, Payments *exchange.Client
	// Outbox keeps and mails failure reports.
	Outbox *outbox.Outbox
	// Certificate is the signing certificate (its expiry matters to
	// operators).
	Certificate *x509.Certificate
	handler     http.Handler
	log         *slog.Logger
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
	key, chain, err := loadIdentity(cfg.Identity, o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	signer, err := signing.NewSigner(key, chain, signing.SignerOptions{})
	if err != nil {
		return nil, fmt.Errorf("identity: %w", err)
	}
	g := &Gateway{Certificate: chain[0], log: o.Logger}
	if g.Outbox, err = newOutbox(ctx, cfg.Reports, o); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	o.Observers = append(o.Observers, g.Outbox)
	if g.SHEP, err = newExchange("shep", cfg.SHEP, signer, o); err != nil {
		g.Outbox.Close()
		return nil, err
	}
	if g.Payments, err = newExchange("payments", cfg.Payments, signer, o); err != nil {
		g.Outbox.Close()
		return nil, err
	}
	s := cfg.Services
	g.handler = api.New(api.Backends{
		LegalEntities:   legalentities.New(g.SHEP, legalentities.Config{ServiceID: s.LegalEntities}),
		SoleProprietors: soleproprietors.New(g.SHEP, soleproprietors.Config{ServiceID: s.SoleProprietors}),
		Persons:         persons.New(g.SHEP, persons.Config{ServiceID: s.Persons}),
		Payments: payments.New(g.Payments, payments.Config{PayerService: s.PaymentsByPayer, StatusService: s.PaymentByID,
			MCI: payments.MCITable(cfg.MCI)}),
		Reports: g.Outbox,
	}, api.Options{Logger: o.Logger.With("component", "api"), UploadLimit: cfg.Reports.MaxUploadBytes})
	return g, nil
}

// Handler is the HTTP API.
func (g *Gateway) Handler() http.Handler { return g.handler }

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
	g.Outbox.Close()
}

func newOutbox(ctx context.Context, r config.Reports, o Options) (*outbox.Outbox, error) {
	password, err := r.SMTP.Password.Resolve(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("smtp.password: %w", err)
	}
	var tlsConfig *tls.Config
	if r.SMTP.CA != "" {
		cas, err := signing.LoadCertificates(r.SMTP.CA)
		if err != nil {
			return nil, fmt.Errorf("smtp.ca: %w", err)
		}
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: x509.NewCertPool()}
		for _, c := range cas {
			tlsConfig.RootCAs.AddCert(c)
		}
	}
	sender, err := outbox.NewSMTP(outbox.SMTPConfig{Host: r.SMTP.Host, Port: r.SMTP.Port, TLS: r.SMTP.TLS, Username: r.SMTP.Username,
		Password: password, TLSConfig: tlsConfig, Timeout: time.Duration(r.SMTP.Timeout), HELO: r.SMTP.HELO})
	if err != nil {
		return nil, err
	}
	if dir := filepath.Dir(r.Database); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, err
		}
	}
	return outbox.Open(ctx, r.Database, sender, outbox.Options{
		Mail: report.MailOptions{From: r.From, To: r.To, MaxEvidence: r.MaxEvidence},
		Hold: time.Duration(r.Hold), Window: time.Duration(r.Window),
		BackoffMin: time.Duration(r.BackoffMin), BackoffMax: time.Duration(r.BackoffMax),
		SendTimeout: time.Duration(r.SMTP.Timeout), Logger: o.Logger.With("component", "outbox"),
	})
}

func loadIdentity(id config.Identity, getenv func(string) string) (crypto.Signer, []*x509.Certificate, error) {
	if id.P12 != "" {
		pw, err := id.P12Password.Resolve(getenv)
		if err != nil {
			return nil, nil, err
		}
		return signing.LoadPKCS12(id.P12, pw)
	}
	return signing.LoadKeyPair(id.Key, id.Cert)
}

func loadAll(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		certs, err := signing.LoadCertificates(p)
		if err != nil {
			return nil, err
		}
		out = append(out, certs...)
	}
	return out, nil
}

func newExchange(name string, u config.Upstream, signer *signing.Signer, o Options) (*exchange.Client, error) {
	roots, err := loadAll(u.Trust)
	if err != nil {
		return nil, fmt.Errorf("%s.trust: %w", name, err)
	}
	pinned, err := loadAll(u.Pinned)
	if err != nil {
		return nil, fmt.Errorf("%s.pinned: %w", name, err)
	}
	verifier, err := signing.NewVerifier(signing.Policy{Roots: roots, Pinned: pinned, ClockSkew: time.Duration(u.ClockSkew)})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	password, err := u.Password.Resolve(o.Getenv)
	if err != nil {
		return nil, fmt.Errorf("%s.password: %w", name, err)
	}
	var tlsConfig *tls.Config
	if u.TLS.CA != "" || u.TLS.ClientCert != "" {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if u.TLS.CA != "" {
			cas, err := signing.LoadCertificates(u.TLS.CA)
			if err != nil {
				return nil, fmt.Errorf("%s.tls.ca: %w", name, err)
			}
			tlsConfig.RootCAs = x509.NewCertPool()
			for _, c := range cas {
				tlsConfig.RootCAs.AddCert(c)
			}
		}
		if u.TLS.ClientCert != "" {
			pair, err := tls.LoadX509KeyPair(u.TLS.ClientCert, u.TLS.ClientKey)
			if err != nil {
				return nil, fmt.Errorf("%s.tls: %w", name, err)
			}
			tlsConfig.Certificates = []tls.Certificate{pair}
		}
	}
	return exchange.New(exchange.Config{
		System: name, URL: u.URL, SenderID: u.SenderID, Password: password,
		Timeout: time.Duration(u.Timeout), Attempts: u.Attempts,
		BackoffMin: time.Duration(u.BackoffMin), BackoffMax: time.Duration(u.BackoffMax),
		MaxResponseBytes: u.MaxResponseBytes, DataMode: u.DataMode, Faults: u.Faults,
		Breaker: exchange.BreakerConfig{Failures: u.Breaker.Failures, OpenFor: time.Duration(u.Breaker.OpenFor), Probes: u.Breaker.Probes},
		TLS:     tlsConfig,
	}, signer, verifier, exchange.Options{Logger: o.Logger.With("component", "exchange"), Observers: o.Observers})
}
