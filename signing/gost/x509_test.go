package gost

import (
	"crypto/x509"
	"errors"
	"os"
	"testing"
)

func readCert(t *testing.T, name string) *x509.Certificate {
	t.Helper()
	der, err := os.ReadFile("testdata/nca/" + name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNCACertificateSignatures: real certificates the NCA's test CAs
// signed with GOST 34.310-2004 and GOST 34.10-2015 (testdata/nca/SOURCE.md)
// verify under their issuers' keys — the byte orders and hashes of
// protocol.md §6, checked on signatures Kopir did not make.
func TestNCACertificateSignatures(t *testing.T) {
	for _, tc := range []struct{ leaf, ca string }{
		{"ceo-sign-gost2004.der", "ca-gost2004.der"},
		{"individual-gost2015.der", "ca-gost2015.der"},
	} {
		t.Run(tc.leaf, func(t *testing.T) {
			leaf, ca := readCert(t, tc.leaf), readCert(t, tc.ca)
			if err := CheckSignatureFrom(leaf, ca); err != nil {
				t.Fatalf("the CA's signature: %v", err)
			}
			// The same bytes with one bit of the TBS changed fail.
			forged := *leaf
			forged.RawTBSCertificate = append([]byte(nil), leaf.RawTBSCertificate...)
			forged.RawTBSCertificate[len(forged.RawTBSCertificate)-1] ^= 1
			if err := CheckSignatureFrom(&forged, ca); !errors.Is(err, ErrSignature) {
				t.Fatalf("a changed certificate verified: %v", err)
			}
			// And not under the leaf's own key.
			if err := CheckSignatureFrom(leaf, leaf); err == nil {
				t.Fatal("verified under the wrong key")
			}
		})
	}
}

func TestParsePublicKeyInfoRefusesOthers(t *testing.T) {
	for _, der := range [][]byte{nil, {0x30, 0x00}, {0x30, 0x03, 0x06, 0x01, 0x00}} {
		if _, err := ParsePublicKeyInfo(der); err == nil {
			t.Errorf("%x accepted", der)
		}
	}
}
