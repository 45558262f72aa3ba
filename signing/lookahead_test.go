package signing

import (
	"bytes"
	"context"
	"crypto/x509"
	"testing"

	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/xmldoc"
)

// TestLookAheadGuessedWrong: a look-ahead that picks the Body with another
// PrefixList than its Reference names costs a second read into the tree,
// never a wrong answer.
func TestLookAheadGuessedWrong(t *testing.T) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.ECDSAP256, devpki.GatewaySubject, ca.Cert.NotBefore, ca.Cert.NotAfter)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(leaf.Key, leaf.Chain, SignerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	env := []byte(`<S:Envelope xmlns:S="` + NSSOAP11 + `"><S:Body><p:x xmlns:p="urn:p" xmlns:q="urn:q">t</p:x></S:Body></S:Envelope>`)
	signed, err := s.Sign(context.Background(), env)
	if err != nil {
		t.Fatal(err)
	}
	v, err := NewVerifier(Policy{Roots: []*x509.Certificate{ca.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := v.Verify(signed)
	if err != nil {
		t.Fatal(err)
	}
	picked := 0
	wrong := func(d *xmldoc.Document, n int32) (xmldoc.C14N, bool) {
		if !isEnvelopeBody(d, n) {
			return xmldoc.C14N{}, false
		}
		picked++
		return xmldoc.C14N{Inclusive: []string{"q"}}, true
	}
	if _, err := v.verify(signed, wrong); err != errReread {
		t.Fatalf("a wrong guess: %v, want errReread", err)
	}
	got, err := v.verifyAhead(signed, wrong)
	if err != nil {
		t.Fatal(err)
	}
	if picked != 2 || !bytes.Equal(got.Body, want.Body) {
		t.Fatalf("picked %d times; Body %s, want %s", picked, got.Body, want.Body)
	}
}
