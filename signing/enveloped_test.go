package signing_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/internal/tooltest"
	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/gost"
)

// gbdulRequest is a GBD UL request as protocol.md §8 shapes it: its own
// default namespace, unqualified children, a carriage return in text.
const gbdulRequest = `<?xml version="1.0" encoding="UTF-8"?>` +
	`<Request xmlns="http://gbdulinfobybin_v2.egp.gbdul.tamur.kz"><RequestorBIN xmlns="">050340000108</RequestorBIN>` +
	`<BIN xmlns="">121140000109</BIN><!-- Көпір --><Note xmlns="">a&#13;b</Note></Request>`

// TestEnvelopedRoundTrip: what SignEnveloped signs, VerifyEnveloped
// accepts, its Body the document without the signature; changed text,
// a second reference or an XPath transform are refused.
func TestEnvelopedRoundTrip(t *testing.T) {
	p := fixture(t)
	s := newSigner(t, p.rsa, signing.SignerOptions{})
	signed, err := s.SignEnveloped(context.Background(), []byte(gbdulRequest))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(signed), "a&#13;b") || !strings.HasSuffix(string(signed), "</ds:Signature></Request>") {
		t.Fatalf("signed: %s", signed)
	}
	v := newVerifier(t, signing.Policy{})
	res, err := v.VerifyEnveloped(signed)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || !strings.Contains(string(res[0].Body), "<BIN xmlns=\"\">121140000109</BIN>") || strings.Contains(string(res[0].Body), "Signature") {
		t.Fatalf("result %+v", res)
	}
	// Comments are not signed (URI="" drops them), and not in the Body.
	if res, err := v.VerifyEnveloped([]byte(strings.Replace(string(signed), "Көпір", "Kopir", 1))); err != nil || strings.Contains(string(res[0].Body), "<!--") {
		t.Errorf("a changed comment: %v", err)
	}
	for name, change := range map[string]func(string) string{
		"text":     func(s string) string { return strings.Replace(s, "121140000109", "121140000110", 1) },
		"element":  func(s string) string { return strings.Replace(s, "<!-- Көпір -->", "<x/>", 1) },
		"carriage": func(s string) string { return strings.Replace(s, "a&#13;b", "a\nb", 1) },
		"id ref": func(s string) string {
			return strings.Replace(s, `<ds:Reference URI="">`, `<ds:Reference URI="#x">`, 1)
		},
		"xpath": func(s string) string {
			return strings.Replace(s, signing.TransformEnveloped, "http://www.w3.org/TR/1999/REC-xpath-19991116", 1)
		},
		"exclusive": func(s string) string {
			return strings.Replace(s, `Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"`, `Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"`, 1)
		},
		"no signature": func(s string) string {
			return regexp.MustCompile(`(?s)<ds:Signature.*</ds:Signature>`).ReplaceAllString(s, "")
		},
	} {
		if _, err := v.VerifyEnveloped([]byte(change(string(signed)))); err == nil {
			t.Errorf("%s: a changed document verified", name)
		}
	}
}

// TestXMLSec1AndEnveloped: xmlsec1 verifies Kopir's enveloped RSA
// signature, and Kopir verifies one xmlsec1 made from a template.
func TestXMLSec1AndEnveloped(t *testing.T) {
	xmlsec := tooltest.Require(t, "xmlsec1")
	p := fixture(t)
	dir := t.TempDir()
	signed, err := newSigner(t, p.rsa, signing.SignerOptions{}).SignEnveloped(context.Background(), []byte(gbdulRequest))
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(dir, "signed.xml")
	os.WriteFile(f, signed, 0o644)
	if _, err := tooltest.Run(xmlsec, "--verify", "--pubkey-cert-pem", filepath.Join(p.dir, "rsa.pem"), f); err != nil {
		t.Fatalf("xmlsec1 refuses Kopir's enveloped signature: %v\n%s", err, signed)
	}
	os.WriteFile(f, []byte(strings.Replace(string(signed), "050340000108", "050340000109", 1)), 0o644)
	if _, err := tooltest.Run(xmlsec, "--verify", "--pubkey-cert-pem", filepath.Join(p.dir, "rsa.pem"), f); err == nil {
		t.Fatal("xmlsec1 accepts a changed document: the check proves nothing")
	}

	template := strings.Replace(gbdulRequest, "</Request>", `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>`+
		`<ds:CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315"/>`+
		`<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:Transforms>`+
		`<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>`+
		`<ds:Transform Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"/></ds:Transforms>`+
		`<ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo>`+
		`<ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></Request>`, 1)
	tf := filepath.Join(dir, "template.xml")
	os.WriteFile(tf, []byte(template), 0o644)
	out, err := tooltest.Run(xmlsec, "--sign", "--privkey-pem", filepath.Join(p.dir, "rsa-key.pem")+","+filepath.Join(p.dir, "rsa.pem"), tf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newVerifier(t, signing.Policy{}).VerifyEnveloped(out); err != nil {
		t.Fatalf("Kopir refuses xmlsec1's enveloped signature: %v\n%s", err, out)
	}
}

// TestGOSTEnvelopedAgainstTools: the NCA's GOST test keys sign a GBD UL
// request, and tools nobody here wrote check it: libxml2 canonicalizes the
// document without its Signature and the SignedInfo, OpenSSL's gost engine
// (or gostsum) hashes them to the DigestValue and verifies the
// SignatureValue over the SignedInfo's digest.
func TestGOSTEnvelopedAgainstTools(t *testing.T) {
	for _, tc := range []struct {
		p12, password string
		at            time.Time
	}{
		{"nca-gost2004.p12", "Qwerty12", time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)},
		{"nca-gost2015.p12", "Aa123456", time.Date(2023, 1, 10, 0, 0, 0, 0, time.UTC)},
	} {
		t.Run(tc.p12, func(t *testing.T) {
			key, chain, err := signing.LoadPKCS12("pkcs12/testdata/"+tc.p12, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			now := func() time.Time { return tc.at }
			s, err := signing.NewSigner(key, chain, signing.SignerOptions{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			signed, err := s.SignEnveloped(context.Background(), []byte(gbdulRequest))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := newVerifier(t, signing.Policy{Pinned: chain[:1], Now: now}).VerifyEnveloped(signed); err != nil {
				t.Fatalf("Kopir: %v", err)
			}
			// Comments are outside URI="": the tools see the document
			// without them.
			doc := strings.Replace(string(signed), "<!-- Көпір -->", "", 1)
			tooltest.CheckGOSTEnveloped(t, []byte(doc), key.Public().(*gost.PublicKey),
				`xmlns="http://gbdulinfobybin_v2.egp.gbdul.tamur.kz" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"`)
		})
	}
}

// FuzzVerifyEnveloped: no input panics, and whatever verifies carries the
// very document that was signed — a mutation is refused or changes only
// what is not signed (comments, the signature's own white space).
func FuzzVerifyEnveloped(f *testing.F) {
	p := fixture(f)
	signed, err := newSigner(f, p.rsa, signing.SignerOptions{}).SignEnveloped(context.Background(), []byte(gbdulRequest))
	if err != nil {
		f.Fatal(err)
	}
	v := newVerifier(f, signing.Policy{})
	want, err := v.VerifyEnveloped(signed)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(signed)
	f.Add(readFile(f, "testdata/wire/nca-enveloped-rsa-gost2015.xml"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		res, err := v.VerifyEnveloped(doc)
		if err == nil && string(res[0].Body) != string(want[0].Body) {
			t.Fatalf("verified another document:\n%s", res[0].Body)
		}
	})
}
