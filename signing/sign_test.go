package signing_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/xmldoc"
)

// counter is a deterministic stand-in for crypto/rand, for golden output.
type counter struct{ n byte }

func (c *counter) Read(p []byte) (int, error) {
	for i := range p {
		c.n++
		p[i] = c.n
	}
	return len(p), nil
}

var fixedNow = time.Date(2026, 11, 25, 5, 15, 30, 0, time.UTC)

// bodyOf canonicalizes the envelope's Body as a verifier would see it,
// ignoring any id attribute the signer adds.
func bodyText(t *testing.T, envelope []byte) string {
	t.Helper()
	d, err := xmldoc.Parse(envelope, xmldoc.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range d.Len() {
		if d.Node(int32(i)).Kind == xmldoc.Element && d.Local(int32(i)) == "Body" {
			return d.Text(int32(i))
		}
	}
	t.Fatal("no Body")
	return ""
}

func TestSignVerifyRoundTrip(t *testing.T) {
	p := fixture(t)
	files, _ := filepath.Glob("testdata/envelopes/*.xml")
	if len(files) == 0 {
		t.Fatal("no envelopes")
	}
	for _, leaf := range []struct {
		name string
		leaf *devpki.Leaf
		alg  string
	}{{"rsa", p.rsa, signing.RSASHA256}, {"ecdsa", p.ec, signing.ECDSASHA256}} {
		s := newSigner(t, leaf.leaf, signing.SignerOptions{})
		v := newVerifier(t, signing.Policy{})
		for _, f := range files {
			t.Run(leaf.name+"/"+filepath.Base(f), func(t *testing.T) {
				in := readFile(t, f)
				out := sign(t, s, in)
				res, err := v.Verify(out)
				if err != nil {
					t.Fatalf("Verify: %v\n%s", err, out)
				}
				// The Body canonicalized in one pass, by the signer and the
				// verifier, is the tree canonicalizer's.
				tree, err := v.VerifyInTree(out)
				if err != nil {
					t.Fatalf("VerifyInTree: %v", err)
				}
				if !bytes.Equal(tree.Body, res.Body) {
					t.Errorf("one pass and the tree disagree on the Body:\n%s\n%s", res.Body, tree.Body)
				}
				if res.Algorithm != leaf.alg {
					t.Errorf("algorithm %s, want %s", res.Algorithm, leaf.alg)
				}
				if !res.Certificate.Equal(leaf.leaf.Chain[0]) {
					t.Error("the result names another certificate")
				}
				if got := res.Expires.Sub(res.Created); got != signing.DefaultTTL {
					t.Errorf("TTL %s", got)
				}
				// What was signed is the Body, and it reads as the input's.
				rd, err := xmldoc.Parse(res.Body, xmldoc.Limits{})
				if err != nil {
					t.Fatalf("verified Body does not parse: %v", err)
				}
				if rd.Local(rd.Root) != "Body" || rd.Text(rd.Root) != bodyText(t, in) {
					t.Errorf("verified Body differs from the input's: %s", res.Body)
				}
				// Outside the Security header and the Body's start tag, not
				// a byte of the input changed.
				if stripSigning(out) != stripSigning(in) {
					t.Errorf("signing changed the envelope beyond the header:\n%s", out)
				}
			})
		}
	}
}

var (
	securityRe  = regexp.MustCompile(`<wsse:Security .*</wsse:Security>`)
	bodyAttrRe  = regexp.MustCompile(` xmlns:wsu\d?="[^"]*" wsu\d?:Id="id-[0-9a-f]+"`)
	emptyHeader = regexp.MustCompile(`<((?:\w+:)?Header)></(?:\w+:)?Header>|<((?:\w+:)?Header)/>`)
	declRe      = regexp.MustCompile(`^<\?xml[^>]*\?>\s*`)
)

func stripSigning(b []byte) string {
	s := securityRe.ReplaceAllString(string(b), "")
	s = bodyAttrRe.ReplaceAllString(s, "")
	s = emptyHeader.ReplaceAllString(s, "")
	return declRe.ReplaceAllString(s, "")
}

// TestSignGolden pins the signed form of each envelope. Key-dependent parts
// (the certificate and the signature value) are masked; everything else,
// digests included, is deterministic under a fixed clock and id source.
func TestSignGolden(t *testing.T) {
	p := fixture(t)
	files, _ := filepath.Glob("testdata/envelopes/*.xml")
	mask := regexp.MustCompile(`(<wsse:BinarySecurityToken[^>]*>|<ds:SignatureValue>)[^<]*`)
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			s := newSigner(t, p.rsa, signing.SignerOptions{Now: func() time.Time { return fixedNow }, Rand: &counter{}})
			got := mask.ReplaceAll(sign(t, s, readFile(t, f)), []byte("${1}MASKED"))
			golden := filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(f), ".xml")+".signed.xml")
			if *update {
				os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want := readFile(t, golden)
			if !bytes.Equal(got, want) {
				t.Errorf("signed form differs from %s (run with -update after checking):\n%s", golden, got)
			}
		})
	}
}

