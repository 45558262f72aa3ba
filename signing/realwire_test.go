package signing_test

import (
	"crypto/x509"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/signing"
)

// TestRealSmartBridgeEnvelope: an envelope Kalkan signed in the Smart
// Bridge layout (testdata/envelopes/SOURCE.md) verifies with its
// certificate pinned, its Body alone required and the clock within the
// certificate's life; the same bytes changed, or a Timestamp required,
// are refused.
func TestRealSmartBridgeEnvelope(t *testing.T) {
	env := readFile(t, "testdata/wire/nca-smartbridge-rsa.xml")
	certs, err := signing.LoadCertificates("testdata/wire/nca-smartbridge-rsa.pem")
	if err != nil {
		t.Fatal(err)
	}
	at := func() time.Time { return time.Date(2021, 6, 1, 9, 0, 0, 0, time.UTC) }
	policy := signing.Policy{Pinned: certs, Required: []signing.Part{signing.PartBody}, Now: at}
	res, err := newVerifier(t, policy).Verify(env)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res.Body), "<serviceId>GBDFL_UniversalServiceSync</serviceId>") ||
		!strings.Contains(res.Identity.String(), "IIN") || res.Algorithm != signing.RSASHA256 {
		t.Fatalf("result %s %s %s", res.Identity, res.Algorithm, res.Body)
	}
	tampered := strings.Replace(string(env), "<iin>931002451325</iin>", "<iin>931002451326</iin>", 1)
	if _, err := newVerifier(t, policy).Verify([]byte(tampered)); !isReason(err, signing.ReasonDigestMismatch) {
		t.Errorf("tampered: %v", err)
	}
	strict := policy
	strict.Required = nil // Body and Timestamp
	if _, err := newVerifier(t, strict).Verify(env); err == nil {
		t.Error("verified without the Timestamp the policy requires")
	}
	later := policy
	later.Now = func() time.Time { return time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC) }
	if _, err := newVerifier(t, later).Verify(env); !isReason(err, signing.ReasonCertExpired) {
		t.Errorf("after the certificate expired: %v", err)
	}
}

// TestIssuerSerialKeyInfo: SHEP's own layout names the key by issuer and
// serial number; the certificate is found among the pinned ones, whatever
// the order, spacing and case of the name, and nowhere else.
func TestIssuerSerialKeyInfo(t *testing.T) {
	p := fixture(t)
	signed := string(sign(t, newSigner(t, p.rsa, signing.SignerOptions{}), readFile(t, "testdata/envelopes/soap11-header.xml")))
	cert := p.rsa.Chain[0]
	rewrite := func(issuer, serial string) []byte {
		ki := `<ds:KeyInfo><wsse:SecurityTokenReference><ds:X509Data><ds:X509IssuerSerial><ds:X509IssuerName>` + issuer +
			`</ds:X509IssuerName><ds:X509SerialNumber>` + serial + `</ds:X509SerialNumber></ds:X509IssuerSerial></ds:X509Data></wsse:SecurityTokenReference></ds:KeyInfo>`
		return []byte(regexp.MustCompile(`<ds:KeyInfo>.*</ds:KeyInfo>`).ReplaceAllString(signed, ki))
	}
	name := cert.Issuer.String()
	reversed := strings.Join(reverse(strings.Split(name, ",")), ", ")
	pinned := signing.Policy{Pinned: []*x509.Certificate{cert}}
	for _, issuer := range []string{name, reversed, strings.ToLower(name)} {
		if _, err := newVerifier(t, pinned).Verify(rewrite(issuer, cert.SerialNumber.String())); err != nil {
			t.Errorf("issuer %q: %v", issuer, err)
		}
	}
	if _, err := newVerifier(t, pinned).Verify(rewrite(name, "12345")); !isReason(err, signing.ReasonUntrusted) {
		t.Errorf("another serial: %v", err)
	}
	if _, err := newVerifier(t, signing.Policy{Roots: []*x509.Certificate{p.ca.Cert}}).Verify(rewrite(name, cert.SerialNumber.String())); !isReason(err, signing.ReasonUntrusted) {
		t.Errorf("not pinned: %v", err)
	}
	if _, err := newVerifier(t, pinned).Verify(rewrite(name, "x")); !isReason(err, signing.ReasonKeyInfo) {
		t.Errorf("a serial that is no number: %v", err)
	}
}

