package exchange_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kopir/kopir/gateway/shep/exchange"
	shepmock "github.com/kopir/kopir/mocks/shep"
	"github.com/kopir/kopir/signing/devpki"
)

// RSA keys for the benchmarks: what SHEP peers use today besides GOST, and
// where the signature, not the XML, is the larger cost.
var (
	rsaOnce             sync.Once
	rsaCA               *devpki.CA
	rsaGateway, rsaMock *devpki.Leaf
)

func rsaPKI(b *testing.B) {
	rsaOnce.Do(func() {
		var err error
		if rsaCA, err = devpki.NewCA(devpki.RSA2048); err == nil {
			if rsaGateway, err = rsaCA.Issue(devpki.RSA2048, devpki.GatewaySubject, time.Time{}, time.Time{}); err == nil {
				rsaMock, err = rsaCA.Issue(devpki.RSA2048, devpki.MockSHEPSubject, time.Time{}, time.Time{})
			}
		}
		if err != nil {
			panic(err)
		}
	})
}

// BenchmarkBareCrypto is the baseline: what one exchange must cost in
// signatures alone — the gateway signs, the mock verifies, the mock signs,
// the gateway verifies — with the same RSA-2048 keys.
func BenchmarkBareCrypto(b *testing.B) {
	rsaPKI(b)
	gk, mk := rsaGateway.Key.(*rsa.PrivateKey), rsaMock.Key.(*rsa.PrivateKey)
	digest := sha256.Sum256([]byte("SignedInfo"))
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range []*rsa.PrivateKey{gk, mk} {
			sig, err := k.Sign(rand.Reader, digest[:], crypto.SHA256)
			if err != nil {
				b.Fatal(err)
			}
			if err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, digest[:], sig); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkExchange is one full exchange with the in-process mock SHEP over
// loopback HTTP: build, sign, send, verify and answer from fixtures, sign,
// verify, parse, record.
func BenchmarkExchange(b *testing.B) {
	rsaPKI(b)
	mock, err := shepmock.New(shepmock.Config{Signer: signer(b, rsaMock), Verifier: verifier(b, rsaCA.Cert)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	defer srv.Close()
	client, err := exchange.New(exchange.Config{URL: srv.URL, SenderID: "kopir"}, signer(b, rsaGateway),
		verifier(b, []*x509.Certificate{rsaCA.Cert}...), exchange.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	call := personCall("880101300010")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Do(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}
