package signing

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"
)

type certSpec struct {
	name                string
	ca                  bool
	maxPathLen          int
	usage               x509.KeyUsage
	notBefore, notAfter time.Time
}

func issue(t *testing.T, spec certSpec, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: spec.name}, NotBefore: spec.notBefore, NotAfter: spec.notAfter,
		BasicConstraintsValid: true, IsCA: spec.ca, MaxPathLen: spec.maxPathLen, MaxPathLenZero: spec.ca && spec.maxPathLen == 0, KeyUsage: spec.usage}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}

// TestChainTo: the path building that GOST chains go through, checked on
// chains crypto/x509 can make: what it accepts, and each rule it holds.
func TestChainTo(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	year := func(n int) time.Time { return t0.AddDate(n, 0, 0) }
	at := year(1)
	ca := x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	root, rootKey := issue(t, certSpec{name: "root", ca: true, maxPathLen: -1, usage: ca, notBefore: t0, notAfter: year(10)}, nil, nil)
	for _, tc := range []struct {
		name  string
		inter certSpec
		want  string // "" for a chain of three
	}{
		{"valid", certSpec{name: "inter", ca: true, maxPathLen: -1, usage: ca, notBefore: t0, notAfter: year(5)}, ""},
		{"intermediate expired", certSpec{name: "inter", ca: true, maxPathLen: -1, usage: ca, notBefore: t0, notAfter: year(1).Add(-time.Hour)}, "is valid from"},
		{"intermediate not a CA", certSpec{name: "inter", maxPathLen: -1, usage: ca, notBefore: t0, notAfter: year(5)}, "is not a CA"},
		{"intermediate may not sign certificates", certSpec{name: "inter", ca: true, maxPathLen: -1, usage: x509.KeyUsageDigitalSignature, notBefore: t0, notAfter: year(5)}, "may not sign certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inter, interKey := issue(t, tc.inter, root, rootKey)
			leaf, _ := issue(t, certSpec{name: "leaf", usage: x509.KeyUsageDigitalSignature, notBefore: t0, notAfter: year(2)}, inter, interKey)
			chain, err := chainTo(leaf, []*x509.Certificate{root}, []*x509.Certificate{inter}, at)
			switch {
			case tc.want == "" && (err != nil || len(chain) != 3 || !chain[2].Equal(root)):
				t.Fatalf("chain %d long, %v", len(chain), err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
	t.Run("path length", func(t *testing.T) {
		short, shortKey := issue(t, certSpec{name: "short root", ca: true, maxPathLen: 0, usage: ca, notBefore: t0, notAfter: year(10)}, nil, nil)
		inter, interKey := issue(t, certSpec{name: "inter", ca: true, maxPathLen: -1, usage: ca, notBefore: t0, notAfter: year(5)}, short, shortKey)
		leaf, _ := issue(t, certSpec{name: "leaf", notBefore: t0, notAfter: year(2)}, inter, interKey)
		if _, err := chainTo(leaf, []*x509.Certificate{short}, []*x509.Certificate{inter}, at); err == nil || !strings.Contains(err.Error(), "allows 0") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("forged", func(t *testing.T) {
		other, otherKey := issue(t, certSpec{name: "root", ca: true, maxPathLen: -1, usage: ca, notBefore: t0, notAfter: year(10)}, nil, nil)
		leaf, _ := issue(t, certSpec{name: "leaf", notBefore: t0, notAfter: year(2)}, other, otherKey)
		// Same name as the root, another key: its key id, or else its
		// signature, gives it away.
		if _, err := chainTo(leaf, []*x509.Certificate{root}, nil, at); err == nil {
			t.Fatal("a certificate of another key with the root's name chained to the root")
		}
		leaf.AuthorityKeyId = nil // a CA that writes no key ids: the signature decides
		if _, err := chainTo(leaf, []*x509.Certificate{root}, nil, at); err == nil || !strings.Contains(err.Error(), "signature") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("self-signed anchor", func(t *testing.T) {
		if chain, err := chainTo(root, []*x509.Certificate{root}, nil, at); err != nil || len(chain) != 1 {
			t.Fatalf("%d, %v", len(chain), err)
		}
	})
	t.Run("no issuer", func(t *testing.T) {
		leaf, _ := issue(t, certSpec{name: "stray", notBefore: t0, notAfter: year(2)}, nil, nil)
		if _, err := chainTo(leaf, []*x509.Certificate{root}, nil, at); err == nil {
			t.Fatal("a chain to nowhere")
		}
	})
}
