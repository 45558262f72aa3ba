package signing_test

import (
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/gost"
)

func ncaCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(readFile(t, "gost/testdata/nca/"+name))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNCAGOSTKeysSignEnvelopes: the NCA's own GOST test key files sign a
// SOAP envelope (GOST method and digest chosen from the key), and it
// verifies against their certificate pinned, and against the NCA test CA
// that issued it — a chain crypto/x509 cannot check — only while every
// certificate in it was valid.
func TestNCAGOSTKeysSignEnvelopes(t *testing.T) {
	envelope := readFile(t, "testdata/envelopes/soap11-header.xml")
	for _, tc := range []struct {
		p12, password, ca, wrongCA string
		method, digest             string
		during                     time.Time
	}{
		{"nca-gost2004.p12", "Qwerty12", "ca-gost2004.der", "ca-gost2015.der", signing.GOST2004, signing.DigestGOST94,
			time.Date(2022, 6, 1, 9, 0, 0, 0, time.UTC)},
		{"nca-gost2015.p12", "Aa123456", "ca-gost2015.der", "ca-gost2004.der", signing.GOST2015_512, signing.DigestGOST12512,
			time.Date(2023, 1, 10, 9, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.p12, func(t *testing.T) {
			key, chain, err := signing.LoadPKCS12("pkcs12/testdata/"+tc.p12, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := key.(*gost.PrivateKey); !ok {
				t.Fatalf("key %T", key)
			}
			now := func() time.Time { return tc.during }
			s, err := signing.NewSigner(key, chain, signing.SignerOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			out, err := s.Sign(context.Background(), envelope)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{`SignatureMethod Algorithm="` + tc.method + `"`, `DigestMethod Algorithm="` + tc.digest + `"`} {
				if !strings.Contains(string(out), want) {
					t.Fatalf("the signed envelope lacks %s", want)
				}
			}
			for name, p := range map[string]signing.Policy{
				"pinned": {Pinned: chain[:1], Now: now},
				"by CA":  {Roots: []*x509.Certificate{ncaCert(t, tc.ca)}, Now: now},
			} {
				res, err := newVerifier(t, p).Verify(out)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if res.Algorithm != tc.method || !strings.Contains(res.Identity.String(), "IIN") {
					t.Fatalf("%s: result %+v", name, res)
				}
			}
			// Another CA, a revocation check that refuses, the moment the
			// leaf has expired: refused.
			for name, p := range map[string]signing.Policy{
				"wrong CA": {Roots: []*x509.Certificate{ncaCert(t, tc.wrongCA)}, Now: now},
				"revoked": {Roots: []*x509.Certificate{ncaCert(t, tc.ca)}, Now: now,
					CheckRevocation: func([]*x509.Certificate) error { return errors.New("revoked") }},
			} {
				if _, err := newVerifier(t, p).Verify(out); !isReason(err, signing.ReasonUntrusted) {
					t.Errorf("%s: %v", name, err)
				}
			}
			later := func() time.Time { return tc.during.AddDate(2, 0, 0) }
			late, _ := signing.NewSigner(key, chain, signing.SignerOptions{Now: later})
			expired := sign(t, late, envelope)
			if _, err := newVerifier(t, signing.Policy{Roots: []*x509.Certificate{ncaCert(t, tc.ca)}, Now: later}).Verify(expired); !isReason(err, signing.ReasonCertExpired) {
				t.Errorf("expired leaf: %v", err)
			}
			// A changed Body is refused as for any other key.
			tampered := strings.Replace(string(out), "</soapenv:Body>", "<x/></soapenv:Body>", 1)
			if tampered == string(out) {
				t.Fatal("the test did not change the Body")
			}
			if _, err := newVerifier(t, signing.Policy{Pinned: chain[:1], Now: now}).Verify([]byte(tampered)); !isReason(err, signing.ReasonDigestMismatch) {
				t.Errorf("a tampered Body: %v", err)
			}
		})
	}
}
