package ncanode_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/kopir/kopir/config/field"
	"github.com/kopir/kopir/gateway/shep/breaker"
	"github.com/kopir/kopir/gateway/shep/ncanode"
	ncanodemock "github.com/kopir/kopir/mocks/ncanode"
	"github.com/kopir/kopir/signing"
)

const (
	p12     = "../../../signing/pkcs12/testdata/nca-gost2015.p12"
	caFile  = "../../../signing/gost/testdata/nca/ca-gost2015.der"
	request = `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><x>1</x></soapenv:Body></soapenv:Envelope>`
)

// during is a moment the NCA test key's certificate was valid.
var during = time.Date(2023, 1, 10, 9, 0, 0, 0, time.UTC)

type calls struct {
	mu  sync.Mutex
	got []string
}

func (c *calls) NCANodeCall(op, outcome string, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, op+" "+outcome)
}

func setup(t *testing.T, cfg ncanode.Config) (*ncanode.Client, *ncanodemock.Server, *calls, *clockwork.FakeClock) {
	t.Helper()
	fake := ncanodemock.New(func() time.Time { return during })
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	cfg.URL, cfg.Key, cfg.Password = srv.URL+"/", p12, field.Secret{Env: "PW"}
	if cfg.BackoffMin == 0 {
		cfg.BackoffMin, cfg.BackoffMax = time.Millisecond, 2*time.Millisecond
	}
	obs := &calls{}
	clk := clockwork.NewFakeClockAt(during)
	c, err := ncanode.New(cfg, ncanode.Options{Getenv: func(string) string { return "Aa123456" }, Clock: clk, Observer: obs})
	if err != nil {
		t.Fatal(err)
	}
	return c, fake, obs, clk
}

func verifier(t *testing.T) *signing.Verifier {
	der, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(der)
	v, err := signing.NewVerifier(signing.Policy{Roots: []*x509.Certificate{ca}, Required: []signing.Part{signing.PartBody},
		Now: func() time.Time { return during }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestSignThroughNCANode: NCANode's API signs an envelope in the Smart
// Bridge layout and a payload enveloped, with the NCA's GOST key; both
// verify against the NCA test CA, and NCANode's own verification agrees.
func TestSignThroughNCANode(t *testing.T) {
	c, fake, obs, _ := setup(t, ncanode.Config{})
	ctx := context.Background()
	signed, err := c.Sign(ctx, []byte(request))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(signed), "KeyIdentifier") || !strings.Contains(string(signed), signing.GOST2015_512) {
		t.Fatalf("signed: %s", signed)
	}
	if _, err := verifier(t).Verify(signed); err != nil {
		t.Fatal(err)
	}
	payload, err := c.SignEnveloped(ctx, []byte(`<Request xmlns="urn:x"><BIN>121140000109</BIN></Request>`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verifier(t).VerifyEnveloped(payload); err != nil {
		t.Fatal(err)
	}
	v, err := c.Verify(ctx, signed)
	if err != nil || !v.Valid || len(v.Signers) != 1 {
		t.Fatalf("NCANode's verification: %+v, %v", v, err)
	}
	v, err = c.Verify(ctx, []byte(strings.Replace(string(signed), "<x>1</x>", "<x>2</x>", 1)))
	if err != nil || v.Valid {
		t.Fatalf("a tampered envelope: %+v, %v", v, err)
	}
	if fake.Calls("/wsse/sign") != 1 || len(obs.got) != 4 || obs.got[0] != "/wsse/sign ok" {
		t.Fatalf("calls %d, observed %v", fake.Calls("/wsse/sign"), obs.got)
	}
}

// TestNCANodeFailures: NCANode's 5xx are retried, its 400 (the key) is
// not and does not count against it; failures open the breaker, which
// lets a probe through once open_for has passed on the clock.
func TestNCANodeFailures(t *testing.T) {
	c, fake, obs, clk := setup(t, ncanode.Config{Attempts: 3, Breaker: breaker.Config{Failures: 2, OpenFor: time.Minute}})
	ctx := context.Background()
	fake.FailNext(503, 500)
	if _, err := c.Sign(ctx, []byte(request)); err != nil {
		t.Fatalf("after two failed attempts the third should pass: %v", err)
	}
	if n := fake.Calls("/wsse/sign"); n != 3 {
		t.Fatalf("%d attempts", n)
	}

	fake.FailNext(400)
	_, err := c.Sign(ctx, []byte(request))
	var e *ncanode.Error
	if !errors.As(err, &e) || !e.KeyProblem() || fake.Calls("/wsse/sign") != 4 {
		t.Fatalf("a key problem: %v (calls %d)", err, fake.Calls("/wsse/sign"))
	}

	fake.FailNext(500, 500, 500, 500, 500, 500)
	for range 2 {
		if _, err := c.Sign(ctx, []byte(request)); !errors.As(err, &e) || e.Status != 500 {
			t.Fatalf("a failing NCANode: %v", err)
		}
	}
	before := fake.Calls("/wsse/sign")
	if _, err := c.Sign(ctx, []byte(request)); !errors.Is(err, ncanode.ErrBreakerOpen) || fake.Calls("/wsse/sign") != before {
		t.Fatalf("an open breaker: %v", err)
	}
	clk.Advance(time.Minute)
	fake.FailNext() // it recovered
	if _, err := c.Sign(ctx, []byte(request)); err != nil {
		t.Fatalf("the probe after open_for: %v", err)
	}
	if !strings.Contains(strings.Join(obs.got, ","), "/wsse/sign breaker_open") {
		t.Fatalf("observed %v", obs.got)
	}
}