func reverse(s []string) []string {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
	return s
}

// TestRealEnvelopedSignatures: documents Kalkan signed with enveloped
// signatures (testdata/wire/SOURCE.md) — one RSA signer, and a co-signed
// one with a GOST 34.10-2015 second signer — verify: digests over
// Canonical XML 1.0 with comments, SignedInfo canonicalized in place, the
// &#13; of Kalkan's base64. The two signers' certificates were never valid
// at the same moment, so at each signer's time the other's certificate is
// refused — after its signature verified.
func TestRealEnvelopedSignatures(t *testing.T) {
	rsaCert, err := signing.LoadCertificates("testdata/wire/nca-smartbridge-rsa.pem")
	if err != nil {
		t.Fatal(err)
	}
	gostCert := ncaCert(t, "individual-gost2015.der")
	pinned := []*x509.Certificate{rsaCert[0], gostCert}
	in2021 := func() time.Time { return time.Date(2021, 6, 1, 9, 0, 0, 0, time.UTC) }
	in2023 := func() time.Time { return time.Date(2023, 1, 10, 9, 0, 0, 0, time.UTC) }

	one := readFile(t, "testdata/wire/nca-enveloped-rsa.xml")
	res, err := newVerifier(t, signing.Policy{Pinned: pinned, Now: in2021}).VerifyEnveloped(one)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || string(res[0].Body) != "<a><b>test</b></a>" || res[0].Algorithm != signing.RSASHA256 {
		t.Fatalf("results %+v", res)
	}
	tampered := strings.Replace(string(one), "<b>test</b>", "<b>tost</b>", 1)
	if _, err := newVerifier(t, signing.Policy{Pinned: pinned, Now: in2021}).VerifyEnveloped([]byte(tampered)); !isReason(err, signing.ReasonDigestMismatch) {
		t.Errorf("tampered: %v", err)
	}

	two := readFile(t, "testdata/wire/nca-enveloped-rsa-gost2015.xml")
	// In 2021 the RSA signer verifies, and the GOST signature too — its
	// certificate is refused only afterwards, as not yet valid.
	_, err = newVerifier(t, signing.Policy{Pinned: pinned, Now: in2021}).VerifyEnveloped(two)
	if !isReason(err, signing.ReasonCertExpired) || !strings.Contains(err.Error(), "valid from 2022-07-28") {
		t.Fatalf("in 2021: %v", err)
	}
	// In 2023 the RSA signer's certificate has expired.
	_, err = newVerifier(t, signing.Policy{Pinned: pinned, Now: in2023}).VerifyEnveloped(two)
	if !isReason(err, signing.ReasonCertExpired) || !strings.Contains(err.Error(), "valid from 2021-01-18") {
		t.Fatalf("in 2023: %v", err)
	}
	// The GOST co-signer signed the document with the first signature in
	// it: without it, its digest no longer matches.
	sigs := regexp.MustCompile(`(?s)<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">.*?</ds:Signature>`).FindAllString(string(two), -1)
	if len(sigs) != 2 {
		t.Fatalf("%d signatures in the co-signed document", len(sigs))
	}
	stripped := strings.Replace(string(two), sigs[0], "", 1)
	if _, err = newVerifier(t, signing.Policy{Pinned: pinned, Now: in2023}).VerifyEnveloped([]byte(stripped)); !isReason(err, signing.ReasonDigestMismatch) {
		t.Fatalf("the first signature removed: %v", err)
	}
}
