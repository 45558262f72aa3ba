// Package mocktest starts a mock SHEP (or payment gateway) in-process, with
// development keys and an exchange client that trusts it, for tests of
// code that calls state systems — as net/http/httptest does for HTTP.
package mocktest

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kopir/kopir/gateway/shep/exchange"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
)

// Env is a running mock and a client for it.
type Env struct {
	Mock   *shepmock.Server
	Client *exchange.Client
	URL    string
	// PayloadSigner is the organisation's signing key (apart from the
	// client's transport key), whose payload signatures the mock checks;
	// PayloadVerifier trusts the mock's payload signatures.
	PayloadSigner   *signing.Signer
	PayloadVerifier *signing.Verifier

	mu   sync.Mutex
	last []byte
}

// LastRequest is the last request the mock received, as it came off the
// wire.
func (e *Env) LastRequest() []byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.last
}

var (
	once                sync.Once
	ca                  *devpki.CA
	gatewayKey, mockKey *devpki.Leaf
	orgKey              *devpki.Leaf
	pkiErr              error
)

// keys are ECDSA: quick to make, and the signing tests cover RSA.
func keys() error {
	once.Do(func() {
		if ca, pkiErr = devpki.NewCA(devpki.ECDSAP256); pkiErr != nil {
			return
		}
		if gatewayKey, pkiErr = ca.Issue(devpki.ECDSAP256, devpki.GatewaySubject, time.Time{}, time.Time{}); pkiErr != nil {
			return
		}
		if mockKey, pkiErr = ca.Issue(devpki.ECDSAP256, devpki.MockSHEPSubject, time.Time{}, time.Time{}); pkiErr != nil {
			return
		}
		// RSA, so that xmlsec1 (which has no GOST) can check the
		// payload signatures it makes.
		orgKey, pkiErr = ca.Issue(devpki.RSA2048, devpki.OrganisationSubject, time.Time{}, time.Time{})
	})
	return pkiErr
}

// New starts a mock answering from fixtures (nil: the mock SHEP's default
// set) and a client with fast retries; tune adjusts the client's config,
// observers receive its records. Both stop when the test ends.
func New(t testing.TB, fixtures *shepmock.Fixtures, tune func(*exchange.Config), observers ...exchange.Observer) *Env {
	t.Helper()
	if err := keys(); err != nil {
		t.Fatal(err)
	}
	sign := func(l *devpki.Leaf) *signing.Signer {
		s, err := signing.NewSigner(l.Key, l.Chain, signing.SignerOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{ca.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	mock, err := shepmock.New(shepmock.Config{Signer: sign(mockKey), Verifier: v, Fixtures: fixtures})
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{Mock: mock}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, err := io.ReadAll(io.LimitReader(r.Body, 16<<20)); err == nil {
			env.mu.Lock()
			env.last = b
			env.mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
		}
		mock.ServeHTTP(w, r)
	}))
	cfg := exchange.Config{URL: srv.URL, SenderID: "kopir-test", Timeout: 2 * time.Second, Attempts: 2,
		BackoffMin: time.Millisecond, BackoffMax: 2 * time.Millisecond}
	if tune != nil {
		tune(&cfg)
	}
	client, err := exchange.New(cfg, sign(gatewayKey), v, exchange.Options{Observers: observers})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		mock.Close()
		client.Close()
		srv.Close()
	})
	env.Client, env.URL, env.PayloadSigner, env.PayloadVerifier = client, srv.URL, sign(orgKey), v
	return env
}

// FaultCase is an injected fault and the exchange error it must become.
type FaultCase struct {
	Name string
	Rule shepmock.FaultRule
	Kind exchange.Kind
	// Class is the error's class: only system failures are reported.
	Class exchange.Class
}

// FaultCases are the mock's fault kinds, for adapters to check that every
// one surfaces as the typed exchange error. Timeouts use the client's
// attempt timeout: tune it short (see FastTimeout).
var FaultCases = []FaultCase{
	{"http 503", shepmock.FaultRule{Kind: shepmock.FaultHTTP}, exchange.OutcomeHTTP, exchange.ClassSystem},
	{"soap fault", shepmock.FaultRule{Kind: shepmock.FaultSOAP, Code: "E_DB"}, exchange.OutcomeFault, exchange.ClassSystem},
	{"client fault", shepmock.FaultRule{Kind: shepmock.FaultSOAP, FaultCode: "Client", Code: "BAD_REQUEST"}, exchange.OutcomeBusiness, exchange.ClassBusiness},
	{"unsigned", shepmock.FaultRule{Kind: shepmock.FaultUnsigned}, exchange.OutcomeSignature, exchange.ClassSystem},
	{"bad signature", shepmock.FaultRule{Kind: shepmock.FaultBadSig}, exchange.OutcomeSignature, exchange.ClassSystem},
	{"reset", shepmock.FaultRule{Kind: shepmock.FaultReset}, exchange.OutcomeTransport, exchange.ClassSystem},
	{"timeout", shepmock.FaultRule{Kind: shepmock.FaultTimeout}, exchange.OutcomeTimeout, exchange.ClassSystem},
	// The real wire's (protocol.md §3–4): a signed error status, an
	// unsigned fault, a proxy's HTML 500, an answer to another request.
	{"error status", shepmock.FaultRule{Kind: shepmock.FaultStatus, Code: "SE_GBD_DOWN", Message: "down"}, exchange.OutcomeStatus, exchange.ClassSystem},
	{"unsigned fault", shepmock.FaultRule{Kind: shepmock.FaultUnsignedFault, Code: "999", Message: "Service not found"}, exchange.OutcomeFault, exchange.ClassSystem},
	{"html 500", shepmock.FaultRule{Kind: shepmock.FaultHTML}, exchange.OutcomeHTTP, exchange.ClassSystem},
	{"unbound", shepmock.FaultRule{Kind: shepmock.FaultUnbound}, exchange.OutcomeUnbound, exchange.ClassSystem},
}

// FastTimeout tunes a client so that FaultCases' timeout ends quickly.
func FastTimeout(c *exchange.Config) { c.Timeout = 150 * time.Millisecond }

// CheckFaults calls call against a mock answering from fixtures (nil: the
// default set) with each of FaultCases injected, and checks the error is
// the case's typed exchange error: its kind, and its class, which decides
// whether a failure report is made.
func CheckFaults(t *testing.T, fixtures *shepmock.Fixtures, call func(ctx context.Context, c *exchange.Client) error) {
	t.Helper()
	for _, fc := range FaultCases {
		t.Run(fc.Name, func(t *testing.T) {
			env := New(t, fixtures, FastTimeout)
			if err := env.Mock.AddFault(fc.Rule); err != nil {
				t.Fatal(err)
			}
			err := call(context.Background(), env.Client)
			var e *exchange.Error
			if !errors.As(err, &e) || e.Kind != fc.Kind || e.Class != fc.Class {
				t.Fatalf("err = %v, want kind %s, class %s", err, fc.Kind, fc.Class)
			}
		})
	}
}
