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
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/gost"
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

// The GOST round trip: the gateway signs with the NCA's GOST 2015 test
// key, the mock answers with its GOST 2004 one, both in the Smart Bridge
// layout, and each side checks the other's signature pinned — at a moment
// both test certificates were valid. BareGOST is its baseline: the four
// GOST operations alone.
var gostDuring = time.Date(2022, 10, 1, 9, 0, 0, 0, time.UTC)

func gostKeys(b testing.TB) (gw, mock *gost.PrivateKey, gwChain, mockChain []*x509.Certificate) {
	k1, c1, err := signing.LoadPKCS12("../../../signing/pkcs12/testdata/nca-gost2015.p12", "Aa123456")
	if err != nil {
		b.Fatal(err)
	}
	k2, c2, err := signing.LoadPKCS12("../../../signing/pkcs12/testdata/nca-gost2004.p12", "Qwerty12")
	if err != nil {
		b.Fatal(err)
	}
	return k1.(*gost.PrivateKey), k2.(*gost.PrivateKey), c1, c2
}

func BenchmarkBareGOST(b *testing.B) {
	gw, mock, _, _ := gostKeys(b)
	b.ReportAllocs()
	for b.Loop() {
		for _, k := range []*gost.PrivateKey{gw, mock} {
			h := k.Curve.NewHash()
			h.Write([]byte("SignedInfo"))
			d := h.Sum(nil)
			sig, err := k.Sign(rand.Reader, d, nil)
			if err != nil {
				b.Fatal(err)
			}
			if err := k.PublicKey.Verify(d, sig); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// gostClient is a client signing with the NCA's GOST 2015 test key to the
// mock SHEP answering with its GOST 2004 one, both in the Smart Bridge
// layout, each checking the other pinned, at a time both were valid.
func gostClient(tb testing.TB) *exchange.Client {
	tb.Helper()
	gw, mockKey, gwChain, mockChain := gostKeys(tb)
	now := func() time.Time { return gostDuring }
	smart := signing.SignerOptions{Layout: signing.LayoutSmartBridge, Now: now}
	mockSigner, err := signing.NewSigner(mockKey, mockChain, smart)
	if err != nil {
		tb.Fatal(err)
	}
	gwSigner, err := signing.NewSigner(gw, gwChain, smart)
	if err != nil {
		tb.Fatal(err)
	}
	body := []signing.Part{signing.PartBody}
	mockVerifier, err := signing.NewVerifier(signing.Policy{Pinned: gwChain[:1], Required: body, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	gwVerifier, err := signing.NewVerifier(signing.Policy{Pinned: mockChain[:1], Required: body, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	mock, err := shepmock.New(shepmock.Config{Signer: mockSigner, Verifier: mockVerifier})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(mock)
	client, err := exchange.New(exchange.Config{URL: srv.URL, SenderID: "kopir"}, gwSigner, gwVerifier, exchange.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		client.Close()
		srv.Close()
		mock.Close()
	})
	return client
}

// TestGOSTRoundTrip: the mock takes a request the NCA's GOST 2015 key
// signed in the Smart Bridge layout, and Kopir takes its answer signed with
// the GOST 2004 one.
func TestGOSTRoundTrip(t *testing.T) {
	res, err := gostClient(t).Do(context.Background(), personCall("880101300010"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Response.Status.Code != "SCSS001" || res.Signer.Serial == "" {
		t.Fatalf("answer %+v", res.Response.Status)
	}
}

func BenchmarkExchangeGOST(b *testing.B) {
	client := gostClient(b)
	call := personCall("880101300010")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.Do(ctx, call); err != nil {
			b.Fatal(err)
		}
	}
}
