package signing_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kopir/kopir/signing"
	"github.com/kopir/kopir/signing/devpki"
	"github.com/kopir/kopir/signing/xmldoc"
)

// fuzzPKI is the fuzz targets' own ECDSA PKI, a signer and a frozen clock
// (so that signed seeds stay valid): every fuzz worker runs this set-up,
// and generating the shared fixture's RSA keys in each stalls the engine.
func fuzzPKI(f *testing.F) (*signing.Signer, *devpki.CA, func() time.Time) {
	ca, err := devpki.NewCA(devpki.ECDSAP256)
	if err != nil {
		f.Fatal(err)
	}
	leaf, err := ca.Issue(devpki.ECDSAP256, devpki.GatewaySubject, time.Time{}, time.Time{})
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	clock := func() time.Time { return now }
	return newSigner(f, leaf, signing.SignerOptions{Now: clock}), ca, clock
}

// FuzzVerify feeds Verify mutations of validly signed envelopes. It must
// never panic or hang, and whatever it accepts must carry a Body that parses
// on its own.
func FuzzVerify(f *testing.F) {
	s, ca, clock := fuzzPKI(f)
	files, _ := filepath.Glob("testdata/envelopes/*.xml")
	for _, file := range files {
		in, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(sign(f, s, in))
	}
	golden, _ := filepath.Glob("testdata/golden/*.xml")
	for _, file := range golden {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	v := newVerifier(f, signing.Policy{Roots: []*x509.Certificate{ca.Cert}, Now: clock, Limits: xmldoc.Limits{MaxBytes: 1 << 20, MaxDepth: 64}})
	f.Fuzz(func(t *testing.T, in []byte) {
		res, err := v.Verify(in)
		// Reading the Body in one pass must judge as reading it into the
		// tree does.
		tree, treeErr := v.VerifyInTree(in)
		if reason(err) != reason(treeErr) || err == nil && !bytes.Equal(res.Body, tree.Body) {
			t.Fatalf("one pass: %v\ntree: %v", err, treeErr)
		}
		if err != nil {
			if _, ok := err.(*signing.Error); !ok {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		if _, err := xmldoc.Parse(res.Body, xmldoc.Limits{}); err != nil {
			t.Fatalf("accepted, but the verified Body does not parse: %v", err)
		}
	})
}

func reason(err error) signing.Reason {
	var e *signing.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	if err != nil {
		return "untyped"
	}
	return ""
}

// FuzzSign signs arbitrary envelopes. Sign must never panic, refuse only
// with a typed error, and whatever it signs must verify both in one pass
// and read whole into the tree, where the Body's digest is recomputed by
// the tree canonicalizer: the signer's one-pass canonical form is held to
// it, on any Body the fuzzer makes.
func FuzzSign(f *testing.F) {
	s, ca, clock := fuzzPKI(f)
	v := newVerifier(f, signing.Policy{Roots: []*x509.Certificate{ca.Cert}, Now: clock})
	files, _ := filepath.Glob("testdata/envelopes/*.xml")
	for _, file := range files {
		in, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(in)
	}
	f.Add(variedEnvelope(16))
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := s.Sign(context.Background(), in)
		if err != nil {
			if _, ok := err.(*signing.Error); !ok {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		res, err := v.Verify(out)
		if err != nil {
			t.Fatalf("Verify refused what Sign signed: %v\n%q", err, out)
		}
		tree, err := v.VerifyInTree(out)
		if err != nil {
			t.Fatalf("the tree refused what Sign signed: %v\n%q", err, out)
		}
		if !bytes.Equal(res.Body, tree.Body) {
			t.Fatalf("one pass and the tree disagree on the Body:\n%s\n%s", res.Body, tree.Body)
		}
	})
}
