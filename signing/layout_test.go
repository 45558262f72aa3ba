package signing_test

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kopir/kopir/signing"
)

// TestSHEPLayout: an envelope signed as SHEP signs its answers
// (protocol.md §5, layout 2) carries one reference, to the Body, no
// Timestamp, no token, and names its certificate by issuer and serial
// number; it verifies only against a pinned certificate with that issuer
// and serial, and xmlsec1 verifies it too.
func TestSHEPLayout(t *testing.T) {
	p := fixture(t)
	in := readFile(t, "testdata/envelopes/soap11-header.xml")
	out := string(sign(t, newSigner(t, p.rsa, signing.SignerOptions{Layout: signing.LayoutSHEP}), in))
	for _, want := range []string{"<ds:X509IssuerName>", "<ds:X509SerialNumber>" + p.rsa.Chain[0].SerialNumber.String() + "<"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	for _, absent := range []string{"Timestamp", "BinarySecurityToken", "KeyIdentifier"} {
		if strings.Contains(out, absent) {
			t.Errorf("%s in the SHEP layout:\n%s", absent, out)
		}
	}
	if n := strings.Count(out, "<ds:Reference "); n != 1 {
		t.Errorf("%d references, want 1 (the Body)", n)
	}

	body := []signing.Part{signing.PartBody}
	for _, tc := range []struct {
		name   string
		policy signing.Policy
		reason signing.Reason
	}{
		{"pinned", signing.Policy{Pinned: []*x509.Certificate{p.rsa.Chain[0]}, Required: body}, ""},
		{"other pinned", signing.Policy{Pinned: []*x509.Certificate{p.ec.Chain[0]}, Required: body}, signing.ReasonUntrusted},
		// A CA cannot vouch for a certificate the message does not carry.
		{"roots only", signing.Policy{Roots: []*x509.Certificate{p.ca.Cert}, Required: body}, signing.ReasonUntrusted},
		{"timestamp required", signing.Policy{Pinned: []*x509.Certificate{p.rsa.Chain[0]}}, signing.ReasonTimestampMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newVerifier(t, tc.policy).Verify([]byte(out))
			if tc.reason == "" && err != nil || tc.reason != "" && !isReason(err, tc.reason) {
				t.Fatalf("got %v, want reason %q", err, tc.reason)
			}
		})
	}

	if _, err := newVerifier(t, signing.Policy{Pinned: []*x509.Certificate{p.rsa.Chain[0]}, Required: body}).Verify(tamperBody(t, []byte(out))); !isReason(err, signing.ReasonDigestMismatch) {
		t.Errorf("tampered Body: %v", err)
	}

	xmlsec1(t)
	path := filepath.Join(t.TempDir(), "signed.xml")
	os.WriteFile(path, []byte(out), 0o644)
	args := append([]string{"--verify", "--pubkey-cert-pem", filepath.Join(p.dir, "rsa.pem")}, idArgs(signing.NSSOAP11)...)
	if _, err := runXMLSec(t, append(args, path)...); err != nil {
		t.Fatalf("xmlsec1 refused the SHEP layout: %v\n%s", err, out)
	}
}

// TestKeyInfoPolicy: a policy that accepts only some ways of naming the
// certificate refuses the others, as key_info.
func TestKeyInfoPolicy(t *testing.T) {
	p := fixture(t)
	in := readFile(t, "testdata/envelopes/soap11-header.xml")
	body := []signing.Part{signing.PartBody}
	pinned := []*x509.Certificate{p.rsa.Chain[0]}
	for _, tc := range []struct {
		layout signing.Layout
		accept []signing.KeyRef
		ok     bool
	}{
		{signing.LayoutSHEP, []signing.KeyRef{signing.KeyRefIssuerSerial}, true},
		{signing.LayoutSHEP, []signing.KeyRef{signing.KeyRefToken, signing.KeyRefKeyIdentifier}, false},
		{signing.LayoutSmartBridge, []signing.KeyRef{signing.KeyRefKeyIdentifier}, true},
		{signing.LayoutSmartBridge, []signing.KeyRef{signing.KeyRefIssuerSerial}, false},
		{signing.LayoutWSS4J, []signing.KeyRef{signing.KeyRefToken}, true},
		{signing.LayoutWSS4J, []signing.KeyRef{signing.KeyRefCertificate}, false},
		{signing.LayoutWSS4J, nil, true},
	} {
		out := sign(t, newSigner(t, p.rsa, signing.SignerOptions{Layout: tc.layout}), in)
		_, err := newVerifier(t, signing.Policy{Pinned: pinned, Required: body, KeyInfo: tc.accept}).Verify(out)
		if tc.ok && err != nil || !tc.ok && !isReason(err, signing.ReasonKeyInfo) {
			t.Errorf("%s accepting %v: %v", tc.layout, tc.accept, err)
		}
	}
	var k signing.KeyRef
	if err := k.UnmarshalText([]byte("thumbprint")); err == nil {
		t.Error("an unknown KeyRef was read")
	}
}