func TestSignRefuses(t *testing.T) {
	p := fixture(t)
	s := newSigner(t, p.rsa, signing.SignerOptions{})
	signed := sign(t, s, readFile(t, "testdata/envelopes/soap11-noheader.xml"))
	tests := []struct {
		name string
		in   string
		want signing.Reason
	}{
		{"already signed", string(signed), signing.ReasonDuplicateSecurity},
		{"not soap", `<a/>`, signing.ReasonNotSOAP},
		{"no body", `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"/>`, signing.ReasonMalformed},
		{"dtd", `<!DOCTYPE x><S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body/></S:Envelope>`, signing.ReasonDTD},
		{"bad body id", `<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body Id="1 2"/></S:Envelope>`, signing.ReasonMalformed},
		{"not xml", `<S:Envelope`, signing.ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Sign(context.Background(), []byte(tt.in))
			var e *signing.Error
			if !errors.As(err, &e) || e.Reason != tt.want {
				t.Fatalf("err = %v, want reason %s", err, tt.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Sign(ctx, readFile(t, "testdata/envelopes/soap12.xml")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
}

func TestNewSignerChecksKey(t *testing.T) {
	p := fixture(t)
	if _, err := signing.NewSigner(p.rsa.Key, p.ec.Chain, signing.SignerOptions{}); err == nil {
		t.Fatal("a certificate for another key was accepted")
	}
	if _, err := signing.NewSigner(nil, nil, signing.SignerOptions{}); err == nil {
		t.Fatal("no key accepted")
	}
}

// TestLargeBody signs and verifies a Body of 100,000 elements: past
// goxmldsig's 1,000-element traversal budget, which this package does not
// use for canonicalization.
func TestLargeBody(t *testing.T) {
	p := fixture(t)
	var b strings.Builder
	b.WriteString(`<S:Envelope xmlns:S="http://schemas.xmlsoap.org/soap/envelope/"><S:Body><r:rows xmlns:r="urn:rows">`)
	for i := 0; i < 100_000; i++ {
		fmt.Fprintf(&b, "<r:row n=\"%d\">v%d</r:row>", i, i)
	}
	b.WriteString(`</r:rows></S:Body></S:Envelope>`)
	out := sign(t, newSigner(t, p.rsa, signing.SignerOptions{}), []byte(b.String()))
	res, err := newVerifier(t, signing.Policy{}).Verify(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(res.Body, []byte("<r:row ")); n != 100_000 {
		t.Fatalf("verified Body has %d rows", n)
	}
	tampered := bytes.Replace(out, []byte(`v99999<`), []byte(`v99998<`), 1)
	if _, err := newVerifier(t, signing.Policy{}).Verify(tampered); !isReason(err, signing.ReasonDigestMismatch) {
		t.Fatalf("tampered large Body: %v", err)
	}
}

func TestKeysFromFiles(t *testing.T) {
	p := fixture(t)
	files := devpki.FilesFor(p.dir, "rsa")
	key, chain, err := signing.LoadKeyPair(files.Key, files.Cert)
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || !chain[0].Equal(p.rsa.Chain[0]) {
		t.Fatalf("PEM chain: %d certificates", len(chain))
	}
	if _, err := signing.NewSigner(key, chain, signing.SignerOptions{}); err != nil {
		t.Fatal(err)
	}
	key, chain, err = signing.LoadPKCS12(files.P12, "test")
	if err != nil {
		t.Fatal(err)
	}
	if len(chain) != 2 || !chain[0].Equal(p.rsa.Chain[0]) || !chain[1].Equal(p.ca.Cert) {
		t.Fatal("PKCS#12 chain differs")
	}
	if _, err := signing.NewSigner(key, chain, signing.SignerOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := signing.LoadPKCS12(files.P12, "wrong"); err == nil {
		t.Fatal("wrong PKCS#12 password accepted")
	}
	if _, _, err := signing.LoadKeyPair(files.Cert, files.Cert); err == nil {
		t.Fatal("a certificate was taken for a key")
	}
}

func TestIdentity(t *testing.T) {
	p := fixture(t)
	id := signing.IdentityOf(p.rsa.Chain[0])
	if id.IIN != "880101300010" || id.BIN != "260110000120" || id.CommonName != devpki.GatewaySubject.CommonName || id.Organization != "Kopir dev" {
		t.Fatalf("identity %+v", id)
	}
	if s := id.String(); strings.Contains(s, "880101300010") || !strings.Contains(s, "IIN=********0010") || !strings.Contains(s, "BIN=260110000120") {
		t.Fatalf("String() = %q: the IIN must be masked", s)
	}
	none := signing.IdentityOf(&x509.Certificate{SerialNumber: p.ca.Cert.SerialNumber, Subject: p.ca.Cert.Subject})
	if none.IIN != "" || none.BIN != "" {
		t.Fatalf("CA identity %+v", none)
	}
}

func isReason(err error, r signing.Reason) bool {
	var e *signing.Error
	return errors.As(err, &e) && e.Reason == r
}

// TestVerifiedOutlivesEnvelope: envelopes are read in place, so nothing a
// caller keeps may share their memory. Overwriting the envelope after
// Verify changes neither the verified Body nor an error quoting it.
func TestVerifiedOutlivesEnvelope(t *testing.T) {
	p := fixture(t)
	v := newVerifier(t, signing.Policy{})
	out := sign(t, newSigner(t, p.rsa, signing.SignerOptions{}), readFile(t, "testdata/envelopes/soap11-header.xml"))
	res, err := v.Verify(out)
	if err != nil {
		t.Fatal(err)
	}
	body := bytes.Clone(res.Body)
	bad := regexp.MustCompile(`<wsu:Created>[^<]*</wsu:Created>`).ReplaceAll(bytes.Clone(out), []byte(`<wsu:Created>yesterday-ish</wsu:Created>`))
	_, badErr := v.Verify(bad)
	if badErr == nil || !strings.Contains(badErr.Error(), "yesterday-ish") {
		t.Fatalf("a bad Created: %v", badErr)
	}
	msg := badErr.Error()
	for i := range out {
		out[i], bad[i%len(bad)] = 'X', 'X'
	}
	if !bytes.Equal(res.Body, body) {
		t.Error("the verified Body changed with the envelope it came from")
	}
	if badErr.Error() != msg {
		t.Errorf("the error changed with the envelope: %q, was %q", badErr.Error(), msg)
	}
}
